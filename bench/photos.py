"""Held-out photographs at the noise cameras make (σ 5–50 on the 0–255 scale), grey and colour, each method on
the same noisy images: the noisy input, classical filters, non-local means and BM3D where installed, and every
model; then seconds per megapixel of each model beside the others, in the same run."""
import importlib.util
import statistics
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from dae_edge.bench.filters import FILTERS
from dae_edge.core.folder import scan_folder
from dae_edge.core.images import read_image
from dae_edge.core.metrics import picture_psnr
from dae_edge.core.noise import Noise

SIGMAS = (5, 15, 25, 50)  # on the 0–255 scale: bright daylight to a dim room
KINDS = ("grey", "colour")
SPEED_SIDE = 1024  # a 1-megapixel colour picture for the speed table
SPEED_RUNS = 3

Method = Callable[[np.ndarray, float], np.ndarray]  # (noisy (H, W[, 3]), σ on the 0–1 scale) → denoised


def read_photos(folder: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Every picture under `folder`, as its file has it: grey ones (one channel) and colour ones (RGB)."""
    photos: dict[str, list[tuple[str, np.ndarray]]] = {kind: [] for kind in KINDS}
    for file in scan_folder(folder, "--photos").files:
        image = read_image(folder / file.name, channels=None).pixels
        photos["colour" if image.ndim == 3 else "grey"].append((file.name, image))
    return photos


Level = int | str  # Gaussian σ on the 0–255 scale, or a noise spec at fixed levels (poisson-gaussian:60,0.02)


def check_level(spec: str) -> str:
    """A noise spec that bench can give the classical methods a true σ for: fixed Gaussian, Poisson or
    Poisson-Gaussian; else ValueError saying what to give."""
    noise = Noise.parse(spec)
    if noise.kind not in ("gaussian", "poisson", "poisson-gaussian") or noise.blind:
        raise ValueError(f"--photo-noise {spec}: give gaussian, poisson or poisson-gaussian noise at fixed levels, "
                         "e.g. poisson-gaussian:60,0.02 (the classical methods are given its true σ)")
    return str(noise)


def noisy_copy(clean: np.ndarray, level: Level, seed: int, index: int) -> np.ndarray:
    """The picture with noise, clipped to [0, 1], seeded by image and level (the same in every run and for every
    method): Gaussian σ/255 for a number, else that noise spec."""
    if isinstance(level, str):
        return Noise.parse(level).apply(clean[None], [seed, zlib.crc32(level.encode()), index])[0]
    noise = np.random.default_rng([seed, level, index]).normal(0, level / 255, clean.shape)
    return np.clip(clean + noise, 0, 1).astype(np.float32)


def true_sigma(clean: np.ndarray, level: Level) -> float:
    """The noise's standard deviation over the picture (0–1 scale), as the classical methods are given it: for shot
    noise, sqrt(mean(clean) / PEAK + read σ²)."""
    if not isinstance(level, str):
        return level / 255
    noise = Noise.parse(level)
    if noise.kind == "gaussian":
        return noise.low
    return float(np.sqrt(clean.mean() / noise.low + (noise.read_low or 0.0) ** 2))


def level_name(level: Level) -> str:
    return f"σ {level}" if isinstance(level, int) else str(level)


def _one(method: Callable[[np.ndarray], np.ndarray]) -> Method:
    """A filter over a batch, applied to one picture (its σ unused)."""
    return lambda noisy, sigma: method(noisy[None])[0]


def _non_local_means(noisy: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_nl_means

    return denoise_nl_means(noisy, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True,
                            channel_axis=-1 if noisy.ndim == 3 else None).astype(np.float32)


def bm3d_denoise(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d  # non-commercial licence: measured where a user installed it, never a dependency

    out = bm3d.bm3d_rgb(noisy, sigma) if noisy.ndim == 3 else bm3d.bm3d(noisy, sigma)
    return np.asarray(out, np.float32)


def classical_methods() -> dict[str, Method]:
    """The filters a user would try first; non-local means (scikit-image) and BM3D (bm3d) where installed,
    both given the true σ."""
    methods: dict[str, Method] = {name: _one(method) for name, method in FILTERS.items()}
    if importlib.util.find_spec("skimage"):
        methods["non-local means (true σ)"] = _non_local_means
    if importlib.util.find_spec("bm3d"):
        methods["BM3D / CBM3D (true σ)"] = bm3d_denoise
    return methods


def model_method(denoiser) -> Method:
    return lambda noisy, sigma: denoiser.denoise_list([noisy])[0]


def photo_quality(photos: dict[str, list[tuple[str, np.ndarray]]], methods: dict[str, Method], seed: int,
                  log: Callable[[str], None] = print, sigmas: tuple[Level, ...] = SIGMAS) -> dict:
    """Mean PSNR and the worst image's gain over its noisy input, per kind, method and noise level."""
    result = {}
    for kind, images in photos.items():
        if not images:
            continue
        noisy = {s: [noisy_copy(image, s, seed, i) for i, (_, image) in enumerate(images)] for s in sigmas}
        inputs = {s: [picture_psnr(image, n) for (_, image), n in zip(images, noisy[s])] for s in sigmas}
        table = {"noisy input": {str(s): {"psnr": float(np.mean(inputs[s])), "worst_gain": 0.0} for s in sigmas}}
        for name, method in methods.items():
            log(f"photos: {name} on {len(images)} {kind} pictures at {', '.join(map(level_name, sigmas))}")
            table[name] = {}
            for s in sigmas:
                scores = [picture_psnr(image, np.clip(method(n, true_sigma(image, s)), 0, 1)) for (_, image), n in zip(images, noisy[s])]
                table[name][str(s)] = {"psnr": float(np.mean(scores)), "worst_gain": float(np.min(np.subtract(scores, inputs[s])))}
        result[kind] = {"images": [name for name, _ in images], "methods": table}
    return {"sigmas": list(sigmas), "seed": seed, "kinds": result}


def speed_picture(photos: dict[str, list[tuple[str, np.ndarray]]], seed: int) -> np.ndarray:
    """A SPEED_SIDE² noisy (σ 25) colour picture, resized from the first colour photo (else the first grey one)."""
    _, image = (photos["colour"] or photos["grey"])[0]
    resized = Image.fromarray((image * 255).round().astype(np.uint8)).convert("RGB").resize((SPEED_SIDE, SPEED_SIDE), Image.BICUBIC)
    return noisy_copy(np.asarray(resized, np.float32) / 255, 25, seed, 2**31)  # an index no held-out picture has


def seconds_per_megapixel(denoisers: dict[str, object], picture: np.ndarray, log: Callable[[str], None] = print) -> dict:
    """The median of SPEED_RUNS whole `dae-edge run`-style calls, after one to warm up, per megapixel."""
    megapixels = picture.shape[0] * picture.shape[1] / 1e6
    result = {}
    for name, denoiser in denoisers.items():
        log(f"photos: speed of {name} on a {picture.shape[1]}×{picture.shape[0]} colour picture")
        denoiser.denoise_list([picture])
        times = []
        for _ in range(SPEED_RUNS):
            began = time.perf_counter()
            denoiser.denoise_list([picture])
            times.append(time.perf_counter() - began)
        result[name] = statistics.median(times) / megapixels
    return result


def format_photos(result: dict) -> list[str]:
    sigmas = [str(s) for s in result["sigmas"]]
    gaussian = all(isinstance(s, int) for s in result["sigmas"])
    lines = []
    for kind, table in result["kinds"].items():
        lines += ["", f"{kind} held-out photographs ({len(table['images'])}): mean PSNR dB, and in brackets the worst "
                  f"image's gain over its noisy input; {'Gaussian noise, σ on the 0–255 scale' if gaussian else 'noise'}, "
                  f"seed {result['seed']}", "",
                  "| method | " + " | ".join(map(level_name, result["sigmas"])) + " |", "|---|" + "---|" * len(sigmas)]
        for name, scores in table["methods"].items():
            cells = [f"{scores[s]['psnr']:.2f}" + ("" if name == "noisy input" else f" ({scores[s]['worst_gain']:+.2f})") for s in sigmas]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if speed := result.get("speed"):
        fastest_peer = result.get("peer")
        lines += ["", f"speed on a {SPEED_SIDE}×{SPEED_SIDE} noisy colour picture, {result['threads']} threads, median of "
                  f"{SPEED_RUNS}", "", "| model | s per megapixel |" + (" × faster than the peer |" if fastest_peer else ""),
                  "|---|---|" + ("---|" if fastest_peer else "")]
        for name, seconds in speed.items():
            ratio = f" {speed[fastest_peer] / seconds:.2f} |" if fastest_peer else ""
            lines.append(f"| {name} | {seconds:.3f} |{ratio}")
    return lines
