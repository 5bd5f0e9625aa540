"""Quality at the model's own noise, on its own validation images, beside classical filters (numpy only)."""
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dae_edge.runtime.denoiser import Denoiser, geometry
from dae_edge.runtime.errors import RuntimeMissing
from dae_edge.runtime.filters import FILTERS
from dae_edge.runtime.metrics import psnr, ssim
from dae_edge.runtime.noise import Noise, pairs


def corrupt(images: list[np.ndarray], noise: str, seed: int) -> list[np.ndarray]:
    """Each clean (H, W) image with the model's noise: one seeded draw over a stack of equal sizes, else one per image."""
    model = Noise.parse(noise)
    if len({image.shape for image in images}) == 1:
        return list(pairs(np.stack(images)[..., None], model, seed)[0][..., 0])
    return [pairs(image[None, ..., None], model, [seed, i])[0][0, ..., 0] for i, image in enumerate(images)]


def _scores(clean: list[np.ndarray], outputs: list[np.ndarray]) -> dict[str, float]:
    return {"psnr": float(np.mean([psnr(c, o)[0] for c, o in zip(clean, outputs)])),
            "ssim": float(np.mean([ssim(c, o)[0] for c, o in zip(clean, outputs)]))}


def _filtered(images: list[np.ndarray], method: Callable) -> list[np.ndarray]:
    if len({image.shape for image in images}) == 1:
        return list(method(np.stack(images)))
    return [method(image[None])[0] for image in images]


def own_noise_quality(models: Path, manifest: dict, clean: list[np.ndarray], noise_seed: int,
                      log: Callable[[str], None] = print) -> dict:
    """PSNR and SSIM of the noisy input, each classical filter, Keras (where installed) and every artifact,
    all on the same noisy images; whole images, as `dae-edge run` processes them."""
    noise = manifest["input"]["noise"]
    noisy = corrupt(clean, noise, noise_seed)
    methods: dict[str, dict] = {"noisy input": _scores(clean, noisy)}
    for name, method in FILTERS.items():
        methods[name] = _scores(clean, _filtered(noisy, method))
    denoisers = []
    keras_file = models / manifest["source"]["file"]
    if importlib.util.find_spec("keras") and keras_file.is_file():
        from dae_edge.train.reference import KerasPredict  # only where TensorFlow is installed

        keras = KerasPredict(keras_file)
        denoisers.append((keras_file.name, Denoiser(keras, keras_file, None, geometry(keras, manifest), threads=1)))
    for entry in manifest["artifacts"]:
        try:
            denoisers.append((entry["file"], Denoiser.load(models / entry["file"])))
        except RuntimeMissing as exc:
            log(f"skipping {entry['file']}: {exc}")
    for name, denoiser in denoisers:
        log(f"quality of {name} at its own noise ({noise}) on {len(clean)} validation images")
        methods[name] = _scores(clean, denoiser.denoise_list(noisy))
    return {"noise": noise, "noise_seed": noise_seed, "images": len(clean), "methods": methods}


def format_own_noise(result: dict, what: str) -> list[str]:
    what = what if result["images"] != 1 else what.rstrip("s")  # "1 validation picture"
    lines = [f"quality at the model's own noise ({result['noise']}, seed {result['noise_seed']}) on {result['images']} "
             f"{what}, whole images", "", "| method | PSNR dB | SSIM |", "|---|---|---|"]
    for name, score in result["methods"].items():
        lines.append(f"| {name} | {score['psnr']:.2f} | {score['ssim']:.4f} |")
    return lines
