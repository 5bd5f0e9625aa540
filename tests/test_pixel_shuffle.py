"""Transposed convolutions of kernel = stride exported as pixel shuffles, and calls sized by a model's activations."""
import numpy as np
import pytest

from dae_edge.runtime import denoiser as denoiser_module
from dae_edge.runtime.denoiser import Denoiser, Geometry, call_budget


def tiny_photo_model(seed: int = 0):
    import keras

    from dae_edge.train.config import TrainConfig
    from dae_edge.train.model import build_model

    keras.utils.set_random_seed(seed)
    model = build_model(TrainConfig(arch="photo", filters=4, loss="mse", noise="gaussian:0-0.2"), (None, None, 3))
    for layer in model.layers:  # biases away from zero, so that a lost or misplaced bias shows
        if layer.weights:
            kernel, *bias = layer.get_weights()
            layer.set_weights([kernel, *(np.random.default_rng(seed).normal(0, 0.05, b.shape).astype(np.float32) for b in bias)])
    return model


def test_the_rewrite_computes_what_the_transposed_convolutions_did():
    import keras

    from dae_edge.export.pixel_shuffle import with_pixel_shuffles

    model = tiny_photo_model()
    rewritten = with_pixel_shuffles(model)
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in rewritten.layers)
    x = np.random.default_rng(1).random((2, 40, 24, 3), np.float32)
    assert np.allclose(model.predict(x, verbose=0), rewritten.predict(x, verbose=0), atol=1e-6)


def test_overlapping_transposed_convolutions_are_left_as_they_are():
    from dae_edge.export.pixel_shuffle import with_pixel_shuffles
    from dae_edge.train.config import TrainConfig
    from dae_edge.train.model import build_model

    paper = build_model(TrainConfig())  # 3×3 kernels at stride 2: outputs overlap, no pixel shuffle
    assert with_pixel_shuffles(paper) is paper


def test_the_tflite_file_runs_in_one_delegated_graph_and_matches_keras(tmp_path):
    from dae_edge.export.tflite_export import convert
    from dae_edge.runtime.backends import LiteRTBackend

    model = tiny_photo_model()
    (path,) = convert(model, tmp_path / "dae.tflite", "fp32", None, {})
    backend = LiteRTBackend(path)
    ops = {op["op_name"] for op in backend.interpreter._get_ops_details()}
    assert "DEPTH_TO_SPACE" in ops and not ops & {"TRANSPOSE_CONV", "SHAPE", "PACK"}, ops
    for shape in [(1, 16, 24, 3), (2, 48, 32, 3)]:  # any size: nothing in the graph was fixed by the first
        x = np.random.default_rng(2).random(shape, np.float32)
        assert np.allclose(backend.run(x), model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("activation, factor", [(None, 1), (32, 1), (65, 1), (16, 2), (8, 4), (9, 2), (0.5, 64)])
def test_calls_grow_as_a_model_needs_less_memory_per_pixel(activation, factor):
    assert call_budget(activation) == denoiser_module.CALL_PIXELS * factor


@pytest.mark.parametrize("activation, radius, multiple, budget", [
    (16, 65, 8, 1 << 18), (8, 65, 8, 1 << 18), (32, 17, 4, 1 << 16), (32, 21, 4, 1 << 16),
    (None, 64, 1, 1 << 16),  # memory per pixel unknown: calls stay at the base size
    (16, 10_000, 8, denoiser_module.MAX_CALL_PIXELS),  # halos never grow calls past the cap
])
def test_calls_grow_until_halos_at_most_double_the_work(activation, radius, multiple, budget):
    assert call_budget(activation, radius, multiple) == budget


class CountingBackend:
    """An any-size identity model that counts its calls and the pixels it was given."""

    name, input_shape, max_batch, metadata = "counting", (None, None, 1), None, {}

    def __init__(self):
        self.calls = self.pixels = 0

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.pixels += batch.shape[0] * batch.shape[1] * batch.shape[2]
        return batch


@pytest.mark.parametrize("activation, one_call", [(None, False), (32, False), (8, True)])
def test_a_light_model_runs_a_large_image_in_fewer_calls(tmp_path, activation, one_call):
    backend = CountingBackend()
    geometry = Geometry(tile=None, multiple=8, radius=16, activation=activation)
    image = np.random.default_rng(3).random((300, 400)).astype(np.float32)  # 120,000 pixels: over 2^16, under 2^18
    out = Denoiser(backend, tmp_path / "m.onnx", None, geometry).denoise_list([image])[0]
    assert np.array_equal(out, image) and (backend.calls == 1) == one_call
    assert backend.pixels >= image.size


@pytest.mark.parametrize("stated, activation", [("8.0", 8.0), ("abc", None), ("-1", None), (None, None)])
def test_a_bare_models_metadata_sizes_its_calls_where_it_makes_sense(stated, activation):
    from dae_edge.runtime.denoiser import geometry

    backend = CountingBackend()
    backend.metadata = {} if stated is None else {"largest_activation": stated, "multiple_of": "8"}
    assert geometry(backend, None).activation == activation


def test_a_large_image_costs_at_most_twice_its_pixels_in_halos(tmp_path):
    backend = CountingBackend()  # the full-resolution photo model's geometry: 16 floats a pixel, a 65-pixel radius
    geometry = Geometry(tile=None, multiple=8, radius=65, activation=16)
    image = np.random.default_rng(4).random((2048, 2048)).astype(np.float32)
    out = Denoiser(backend, tmp_path / "m.onnx", None, geometry).denoise_list([image])[0]
    assert np.array_equal(out, image) and image.size < backend.pixels <= denoiser_module.HALO_OVERHEAD * image.size
