"""`--arch photo_fullres`: the photo U-Net with a full-resolution head, fine-tuned from a photo model's weights; and
`photo_fullres_wide`, that head wider, fine-tuned from a photo_fullres model's."""
from pathlib import Path

import numpy as np
import pytest

from dae_edge.core.errors import DaeEdgeError
from dae_edge.train.config import TrainConfig
from dae_edge.train.model import build_model, count_macs
from dae_edge.train.training import start_from

SHIPPED_PHOTO = Path(__file__).parents[1] / "models" / "photo"


def test_the_head_costs_1296_macs_a_pixel_and_stays_within_the_budget():
    photo = build_model(TrainConfig(arch="photo", loss="mse"), (None, None, 3))
    fullres = build_model(TrainConfig(arch="photo_fullres", loss="mse"), (None, None, 3))
    head = 9 * (3 + 3) * 16 + 9 * 16 * 3  # 3×3: noisy and estimate → 16, 16 → 3, at every pixel
    assert count_macs(photo, 64, 64) == 22_976 * 64 * 64
    assert count_macs(fullres, 64, 64) == (22_976 + head) * 64 * 64 <= 25_000 * 64 * 64
    wide = build_model(TrainConfig(arch="photo_fullres_wide", loss="mse"), (None, None, 3))
    assert count_macs(wide, 64, 64) == (22_976 + 9 * (3 + 3) * 24 + 9 * 24 * 3) * 64 * 64 == 24_920 * 64 * 64


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


def test_the_wide_head_starts_as_the_photo_fullres_model_it_is_widened_from(tmp_path):
    import keras

    keras.utils.set_random_seed(4)
    fullres = build_model(TrainConfig(arch="photo_fullres", loss="mse", filters=8), (None, None, 3))
    kernel, bias = fullres.get_layer("full2").get_weights()  # trained heads are not zero: give it a correction
    fullres.get_layer("full2").set_weights([np.random.default_rng(1).normal(0, 0.05, kernel.shape), bias + 0.01])
    fullres.save(tmp_path / "fullres.keras")
    wide = build_model(TrainConfig(arch="photo_fullres_wide", loss="mse", filters=8), (None, None, 3))
    noisy = np.random.default_rng(0).random((2, 32, 48, 3), dtype=np.float32)
    start_from(wide, tmp_path / "fullres.keras")
    np.testing.assert_allclose(wide.predict(noisy, verbose=0), fullres.predict(noisy, verbose=0), atol=1e-6)
    first, last = wide.get_layer("full1").get_weights()[0], wide.get_layer("full2").get_weights()[0]
    assert first.shape[-1] == 24 and np.any(first[..., 16:]) and not np.any(last[..., 16:, :])  # new channels as built


@pytest.mark.parametrize("other", [dict(arch="photo", filters=16), dict(arch="unet", filters=8),
                                   dict(arch="photo", filters=4)])  # narrower: its transposed convolutions differ
def test_a_model_it_does_not_extend_is_refused_in_one_line(tmp_path, other):
    trained = build_model(TrainConfig(loss="mse", **other), (None, None, 3))
    trained.save(tmp_path / "other.keras")
    fullres = build_model(TrainConfig(arch="photo_fullres", loss="mse", filters=8), (None, None, 3))
    with pytest.raises(DaeEdgeError, match="other layers than this run's") as error:
        start_from(fullres, Path(tmp_path / "other.keras"))
    assert "\n" not in str(error.value)


def test_the_shipped_int8_onnx_file_keeps_the_head_and_the_half_resolution_convolutions_in_float():
    """The fine-resolution rule on the shipped graph: the U-Net's first three and last two convolutions and both of
    the head's, and only those and outliers, in float (counted from the ends, the head took the decoder's places)."""
    import onnx

    from dae_edge.export.onnx_export import fine_convolutions

    layer = lambda name: name.split("/")[1].removesuffix("_1")  # noqa: E731  (tf2onnx: model/layer_1/BiasAdd)
    fine = [layer(name) for name in fine_convolutions(onnx.load(SHIPPED_PHOTO / "dae.onnx"))]
    assert fine == ["unshuffle", "enc1", "down2", "dec2a", "dec2b", "full1", "full2"]
    graph = onnx.load(SHIPPED_PHOTO / "dae_int8.onnx").graph
    made_by = {output: node for node in graph.node for output in node.output}
    in_float = {layer(n.name) for n in graph.node if n.op_type == "Conv" and made_by.get(n.input[1]) is None}
    assert set(fine) <= in_float and len(in_float - set(fine)) <= 1  # and mid3, whose outliers reach 6.5×


def test_a_widened_kernel_keeps_the_trained_corner_and_ignores_the_inputs_it_adds():
    from dae_edge.train.training import _embedded

    rng = np.random.default_rng(2)
    trained, built = rng.normal(size=(3, 3, 2, 4)), rng.normal(size=(3, 3, 5, 6))
    widened = _embedded(trained, built)
    np.testing.assert_array_equal(widened[:, :, :2, :4], trained)
    np.testing.assert_array_equal(widened[:, :, :2, 4:], built[:, :, :2, 4:])  # the added outputs as built
    assert not np.any(widened[:, :, 2:, :])  # the added inputs read nothing
    np.testing.assert_array_equal(_embedded(np.ones(4), np.zeros(6)), [1, 1, 1, 1, 0, 0])  # a bias: its new part as built
