"""`--arch photo_fullres`: the photo U-Net with a full-resolution head, fine-tuned from a photo model's weights."""
from pathlib import Path

import numpy as np
import pytest

from dae_edge.core.errors import DaeEdgeError
from dae_edge.train.config import TrainConfig
from dae_edge.train.model import build_model, count_macs
from dae_edge.train.training import start_from


def test_the_head_costs_1296_macs_a_pixel_and_stays_within_the_budget():
    photo = build_model(TrainConfig(arch="photo", loss="mse"), (None, None, 3))
    fullres = build_model(TrainConfig(arch="photo_fullres", loss="mse"), (None, None, 3))
    head = 9 * (3 + 3) * 16 + 9 * 16 * 3  # 3×3: noisy and estimate → 16, 16 → 3, at every pixel
    assert count_macs(photo, 64, 64) == 22_976 * 64 * 64
    assert count_macs(fullres, 64, 64) == (22_976 + head) * 64 * 64 <= 25_000 * 64 * 64


def test_it_starts_as_the_photo_model_it_is_initialised_from(tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    photo = build_model(TrainConfig(arch="photo", loss="mse", filters=8), (None, None, 3))
    photo.save(tmp_path / "photo.keras")
    fullres = build_model(TrainConfig(arch="photo_fullres", loss="mse", filters=8), (None, None, 3))
    noisy = np.random.default_rng(0).random((2, 32, 48, 3), dtype=np.float32)
    assert not np.allclose(fullres.predict(noisy, verbose=0), photo.predict(noisy, verbose=0), atol=1e-3)
    start_from(fullres, tmp_path / "photo.keras")
    np.testing.assert_allclose(fullres.predict(noisy, verbose=0), photo.predict(noisy, verbose=0), atol=1e-6)
    assert np.any(fullres.get_layer("full1").get_weights()[0])  # the head's first layer as built, its last at zero


@pytest.mark.parametrize("other", [dict(arch="photo", filters=16), dict(arch="unet", filters=8)])
def test_a_model_it_does_not_extend_is_refused_in_one_line(tmp_path, other):
    trained = build_model(TrainConfig(loss="mse", **other), (None, None, 3))
    trained.save(tmp_path / "other.keras")
    fullres = build_model(TrainConfig(arch="photo_fullres", loss="mse", filters=8), (None, None, 3))
    with pytest.raises(DaeEdgeError, match="other layers than this run's") as error:
        start_from(fullres, Path(tmp_path / "other.keras"))
    assert "\n" not in str(error.value)
