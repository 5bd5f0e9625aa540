"""Shared fixtures: real MNIST from $DAE_EDGE_DATA, small IDX copies, and one tiny trained and exported model."""
import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from dae_edge.core.idx_source import IdxSource

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
    from dae_edge.core.idx import load_mnist

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
    for name in ("config.json", "contract.json"):
        shutil.copy(trained_dir / name, out / name)
    shutil.copy(trained_dir / "dae.keras", out / "dae.keras")
    export(out / "dae.keras", out, ExportOptions(int8=True, fp16=True, calibration_images=100, validation_images=200), source=IdxSource(mnist, None),
           log=lambda line: None)
    return out


@pytest.fixture
def quick_bench(monkeypatch):
    """The bench module with its timing loops cut to a few runs: tests check what it measures, not how fast."""
    from dae_edge.bench import bench

    for name, value in [("LATENCY_WARMUP", 1), ("LATENCY_RUNS", 3), ("THROUGHPUT_SECONDS", 0.01), ("COLD_STARTS", 1)]:
        monkeypatch.setattr(bench, name, value)
    return bench


@pytest.fixture
def exported_copy(tmp_path, exported_dir) -> Path:
    """A private copy of the exported folder, for tests that change it."""
    return Path(shutil.copytree(exported_dir, tmp_path / "models", symlinks=True))  # as cp -a: links stay links


# Real pictures that no one here made: scikit-image's samples. Held out: a photograph and a printed page.
PICTURES_TRAIN = ("astronaut", "brick", "coins", "moon", "clock", "text")
PICTURES_HELD_OUT = ("camera", "page")


def write_pictures(folder: Path, names: tuple[str, ...], side: int = 160) -> Path:
    """scikit-image sample pictures, reduced to at most `side` pixels across, as PNG files in `folder`."""
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        picture = Image.fromarray(np.asarray(getattr(data, name)()))
        picture.thumbnail((side, side))
        picture.save(folder / f"{name}.png")
    return folder


@pytest.fixture(scope="session")
def pictures_dir(tmp_path_factory) -> Path:
    """A folder of real pictures for training (in a subfolder, as users keep them) and one held out."""
    root = tmp_path_factory.mktemp("pictures")
    write_pictures(root / "train" / "samples", PICTURES_TRAIN)
    write_pictures(root / "heldout", PICTURES_HELD_OUT)
    return root


@pytest.fixture(scope="session")
def folder_exported_dir(tmp_path_factory, pictures_dir) -> Path:
    """A tiny seeded model trained on the pictures (blind Gaussian noise, 32-pixel patches), exported with --int8."""
    from dae_edge.export.exporter import ExportOptions, export
    from dae_edge.train.config import TrainConfig
    from dae_edge.core.folder import FolderSource
    from dae_edge.core.data_config import DataConfig
    from dae_edge.train.training import train

    out = tmp_path_factory.mktemp("folder_model")
    source = FolderSource.open(pictures_dir / "train", DataConfig(patch=32, patches_per_epoch=512, val_patches=64), seed=0,
                               val_data=pictures_dir / "heldout")
    train(TrainConfig(epochs=2, noise="gaussian:0.1-0.3", batch_size=32), source, out, log=lambda line: None)
    export(out / "dae.keras", out, ExportOptions(int8=True, fp16=True, calibration_images=64, validation_images=100),
           log=lambda line: None)
    return out


def verify_and_run_in_colour(model: Path, shot: Path, tmp_path: Path) -> None:
    """A trained and exported colour model passes `verify`, and `run` with its int8 ONNX turns a copy of `shot`
    into an RGB result (export, verify and run work unchanged on a self-supervised model)."""
    from PIL import Image
    from typer.testing import CliRunner

    from dae_edge.app.cli import app

    assert CliRunner().invoke(app, ["verify", str(model)]).exit_code == 0
    picture = tmp_path / "shot.png"
    picture.write_bytes(shot.read_bytes())
    result = CliRunner().invoke(app, ["run", str(picture), "--model", str(model / "dae_int8.onnx")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "shot.denoised.png").mode == "RGB"
