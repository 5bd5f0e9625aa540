#!/usr/bin/env bash
# The photo model's second cosine cycle: fine-tuned from the epoch-200 model (models/photo/trained/dae.keras at
# commit 0ada7a5, copied to RUNS/photo200.keras) at a third of the first cycle's peak rate, on new patch draws
# (seed 1). From RUNS (default ../runs beside the checkout); pass --resume to continue from RUNS/photo-ft/.checkpoint.
set -euo pipefail
cd "${RUNS:-$(dirname "$0")/../../runs}"
exec dae-edge train --data photos/train --val-data photos/heldout/colour \
  --channels 3 --grey-share 0.25 --arch photo --loss mse --noise gaussian:0-0.2 --patch 128 --patches-per-epoch 3200 \
  --batch-size 16 --epochs 60 --lr-schedule cosine --learning-rate 3e-4 --seed 1 --init photo200.keras --out photo-ft "$@"
