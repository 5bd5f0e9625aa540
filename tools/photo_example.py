"""The README's photo picture: a held-out colour photo and a printed page at σ 25/255, each as
noisy | photo model | BM3D or CBM3D (true σ) | clean, with PSNR per panel on stdout:

    python tools/photo_example.py MODEL_FILE RUNS/photos/heldout OUT.png

Uses the runtime (what `dae-edge run` gives) and the `bm3d` package (non-commercial licence: a tool's
comparison, never a dependency). The noise is one seeded draw per picture.
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from dae_edge.bench.photos import bm3d_denoise, noisy_copy
from dae_edge.core.images import read_image, side_by_side
from dae_edge.core.metrics import picture_psnr
from dae_edge.runtime.denoiser import Denoiser

PICTURES = (("colour", "skimage-astronaut.png", (0, 256, 0, 256)), ("grey", "page-00.png", (0, 256, 0, 256)))
SIGMA = 25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("heldout", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    denoiser = Denoiser.load(args.model, threads=2)
    rows = []
    for i, (kind, name, (top, bottom, left, right)) in enumerate(PICTURES):
        clean = read_image(args.heldout / kind / name, channels=None).pixels[top:bottom, left:right]
        noisy = noisy_copy(clean, SIGMA, 0, i)
        panels = {"noisy": noisy, "photo model": denoiser.denoise_list([noisy])[0], "BM3D": bm3d_denoise(noisy, SIGMA / 255),
                  "clean": clean}
        print(f"{name}: " + ", ".join(f"{k} {picture_psnr(clean, np.clip(v, 0, 1)):.2f} dB" for k, v in list(panels.items())[:3]))
        rows.append(side_by_side(*(np.clip(p, 0, 1) for p in panels.values()), gap=4))
    rgb = [r if r.ndim == 3 else np.repeat(r[..., None], 3, axis=-1) for r in rows]
    width = max(r.shape[1] for r in rgb)
    canvas = np.concatenate([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=1.0) for r in rgb])[:-4]
    Image.fromarray((canvas * 255).round().astype(np.uint8)).save(args.out)


if __name__ == "__main__":
    main()
