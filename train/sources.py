"""Where clean training images come from, without labels: MNIST-style IDX files, or a folder of pictures.

Both sources hand out clean float32 images (N, patch, patch, 1) in [0, 1]; runtime.noise.pairs corrupts
them with the model's noise. Train, export and bench all go through these, so calibration, validation and the
golden set come from the data the model was trained on. Numpy and Pillow only: bench runs on devices.
"""
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, UnidentifiedImageError

from dae_edge.runtime.errors import DaeEdgeError
from dae_edge.runtime.images import (ANY_POLARITY, DARK_ON_LIGHT, IMAGE_SUFFIXES, LIGHT_ON_DARK, Invert, is_dark_on_light,
                                     read_image)
from dae_edge.runtime.inputs import is_our_output
from dae_edge.train.data import Mnist, load_mnist, one_per_class, to_float

FOLDER_PATCH = 64  # a folder's default patch: 16 × 16 cells at the bottleneck, room for texture and strokes
CONTRACT = "contract.json"
CONTRACT_VERSION = 1
ONE_POLARITY_SHARE = 0.75  # this share of the training patches on one kind of background makes it the model's polarity


class SourceError(DaeEdgeError):
    """The training data cannot be used as asked."""


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


class Source(Protocol):
    """Clean images in [0, 1], (N, patch, patch, channels) float32, without labels; IdxSource and FolderSource are two."""

    kind: str  # "idx" or "folder", as the contract names it
    patch: int  # the side of every image handed out
    channels: int  # 1 (grey) or 3 (RGB)
    fresh_each_epoch: bool  # new images (and so new noise) every epoch

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


class IdxSource:
    """MNIST, or any dataset of square images in IDX form (labels optional): whole images are the patches."""

    kind = "idx"
    channels = 1
    fresh_each_epoch = False  # the same images every epoch (the paper's noise is drawn once)

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
        return to_float(x if count is None else x[_pick(len(x), count, seed)])

    def validation_labels(self, count: int | None = None, seed: int = 0) -> np.ndarray | None:
        y = self.data.y_test
        return None if y is None else (y if count is None else y[_pick(len(y), count, seed)])

    def calibration_images(self, count: int, seed: int) -> np.ndarray:
        x = self.data.x_train
        return to_float(x[_pick(len(x), count, seed)])

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

    def sha256(self) -> str:
        """A hash of the training and test images, so export and bench can tell the same data from other data."""
        digest = hashlib.sha256(np.ascontiguousarray(self.data.x_train).tobytes())
        digest.update(np.ascontiguousarray(self.data.x_test).tobytes())
        return digest.hexdigest()


def _pick(total: int, count: int, seed: int) -> np.ndarray:
    """`count` distinct indices below `total`, seeded, in ascending order."""
    if count > total:
        raise SourceError(f"asked for {count} images, but there are {total}")
    return np.sort(np.random.default_rng(seed).choice(total, count, replace=False))


@dataclass(frozen=True)
class ImageFile:
    name: str  # relative to the folder, with forward slashes
    width: int
    height: int


@dataclass
class Scan:
    files: list[ImageFile] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def scan_folder(root: Path) -> Scan:
    """Every image under `root` (recursively, sorted), its size read from the header only; bad files noted."""
    if not root.is_dir():
        raise SourceError(f"--data {root}: no such folder")
    scan = Scan()
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        if is_our_output(path) or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # our own results and hidden files are not training data
        name = path.relative_to(root).as_posix()
        try:
            with Image.open(path) as image:
                scan.files.append(ImageFile(name, image.width, image.height))
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError):
            scan.unreadable.append(name)
    if not scan.files:
        raise SourceError(f"--data {root}: no readable images found (searched recursively for "
                          f"{', '.join(sorted(IMAGE_SUFFIXES))}); point --data at a folder of pictures")
    return scan


class FolderSource:
    """A folder of pictures, any format, mode and size: random patches for training, fixed ones to validate."""

    kind = "folder"
    fresh_each_epoch = True  # new patches, and so new noise, every epoch

    def __init__(self, root: Path, train: list[ImageFile], val_root: Path, val: list[ImageFile], config: DataConfig,
                 seed: int, unreadable: list[str], given: dict):
        self.root, self.train_files, self.val_root, self.val_files = root, train, val_root, val
        self.config, self.seed, self.unreadable, self.given = config, seed, unreadable, given
        self.patch = config.patch or FOLDER_PATCH
        self.channels = config.channels
        self.skipped: set[str] = set(unreadable)
        small = [f for f in train + val if min(f.width, f.height) < self.patch]
        if small and not config.pad:
            raise SourceError(f"{len(small)} images are smaller than the {self.patch}-pixel patch (e.g. {small[0].name}, "
                              f"{small[0].width}×{small[0].height}); allow padding, or choose a smaller --patch")

    @classmethod
    def open(cls, root: Path, config: DataConfig, seed: int, val_data: Path | None = None) -> "FolderSource":
        """Scan `root`; hold out a seeded share of its files, or use `val_data` for validation."""
        scan = scan_folder(root)
        given = {"path": str(root), "val_data": None if val_data is None else str(val_data)}
        if val_data is not None:
            val_scan = scan_folder(val_data)
            train_paths = {(root / f.name).resolve() for f in scan.files}
            overlap = [f.name for f in val_scan.files if (val_data / f.name).resolve() in train_paths]
            if overlap:
                raise SourceError(f"--val-data {val_data} shares {len(overlap)} files with --data {root} (e.g. {overlap[0]}); "
                                  "validation files must be kept out of training")
            return cls(root, scan.files, val_data, val_scan.files, config, seed, scan.unreadable + val_scan.unreadable, given)
        if len(scan.files) < 2:
            raise SourceError(f"--data {root}: one image cannot be split into training and validation; "
                              "add images or pass --val-data FOLDER")
        order = np.random.default_rng(seed).permutation(len(scan.files))
        n_val = min(max(1, round(config.val_fraction * len(scan.files))), len(scan.files) - 1)
        held = set(order[:n_val].tolist())
        train = [f for i, f in enumerate(scan.files) if i not in held]
        val = [f for i, f in enumerate(scan.files) if i in held]
        return cls(root, train, root, val, config, seed, scan.unreadable, given)

    @classmethod
    def from_contract(cls, data: dict, override: Path | None = None, val_override: Path | None = None) -> "FolderSource":
        """The training source as the contract recorded it: same files, same validation files, same patches.
        `override` and `val_override` say where the training and validation folders are now."""
        root = Path(override) if override is not None else Path(data["resolved"])
        if override is None and not root.is_dir():
            raise SourceError(f"{root}: the training folder that contract.json names is not there; "
                              "pass --data with where it is now")
        scan = scan_folder(root)
        names = [f.name for f in scan.files]
        val_root = Path(data["validation"]["resolved"])
        val_names = data["validation"]["files"]
        if val_root == Path(data["resolved"]):
            val_root = root
        elif val_override is not None:
            val_root = Path(val_override)
        elif not val_root.is_dir():
            raise SourceError(f"{val_root}: the validation folder that contract.json names is not there; "
                              "pass --val-data with where it is now")
        if file_list_sha256(names) != data["files_sha256"]:
            raise SourceError(f"{root}: its files are not the ones the model was trained on ({len(names)} now, "
                              f"{data['files']} then); pass --data with the training folder")
        val_scan = scan if val_root == root else scan_folder(val_root)
        by_name = {f.name: f for f in val_scan.files}
        missing = [n for n in val_names if n not in by_name]
        if missing:
            raise SourceError(f"{val_root}: validation file {missing[0]} is missing; pass --data with the training folder")
        val = [by_name[n] for n in val_names]
        held = set(val_names)  # once: a folder may hold 100,000 files
        train = [f for f in scan.files if f.name not in held] if val_root == root else scan.files
        config = DataConfig(patch=data["patch"], val_fraction=data["val_fraction"], pad=data["pad"],
                            patches_per_epoch=data["patches_per_epoch"], val_patches=data["val_patches"],
                            channels=data.get("channels", 1))
        return cls(root, train, val_root, val, config, data["seed"], scan.unreadable, data["given"])

    def describe(self) -> dict:
        names = [f.name for f in self.train_files + (self.val_files if self.val_root == self.root else [])]
        names.sort()
        return {"kind": self.kind, "path": self.given["path"], "resolved": str(self.root.resolve()),
                "files": len(names), "files_sha256": file_list_sha256(names), "unreadable": len(self.unreadable),
                "patch": self.patch, "pad": self.config.pad, "val_fraction": self.config.val_fraction,
                "patches_per_epoch": self.config.patches_per_epoch, "val_patches": self.config.val_patches,
                "channels": self.channels, "seed": self.seed, "given": self.given,
                "validation": {"from": "--val-data" if self.val_root != self.root else "split of --data by file",
                               "resolved": str(self.val_root.resolve()), "files": [f.name for f in self.val_files]}}

    def available(self) -> tuple[int, int]:
        return 10**9, 10**9  # patches can always be cut

    def _read(self, root: Path, image: ImageFile) -> np.ndarray | None:
        try:
            pixels = read_image(root / image.name, Invert.no, channels=self.channels).pixels
        except DaeEdgeError:
            self.skipped.add(image.name)
            return None
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        short = self.patch - min(pixels.shape[:2])
        if short > 0:  # only reached with padding on: the constructor refuses small images otherwise
            pad_h, pad_w = max(self.patch - pixels.shape[0], 0), max(self.patch - pixels.shape[1], 0)
            pixels = np.pad(pixels, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        return pixels  # (H, W, channels)

    def _patches(self, root: Path, files: list[ImageFile], count: int, rng: np.random.Generator) -> np.ndarray:
        """`count` random patches: files drawn in proportion to their area, each file read once per call."""
        area = np.array([max(f.width, self.patch) * max(f.height, self.patch) for f in files], dtype=np.float64)
        owners = np.sort(rng.choice(len(files), count, p=area / area.sum()))
        out = np.zeros((count, self.patch, self.patch, self.channels), np.float32)
        filled = 0
        for index in np.unique(owners):
            n = int((owners == index).sum())
            pixels = self._read(root, files[index])
            if pixels is None:
                continue
            for _ in range(n):
                y = rng.integers(0, pixels.shape[0] - self.patch + 1)
                x = rng.integers(0, pixels.shape[1] - self.patch + 1)
                out[filled] = pixels[y : y + self.patch, x : x + self.patch]
                filled += 1
        if filled == 0:
            raise SourceError(f"{root}: none of the images could be read; check the files")
        return out[:filled]

    def train_images(self, epoch: int) -> np.ndarray:
        return self._patches(self.root, self.train_files, self.config.patches_per_epoch,
                             np.random.default_rng([self.seed, epoch]))

    def validation_images(self, count: int | None = None, seed: int = 0) -> np.ndarray:
        return self._patches(self.val_root, self.val_files, count or self.config.val_patches, np.random.default_rng([seed, 1]))

    def validation_labels(self, count: int | None = None, seed: int = 0) -> None:
        return None

    def calibration_images(self, count: int, seed: int) -> np.ndarray:
        return self._patches(self.root, self.train_files, count, np.random.default_rng([seed, 2]))

    def whole_validation_images(self, limit: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
        """The validation pictures, whole, one at a time (for bench)."""
        for image in self.val_files[:limit]:
            pixels = self._read(self.val_root, image)
            if pixels is not None:
                yield image.name, pixels if self.channels == 3 else pixels[..., 0]

    def polarity(self) -> str:
        return polarity_of(self.calibration_images(256, self.seed))

    def large_picture(self, side: int, multiple: int) -> np.ndarray | None:
        """The largest validation picture's centre, at most `side` pixels across, cut to a multiple of `multiple`."""
        for image in sorted(self.val_files, key=lambda f: f.width * f.height, reverse=True):
            pixels = self._read(self.val_root, image)
            if pixels is None:
                continue
            h, w = (min(side, n) // multiple * multiple for n in pixels.shape[:2])
            if min(h, w) <= self.patch:
                return None  # no larger than a patch: nothing to learn about large images
            top, left = (pixels.shape[0] - h) // 2, (pixels.shape[1] - w) // 2
            crop = pixels[top : top + h, left : left + w]
            return crop if self.channels == 3 else crop[..., 0]
        return None

    def summary(self) -> str:
        return (f"{self.config.patches_per_epoch} random {self.patch}×{self.patch} {'RGB' if self.channels == 3 else 'grey'} patches per epoch from "
                f"{len(self.train_files)} pictures, validating on {self.config.val_patches} patches of {len(self.val_files)}")

    def skipped_summary(self) -> str | None:
        if not self.skipped:
            return None
        names = sorted(self.skipped)
        return f"skipped {len(names)} unreadable file{'s' * (len(names) > 1)}: {', '.join(names[:3])}{' …' * (len(names) > 3)}"


def is_idx_folder(path: Path) -> bool:
    """A folder (or .npz) in MNIST's form, rather than a folder of pictures."""
    from dae_edge.train.data import IDX_FILES

    if path.is_file():
        return path.suffix == ".npz"
    return (path / "mnist.npz").is_file() or any((path / f"{IDX_FILES['x_train']}{ext}").is_file() for ext in ("", ".gz"))


def open_source(path: Path | None, config: DataConfig, seed: int, val_data: Path | None = None,
                limit: int | None = None) -> Source:
    """MNIST (the default, or IDX files at `path`) or a folder of pictures."""
    if path is None or is_idx_folder(Path(path)):
        if val_data is not None:
            raise SourceError("--val-data is for folders of pictures; IDX data brings its own test images")
        source = IdxSource.load(path, limit)
        if config.patch is not None and config.patch != source.patch:
            raise SourceError(f"--patch {config.patch}: IDX images are {source.patch}×{source.patch} and are used whole; "
                              "leave --patch out")
        return source
    if not Path(path).is_dir():
        raise SourceError(f"--data {path}: no such folder; give a folder of pictures, or of MNIST's IDX files")
    if limit is not None:
        raise SourceError("--limit is for IDX data; a folder's epoch is --patches-per-epoch patches")
    return FolderSource.open(Path(path), config, seed, val_data)


def source_from_contract(contract: dict, override: Path | None = None, val_override: Path | None = None) -> Source:
    """The source a model was trained on, as its contract names it; the overrides point at moved folders."""
    data = contract["data"]
    if data["kind"] == "folder":
        return FolderSource.from_contract(data, override, val_override)
    path = override if override is not None else (Path(data["resolved"]) if data.get("resolved") else None)
    source = IdxSource.load(path)
    if data.get("images_sha256") not in (None, source.sha256()):
        raise SourceError(f"{path or 'the default MNIST'}: not the images the model was trained on (their hash differs); "
                          "pass --data with the training data")
    return source


def golden_picks(labels: np.ndarray | None, total: int, count: int) -> np.ndarray:
    """One image per class where there are labels; evenly spaced picks where there are none."""
    if labels is not None:
        return one_per_class(labels)[:count]
    return evenly_spaced(total, count)
