"""Quality at the model's own noise, on its own validation images, beside classical filters (numpy only)."""
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dae_edge.runtime.denoiser import Denoiser, geometry
from dae_edge.core.errors import RuntimeMissing
from dae_edge.bench.filters import FILTERS
from dae_edge.core.metrics import picture_psnr, picture_ssim
from dae_edge.core.noise import NONE, corrupt_each, pairs


def corrupt(images: list[np.ndarray], noise: str, seed: int) -> list[np.ndarray]:
    """Each clean (H, W[, C]) image with the model's noise: one seeded draw over a stack of equal sizes, else one per image."""
    if len({image.shape for image in images}) == 1:
        stack = np.stack(images)
        return list(pairs(stack.reshape(*stack.shape[:3], -1), noise, seed)[0].reshape(stack.shape))
    return corrupt_each(images, noise, seed, list(range(len(images))))


def _scores(clean: list[np.ndarray], outputs: list[np.ndarray]) -> dict[str, float]:
    return {"psnr": float(np.mean([picture_psnr(c, o) for c, o in zip(clean, outputs)])),
            "ssim": float(np.mean([picture_ssim(c, o) for c, o in zip(clean, outputs)]))}


def _filtered(images: list[np.ndarray], method: Callable) -> list[np.ndarray]:
    if len({image.shape for image in images}) == 1:
        return list(method(np.stack(images)))
    return [method(image[None])[0] for image in images]


def model_denoisers(models: Path, manifest: dict, keras=None, log: Callable[[str], None] = print,
                    threads: int | None = None) -> dict[str, Denoiser]:
    """Keras (where given: bench loads it once) and every artifact whose runtime is installed, by file name.
    Keras runs on one thread: a Denoiser opens more backends from its path, and a .keras file is not one."""
    denoisers = {} if keras is None else {keras.path.name: Denoiser(keras, keras.path, None, geometry(keras, manifest), threads=1)}
    for entry in manifest["artifacts"]:
        try:
            denoisers[entry["file"]] = Denoiser.load(models / entry["file"], threads)
        except RuntimeMissing as exc:
            log(f"skipping {entry['file']}: {exc}")
    return denoisers


def own_noise_quality(models: Path, manifest: dict, clean: list[np.ndarray], noise_seed: int,
                      log: Callable[[str], None] = print, keras=None) -> dict:
    """PSNR and SSIM of the noisy input, each classical filter, Keras (where installed) and every artifact,
    all on the same noisy images; whole images, as `dae-edge run` processes them. None where the validation
    pictures are noisy themselves (self-supervised without clean ones): there is nothing to measure against."""
    noise = validation_noise(manifest)
    if noise == NONE:
        log("quality at the model's own noise: not measured, its validation pictures have no clean copy (see --photos)")
        return None
    noisy = corrupt(clean, noise, noise_seed)
    methods: dict[str, dict] = {"noisy input": _scores(clean, noisy)}
    for name, method in FILTERS.items():
        methods[name] = _scores(clean, _filtered(noisy, method))
    for name, denoiser in model_denoisers(models, manifest, keras, log).items():
        log(f"quality of {name} at its own noise ({noise}) on {len(clean)} validation images")
        methods[name] = _scores(clean, denoiser.denoise_list(noisy))
    return {"noise": noise, "noise_seed": noise_seed, "images": len(clean), "methods": methods}


def validation_noise(manifest: dict) -> str:
    """The noise the validation pictures get (the training noise, except for self-supervised models)."""
    return manifest["validation"].get("noise", manifest["input"]["noise"])


def format_own_noise(result: dict | None, what: str) -> list[str]:
    if result is None:
        return ["quality at the model's own noise: not measured, the validation pictures have no clean copy"]
    what = what if result["images"] != 1 else what.rstrip("s")  # "1 validation picture"
    lines = [f"quality at the model's own noise ({result['noise']}, seed {result['noise_seed']}) on {result['images']} "
             f"{what}, whole images", "", "| method | PSNR dB | SSIM |", "|---|---|---|"]
    for name, score in result["methods"].items():
        lines.append(f"| {name} | {score['psnr']:.2f} | {score['ssim']:.4f} |")
    return lines
