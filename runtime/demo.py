"""`dae-edge demo`: the shipped models on bundled noisy pictures, written as PNG files: ten MNIST test digits
with the digits model, and a colour photo and a printed page with the photo model (the default of `run`)."""
import shutil
from pathlib import Path

import numpy as np

DEMO_PICTURES = ("demo_photo.png", "demo_page.png")  # shipped beside the photo model (tools/demo_pictures.py)


def _beside(noisy, denoised) -> np.ndarray:
    """Noisy above, denoised below, as one RGB picture (a grey one as three equal channels)."""
    rgb = lambda image: image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=-1)  # noqa: E731
    return np.concatenate([rgb(noisy), rgb(denoised)], axis=0)


def demo(out: Path) -> str:
    """Denoise the bundled noisy digits, photo and page into `out`; a line saying what was written."""
    from dae_edge.core.files import ensure_writable_dir
    from dae_edge.core.images import Invert, read_image, write_image
    from dae_edge.runtime.denoiser import Denoiser, shipped_folder
    from dae_edge.runtime.options import RunOptions
    from dae_edge.runtime.run import denoise_files
    from dae_edge.runtime.shipped import DEFAULT_MODEL, DIGITS_MODEL
    from dae_edge.runtime.verify import load_golden

    ensure_writable_dir(out)
    noisy = load_golden(shipped_folder(DIGITS_MODEL))["inputs"][..., 0]
    paths = []
    for i, image in enumerate(noisy):
        paths.append(out / f"noisy_{i}.png")
        write_image(paths[-1], image)
    digits = Denoiser.shipped(DIGITS_MODEL)
    results = list(denoise_files(digits, paths, RunOptions(invert=Invert.no)))
    denoised = [read_image(r.output, Invert.no).pixels for r in results]
    rows = [np.concatenate(list(noisy), axis=1), np.concatenate(denoised, axis=1)]
    write_image(out / "demo.png", np.concatenate(rows, axis=0))

    photo = Denoiser.shipped(DEFAULT_MODEL)
    pictures = []
    for name in DEMO_PICTURES:
        pictures.append(out / name.removeprefix("demo_"))
        shutil.copyfile(shipped_folder(DEFAULT_MODEL) / name, pictures[-1])
    results = list(denoise_files(photo, pictures, RunOptions(invert=Invert.no)))
    pairs = [_beside(read_image(p, Invert.no, channels=None).pixels, read_image(r.output, Invert.no, channels=None).pixels)
             for p, r in zip(pictures, results)]
    height = max(p.shape[0] for p in pairs)
    padded = [np.pad(p, ((0, height - p.shape[0]), (0, 4), (0, 0)), constant_values=1.0) for p in pairs]
    write_image(out / "demo_photo.png", np.concatenate(padded, axis=1)[:, :-4])
    return (f"{DIGITS_MODEL} ({digits.path.name} on {digits.backend.name}): {len(paths)} noisy digits → "
            f"{out}/noisy_N.denoised.png, side by side in {out}/demo.png; {DEFAULT_MODEL} ({photo.path.name}): "
            f"a noisy photo and page → {out}/photo.denoised.png and page.denoised.png, side by side in {out}/demo_photo.png")
