"""Where a photo model loses to CBM3D: each held-out colour crop's PSNR, the model's and CBM3D's (the `bm3d` package,
given the true σ), and the ratio of their squared errors on edges and on the rest:

    python tools/photo_gaps.py MODEL HELDOUT [--sigmas 15 25]

MODEL is any file `dae-edge run` takes (e.g. models/photo/dae.onnx); HELDOUT the corpus's heldout folder. Edges
are the fifth of the pixels where the clean crop's luma changes most (the sum of its absolute differences to the
right and below). Gaussian noise clipped to [0, 1], from one generator seeded with --seed, crop after crop.
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from dae_edge.runtime.denoiser import Denoiser

EDGE_SHARE = 0.2


def psnr(clean: np.ndarray, image: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((clean - image) ** 2)))


def edges(clean: np.ndarray) -> np.ndarray:
    """The EDGE_SHARE of the pixels where the luma changes most, as a boolean (H, W) mask."""
    luma = clean.mean(axis=2)
    change = np.abs(np.diff(luma, axis=1, append=luma[:, -1:])) + np.abs(np.diff(luma, axis=0, append=luma[-1:]))
    return change > np.quantile(change, 1 - EDGE_SHARE)


def main() -> None:
    import bm3d

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("heldout", type=Path)
    parser.add_argument("--sigmas", type=int, nargs="+", default=[15, 25], help="on the 0–255 scale")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    denoiser, rng = Denoiser.load(args.model, threads=1), np.random.default_rng(args.seed)
    print("| σ | picture | model dB | CBM3D dB | gap | edge error ÷ CBM3D's | the rest's |\n|---|---|---|---|---|---|---|")
    for sigma in args.sigmas:
        for path in sorted((args.heldout / "colour").glob("*.png")):
            clean = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
            noisy = np.clip(clean + rng.normal(0, sigma / 255, clean.shape), 0, 1).astype(np.float32)
            ours = np.clip(denoiser.denoise_list([noisy])[0], 0, 1)
            theirs = np.clip(bm3d.bm3d_rgb(noisy, sigma / 255), 0, 1)
            ours_error, their_error, edge = ((ours - clean) ** 2).mean(2), ((theirs - clean) ** 2).mean(2), edges(clean)
            gap = psnr(clean, ours) - psnr(clean, theirs)
            print(f"| {sigma} | {path.stem} | {psnr(clean, ours):.2f} | {psnr(clean, theirs):.2f} | {gap:+.2f} | "
                  f"{ours_error[edge].mean() / their_error[edge].mean():.2f} | "
                  f"{ours_error[~edge].mean() / their_error[~edge].mean():.2f} |")


if __name__ == "__main__":
    main()
