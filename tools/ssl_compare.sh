#!/usr/bin/env bash
# Supervised against self-supervised training for the same wall time (README, "Learning from noisy pictures
# alone"): the photo architecture, 800 random 128×128 patches an epoch, cosine schedule. Supervised runs learn
# from the clean training photos with fresh noise every epoch; Neighbor2Neighbor runs from one fixed noisy copy
# of each. Two noises: Gaussian σ 25/255, and a camera's Poisson-Gaussian noise (PEAK 60, read σ 0.02: about
# σ 24/255 at mid-grey). The four runs go at once, each pair on one core (taskset), so that the two runs
# compared share their core alike; self-supervised epochs are cheaper, so they get more of them (EPOCHS_*).
# Run from RUNS after tools/photo_corpus.py RUNS/photos and
#   python tools/noisy_copies.py photos/train photos-noisy25/train --noise gaussian:0.098
#   python tools/noisy_copies.py photos/train photos-noisypg/train --noise poisson-gaussian:60,0.02
# then export each and bench each pair (the README gives the commands), and tools/ssl_example.py for the picture.
set -euo pipefail
cd "${RUNS:-$(dirname "$0")/../../runs}"
EPOCHS_SUPERVISED=${EPOCHS_SUPERVISED:-46}
EPOCHS_SELF=${EPOCHS_SELF:-70}
COMMON="--channels 3 --arch photo --patch 128 --patches-per-epoch 800 --batch-size 16 --lr-schedule cosine
  --val-data photos/heldout/colour --val-patches 64"
run() {  # core, name, arguments…
  local core=$1 name=$2; shift 2
  taskset -c "$core" /usr/bin/time -f "$name wall %e s" dae-edge train $COMMON "$@" --out "$name" > "$name.log" 2>&1
}
run 0 cmp-supervised-g25 --data photos/train --loss mse --noise gaussian:0.098 --epochs "$EPOCHS_SUPERVISED" &
run 0 cmp-n2n-g25 --data photos-noisy25/train --self-supervised --val-noise gaussian:0.098 --epochs "$EPOCHS_SELF" &
run 1 cmp-supervised-pg --data photos/train --loss mse --noise poisson-gaussian:60,0.02 --epochs "$EPOCHS_SUPERVISED" &
run 1 cmp-n2n-pg --data photos-noisypg/train --self-supervised --val-noise poisson-gaussian:60,0.02 --epochs "$EPOCHS_SELF" &
wait
tail -n 2 cmp-*.log
