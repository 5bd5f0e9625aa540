#!/usr/bin/env bash
# Bundle what tools/train_photo_gpu.py needs on a CUDA machine that has torch, numpy, Pillow and h5py but no network:
# the keras, namex and optree wheels for its Python, the dae_edge package without its shipped models, the starting
# model without its optimizer state, the corpus's training pictures split by size into PARTS parts (for transfers
# capped in size; the first part also holds the validation crops), its checksum list, and tools/gpu_train.sh.
#   tools/gpu_bundle.sh CORPUS INIT.keras BUNDLE [PARTS] [PYTHON_VERSION]
# e.g. tools/gpu_bundle.sh RUNS/photos-gh models/photo/dae.keras .gpu 2 3.12 (about 60 MB a part for photos-gh).
# Needs this checkout's .venv, with the [train] extra, and `pip download` access to the registry.
set -euo pipefail
corpus=$1 init=$2 bundle=$3 parts=${4:-1} python=${5:-3.12}
here=$(cd "$(dirname "$0")/.." && pwd)
venv=$here/.venv/bin
rm -rf "$bundle" && mkdir -p "$bundle/whl"
"$venv/python" -m pip download -q --no-deps --only-binary=:all: --python-version "$python" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$bundle/whl" \
  "keras==$("$venv/python" -c 'import keras; print(keras.__version__)')" namex optree
"$venv/pip" install -q --no-deps --target "$bundle/lib" "$here"
rm -rf "$bundle"/lib/*.dist-info "$bundle/lib/bin" && find "$bundle/lib/dae_edge/models" -type f ! -name '*.py' -delete
"$venv/python" -c "import keras, sys; keras.models.load_model(sys.argv[1], compile=False).save(sys.argv[2])" \
  "$init" "$bundle/init.keras"
cp "$corpus/SHA256SUMS" "$here/tools/gpu_train.sh" "$here/tools/train_photo_gpu.py" "$bundle/"
(cd "$corpus" && find train -type f -printf '%s %p\n' | sort -k1,1nr -k2 | awk -v n="$parts" '
  { best = 1; for (i = 2; i <= n; i++) if (size[i] < size[best]) best = i; size[best] += $1; print best, $2 }') |
while read -r part file; do
  mkdir -p "$bundle/part$part/$(dirname "$file")" && cp "$corpus/$file" "$bundle/part$part/$file"
done
mkdir -p "$bundle/part1/heldout" && cp -r "$corpus/heldout/colour" "$bundle/part1/heldout/"
du -sh "$bundle"/part* "$bundle"
