"""Where clean training images come from, without labels: the Source interface and what every source shares.

Sources hand out clean float32 images (N, patch, patch, channels) in [0, 1]; core.noise.pairs corrupts them
with the model's noise. Train, export and bench all go through them, so calibration, validation and the
golden set come from the data the model was trained on. Numpy and Pillow only: bench runs on devices.
IdxSource (core/idx_source.py) and FolderSource (core/folder.py) are the two; core/data.py opens them.
"""
import hashlib
from typing import Protocol

import numpy as np

from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.idx import one_per_class
from dae_edge.core.images import ANY_POLARITY, DARK_ON_LIGHT, LIGHT_ON_DARK, is_dark_on_light

ONE_POLARITY_SHARE = 0.75  # this share of the training patches on one kind of background makes it the model's polarity


class SourceError(DaeEdgeError):
    """The training data cannot be used as asked."""


class Source(Protocol):
    """Clean images in [0, 1], (N, patch, patch, channels) float32, without labels; IdxSource and FolderSource are two."""

    kind: str  # "idx" or "folder", as the contract names it
    patch: int  # the side of every image handed out
    channels: int  # 1 (grey) or 3 (RGB)
    fresh_each_epoch: bool  # new images (and so new noise) every epoch
    one_by_one: bool  # small whole images (digits): bench measures them one by one, in grids and over noise levels

    def train_images(self, epoch: int) -> np.ndarray: ...
    def validation_images(self, count: int | None = None, seed: int = 0) -> np.ndarray: ...
    def validation_labels(self, count: int | None = None, seed: int = 0) -> np.ndarray | None: ...
    def calibration_images(self, count: int, seed: int) -> np.ndarray: ...
    def available(self) -> tuple[int, int]: ...
    def polarity(self) -> str: ...
    def describe(self) -> dict: ...
    def summary(self) -> str: ...  # what training runs on, for its first line
    def large_picture(self, side: int, multiple: int) -> np.ndarray | None: ...  # a real large image, where there is one
    def skipped_summary(self) -> str | None: ...  # one line naming files that could not be read
    def bench_images(self, count: int) -> list[np.ndarray]: ...  # whole clean validation images, (H, W[, C])


def polarity_of(images: np.ndarray) -> str:
    """Dark on light where most images have a light background (pages), light on dark where most have a dark
    one (MNIST, night skies); "any" for a mix such as photographs, which the runtime then never inverts."""
    light = np.mean([is_dark_on_light(image) for image in images])
    return DARK_ON_LIGHT if light >= ONE_POLARITY_SHARE else LIGHT_ON_DARK if light <= 1 - ONE_POLARITY_SHARE else ANY_POLARITY


def evenly_spaced(total: int, count: int) -> np.ndarray:
    """`count` indices spread evenly over `total` items (all of them when there are fewer)."""
    return np.unique(np.linspace(0, total - 1, min(count, total)).round().astype(int))


def file_list_sha256(names: list[str]) -> str:
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def pick(total: int, count: int, seed: int) -> np.ndarray:
    """`count` distinct indices below `total`, seeded, in ascending order."""
    if count > total:
        raise SourceError(f"asked for {count} images, but there are {total}")
    return np.sort(np.random.default_rng(seed).choice(total, count, replace=False))


def golden_picks(labels: np.ndarray | None, total: int, count: int) -> np.ndarray:
    """One image per class where there are labels; evenly spaced picks where there are none."""
    if labels is not None:
        return one_per_class(labels)[:count]
    return evenly_spaced(total, count)
