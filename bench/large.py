"""`dae-edge bench`, large images and a busy machine: whole against tiles, megapixels per second,
peak memory of a fresh process, and throughput while another process keeps one core busy."""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dae_edge.runtime.denoiser import LARGE_MODES, Denoiser
from dae_edge.bench.timing import median_seconds, per_second
from dae_edge.core.grids import grids, mosaic
from dae_edge.core.images import write_image
from dae_edge.core.metrics import psnr

GRID = 10  # composites of 10 × 10 test digits
# `dae-edge run` that reports its own peak memory as it exits. The process's own VmHWM, not the
# rusage a parent sees: a forked child starts with its parent's pages counted (here the bench's Keras).
REPORT_PEAK = ("import atexit, sys\n"
               "atexit.register(lambda: sys.stderr.write(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))))\n"
               "from dae_edge.app.cli import main\nsys.argv[0] = 'dae-edge'\nmain()")
# The busy core's owner: it dies with the bench, however the bench ends (a parent-death signal where Linux
# offers one, and its parent checked all the while elsewhere).
SPINNER = ("import ctypes, os, sys\n"
           "try:\n    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG: SIGKILL when the bench ends\n"
           "except (OSError, AttributeError):\n    pass\n"
           "while os.getppid() == int(sys.argv[1]):  # and where that is not offered, stop once orphaned\n    pass\n")
SIDES = (512, 4000)
STRIP = (1, 16_000_000)


def composite_quality(path: Path, clean: np.ndarray, noisy: np.ndarray) -> dict:
    """Mean per-digit PSNR of 10×10 grids of noisy test digits, run whole and in tiles, and one by one."""
    from dae_edge.export.large_choice import mode_quality

    count = len(clean) // GRID**2 * GRID**2
    figures = {"single": float(psnr(clean[:count], Denoiser.load(path).denoise(noisy[:count])).mean())}
    noisy_grids, clean_grids = list(grids(noisy[:count], GRID, GRID)), list(grids(clean[:count], GRID, GRID))
    for mode in LARGE_MODES:
        figures[mode] = mode_quality(Denoiser.load(path, large=mode), noisy_grids, clean_grids, clean.shape[1])
    return figures


def large_speed(path: Path, noisy: np.ndarray) -> dict:
    """Seconds for one image of each side (512×512, 4000×4000) of noisy digits, whole and in tiles (all cores)."""
    figures = {}
    for i, side in enumerate(SIDES):
        image = mosaic(noisy, side, side)
        for mode in LARGE_MODES:
            denoiser = Denoiser.load(path, large=mode)
            seconds = median_seconds(lambda: denoiser.denoise_list([image]), 3 if i == 0 else 1)
            figures[f"side{i}_{mode}_s"] = seconds
            figures[f"side{i}_{mode}_mpps"] = side * side / seconds / 1e6
    return figures


def fresh_process(path: Path, noisy: np.ndarray) -> dict:
    """Wall time and peak memory (RSS) of `dae-edge run --large whole` on the largest square and the strip, as PNG files."""
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, shape in (("large", (SIDES[-1], SIDES[-1])), ("strip", STRIP)):
            image = Path(tmp) / f"{name}.png"
            row = noisy[0, noisy.shape[1] // 2]  # a middle row of the first image, repeated along the strip
            write_image(image, mosaic(noisy, *shape) if name != "strip" else np.tile(row, STRIP[1] // len(row) + 1)[None, : STRIP[1]])
            command = [sys.executable, "-c", REPORT_PEAK, "run", str(image), "--model", str(path), "--large", "whole"]
            began = time.perf_counter()
            done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            figures[f"{name}_run_s"] = time.perf_counter() - began
            peak = [line for line in done.stderr.splitlines() if line.startswith("VmHWM:")]
            figures[f"{name}_rss_mb"] = int(peak[-1].split()[1]) / 1024 if peak else float("nan")
            if done.returncode != 0:
                figures[f"{name}_error"] = done.stderr.strip()[-200:]
    return figures


def busy_throughput(path: Path, batch: np.ndarray, threads: int, seconds: float = 2.0) -> float:
    """Images per second on `threads` threads while another process spins on one core."""
    spinner = subprocess.Popen([sys.executable, "-c", SPINNER, str(os.getpid())])
    try:
        time.sleep(0.3)
        denoiser = Denoiser.load(path, threads=threads)
        return per_second(lambda: denoiser.denoise(batch), len(batch), seconds)
    finally:
        spinner.kill()
        spinner.wait()

