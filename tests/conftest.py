"""Shared fixtures: real MNIST from $DAE_EDGE_DATA, small IDX copies, and one tiny trained and exported model."""
import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

IN_CI = bool(os.environ.get("CI"))


def need(condition: bool, reason: str) -> None:
    """Skip where something is missing on a developer's machine; fail in CI, where nothing may be skipped."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{reason} (CI must run every test)")
        pytest.skip(reason)


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file, gzip-compressed when the name ends in .gz."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    path = os.environ.get("DAE_EDGE_DATA")
    need(bool(path) and Path(path).is_dir(), "DAE_EDGE_DATA does not name the MNIST folder")
    return Path(path)


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    from dae_edge.train.data import load_mnist

    return load_mnist(mnist_dir)


def write_small_mnist(folder: Path, mnist, train: int = 512, test: int = 200, gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    write_idx(folder / f"train-images-idx3-ubyte{ext}", mnist.x_train[:train])
    write_idx(folder / f"train-labels-idx1-ubyte{ext}", mnist.y_train[:train])
    write_idx(folder / f"t10k-images-idx3-ubyte{ext}", mnist.x_test[:test])
    write_idx(folder / f"t10k-labels-idx1-ubyte{ext}", mnist.y_test[:test])
    return folder


@pytest.fixture(scope="session")
def small_mnist_dir(tmp_path_factory, mnist) -> Path:
    """512 training and 200 test digits of real MNIST, as IDX files: quick training runs."""
    return write_small_mnist(tmp_path_factory.mktemp("small_mnist"), mnist)


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory, mnist) -> Path:
    """A tiny seeded model: the reference network, one epoch on 2,000 digits."""
    from dae_edge.train.config import TrainConfig
    from dae_edge.train.training import train

    out = tmp_path_factory.mktemp("trained")
    train(TrainConfig(epochs=1, limit=2000), mnist, out, log=lambda line: None)
    return out


@pytest.fixture(scope="session")
def exported_dir(tmp_path_factory, trained_dir, mnist) -> Path:
    """The tiny model exported with --int8: four artifacts, golden.npz and manifest.json."""
    from dae_edge.export.exporter import ExportOptions, export

    out = tmp_path_factory.mktemp("exported")
    shutil.copy(trained_dir / "config.json", out / "config.json")
    shutil.copy(trained_dir / "dae.keras", out / "dae.keras")
    export(out / "dae.keras", out, mnist, ExportOptions(int8=True, calibration_images=100, validation_images=200),
           log=lambda line: None)
    return out


@pytest.fixture
def exported_copy(tmp_path, exported_dir) -> Path:
    """A private copy of the exported folder, for tests that change it."""
    return Path(shutil.copytree(exported_dir, tmp_path / "models", symlinks=True))  # as cp -a: links stay links
