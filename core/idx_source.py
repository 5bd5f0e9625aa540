"""MNIST, or any dataset of square images in IDX form: its whole images are the patches."""
import hashlib
from pathlib import Path

import numpy as np

from dae_edge.core.idx import Mnist, load_mnist, to_float
from dae_edge.core.sources import pick, polarity_of


class IdxSource:
    """MNIST, or any dataset of square images in IDX form (labels optional): whole images are the patches."""

    kind = "idx"
    channels = 1
    fresh_each_epoch = False
    one_by_one = True  # the same images every epoch (the paper's noise is drawn once)

    def __init__(self, data: Mnist, path: Path | None, limit: int | None = None):
        self.data, self.path, self.limit = data, path, limit
        self.patch = int(data.x_train.shape[1])

    @classmethod
    def load(cls, path: Path | None, limit: int | None = None) -> "IdxSource":
        return cls(load_mnist(path), path, limit)

    def train_images(self, epoch: int) -> np.ndarray:
        return to_float(self.data.x_train[: self.limit])

    def validation_images(self, count: int | None = None, seed: int = 0) -> np.ndarray:
        x = self.data.x_test
        return to_float(x if count is None else x[pick(len(x), count, seed)])

    def validation_labels(self, count: int | None = None, seed: int = 0) -> np.ndarray | None:
        y = self.data.y_test
        return None if y is None else (y if count is None else y[pick(len(y), count, seed)])

    def calibration_images(self, count: int, seed: int) -> np.ndarray:
        x = self.data.x_train
        return to_float(x[pick(len(x), count, seed)])

    def available(self) -> tuple[int, int]:
        """How many images there are to calibrate and to validate on."""
        return len(self.data.x_train), len(self.data.x_test)

    def polarity(self) -> str:
        return polarity_of(to_float(self.data.x_train[:1000]))

    def describe(self) -> dict:
        return {"kind": self.kind, "path": None if self.path is None else str(self.path),
                "resolved": None if self.path is None else str(Path(self.path).resolve()),
                "images": int(len(self.data.x_train)), "images_sha256": self.sha256(),
                "validation": {"from": "the IDX test images", "images": int(len(self.data.x_test))},
                "labels": self.data.y_train is not None, "size": list(self.data.x_train.shape[1:])}

    def summary(self) -> str:
        return f"{len(self.data.x_train[: self.limit])} images, validating on {len(self.data.x_test)}"

    def large_picture(self, side: int, multiple: int) -> None:
        return None  # small images only: export lays them out in a grid instead

    def skipped_summary(self) -> None:
        return None  # IDX files are read whole or refused

    def bench_images(self, count: int) -> list[np.ndarray]:
        return list(to_float(self.data.x_test[:count])[..., 0])

    def sha256(self) -> str:
        """A hash of the training and test images, so export and bench can tell the same data from other data."""
        digest = hashlib.sha256(np.ascontiguousarray(self.data.x_train).tobytes())
        digest.update(np.ascontiguousarray(self.data.x_test).tobytes())
        return digest.hexdigest()
