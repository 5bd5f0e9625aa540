"""How a folder of pictures becomes training patches: a dataclass with no numpy, so the CLI shows its defaults fast."""
from dataclasses import dataclass

FOLDER_PATCH = 64  # a folder's default patch: 16 × 16 cells at the bottleneck, room for texture and strokes


@dataclass(frozen=True)
class DataConfig:
    """How a folder of pictures becomes training patches (MNIST ignores all but `patch`)."""

    patch: int | None = None  # None: the source's natural size, 28 for MNIST and FOLDER_PATCH for folders
    val_fraction: float = 0.1  # share of the files held out for validation, chosen by file with the seed
    pad: bool = True  # images smaller than a patch are padded (edge values); False refuses them
    patches_per_epoch: int = 6400  # random patches drawn afresh for every epoch
    val_patches: int = 256  # fixed validation patches, cut from the validation files with the validation seed
    channels: int = 1  # 1: grey (every picture turned grey); 3: RGB (grey pictures as three equal channels)

    def __post_init__(self) -> None:
        if self.patch is not None and self.patch < 1:
            raise ValueError(f"--patch must be >= 1, got {self.patch}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"--val-fraction must be between 0 and 1, got {self.val_fraction}")
        if self.patches_per_epoch < 1 or self.val_patches < 1:
            raise ValueError("--patches-per-epoch and --val-patches must be >= 1")
        if self.channels not in (1, 3):
            raise ValueError(f"--channels must be 1 (grey) or 3 (colour), got {self.channels}")
