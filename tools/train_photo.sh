#!/usr/bin/env bash
# The photo model's training run, resumable: the corpus first (python tools/photo_corpus.py RUNS/photos),
# then this from RUNS (default ../runs beside the checkout). Pass --resume to continue from the checkpoint
# in RUNS/photo-train/.checkpoint (copy a committed checkpoint there first, in a new checkout).
set -euo pipefail
cd "${RUNS:-$(dirname "$0")/../../runs}"
exec dae-edge train --data photos/train --val-data photos/heldout/colour \
  --channels 3 --grey-share 0.25 --arch photo --loss mse --noise gaussian:0-0.2 --patch 128 --patches-per-epoch 3200 \
  --batch-size 16 --epochs 200 --lr-schedule cosine --out photo-train "$@"
