"""Data sources without labels: folders of pictures (scan, split, patches, padding) and IDX files without labels."""
import json

import numpy as np
import pytest
from PIL import Image

from conftest import write_idx
from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.images import ANY_POLARITY, DARK_ON_LIGHT, LIGHT_ON_DARK
from dae_edge.core import folder as sources
from dae_edge.core.data import open_source, source_from_contract
from dae_edge.core.folder import FolderSource, scan_folder
from dae_edge.core.idx_source import IdxSource
from dae_edge.core.data_config import DataConfig


def gray(folder, name, shape, value=None, seed=0):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8) if value is None else np.full(shape, value, np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def count_reads(monkeypatch) -> list:
    """Paths the folder source reads pixels from, in order, from now on."""
    reads, real = [], sources.read_image
    monkeypatch.setattr(sources, "read_image", lambda path, *a, **k: reads.append(path) or real(path, *a, **k))
    return reads


def test_scan_is_recursive_sorted_and_counts_unreadable_files(tmp_path):
    gray(tmp_path, "b.png", (40, 50))
    gray(tmp_path, "sub/deeper/a.jpg", (30, 30))
    gray(tmp_path, "old.denoised.png", (30, 30))  # our own output: never training data
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "notes.txt").write_text("not an image")
    scan = scan_folder(tmp_path)
    assert [(f.name, f.width, f.height) for f in scan.files] == [("b.png", 50, 40), ("sub/deeper/a.jpg", 30, 30)]
    assert scan.unreadable == ["broken.png"]


def test_empty_folder_and_folder_without_images_are_one_line_errors(tmp_path):
    with pytest.raises(DaeEdgeError, match="no readable images found"):
        scan_folder(tmp_path)
    (tmp_path / "x.png").write_bytes(b"garbage")
    with pytest.raises(DaeEdgeError, match="no readable images found"):
        scan_folder(tmp_path)
    with pytest.raises(DaeEdgeError, match="no such folder"):
        scan_folder(tmp_path / "missing")


def test_split_is_by_file_seeded_and_recorded(tmp_path):
    for i in range(20):
        gray(tmp_path, f"img{i:02d}.png", (40, 40), seed=i)
    first = FolderSource.open(tmp_path, DataConfig(val_fraction=0.2), seed=3)
    again = FolderSource.open(tmp_path, DataConfig(val_fraction=0.2), seed=3)
    other = FolderSource.open(tmp_path, DataConfig(val_fraction=0.2), seed=4)
    val = [f.name for f in first.val_files]
    assert len(val) == 4 and val == [f.name for f in again.val_files] and val != [f.name for f in other.val_files]
    assert not set(val) & {f.name for f in first.train_files} and len(first.train_files) == 16
    data = first.describe()
    assert data["validation"]["files"] == val and data["files"] == 20
    reopened = source_from_contract(contract_of(json.loads(json.dumps(data))))
    assert [f.name for f in reopened.val_files] == val and [f.name for f in reopened.train_files] == [f.name for f in first.train_files]
    np.testing.assert_array_equal(reopened.validation_images(8, 5), first.validation_images(8, 5))


def test_sub_folders_whose_names_sort_apart_as_paths_and_as_text_reopen(tmp_path):
    """"a/b/0.png" comes before "a/b-c/0.png" as a path and after it as text ('-' < '/'): both orders name one list."""
    for i, name in enumerate(("a/b/0.png", "a/b-c/0.png", "a/b/1.png", "a/b-c/1.png")):
        gray(tmp_path / "data", name, (40, 40), seed=i)
    gray(tmp_path / "val", "v.png", (40, 40))
    data = FolderSource.open(tmp_path / "data", DataConfig(patch=32), seed=0, val_data=tmp_path / "val").describe()
    reopened = source_from_contract(contract_of(data))
    assert sorted(f.name for f in reopened.train_files) == sorted(["a/b/0.png", "a/b-c/0.png", "a/b/1.png", "a/b-c/1.png"])


def test_a_changed_folder_is_not_taken_for_the_training_data(tmp_path):
    for i in range(4):
        gray(tmp_path, f"img{i}.png", (40, 40), seed=i)
    data = FolderSource.open(tmp_path, DataConfig(patch=32), seed=0).describe()
    gray(tmp_path, "new.png", (40, 40))
    with pytest.raises(DaeEdgeError, match="not the ones the model was trained on"):
        source_from_contract(contract_of(data))


def contract_of(data: dict) -> dict:
    """A whole contract around a source's description, as train writes it."""
    return {"contract_version": 1, "data": data, "patch": data["patch"], "downsampling": 4, "channels": 1,
            "polarity": "any", "noise": "gaussian:0.5", "noise_seed": 0}


def test_val_data_must_not_overlap_training_files(tmp_path):
    gray(tmp_path, "train/a.png", (40, 40))
    gray(tmp_path, "train/held/b.png", (40, 40))
    gray(tmp_path, "other/c.png", (40, 40))
    with pytest.raises(DaeEdgeError, match="shares 1 files"):
        FolderSource.open(tmp_path / "train", DataConfig(patch=32), 0, val_data=tmp_path / "train" / "held")
    source = FolderSource.open(tmp_path / "train", DataConfig(patch=32), 0, val_data=tmp_path / "other")
    assert [f.name for f in source.val_files] == ["c.png"] and len(source.train_files) == 2


def test_small_images_are_padded_or_refused(tmp_path):
    gray(tmp_path, "big.png", (80, 80), seed=1)
    gray(tmp_path, "small.png", (20, 50), value=200)
    source = FolderSource.open(tmp_path, DataConfig(patch=32, patches_per_epoch=200), seed=0, val_data=None)
    patches = np.concatenate([source.train_images(0), source.validation_images(50)])
    assert patches.shape[1:] == (32, 32, 1) and patches.dtype == np.float32 and 0 <= patches.min() <= patches.max() <= 1
    with pytest.raises(DaeEdgeError, match=r"smaller than the 32-pixel patch \(e.g. small.png, 50×20\)"):
        FolderSource.open(tmp_path, DataConfig(patch=32, pad=False), seed=0)


def test_patches_are_fresh_each_epoch_reproducible_and_read_each_file_once(tmp_path, monkeypatch):
    for i in range(6):
        gray(tmp_path, f"img{i}.png", (64, 96), seed=i)
    source = FolderSource.open(tmp_path, DataConfig(patch=16, patches_per_epoch=300), seed=0)
    reads = count_reads(monkeypatch)
    epoch0, epoch1 = source.train_images(0), source.train_images(1)
    assert len(epoch0) == 300 and not np.array_equal(epoch0, epoch1)
    assert len(reads) == len(set(reads[:len(reads) // 2])) * 2 == 2 * len(source.train_files)  # each file once per epoch
    np.testing.assert_array_equal(FolderSource.open(tmp_path, DataConfig(patch=16, patches_per_epoch=300), seed=0).train_images(0), epoch0)


def test_unreadable_file_found_while_cutting_is_skipped_and_counted(tmp_path):
    for i in range(3):
        gray(tmp_path, f"img{i}.png", (40, 40), seed=i)
    source = FolderSource.open(tmp_path, DataConfig(patch=32, patches_per_epoch=60, val_fraction=0.3), seed=0)
    victim = source.train_files[0].name
    data = (tmp_path / victim).read_bytes()
    (tmp_path / victim).write_bytes(data[: len(data) // 2])  # the header still reads; the pixels do not
    patches = source.train_images(0)
    assert len(patches) == 60  # its patches came from the other pictures
    assert source.skipped_summary().startswith(f"skipped 1 unreadable file (or above 50 MP): {victim};")


def test_polarity_of_pages_night_skies_and_a_mix(tmp_path):
    for i in range(4):
        gray(tmp_path / "pages", f"p{i}.png", (40, 40), value=230 - i)
        gray(tmp_path / "night", f"n{i}.png", (40, 40), value=10 + i)
        gray(tmp_path / "mix", f"p{i}.png", (40, 40), value=230 - i)
        gray(tmp_path / "mix", f"n{i}.png", (40, 40), value=10 + i)
    polarity = {name: FolderSource.open(tmp_path / name, DataConfig(patch=32), seed=0).polarity()
                for name in ("pages", "night", "mix")}
    assert polarity == {"pages": DARK_ON_LIGHT, "night": LIGHT_ON_DARK, "mix": ANY_POLARITY}


def test_idx_files_without_labels_of_another_size(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (30, 32, 32), dtype=np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (12, 32, 32), dtype=np.uint8))
    source = open_source(tmp_path, DataConfig(), seed=0)
    assert isinstance(source, IdxSource) and source.patch == 32 and source.validation_labels() is None
    assert source.train_images(0).shape == (30, 32, 32, 1) and source.describe()["labels"] is False
    with pytest.raises(DaeEdgeError, match="IDX images are 32×32"):
        open_source(tmp_path, DataConfig(patch=64), seed=0)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, (12, 32, 30), dtype=np.uint8))
    with pytest.raises(DaeEdgeError, match=r"training images are \(32, 32\) but test images \(32, 30\)"):
        open_source(tmp_path, DataConfig(), seed=0)
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (30, 32, 30), dtype=np.uint8))
    with pytest.raises(DaeEdgeError, match="square images"):
        open_source(tmp_path, DataConfig(), seed=0)


def test_bad_data_options_are_refused():
    for bad in (dict(patch=0), dict(val_fraction=1.0), dict(val_fraction=0), dict(patches_per_epoch=0)):
        with pytest.raises(ValueError):
            DataConfig(**bad)


def test_an_epoch_reads_only_the_pictures_it_draws_from(tmp_path, monkeypatch):
    """A large folder is never read whole: an epoch of few patches opens at most that many pictures."""
    for i in range(400):
        gray(tmp_path, f"d{i // 100}/img{i:03d}.png", (12, 12), seed=i)
    source = FolderSource.open(tmp_path, DataConfig(patch=8, patches_per_epoch=20), seed=0)
    reads = count_reads(monkeypatch)
    assert len(source.train_images(0)) == 20 and 0 < len(reads) <= 20
    assert len(source.train_files) == 360 and len(source.val_files) == 40
