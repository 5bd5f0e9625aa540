"""The photo model's demo pictures, shipped in models/photo (what `dae-edge demo` denoises beside the digits):

    python tools/demo_pictures.py RUNS/photos/heldout models/photo

demo_photo.png: the centre 160×160 of the held-out skimage-astronaut crop (NASA, public domain, as scikit-image
ships it); demo_page.png: the top-left 192×192 of held-out page-00 (rendered by tools/photo_corpus.py with
DejaVu fonts). Both with seeded Gaussian noise σ 25/255, clipped, as 8-bit PNG.
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image

SIGMA = 25 / 255


def noisy(pixels: np.ndarray, seed: int) -> Image.Image:
    values = np.clip(pixels / 255 + np.random.default_rng(seed).normal(0, SIGMA, pixels.shape), 0, 1)
    return Image.fromarray((values * 255).round().astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("heldout", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    photo = np.asarray(Image.open(args.heldout / "colour" / "skimage-astronaut.png").convert("RGB"), np.float64)
    top, left = (photo.shape[0] - 160) // 2, (photo.shape[1] - 160) // 2
    noisy(photo[top : top + 160, left : left + 160], 0).save(args.out / "demo_photo.png")
    page = np.asarray(Image.open(args.heldout / "grey" / "page-00.png").convert("L"), np.float64)
    noisy(page[:192, :192], 1).save(args.out / "demo_page.png")


if __name__ == "__main__":
    main()
