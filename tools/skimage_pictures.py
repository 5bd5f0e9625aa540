"""Write scikit-image's real sample pictures as PNG files: a training folder and a held-out one.

    python tools/skimage_pictures.py OUT      → OUT/train/*.png, OUT/heldout/*.png

Photographs, micrographs, scans and textures that no one here made (skimage.data); the synthetic
ones (checkerboard, blobs, logo, phantom, colour wheel) are left out.
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

TRAIN = ["astronaut", "brick", "cat", "cell", "clock", "coffee", "grass", "gravel", "hubble_deep_field",
         "immunohistochemistry", "microaneurysms", "moon", "retina", "rocket"]
HELD_OUT = ["camera", "coins", "page", "text"]  # a photograph, a museum scan, a printed page, a sign


def write(names: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        picture = np.asarray(getattr(data, name)())
        Image.fromarray(picture).save(folder / f"{name}.png")


if __name__ == "__main__":
    out = Path(sys.argv[1])
    write(TRAIN, out / "train")
    write(HELD_OUT, out / "heldout")
    print(f"{len(TRAIN)} pictures in {out / 'train'}, {len(HELD_OUT)} in {out / 'heldout'}")
