"""Noisy copies of a folder of pictures, as a camera without a clean copy would give them, for self-supervised
training and its comparison with supervised training (the README's self-supervised table):

    python tools/noisy_copies.py CLEAN_FOLDER OUT_FOLDER --noise gaussian:0.098 [--seed 0] [--shots N]

Every picture (searched recursively) is read in its own mode (grey or RGB), given one seeded draw of the noise
(seeded by its relative name, so the same file always gets the same noise) and written as an 8-bit PNG under
the same relative name. With --shots N, a burst instead: N draws of each picture, as NAME/0.png … NAME/N-1.png
(a sub-folder per scene, as `dae-edge train --bursts` reads them). OUT_FOLDER must not exist yet.
"""
import argparse
import hashlib
from pathlib import Path

import numpy as np

from dae_edge.core.folder import scan_folder
from dae_edge.core.images import read_image, write_image
from dae_edge.core.noise import pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clean", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--noise", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shots", type=int, default=0, help="write a burst of this many shots per picture")
    args = parser.parse_args()
    args.out.mkdir(parents=True)
    for file in scan_folder(args.clean).files:
        image = read_image(args.clean / file.name, channels=None).pixels
        key = int.from_bytes(hashlib.sha256(file.name.encode()).digest()[:4], "little")
        for shot in range(max(args.shots, 1)):
            seed = [args.seed, key] + [shot] * (args.shots > 0)  # a single copy keeps its earlier draw
            noisy = pairs(image.reshape(1, *image.shape[:2], -1), args.noise, seed)[0].reshape(image.shape)
            target = (args.out / file.name).with_suffix("") / f"{shot}.png" if args.shots else (args.out / file.name).with_suffix(".png")
            target.parent.mkdir(parents=True, exist_ok=True)
            write_image(target, noisy)
    print(f"wrote {len(list(args.out.rglob('*.png')))} noisy pictures into {args.out}")


if __name__ == "__main__":
    main()
