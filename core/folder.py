"""A folder of pictures, any format, mode and size: random patches for training, fixed ones to validate."""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from dae_edge.core.contract import data_config
from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.images import IMAGE_SUFFIXES, Invert, is_our_output, read_image
from dae_edge.core.data_config import FOLDER_PATCH, DataConfig
from dae_edge.core.sources import SourceError, file_list_sha256, polarity_of


@dataclass(frozen=True)
class ImageFile:
    name: str  # relative to the folder, with forward slashes
    width: int
    height: int


@dataclass
class Scan:
    files: list[ImageFile] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)  # above TRAIN_MAX_PIXELS: left out, and said


def scan_folder(root: Path, option: str = "--data") -> Scan:
    """Every image under `root` (recursively, sorted), its size read from the header only; bad files, and files
    above TRAIN_MAX_PIXELS, noted and left out."""
    if not root.is_dir():
        raise SourceError(f"{option} {root}: no such folder")
    scan = Scan()
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        if is_our_output(path) or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # our own results and hidden files are not training data
        name = path.relative_to(root).as_posix()
        try:
            with Image.open(path) as image:
                if image.width * image.height > TRAIN_MAX_PIXELS:
                    scan.too_large.append(name)
                else:
                    scan.files.append(ImageFile(name, image.width, image.height))
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError):
            scan.unreadable.append(name)
    if not scan.files:
        raise SourceError(f"{option} {root}: no readable images found (searched recursively for "
                          f"{', '.join(sorted(IMAGE_SUFFIXES))}); point --data at a folder of pictures")
    return scan


def held_out(count: int, fraction: float, seed: int) -> set[int]:
    """Which of `count` items (files, or scenes) validate: a seeded `fraction` of them, at least one, never all."""
    order = np.random.default_rng(seed).permutation(count)
    return set(order[: min(max(1, round(fraction * count)), count - 1)].tolist())


TRAIN_MAX_PIXELS = 50_000_000  # a full-frame camera's 50 MP; decoded one at a time (run's limit is 16 MP)


def padded_to(pixels: np.ndarray, side: int) -> np.ndarray:
    """(H, W, C) pixels edge-padded at the bottom and right up to at least side × side (as they are if no smaller)."""
    pad_h, pad_w = max(side - pixels.shape[0], 0), max(side - pixels.shape[1], 0)
    return np.pad(pixels, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge") if pad_h or pad_w else pixels


class FolderSource:
    """A folder of pictures, any format, mode and size: random patches for training, fixed ones to validate."""

    kind = "folder"
    fresh_each_epoch = True  # new patches, and so new noise, every epoch
    one_by_one = False  # pictures are measured whole

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
            val_scan = scan_folder(val_data, "--val-data")
            train_paths = {(root / f.name).resolve() for f in scan.files}
            overlap = [f.name for f in val_scan.files if (val_data / f.name).resolve() in train_paths]
            if overlap:
                raise SourceError(f"--val-data {val_data} shares {len(overlap)} files with --data {root} (e.g. {overlap[0]}); "
                                  "validation files must be kept out of training")
            return cls(root, scan.files, val_data, val_scan.files, config, seed,
                       scan.unreadable + val_scan.unreadable + scan.too_large + val_scan.too_large, given)
        if len(scan.files) < 2:
            raise SourceError(f"--data {root}: one image cannot be split into training and validation; "
                              "add images or pass --val-data FOLDER")
        held = held_out(len(scan.files), config.val_fraction, seed)
        train = [f for i, f in enumerate(scan.files) if i not in held]
        val = [f for i, f in enumerate(scan.files) if i in held]
        return cls(root, train, root, val, config, seed, scan.unreadable + scan.too_large, given)

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
        if file_list_sha256(sorted(names)) != data["files_sha256"]:  # describe() hashes them sorted as text
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
        return cls(root, train, val_root, val, data_config(data), data["seed"], scan.unreadable, data["given"])

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
            pixels = read_image(root / image.name, Invert.no, channels=self.channels, limit=TRAIN_MAX_PIXELS).pixels
        except DaeEdgeError:
            self.skipped.add(image.name)
            return None
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        return padded_to(pixels, self.patch)  # pads only with padding on: the constructor refuses small images otherwise

    def _patches(self, root: Path, files: list[ImageFile], count: int, rng: np.random.Generator) -> np.ndarray:
        """`count` random patches: files drawn in proportion to their area, each file read once per call. A file that
        cannot be decoded is left out from then on, and its patches are drawn again from the others (from a stream of
        their own), so every call fills its count the same way however often the run was resumed."""
        area = np.array([max(f.width, self.patch) * max(f.height, self.patch) for f in files], dtype=np.float64)
        owners = np.sort(rng.choice(len(files), count, p=area / area.sum()))
        refill = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
        pending = [(int(index), int((owners == index).sum())) for index in np.unique(owners)]
        out = np.zeros((count, self.patch, self.patch, self.channels), np.float32)
        filled = 0
        while pending:
            index, n = pending.pop(0)
            pixels = None if files[index].name in self.skipped else self._read(root, files[index])
            if pixels is None:
                if all(f.name in self.skipped for f in files):
                    raise SourceError(f"{root}: none of the images could be read; check the files")
                pending += [(int(i), 1) for i in refill.choice(len(files), n, p=area / area.sum())]
                continue
            for _ in range(n):
                y = rng.integers(0, pixels.shape[0] - self.patch + 1)
                x = rng.integers(0, pixels.shape[1] - self.patch + 1)
                out[filled] = pixels[y : y + self.patch, x : x + self.patch]
                filled += 1
        return out

    def train_images(self, epoch: int) -> np.ndarray:
        return self._patches(self.root, self.train_files, self.config.patches_per_epoch,
                             np.random.default_rng([self.seed, epoch]))

    def validation_images(self, count: int | None = None, seed: int = 0) -> np.ndarray:
        return self._patches(self.val_root, self.val_files, count or self.config.val_patches, np.random.default_rng([seed, 1]))

    def validation_labels(self, count: int | None = None, seed: int = 0) -> None:
        return None

    def calibration_images(self, count: int, seed: int) -> np.ndarray:
        return self._patches(self.root, self.train_files, count, np.random.default_rng([seed, 2]))

    def bench_images(self, count: int) -> list[np.ndarray]:
        """The validation pictures, whole (for bench)."""
        pictures = (self._read(self.val_root, image) for image in self.val_files[:count])
        return [p if self.channels == 3 else p[..., 0] for p in pictures if p is not None]

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
        return (f"{self.config.patches_per_epoch} random {self.patch}×{self.patch} {'RGB ' * (self.channels == 3)}patches per epoch from "
                f"{len(self.train_files)} pictures, validating on {self.config.val_patches} patches of {len(self.val_files)}")

    def skipped_summary(self) -> str | None:
        if not self.skipped:
            return None
        names = sorted(self.skipped)
        return (f"skipped {len(names)} unreadable file{'s' * (len(names) > 1)} (or above {TRAIN_MAX_PIXELS // 10**6} MP): "
                f"{', '.join(names[:3])}{' …' * (len(names) > 3)}; their patches came from the other pictures")
