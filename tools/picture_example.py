"""The README's picture example: held-out pictures, noisy | model | 3×3 median | clean, with PSNR per picture.

    python tools/picture_example.py MODEL_FILE HELD_OUT_FOLDER OUT.png [--noise gaussian:0.2] [--seed 7]

Uses the runtime only (the model file's own backend), so it shows what `dae-edge run` gives.
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from dae_edge.runtime.denoiser import Denoiser
from dae_edge.bench.filters import median3
from dae_edge.core.images import Invert, read_image, side_by_side, to_uint8
from dae_edge.core.metrics import psnr
from dae_edge.core.noise import pairs

SIDE = 256  # each picture is shown at most this wide and high


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("pictures", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--noise", default="gaussian:0.2")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    denoiser = Denoiser.load(args.model, threads=1)
    rows, lines = [], ["| picture | size | noisy | model | median 3×3 |", "|---|---|---|---|---|"]
    for i, path in enumerate(sorted(args.pictures.iterdir())):
        image = read_image(path, Invert.auto, denoiser.polarity)
        clean = image.pixels
        noisy = pairs(clean[None, ..., None], args.noise, [args.seed, i])[0][0, ..., 0]
        model = denoiser.denoise(noisy[None])[0]
        median = median3(noisy[None])[0]
        lines.append(f"| {path.stem} | {clean.shape[1]}×{clean.shape[0]} | {psnr(clean, noisy)[0]:.2f} | "
                     f"{psnr(clean, model)[0]:.2f} | {psnr(clean, median)[0]:.2f} |")
        crop = tuple(slice(0, min(SIDE, n)) for n in clean.shape)
        row = side_by_side(*(p[crop] for p in (noisy, model, median, clean)), gap=4)
        rows.append(to_uint8(row, image.inverted))
    width = max(r.shape[1] for r in rows)
    canvas = np.full((sum(r.shape[0] + 4 for r in rows), width), 255, np.uint8)
    y = 0
    for r in rows:
        canvas[y : y + r.shape[0], : r.shape[1]] = r
        y += r.shape[0] + 4
    Image.fromarray(canvas).save(args.out)
    print(f"{args.model} on {args.pictures} with {args.noise} noise (seed {args.seed}); PSNR in dB")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
