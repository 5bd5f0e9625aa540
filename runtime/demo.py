"""`dae-edge demo`: the shipped model on the bundled noisy test digits, written as PNG files."""
from pathlib import Path

import numpy as np


def demo(out: Path) -> str:
    """Denoise the ten bundled noisy MNIST test digits with the shipped model into `out`; a line saying what was written."""
    from dae_edge.core.files import ensure_writable_dir
    from dae_edge.core.images import Invert, read_image, write_image
    from dae_edge.runtime.denoiser import Denoiser, shipped_folder
    from dae_edge.runtime.options import RunOptions
    from dae_edge.runtime.run import denoise_files
    from dae_edge.runtime.verify import load_golden

    ensure_writable_dir(out)
    noisy = load_golden(shipped_folder())["inputs"][..., 0]
    paths = []
    for i, image in enumerate(noisy):
        paths.append(out / f"noisy_{i}.png")
        write_image(paths[-1], image)
    denoiser = Denoiser.load()
    results = list(denoise_files(denoiser, paths, RunOptions(invert=Invert.no)))
    denoised = [read_image(r.output, Invert.no).pixels for r in results]
    rows = [np.concatenate(list(noisy), axis=1), np.concatenate(denoised, axis=1)]
    write_image(out / "demo.png", np.concatenate(rows, axis=0))
    return (f"{denoiser.path.name} on {denoiser.backend.name}: {len(paths)} noisy digits → "
            f"{out}/noisy_N.denoised.png; side by side in {out}/demo.png")
