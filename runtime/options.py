"""Options of `dae-edge run`: a dataclass, whose defaults the CLI shows."""
from dataclasses import dataclass
from pathlib import Path

from dae_edge.core.polarity import Invert


@dataclass(frozen=True)
class RunOptions:
    out: Path | None = None
    invert: Invert = Invert.auto
    add_noise: float | None = None  # demo: corrupt the input first, with this noise factor
    seed: int = 0
    compare: bool = False  # also write input and result side by side
    overwrite: bool = False  # replace files that dae-edge did not write
