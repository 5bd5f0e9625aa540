"""The README's self-supervised picture: a held-out colour photo, one row per noise, as
noisy | self-supervised | supervised | CBM3D (true σ) | clean, with PSNR per panel on stdout:

    python tools/ssl_example.py RUNS/photos/heldout OUT.png NOISE SELF_MODEL SUPERVISED_MODEL [NOISE SELF SUPERVISED ...]

NOISE is a spec at a fixed level (gaussian:0.098, poisson-gaussian:60,0.02); the models are files or folders that
`dae-edge run --model` takes (tools/ssl_compare.sh trains them). Uses the `bm3d` package (non-commercial licence:
a tool's comparison, never a dependency), given the noise's true standard deviation as bench gives it.
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from dae_edge.bench.photos import bm3d_denoise, check_level, noisy_copy, true_sigma
from dae_edge.core.images import read_image, side_by_side
from dae_edge.core.metrics import picture_psnr
from dae_edge.runtime.denoiser import Denoiser

PICTURE = ("colour", "skimage-astronaut.png", (0, 192, 32, 224))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("heldout", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("rows", nargs="+", help="NOISE SELF_MODEL SUPERVISED_MODEL, repeated")
    args = parser.parse_args()
    if len(args.rows) % 3:
        parser.error("give NOISE SELF_MODEL SUPERVISED_MODEL for each row")
    kind, name, (top, bottom, left, right) = PICTURE
    clean = read_image(args.heldout / kind / name, channels=None).pixels[top:bottom, left:right]
    rows = []
    for i in range(0, len(args.rows), 3):
        spec, self_model, supervised = check_level(args.rows[i]), Path(args.rows[i + 1]), Path(args.rows[i + 2])
        noisy = noisy_copy(clean, spec, 0, 0)
        panels = {"noisy": noisy, "self-supervised": Denoiser.load(self_model, threads=2).denoise_list([noisy])[0],
                  "supervised": Denoiser.load(supervised, threads=2).denoise_list([noisy])[0],
                  "CBM3D": bm3d_denoise(noisy, true_sigma(clean, spec)), "clean": clean}
        print(f"{name}, {spec}: " + ", ".join(f"{k} {picture_psnr(clean, np.clip(v, 0, 1)):.2f} dB" for k, v in list(panels.items())[:4]))
        rows.append(side_by_side(*(np.clip(p, 0, 1) for p in panels.values()), gap=4))
    canvas = np.concatenate([np.pad(r, ((0, 4), (0, 0), (0, 0)), constant_values=1.0) for r in rows])[:-4]
    Image.fromarray((canvas * 255).round().astype(np.uint8)).save(args.out)


if __name__ == "__main__":
    main()
