#!/usr/bin/env bash
# On the CUDA machine, from a bundle that tools/gpu_bundle.sh made: install it into WORK, adding each part that came
# with it; once every picture of the checksum list is there, train one fine-tuning run per learning rate, all at once
# on the one GPU, each for at most SECONDS, into OUT/a, OUT/b, … (their logs OUT/a.log, …); 1 to 6 learning rates.
#   tools/gpu_train.sh BUNDLE WORK OUT SECONDS LR [LR ...]      e.g. .gpu /tmp/dae $OUT 440 2e-4 4e-4
# With one part missing it stops after installing what came, and says so (send the next part and run it again).
# TRAIN_ARGS adds options of tools/train_photo_gpu.py to every run (e.g. "--batch-size 128").
set -euo pipefail
bundle=$(cd "$1" && pwd) work=$2 out=$3 seconds=$4
shift 4
names=(a b c d e f)
if [ $# -lt 1 ] || [ $# -gt ${#names[@]} ]; then
  echo "gpu_train.sh: give 1 to ${#names[@]} learning rates after SECONDS (got $#): the runs share one GPU as OUT/a … OUT/f" >&2
  exit 2
fi
mkdir -p "$work/corpus" "$out"
[ -d "$work/site/keras" ] || python3 -m pip install -q --no-index --no-deps --no-compile --target "$work/site" "$bundle"/whl/*.whl
[ -d "$bundle/lib" ] && rm -rf "$work/lib" && cp -r "$bundle/lib" "$work/lib"
[ -f "$bundle/init.keras" ] && cp "$bundle/init.keras" "$work/"
cp "$bundle/SHA256SUMS" "$bundle/train_photo_gpu.py" "$work/"
for part in "$bundle"/part*/; do cp -r "$part". "$work/corpus/"; done
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader || true
cd "$work/corpus"
if ! grep -e ' train/' -e ' heldout/colour/' ../SHA256SUMS | sha256sum -c --quiet >/dev/null 2>&1; then
  echo "$(find train -type f | wc -l) of $(grep -c ' train/' ../SHA256SUMS) training pictures here: send the next part"
  exit 0
fi
export PYTHONPATH=$work/lib:$work/site KERAS_BACKEND=torch PYTHONUNBUFFERED=1
i=0
for lr in "$@"; do
  python3 "$work/train_photo_gpu.py" --data train --val-data heldout/colour --init "$work/init.keras" \
    --out "$out/${names[$i]}" --learning-rate "$lr" --seconds "$seconds" ${TRAIN_ARGS:-} > "$out/${names[$i]}.log" 2>&1 &
  i=$((i + 1))
done
wait
tail -n 3 "$out"/*.log
