#!/usr/bin/env bash
# Noise2Noise from synthetic bursts (4 shots of σ 25 per training photo) beside a repeat of the supervised σ 25 run, on one core.
# Run from RUNS after: python tools/noisy_copies.py photos/train photos-bursts25/train --noise gaussian:0.098 --shots 4
set -euo pipefail
cd "${RUNS:-$(dirname "$0")/../../runs}"
COMMON="--channels 3 --arch photo --patch 128 --patches-per-epoch 800 --batch-size 16 --lr-schedule cosine --val-data photos/heldout/colour --val-patches 64"
run() { local core=$1 name=$2; shift 2; taskset -c "$core" /usr/bin/time -f "$name wall %e s" dae-edge train $COMMON "$@" --out "$name" > "$name.log" 2>&1; }
run 0 cmp-bursts-g25 --data photos-bursts25/train --bursts --val-noise gaussian:0.098 --epochs 46 &
run 0 cmp-supervised-g25-again --data photos/train --loss mse --noise gaussian:0.098 --epochs 46 &
wait
