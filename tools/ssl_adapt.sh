#!/usr/bin/env bash
# The photo model (trained on Gaussian noise) adapted to a camera's noise from noisy pictures alone:
# Neighbor2Neighbor from its weights (`--init`) on one Poisson-Gaussian noisy copy of each training photo (PEAK 60,
# read σ 0.02, as in tools/ssl_compare.sh), at a low rate. From RUNS after
#   python tools/noisy_copies.py photos/train photos-noisypg/train --noise poisson-gaussian:60,0.02
# and the second cycle's model, models/photo/finetuned/dae.keras (what shipped when this was measured), copied to
# RUNS/photo-ft2.keras; pass --resume to go on.
set -euo pipefail
cd "${RUNS:-$(dirname "$0")/../../runs}"
exec dae-edge train --data photos-noisypg/train --self-supervised --val-data photos/heldout/colour \
  --val-noise poisson-gaussian:60,0.02 --val-patches 64 --channels 3 --arch photo --patch 128 \
  --patches-per-epoch 800 --batch-size 16 --epochs 40 --lr-schedule cosine --learning-rate 1e-4 --seed 1 \
  --init photo-ft2.keras --out ssl-adapt-pg "$@"
