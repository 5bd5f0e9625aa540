"""Bursts: several noisy shots of each static scene, for Noise2Noise training (one shot in, another as target).

A scene is a sub-folder of shots, or, directly in the folder, the files whose names differ only in a last
number (night-01.png, night-02.png). Every scene needs two shots or more, all of one size.
"""
import re
from pathlib import Path

import numpy as np

from dae_edge.core.data_config import DataConfig
from dae_edge.core.folder import FolderSource, ImageFile, held_out, scan_folder
from dae_edge.core.sources import SourceError

_LAST_NUMBER = re.compile(r"[-_ .]*\d+$")


def scene_of(name: str) -> str:
    """The scene a shot belongs to: its sub-folder, or its file name without the last number."""
    parent, _, file = name.rpartition("/")
    return parent if parent else _LAST_NUMBER.sub("", Path(file).stem) or Path(file).stem


def group_scenes(files: list[ImageFile], option: str = "--data") -> dict[str, list[ImageFile]]:
    """Shots by scene (sorted), or SourceError naming the first scene with one shot or shots of two sizes."""
    scenes: dict[str, list[ImageFile]] = {}
    for image in files:
        scenes.setdefault(scene_of(image.name), []).append(image)
    for scene, shots in sorted(scenes.items()):
        if len(shots) < 2:
            raise SourceError(f"{option}: scene {scene!r} has one shot ({shots[0].name}); a burst needs two or more "
                              "noisy shots of the same static scene: add shots, or move that picture out")
        sizes = sorted({(s.width, s.height) for s in shots})
        if len(sizes) > 1:
            odd = next(s for s in shots if (s.width, s.height) != (shots[0].width, shots[0].height))
            raise SourceError(f"{option}: the shots of scene {scene!r} differ in size ({shots[0].name} "
                              f"{shots[0].width}×{shots[0].height}, {odd.name} {odd.width}×{odd.height}); a burst is "
                              "one static scene in one framing: crop them alike, or split the scene")
    return dict(sorted(scenes.items()))


class BurstSource(FolderSource):
    """A folder of bursts: pairs of patches cut at one place from two shots of a scene. Validation holds out
    whole scenes (or is --val-data: clean pictures, given noise)."""

    kind = "bursts"

    def __init__(self, root: Path, train: list[ImageFile], val_root: Path, val: list[ImageFile], config: DataConfig,
                 seed: int, unreadable: list[str], given: dict):
        super().__init__(root, train, val_root, val, config, seed, unreadable, given)
        self.scenes = group_scenes(train)
        self.val_scenes = group_scenes(val) if val_root == root else None  # else clean --val-data pictures

    @classmethod
    def open(cls, root: Path, config: DataConfig, seed: int, val_data: Path | None = None) -> "BurstSource":
        """Scan `root`; hold out a seeded share of its scenes, or use `val_data` (clean pictures) for validation."""
        if val_data is not None:
            return super().open(root, config, seed, val_data)
        scan = scan_folder(root)
        scenes = group_scenes(scan.files)
        if len(scenes) < 2:
            raise SourceError(f"--data {root}: one scene cannot be split into training and validation; add scenes "
                              "or pass --val-data FOLDER")
        names = list(scenes)
        held = {names[i] for i in held_out(len(names), config.val_fraction, seed)}
        train = [f for f in scan.files if scene_of(f.name) not in held]
        val = [f for f in scan.files if scene_of(f.name) in held]
        return cls(root, train, root, val, config, seed, scan.unreadable + scan.too_large,
                   {"path": str(root), "val_data": None})

    def describe(self) -> dict:
        return {**super().describe(), "scenes": len(self.scenes)}

    def _pairs(self, scenes: dict[str, list[ImageFile]], count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """`count` pairs of patches, one place in two different shots of one scene, scenes drawn by their area."""
        names = list(scenes)
        area = np.array([scenes[n][0].width * scenes[n][0].height for n in names], np.float64)
        owners = np.sort(rng.choice(len(names), count, p=area / area.sum()))
        inputs = np.zeros((count, self.patch, self.patch, self.channels), np.float32)
        targets = np.zeros_like(inputs)
        filled = 0
        for index in np.unique(owners):
            shots = [self._read(self.root, shot) for shot in scenes[names[index]]]
            if any(s is None for s in shots):
                raise SourceError(f"{self.root}: a shot of scene {names[index]!r} could not be read; check the files")
            for _ in range(int((owners == index).sum())):
                a, b = rng.choice(len(shots), 2, replace=False)
                y = rng.integers(0, shots[a].shape[0] - self.patch + 1)
                x = rng.integers(0, shots[a].shape[1] - self.patch + 1)
                inputs[filled] = shots[a][y : y + self.patch, x : x + self.patch]
                targets[filled] = shots[b][y : y + self.patch, x : x + self.patch]
                filled += 1
        return inputs, targets

    def train_pairs(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """This epoch's (input, target) patches: two noisy shots of one scene."""
        return self._pairs(self.scenes, self.config.patches_per_epoch, np.random.default_rng([self.seed, epoch]))

    def validation_pairs(self, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Fixed (input, target) pairs from the held-out scenes (no clean picture: a Noise2Noise loss, no PSNR)."""
        if self.val_scenes is None:
            raise SourceError("validation pairs come from held-out scenes; --val-data pictures are clean")
        return self._pairs(self.val_scenes, self.config.val_patches, np.random.default_rng([seed, 1]))

    def summary(self) -> str:
        validation = f"{len(self.val_scenes)} held-out scenes" if self.val_scenes is not None else f"{len(self.val_files)} clean pictures"
        return (f"{self.config.patches_per_epoch} random {self.patch}×{self.patch} {'RGB ' * (self.channels == 3)}patch pairs "
                f"per epoch from {len(self.scenes)} bursts ({len(self.train_files)} shots), validating on "
                f"{self.config.val_patches} patches of {validation}")
