"""MNIST from its original IDX files or Keras's mnist.npz, validated as it is read (numpy only).

Any other dataset of square images in IDX form loads the same way; its label files may be left out.
"""
import gzip
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dae_edge.core.errors import DaeEdgeError

ENV_VAR = "DAE_EDGE_DATA"
KERAS_CACHE = Path("~/.keras/datasets/mnist.npz")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
UINT8_TYPE = 0x08
HOW_TO_FIX = f"pass --data DIR with the four MNIST IDX files (or mnist.npz), or set {ENV_VAR}"


class DataError(DaeEdgeError):
    """MNIST could not be found or a file is not valid MNIST."""


class Mnist(NamedTuple):
    x_train: np.ndarray  # (N, 28, 28) uint8 for MNIST; (N, S, S) for other IDX data
    y_train: np.ndarray | None  # (N,) uint8, or None where the dataset has no labels
    x_test: np.ndarray
    y_test: np.ndarray | None


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw) holding uint8 data of `ndim` dimensions."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != UINT8_TYPE:
        raise DataError(f"{path}: element type 0x{raw[2]:02x}, expected 0x08 (uint8)")
    if raw[3] != ndim:
        raise DataError(f"{path}: {raw[3]} dimensions, expected {ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(f"{path}: {len(raw)} bytes, expected {expected} for shape {shape} (truncated?)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find_idx(folder: Path, name: str, required: bool = True) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    if required:
        raise DataError(f"{folder}: missing {name}(.gz); {HOW_TO_FIX}")
    return None


def _check(data: Mnist, source: Path) -> Mnist:
    if data.x_train.ndim == 3 and data.x_train.shape[1:] != data.x_test.shape[1:]:
        raise DataError(f"{source}: training images are {data.x_train.shape[1:]} but test images {data.x_test.shape[1:]}")
    for split in ("train", "test"):
        images, labels = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if images.ndim != 3 or images.shape[1] != images.shape[2]:
            raise DataError(f"{source}: {split} images have shape {images.shape}, expected (N, S, S): square images")
        if labels is not None and (labels.ndim != 1 or len(labels) != len(images)):
            raise DataError(f"{source}: {len(images)} {split} images but {len(labels)} labels")
        if len(images) == 0:
            raise DataError(f"{source}: no {split} images")
    if (data.y_train is None) != (data.y_test is None):
        raise DataError(f"{source}: labels for one split but not the other; give both label files or neither")
    return data


def load_idx_folder(folder: Path) -> Mnist:
    """Load the IDX files from a folder; the two label files are optional."""
    arrays = {}
    for key, name in IDX_FILES.items():
        found = _find_idx(folder, name, required=key.startswith("x"))
        arrays[key] = None if found is None else read_idx(found, 3 if key.startswith("x") else 1)
    return _check(Mnist(**arrays), folder)


def load_npz(path: Path) -> Mnist:
    """Load Keras's mnist.npz (arrays x_train, y_train, x_test, y_test)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: np.asarray(npz[key], dtype=np.uint8) for key in IDX_FILES}
    except KeyError as exc:
        raise DataError(f"{path}: missing array {exc}") from None
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a valid mnist.npz ({exc})") from None
    return _check(Mnist(**arrays), path)


def load_path(path: Path) -> Mnist:
    """Load MNIST from a folder of IDX files, a folder holding mnist.npz, or an .npz file."""
    if path.is_file():
        return load_npz(path)
    if not path.is_dir():
        raise DataError(f"{path}: no such folder; {HOW_TO_FIX}")
    if not any((path / f"{name}{ext}").is_file() for name in IDX_FILES.values() for ext in (".gz", "")):
        if (path / "mnist.npz").is_file():
            return load_npz(path / "mnist.npz")
    return load_idx_folder(path)


MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"  # the file Keras downloads


def _download() -> Mnist:
    """Fetch mnist.npz into Keras's cache (a temporary name, then renamed), as keras.datasets.mnist would."""
    import tempfile
    import urllib.request

    target = KERAS_CACHE.expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(MNIST_URL, timeout=60) as response, \
                tempfile.NamedTemporaryFile(dir=target.parent, prefix=".mnist-", suffix=".npz", delete=False) as tmp:
            tmp.write(response.read())
        os.replace(tmp.name, target)
    except Exception as exc:  # any network or cache failure ends in the same advice
        if "tmp" in locals():
            Path(tmp.name).unlink(missing_ok=True)
        raise DataError(f"MNIST not found and the download failed ({type(exc).__name__}); {HOW_TO_FIX}") from None
    return load_npz(target)


def load_mnist(data: Path | None = None) -> Mnist:
    """Load MNIST from, in order: `data`, $DAE_EDGE_DATA, Keras's cache, Keras's download."""
    if data is not None:
        return load_path(Path(data))
    if os.environ.get(ENV_VAR):
        return load_path(Path(os.environ[ENV_VAR]))
    if KERAS_CACHE.expanduser().is_file():
        return load_npz(KERAS_CACHE.expanduser())
    return _download()


def one_per_class(labels: np.ndarray) -> np.ndarray:
    """Index of the first example of each digit 0–9 present."""
    return np.array([int(np.flatnonzero(labels == d)[0]) for d in range(10) if (labels == d).any()])


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) → float32 (N, 28, 28, 1) in [0, 1]."""
    return (images.astype(np.float32) / 255.0)[..., None]
