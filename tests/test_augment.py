"""`train --augment`: each training patch flipped or turned by a seeded one of the square's eight symmetries."""
import json

import numpy as np
from typer.testing import CliRunner

from dae_edge.app.cli import app
from dae_edge.train.config import TrainConfig
from dae_edge.train.training import dihedral

runner = CliRunner()


def symmetries(patch: np.ndarray) -> list[np.ndarray]:
    return [np.rot90(p, k) for p in (patch, patch.transpose(1, 0, 2)) for k in range(4)]


def test_each_patch_becomes_one_of_its_eight_symmetries_and_all_eight_are_drawn():
    patches = np.random.default_rng(0).random((64, 6, 6, 3), dtype=np.float32)
    out = dihedral(patches, [0, 1, 7])
    kinds = [next(k for k, s in enumerate(symmetries(p)) if np.array_equal(s, o)) for p, o in zip(patches, out)]
    assert sorted(set(kinds)) == list(range(8))  # every symmetry, the identity among them
    assert np.array_equal(dihedral(patches, [0, 1, 7]), out)  # seeded
    assert not np.array_equal(dihedral(patches, [0, 2, 7]), out)  # another epoch, other draws
    assert np.array_equal(patches, np.random.default_rng(0).random((64, 6, 6, 3), dtype=np.float32))  # a copy


def test_configurations_without_augment_hash_as_before():
    assert "augment" not in TrainConfig().to_dict()
    assert TrainConfig(augment=True).to_dict()["augment"] is True
    assert TrainConfig(augment=True).sha256() != TrainConfig().sha256()


def test_training_with_augment_learns_from_turned_patches_and_records_it(tmp_path, small_mnist_dir):
    """Against --fresh-noise, which draws the same noise every epoch from the same seed: only the turns differ."""
    import keras

    runs = {}
    for flag in ("--augment", "--fresh-noise"):
        out = tmp_path / flag.strip("-")
        result = runner.invoke(app, ["train", "--data", str(small_mnist_dir), "--limit", "256", "--epochs", "1", flag,
                                     "--out", str(out)])
        assert result.exit_code == 0, result.output
        runs[flag] = keras.models.load_model(out / "dae.keras").get_weights()
    assert not all(np.allclose(a, b) for a, b in zip(runs["--augment"], runs["--fresh-noise"]))
    assert json.loads((tmp_path / "augment" / "config.json").read_text())["augment"] is True
