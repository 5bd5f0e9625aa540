"""Options of `dae-edge run` and `bench`: dataclasses, whose defaults the CLI shows."""
from dataclasses import dataclass
from pathlib import Path

from dae_edge.runtime.images import Invert


@dataclass(frozen=True)
class RunOptions:
    out: Path | None = None
    invert: Invert = Invert.auto
    add_noise: float | None = None  # demo: corrupt the input first, with this noise factor
    seed: int = 0
    compare: bool = False  # also write input and result side by side
    overwrite: bool = False  # replace files that dae-edge did not write


@dataclass(frozen=True)
class BenchOptions:
    n: int = 10000  # validation images for quality: all of MNIST's test digits, or up to this many pictures
    threads: str = "1,2"  # thread counts to measure, comma-separated
    large: bool = True  # large images, a fresh process's memory and a busy core (MNIST models)
