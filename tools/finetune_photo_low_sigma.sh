#!/usr/bin/env bash
# The photo model's third cosine cycle: fine-tuned from the second cycle's model (models/photo/finetuned/dae.keras,
# copied to RUNS/photo-ft2.keras) with more low noise levels than one uniform range gives: half the patches get σ
# from 0–0.05, half from 0–0.2 (so a quarter get σ below 5/255 instead of a tenth), for the σ 5 pictures whose
# fine texture the model smoothed away. From RUNS (default ../runs beside the checkout); pass --resume to go on.
# DATA=photos-more OUT=photo-ft4 does the same on the corpus built with `tools/photo_corpus.py RUNS/photos-more
# --lomiri` (14 more photographs, the same held-out crops). The fourth cycle, from the third's model:
# DATA=photos-lx INIT=photo-ft4.keras SEED=3 OUT=photo-ft5, on `tools/photo_corpus.py RUNS/photos-lx --lomiri --lxqt`;
# beside it, the same with `--augment` appended (OUT=photo-ft6) tells what the eight orientations add.
# The fifth, from that --augment twin (models/photo/fourth_cycle_augment/dae.keras, copied to RUNS/photo-ft6.keras):
# DATA=photos-gc INIT=photo-ft6.keras SEED=4 OUT=photo-ft7 with --augment, on `tools/photo_corpus.py RUNS/photos-gc
# --lomiri --lxqt --gcompris` (119 more photographs); beside it DATA=photos-lx OUT=photo-ft8, the same on the old corpus.
# The fifth: DATA=photos-gh INIT=photo-ft6.keras SEED=4 OUT=photo-ft9 with --augment, on `tools/photo_corpus.py
# RUNS/photos-gh --lomiri --lxqt --gcompris-half` (those photographs at half size: they ship as lossy WebP).
# The sixth and seventh (what ships), each from the last: DATA=photos-gh INIT=photo-ft9.keras SEED=5 OUT=photo-ft10,
# then INIT=photo-ft10.keras SEED=6 OUT=photo-ft11, with --augment; beside the seventh, OUT=photo-ft11p with
# --augment --loss psnr appended (the last --loss, --patch … given wins).
# The eighth: INIT=photo-ft11.keras SEED=7 OUT=photo-ft12. The ninth, with a full-resolution head
# around the eighth's model: INIT=photo-ft12.keras SEED=8 OUT=photo-fr13 with --augment --arch photo_fullres.
# The tenth, from the ninth: INIT=photo-fr13.keras SEED=9 OUT=photo-fr14, the same flags. The eleventh (what ships),
# from the tenth: INIT=photo-fr14.keras SEED=10 OUT=photo-fr15m with --noise
# 'gaussian:0-0.05|gaussian:0-0.2|gaussian:0.04-0.12' appended (a third of the patches at σ 10–31/255); beside it, on
# the other core, OUT=photo-fr15 without that (the control).
# The twelfth to fourteenth, each from the last: INIT=photo-fr15m.keras SEED=11 OUT=photo-fr16m, INIT=photo-fr16m.keras
# SEED=12 OUT=photo-fr17m, INIT=photo-fr17m.keras SEED=13 OUT=photo-fr18m, with the eleventh's flags; beside the
# fourteenth, OUT=photo-fw18 with --arch photo_fullres_wide appended (the head widened to 24 channels; same seed).
set -euo pipefail
cd "${RUNS:-$(dirname "$0")/../../runs}"
exec dae-edge train --data "${DATA:-photos}/train" --val-data "${DATA:-photos}/heldout/colour" \
  --channels 3 --grey-share 0.25 --arch photo --loss mse --noise 'gaussian:0-0.05|gaussian:0-0.2' --patch 128 \
  --patches-per-epoch 3200 --batch-size 16 --epochs 40 --lr-schedule cosine --learning-rate 2e-4 --seed "${SEED:-2}" \
  --init "${INIT:-photo-ft2.keras}" --out "${OUT:-photo-ft3}" "$@"
