"""`dae-edge bench`: size, quality, latency, throughput and cold start of every artifact, side by side."""
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from dae_edge.runtime.backends import open_backend
from dae_edge.bench.quality import corrupt, format_own_noise, model_denoisers, own_noise_quality, validation_noise
from dae_edge.runtime.denoiser import Denoiser
from dae_edge.core.errors import DaeEdgeError, RuntimeMissing
from dae_edge.bench.filters import median3
from dae_edge.bench.photos import format_photos
from dae_edge.bench.timing import call_seconds, per_second
from dae_edge.core.sources import Source
from dae_edge.core.images import write_image
from dae_edge.runtime.manifest import read_manifest
from dae_edge.core.metrics import psnr, ssim
from dae_edge.core.noise import pairs

LATENCY_WARMUP, LATENCY_RUNS = 20, 300
THROUGHPUT_BATCH, THROUGHPUT_SECONDS = 256, 2.0
COLD_STARTS = 5
EXTRA_NOISE = (0.3, 0.7)  # PSNR at gentler and harsher noise than the training factor
CURVE_NOISE = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    libraries = {}
    for name in ("numpy", "onnxruntime", "ai-edge-litert", "tflite-runtime", "tensorflow", "keras"):
        try:
            libraries[name] = version(name)
        except PackageNotFoundError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform(),
            "libraries": libraries}


def _quality(run, clean: np.ndarray, noise_seed: int) -> dict:
    figures = {}
    for factor in (0.5, *EXTRA_NOISE):
        noisy = pairs(clean, f"gaussian:{factor:g}", noise_seed)[0]
        out = np.concatenate([run(noisy[i : i + THROUGHPUT_BATCH]) for i in range(0, len(noisy), THROUGHPUT_BATCH)])
        figures[f"psnr_{factor}"] = float(psnr(clean, out).mean())
        if factor == 0.5:
            figures["ssim_0.5"] = float(ssim(clean, out).mean())
    return figures


def _latency(run, image: np.ndarray) -> dict:
    times = [t * 1000 for t in call_seconds(lambda: run(image), LATENCY_RUNS, LATENCY_WARMUP)]
    return {"latency_ms_median": statistics.median(times), "latency_ms_p95": float(np.percentile(times, 95))}


def _speed(run, noisy: np.ndarray) -> dict:
    batch = noisy[:THROUGHPUT_BATCH]
    return {**_latency(run, noisy[:1]), "throughput_ips": per_second(lambda: run(batch), len(batch), THROUGHPUT_SECONDS)}


def _cold_start(model: Path, threads: int, image: Path) -> float:
    """Median wall time of a fresh `dae-edge run` process, from launch to the written file."""
    script = Path(sys.executable).with_name("dae-edge")
    launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "dae_edge.app.cli"]
    command = [*launcher, "run", str(image), "--model", str(model), "--threads", str(threads)]
    times = []
    for _ in range(COLD_STARTS):
        output = image.with_name(f"{image.stem}.denoised.png")
        output.unlink(missing_ok=True)
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
        if not output.is_file():
            raise DaeEdgeError(f"cold start of {model.name}: no output written")
    return statistics.median(times)


def noise_curve(path: Path | None, clean: np.ndarray, noise_seed: int, run=None) -> dict[str, float]:
    """Mean PSNR over CURVE_NOISE factors, of the model at `path` (or `run`, e.g. median3)."""
    run = run or Denoiser.load(path).denoise
    return {f"{f:g}": float(psnr(clean, run(pairs(clean, f"gaussian:{f:g}", noise_seed)[0])).mean()) for f in CURVE_NOISE}


def large_images(path: Path, clean: np.ndarray | None, noisy: np.ndarray, log=print) -> dict:
    """Large images laid out from the noisy images (N, h, w, 1); with `clean` MNIST digits, also the composites' PSNR."""
    from dae_edge.bench import large as bench_large

    planes = noisy[..., 0] if noisy.shape[-1] == 1 else noisy
    batch = planes[:THROUGHPUT_BATCH]
    figures = {"file": path.name}
    if clean is not None:
        log(f"large images with {path.name}: 10×10 grids of digits, whole and in tiles")
        figures |= {f"composite_{k}": v for k, v in bench_large.composite_quality(path, clean, planes).items()}
    log(f"large images with {path.name}: {' and '.join(f'{s}×{s}' for s in bench_large.SIDES)}, whole and in tiles")
    figures |= bench_large.large_speed(path, planes)
    log(f"large images with {path.name}: a fresh `dae-edge run` on the largest and on a strip (time, peak memory)")
    figures |= bench_large.fresh_process(path, planes)
    log(f"large images with {path.name}: throughput beside a busy core")
    return {**figures, "busy_ips_2": bench_large.busy_throughput(path, batch, 2), "busy_ips_1": bench_large.busy_throughput(path, batch, 1)}


def _large_rows(models: Path, manifest: dict, clean: np.ndarray | None, noisy: np.ndarray, log) -> list[dict]:
    rows = []
    for entry in manifest["artifacts"]:
        try:
            rows.append(large_images(models / entry["file"], clean, noisy, log))
        except RuntimeMissing as exc:
            log(f"skipping {entry['file']}: {exc}")
    return rows


def keras_baseline(models: Path, manifest: dict):
    """The trained Keras model through model.predict, where TensorFlow is installed and the file is there; else None."""
    keras_file = models / manifest["source"]["file"]
    if not (importlib.util.find_spec("keras") and keras_file.is_file()):
        return None
    from dae_edge.bench.reference import KerasPredict  # only where TensorFlow is installed

    return KerasPredict(keras_file, THROUGHPUT_BATCH)


def _rows(models: Path, manifest: dict, noisy: np.ndarray, threads: list[int], log, keras=None, quality=None) -> list[dict]:
    """Size, speed and cold start of Keras (where given) and every artifact; `quality(run)` adds columns."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.png"
        write_image(one, noisy[0] if noisy.shape[-1] == 3 else noisy[0, ..., 0])
        if keras is not None:
            log(f"measuring {keras.path.name} (keras, model.predict)")
            rows.append({"file": keras.path.name, "backend": "keras", "precision": "fp32", "threads": None,
                         "bytes": keras.path.stat().st_size, **(quality(keras.run) if quality else {}),
                         **_speed(keras.run, noisy), "cold_start_s": None})
        for entry in manifest["artifacts"]:
            path = models / entry["file"]
            figures = None
            for count in threads:
                try:
                    backend = open_backend(path, count)
                except RuntimeMissing as exc:  # a corrupt artifact is an error, not a skip
                    log(f"skipping {entry['file']}: {exc}")
                    break
                log(f"measuring {entry['file']} ({backend.name}, {count} thread{'s' * (count > 1)})")
                figures = figures or (quality(backend.run) if quality else {})
                rows.append({"file": entry["file"], "backend": backend.name, "precision": entry["precision"],
                             "threads": count, "bytes": path.stat().st_size, **figures, **_speed(backend.run, noisy),
                             "cold_start_s": _cold_start(path, count, one)})
    return rows


def _manifest(models: Path) -> dict:
    manifest = read_manifest(models)
    if manifest is None:
        raise DaeEdgeError(f"{models}: no manifest.json; run dae-edge export first")
    return manifest


def photo_stage(models: Path, manifest: dict, folder: Path, peer: Path | None, threads: int, keras, log,
                noises: tuple[str, ...] = ()) -> dict:
    """bench/photos.py's tables for Keras (where installed), every artifact and a peer model (any .onnx or .tflite)."""
    from dae_edge.bench import photos

    pictures = photos.read_photos(folder)
    seed = manifest["validation"]["noise_seed"]
    denoisers = model_denoisers(models, manifest, keras, log, threads)
    peer_name = None if peer is None else f"peer {peer.name}"
    if peer is not None:
        denoisers[peer_name] = Denoiser.load(peer, threads)
    methods = photos.classical_methods() | {name: photos.model_method(d) for name, d in denoisers.items()}
    result = photos.photo_quality(pictures, methods, seed, log, noises or photos.SIGMAS)
    speed = photos.seconds_per_megapixel(denoisers, photos.speed_picture(pictures, seed), log)
    return {**result, "folder": str(folder), "threads": threads, "peer": peer_name, "speed": speed}


def bench(models: Path, source: Source, count: int, threads: list[int], log=print, large: bool = True,
          photos: Path | None = None, peer: Path | None = None, photo_noises: tuple[str, ...] = ()) -> dict:
    """Measure every artifact in `models` (and dae.keras where TensorFlow is installed) on the validation images of
    `source`: small whole images (digits) one by one, in grids and over noise levels; pictures whole, at the
    model's own noise beside classical filters; speed on noisy validation images (digits) or patches (pictures).
    With `photos`, also bench/photos.py's tables on that folder, a `peer` model beside ours, at `photo_noises`
    (noise specs) instead of Gaussian σ 5–50 where given."""
    manifest = _manifest(models)
    noise_seed, noise = manifest["validation"]["noise_seed"], validation_noise(manifest)
    clean = source.bench_images(count)
    keras = keras_baseline(models, manifest)
    result = {"machine": machine(), "images": len(clean), "noise_seed": noise_seed, "model": manifest.get("model", {}),
              "input": manifest.get("input", {}), "one_by_one": source.one_by_one}
    if source.one_by_one:
        digits = np.stack(clean)
        noisy = pairs(digits, "gaussian:0.5", noise_seed)[0][..., None]
        quality = lambda run: _quality(run, digits[..., None], noise_seed)  # noqa: E731
    else:
        patches = source.validation_images(256, noise_seed)
        noisy, quality = np.stack(corrupt(list(patches[..., 0] if patches.shape[-1] == 1 else patches), noise, noise_seed)), None
        noisy = noisy.reshape(patches.shape)
        result["patches"] = len(patches)
    result["rows"] = _rows(models, manifest, noisy, threads, log, keras, quality)
    result["large"] = _large_rows(models, manifest, digits if source.one_by_one else None, noisy, log) if large else []
    if source.one_by_one:
        result["curve"] = {"model": noise_curve(models / "dae.onnx", digits, noise_seed),
                           "median3": noise_curve(None, digits, noise_seed, median3)}
    result["own_noise"] = own_noise_quality(models, manifest, clean, noise_seed, log, keras)
    if photos is not None:
        result["photos"] = photo_stage(models, manifest, photos, peer, max(threads), keras, log, photo_noises)
    return result


def _macs(model: dict) -> str:
    """MACs per 28×28 image (MNIST models), else per pixel (models downsampling more than 28 allows)."""
    if model.get("macs_per_28x28"):
        return f"{model['macs_per_28x28'] / 1e6:.2f} M MACs per 28×28 image"
    return f"{model.get('macs_per_pixel', 0):,} MACs per pixel"


def format_table(result: dict) -> str:
    m = result["machine"]
    libs = ", ".join(f"{k} {v}" for k, v in m["libraries"].items())
    model = result.get("model") or {}
    lines = [f"{m['cpu']}, {m['cores']} cores, Python {m['python']}; {libs}", "",
             f"model: {model.get('arch', '?')}, {model.get('params', 0):,} parameters, {_macs(model)}, trained on "
             f"{model.get('noise', '?')} noise", "",
             f"quality on {result['images']} MNIST test digits (noise seed {result['noise_seed']}); "
             f"latency at batch 1, throughput at batch {THROUGHPUT_BATCH}", "",
             "| file | backend | threads | KB | PSNR 0.5 | SSIM 0.5 | PSNR 0.3 | PSNR 0.7 | median ms | p95 ms | images/s | cold start s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    if not result["one_by_one"]:  # pictures: speed here, quality at their own noise below
        patch = result["input"].get("patch", "?")
        lines[-4:] = [f"speed on noisy {patch}×{patch} validation patches: latency at batch 1, throughput at batch "
                      f"{min(THROUGHPUT_BATCH, result['patches'])}", "",
                      "| file | backend | threads | KB | median ms | p95 ms | patches/s | cold start s |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['file']} | {r['backend']} | {r['threads'] or 'all'} | {r['bytes'] / 1000:.1f} | "
                  f"{r['latency_ms_median']:.3f} | {r['latency_ms_p95']:.3f} | {r['throughput_ips']:,.0f} | "
                  f"{'–' if r['cold_start_s'] is None else format(r['cold_start_s'], '.2f')} |" for r in result["rows"]]
        lines += _large_table(result) + [""] + format_own_noise(result["own_noise"], "validation pictures")
        return "\n".join(lines + (format_photos(result["photos"]) if result.get("photos") else []))
    for r in result["rows"]:
        cold = "–" if r["cold_start_s"] is None else f"{r['cold_start_s']:.2f}"
        lines.append(f"| {r['file']} | {r['backend']} | {r['threads'] or 'all'} | {r['bytes'] / 1000:.1f} | "
                     f"{r['psnr_0.5']:.2f} | {r['ssim_0.5']:.4f} | {r['psnr_0.3']:.2f} | {r['psnr_0.7']:.2f} | "
                     f"{r['latency_ms_median']:.3f} | {r['latency_ms_p95']:.3f} | {r['throughput_ips']:,.0f} | {cold} |")
    lines += _large_table(result)
    if result.get("curve"):
        factors = list(result["curve"]["model"])
        lines += ["", "PSNR (dB) over noise factors, fp32 ONNX and a 3×3 median filter", "",
                  "| | " + " | ".join(factors) + " |", "|---|" + "---|" * len(factors)]
        for name, values in result["curve"].items():
            lines.append(f"| {name} | " + " | ".join(f"{values[f]:.2f}" for f in factors) + " |")
    if result.get("own_noise"):
        lines += [""] + format_own_noise(result["own_noise"], "test images")
    return "\n".join(lines + (format_photos(result["photos"]) if result.get("photos") else []))


def _large_table(result: dict) -> list[str]:
    """The large-image rows; the composite columns only where digits were measured (MNIST models)."""
    if not result.get("large"):
        return []
    from dae_edge.bench.large import SIDES, STRIP

    small, big, strip = SIDES[0], SIDES[-1], f"{STRIP[0]}×{STRIP[1]:,}"
    digits = "composite_single" in result["large"][0]
    what = ("composites: 10×10 grids of the same noisy test digits, PSNR per digit" if digits
            else "images laid out from noisy validation patches")
    lines = ["", f"large images (all cores; default for this model: {result['input'].get('large_images', 'whole')}); {what}", "",
             f"| file |{' PSNR one by one | grid whole | grid tiles |' * digits} {small}² whole s | {small}² tiles s | "
             f"{big}² whole s (MP/s) | {big}² tiles s | fresh run {big}² s, peak MB | {strip} strip s, peak MB | "
             f"busy core: images/s 2 threads | 1 thread |", "|---" * (9 + 3 * digits) + "|"]
    for r in result["large"]:
        quality = f" {r['composite_single']:.2f} | {r['composite_whole']:.2f} | {r['composite_tiles']:.2f} |" if digits else ""
        lines.append(f"| {r['file']} |{quality} {r['side0_whole_s']:.3f} | {r['side0_tiles_s']:.3f} | "
                     f"{r['side1_whole_s']:.2f} ({r['side1_whole_mpps']:.1f}) | {r['side1_tiles_s']:.2f} | "
                     f"{r['large_run_s']:.2f}, {r['large_rss_mb']:.0f} | {r['strip_run_s']:.2f}, {r['strip_rss_mb']:.0f} | "
                     f"{r['busy_ips_2']:,.0f} | {r['busy_ips_1']:,.0f} |")
    return lines
