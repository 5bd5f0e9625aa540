"""Whole images or overlapping tiles: measured on one large validation image, with the runtime's own code."""
from dataclasses import replace
from pathlib import Path

import numpy as np

from dae_edge.core.grids import cells
from dae_edge.core.metrics import picture_psnr, psnr
from dae_edge.runtime.backends import open_backend
from dae_edge.runtime.denoiser import LARGE_MODES, Denoiser, Geometry

TILES_MARGIN_DB = 0.05  # tiles must keep this much more PSNR than one pass to be worth their time


def mode_quality(denoiser: Denoiser, noisy: list[np.ndarray], clean: list[np.ndarray], cell: int | None) -> float:
    """Mean PSNR of `denoiser` on large images: over their `cell`-sized cells (grids of small images), or over each
    whole picture where `cell` is None."""
    outputs = denoiser.denoise_list(noisy)
    if cell:
        return float(np.mean([psnr(cells(c, cell, cell), cells(o, cell, cell)).mean() for c, o in zip(clean, outputs)]))
    return float(np.mean([picture_psnr(c, o) for c, o in zip(clean, outputs)]))


def whole_and_tiles(path: Path, patch: int, multiple: int, radius: int, checks, margin: int = 0) -> dict[str, float]:
    """PSNR of the checks' large image run whole (with its context margin) and in tiles of the training patch."""
    noisy, _, clean = checks.cases["large image"]
    geometry = Geometry(tile=patch, multiple=multiple, radius=radius, margin=margin)
    denoiser = Denoiser(open_backend(path), path, None, geometry, threads=1)
    return {mode: mode_quality(replace(denoiser, geometry=replace(geometry, large=mode)), list(noisy), list(clean), checks.cell)
            for mode in LARGE_MODES}


def large_choice(psnr_by_mode: dict[str, float]) -> dict:
    """Run larger images whole (one pass, 2–3× faster) unless tiles kept clearly more PSNR on the large image."""
    if not psnr_by_mode:
        return {"large_images": "whole"}
    best = "tiles" if psnr_by_mode["tiles"] > psnr_by_mode["whole"] + TILES_MARGIN_DB else "whole"
    return {"large_images": best, "large_images_psnr": {mode: round(v, 3) for mode, v in psnr_by_mode.items()}}
