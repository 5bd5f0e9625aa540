"""The GPU fine-tuning script keeps the CPU trainer's recipe: its orientations, its schedule, its noise and its bytes
(tools/train_photo_gpu.py; its torch sampler runs only where torch is installed, so these test the numpy parts)."""
import importlib.util
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dae_edge.train.config import TrainConfig
from dae_edge.train.model import learning_rate
from dae_edge.train.training import dihedral

spec = importlib.util.spec_from_file_location("train_photo_gpu", Path(__file__).parents[1] / "tools/train_photo_gpu.py")
gpu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu)


def test_dihedral_maps_turn_patches_as_the_trainer_does():
    patch = np.random.default_rng(0).random((1, 8, 8, 3), dtype=np.float32)
    copies = np.repeat(patch, 64, axis=0)
    kinds = np.random.default_rng([4, 2]).integers(0, 8, len(copies))  # the draw dihedral makes from its seed
    turned = dihedral(copies, [4, 2])
    maps = gpu.dihedral_maps(8)
    assert set(kinds) == set(range(8))
    for image, kind in zip(turned, kinds):
        np.testing.assert_array_equal(image, patch[0].reshape(-1, 3)[maps[kind].reshape(-1)].reshape(8, 8, 3))


def test_schedule_without_warm_up_is_the_trainers_by_step():
    config = TrainConfig(epochs=40, learning_rate=2e-4, lr_schedule="cosine")
    assert [gpu.learning_rate(2e-4, s, 40, 0) for s in range(40)] == [learning_rate(config, e) for e in range(40)]


def test_warm_up_rises_to_the_rate_and_the_run_ends_at_the_floor():
    rates = [gpu.learning_rate(1e-3, s, 1000, 100) for s in range(1000)]
    assert rates[0] == pytest.approx(1e-5) and rates[99] == pytest.approx(1e-3) and rates[100:600] == [1e-3] * 500
    assert np.all(np.diff(rates[:100]) > 0) and np.all(np.diff(rates[600:]) < 0)
    assert rates[-1] == pytest.approx(1e-3 * gpu.LR_FLOOR)


def test_noise_parts_are_the_mixtures_ranges_and_other_kinds_are_refused():
    np.testing.assert_allclose(gpu.gaussian_parts("gaussian:0-0.05|gaussian:0.1"), [[0, 0.05], [0.1, 0.1]])
    with pytest.raises(SystemExit, match="Gaussian noise only"):
        gpu.gaussian_parts("gaussian:0-0.1|poisson:30")


def test_pictures_are_read_as_the_trainer_reads_them_and_kept_as_bytes(tmp_path):
    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(small).save(tmp_path / "small.png")
    Image.fromarray(rng.integers(0, 256, (70, 80), dtype=np.uint8)).save(tmp_path / "grey.png")
    grey, padded = gpu.read_pictures(tmp_path, 64)  # sorted by name
    assert padded.dtype == np.uint8 and padded.shape == (64, 64, 3) and grey.shape == (70, 80, 3)
    np.testing.assert_array_equal(padded[:40, :50], small)
    np.testing.assert_array_equal(padded[40:, :50], np.repeat(small[-1:], 24, axis=0))  # edge padding, as _read
    Image.fromarray(rng.integers(0, 65536, (70, 80), dtype=np.uint16)).save(tmp_path / "deep.png")
    with pytest.raises(SystemExit, match="not 8-bit"):
        gpu.read_pictures(tmp_path, 64)


@pytest.mark.parametrize("rates", [[], [f"{i}e-4" for i in range(1, 8)]])
def test_gpu_run_script_refuses_no_learning_rate_and_more_than_it_has_names_for(tmp_path, rates):
    script = Path(__file__).parents[1] / "tools/gpu_train.sh"
    done = subprocess.run(["bash", str(script), str(tmp_path), str(tmp_path / "work"), str(tmp_path / "out"), "10",
                           *rates], capture_output=True, text=True)
    assert done.returncode == 2 and f"got {len(rates)}" in done.stderr and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "work").exists() and not (tmp_path / "out").exists()  # refused before anything is made
