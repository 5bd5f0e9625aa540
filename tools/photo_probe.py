"""A quick quality check of a photo model during training (Keras, before export and bench):

    python tools/photo_probe.py MODEL.keras HELDOUT [--bm3d] [--noise SPEC]

HELDOUT is the corpus's heldout folder (grey/ and colour/ crops). For σ 5, 15, 25 and 50 (0–255 scale),
Gaussian noise clipped to [0, 1] from one seeded generator: mean PSNR of the noisy input and the model,
BM3D / CBM3D (the `bm3d` package, given the true σ) at σ 25 with --bm3d, and the worst image's gain.
With --noise SPEC (e.g. poisson-gaussian:60,0.02) that noise instead, each picture seeded by its place;
BM3D is then given the noise's true standard deviation over the picture, sqrt(mean(clean)/PEAK + SIGMA²).
Grey crops go in as three equal channels and the mean comes out, as `dae-edge run` does it.
"""
import argparse
import os
from pathlib import Path

import numpy as np
from PIL import Image

SIGMAS = (5, 15, 25, 50)


def psnr(clean: np.ndarray, image: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((clean - np.clip(image, 0, 1)) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("heldout", type=Path)
    parser.add_argument("--bm3d", action="store_true")
    parser.add_argument("--noise", help="one noise spec instead of the four Gaussian σ")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from dae_edge.core.noise import Noise, corrupt_each

    model = keras.models.load_model(args.model, compile=False)
    rng = np.random.default_rng(1)
    spec = Noise.parse(args.noise) if args.noise else None
    for kind in ("grey", "colour"):
        for sigma in [spec] if spec else SIGMAS:
            rows = []
            for index, path in enumerate(sorted((args.heldout / kind).glob("*.png"))):
                clean = np.asarray(Image.open(path).convert("RGB" if kind == "colour" else "L"), np.float32) / 255
                if spec:
                    noisy = corrupt_each([clean], spec, 1, [index])[0]
                    true_sigma = float(np.sqrt(clean.mean() / spec.low + spec.read_low**2)) if spec.kind == "poisson-gaussian" \
                        else spec.low
                else:
                    noisy = np.clip(clean + rng.normal(0, sigma / 255, clean.shape).astype(np.float32), 0, 1)
                    true_sigma = sigma / 255
                given = np.repeat(noisy[..., None], 3, axis=-1) if kind == "grey" else noisy
                out = model.predict(given[None], verbose=0)[0]
                row = [psnr(clean, noisy), psnr(clean, out.mean(axis=-1) if kind == "grey" else out)]
                if args.bm3d and (spec or sigma == 25):
                    import bm3d  # non-commercial licence: a tool's comparison, never a dependency

                    row.append(psnr(clean, bm3d.bm3d_rgb(noisy, true_sigma) if kind == "colour" else bm3d.bm3d(noisy, true_sigma)))
                rows.append(row)
            a = np.array(rows)
            bm = f"  BM3D {a[:, 2].mean():.2f}" if a.shape[1] > 2 else ""
            print(f"{kind:6} {spec or f'σ {sigma:2}'}: noisy {a[:, 0].mean():.2f}  model {a[:, 1].mean():.2f}{bm}  "
                  f"worst gain {(a[:, 1] - a[:, 0]).min():+.2f}  ({len(a)} images)")


if __name__ == "__main__":
    main()
