"""What the size of a model call costs on a large image: time and peak memory per call budget.

    python tools/call_sizes.py MODEL_FILE [SIZE] [THREADS]

Runs one SIZE×SIZE random RGB image (default 2048) through the model at three call budgets: each in a fresh process
for its peak memory (ru_maxrss) above the loaded model and the image, then all three alternating in one process
for their times (medians of three, so a busy machine slows each alike).
"""
import dataclasses
import math
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

from dae_edge.runtime import blocks
from dae_edge.runtime import denoiser as denoiser_module
from dae_edge.runtime.denoiser import Denoiser, call_budget

ACTIVATIONS = (16, 8, 4)  # stated floats a pixel: 2^17, 2^18 and 2^19 pixels a call by the memory rule alone


def with_budget(denoiser: Denoiser, budget: int) -> Denoiser:
    """The denoiser, its calls sized `budget` pixels: as if its manifest stated the activation that gives it, and
    halos did not grow calls."""
    denoiser_module.HALO_OVERHEAD = math.inf
    activation = next(a for a in (32 / 2**k for k in range(12)) if call_budget(a) == budget)
    return dataclasses.replace(denoiser, geometry=dataclasses.replace(denoiser.geometry, activation=activation))


def peak_memory(path: str, size: int, threads: int, budget: int) -> None:
    image = np.random.default_rng(0).random((size, size, 3), dtype=np.float32)
    denoiser = with_budget(Denoiser.load(path, threads=threads), budget)
    denoiser.denoise_list([image[:64, :64]])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    denoiser.denoise_list([image])
    rise = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"  budget {budget:>7}: peak memory {rise:.0f} MB above the loaded model and the image", flush=True)


def main(path: str, size: int = 2048, threads: int = 2) -> None:
    budgets = [call_budget(a) for a in ACTIVATIONS]
    for b in budgets:  # first: a child inherits its parent's peak memory (Linux keeps ru_maxrss across exec)
        subprocess.run([sys.executable, __file__, "--memory", path, str(size), str(threads), str(b)], check=True)
    image = np.random.default_rng(0).random((size, size, 3), dtype=np.float32)
    base = Denoiser.load(path, threads=threads)
    g = base.geometry
    print(f"{path}: {size}² RGB, {threads} threads, radius {g.radius}, multiple {g.multiple}; "
          f"the runtime's own budget {g.call_pixels}")
    runs = {b: with_budget(base, b) for b in budgets}
    base.denoise_list([image])  # warm
    times = {b: [] for b in budgets}
    for _ in range(3):
        for b, denoiser in runs.items():
            start = time.perf_counter()
            denoiser.denoise_list([image])
            times[b].append(time.perf_counter() - start)
    for b in budgets:
        count = len(blocks.plan(size, size, g.multiple, g.radius, b, g.margin))
        print(f"  budget {b:>7}: {count:>3} blocks, halos {blocks.square_overhead(b, g.radius, g.multiple):.2f}× "
              f"the work, {statistics.median(times[b]) / (size * size / 2**20):.3f} s/MP, "
              f"{statistics.median(times[b]) / statistics.median(times[budgets[0]]):.2f}× the first", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--memory":
        peak_memory(sys.argv[2], *map(int, sys.argv[3:6]))
    else:
        main(sys.argv[1], *map(int, sys.argv[2:4]))
