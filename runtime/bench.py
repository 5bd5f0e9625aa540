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
from dae_edge.runtime.errors import DaeEdgeError, RuntimeMissing
from dae_edge.runtime.images import write_image
from dae_edge.runtime.manifest import read_manifest
from dae_edge.runtime.metrics import psnr, ssim
from dae_edge.runtime.noise import add_noise

LATENCY_WARMUP, LATENCY_RUNS = 20, 300
THROUGHPUT_BATCH, THROUGHPUT_SECONDS = 256, 2.0
COLD_STARTS = 5
EXTRA_NOISE = (0.3, 0.7)  # PSNR at gentler and harsher noise than the training factor


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
        noisy = add_noise(clean, factor, noise_seed)
        out = np.concatenate([run(noisy[i : i + THROUGHPUT_BATCH]) for i in range(0, len(noisy), THROUGHPUT_BATCH)])
        figures[f"psnr_{factor}"] = float(psnr(clean, out).mean())
        if factor == 0.5:
            figures["ssim_0.5"] = float(ssim(clean, out).mean())
    return figures


def _latency(run, image: np.ndarray) -> dict:
    for _ in range(LATENCY_WARMUP):
        run(image)
    times = []
    for _ in range(LATENCY_RUNS):
        began = time.perf_counter()
        run(image)
        times.append((time.perf_counter() - began) * 1000)
    return {"latency_ms_median": statistics.median(times), "latency_ms_p95": float(np.percentile(times, 95))}


def _throughput(run, batch: np.ndarray) -> float:
    run(batch)
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < THROUGHPUT_SECONDS:
        run(batch)
        done += len(batch)
    return done / (time.perf_counter() - began)


def _speed(run, noisy: np.ndarray) -> dict:
    return {**_latency(run, noisy[:1]), "throughput_ips": _throughput(run, noisy[:THROUGHPUT_BATCH])}


def _cold_start(model: Path, threads: int, image: Path) -> float:
    """Median wall time of a fresh `dae-edge run` process, from launch to the written file."""
    script = Path(sys.executable).with_name("dae-edge")
    launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "dae_edge.runtime.cli"]
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


def bench(models: Path, clean: np.ndarray, threads: list[int], log=print) -> dict:
    """Measure every artifact in `models` (and dae.keras where TensorFlow is installed) on `clean` test digits."""
    manifest = read_manifest(models)
    if manifest is None:
        raise DaeEdgeError(f"{models}: no manifest.json; run dae-edge export first")
    noise_seed = manifest["validation"]["noise_seed"]
    noisy = add_noise(clean, 0.5, noise_seed)[..., None]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.png"
        write_image(one, noisy[0, ..., 0])
        keras_file = models / manifest["source"]["file"]
        if importlib.util.find_spec("keras") and keras_file.is_file():
            log(f"measuring {keras_file.name} (keras, model.predict)")
            from dae_edge.train.reference import KerasPredict  # only where TensorFlow is installed

            keras_model = KerasPredict(keras_file, THROUGHPUT_BATCH)
            rows.append({"file": keras_file.name, "backend": "keras", "precision": "fp32", "threads": None,
                         "bytes": keras_file.stat().st_size, **_quality(keras_model.run, clean[..., None], noise_seed),
                         **_speed(keras_model.run, noisy), "cold_start_s": None})
        for entry in manifest["artifacts"]:
            path = models / entry["file"]
            quality = None
            for count in threads:
                try:
                    backend = open_backend(path, count)
                except RuntimeMissing as exc:  # a corrupt artifact is an error, not a skip
                    log(f"skipping {entry['file']}: {exc}")
                    break
                log(f"measuring {entry['file']} ({backend.name}, {count} thread{'s' * (count > 1)})")
                quality = quality or _quality(backend.run, clean[..., None], noise_seed)
                rows.append({"file": entry["file"], "backend": backend.name, "precision": entry["precision"],
                             "threads": count, "bytes": path.stat().st_size, **quality, **_speed(backend.run, noisy),
                             "cold_start_s": _cold_start(path, count, one)})
    return {"machine": machine(), "images": len(clean), "noise_seed": noise_seed, "rows": rows}


def format_table(result: dict) -> str:
    m = result["machine"]
    libs = ", ".join(f"{k} {v}" for k, v in m["libraries"].items())
    lines = [f"{m['cpu']}, {m['cores']} cores, Python {m['python']}; {libs}", "",
             f"quality on {result['images']} MNIST test digits (noise seed {result['noise_seed']}); "
             f"latency at batch 1, throughput at batch {THROUGHPUT_BATCH}", "",
             "| file | backend | threads | KB | PSNR 0.5 | SSIM 0.5 | PSNR 0.3 | PSNR 0.7 | median ms | p95 ms | images/s | cold start s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        cold = "–" if r["cold_start_s"] is None else f"{r['cold_start_s']:.2f}"
        lines.append(f"| {r['file']} | {r['backend']} | {r['threads'] or 'all'} | {r['bytes'] / 1000:.1f} | "
                     f"{r['psnr_0.5']:.2f} | {r['ssim_0.5']:.4f} | {r['psnr_0.3']:.2f} | {r['psnr_0.7']:.2f} | "
                     f"{r['latency_ms_median']:.3f} | {r['latency_ms_p95']:.3f} | {r['throughput_ips']:,.0f} | {cold} |")
    return "\n".join(lines)
