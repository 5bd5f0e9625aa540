"""Options of `dae-edge bench`: a dataclass, whose defaults the CLI shows."""
from dataclasses import dataclass


@dataclass(frozen=True)
class BenchOptions:
    n: int = 10000  # validation images for quality: all of MNIST's test digits, or up to this many pictures
    threads: str = "1,2"  # thread counts to measure, comma-separated
    full: bool = False  # also large images, a fresh process's memory and a busy core: minutes more
    save: bool = False  # write bench.json into the models folder
