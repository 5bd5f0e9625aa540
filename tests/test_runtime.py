import builtins
import math

import numpy as np
import pytest

from dae_edge.runtime import denoiser as denoiser_module
from dae_edge.runtime.denoiser import Denoiser
from dae_edge.core.errors import DaeEdgeError
from dae_edge.runtime.quant import dequantize, quantize
from dae_edge.runtime.tiling import Blend, cut, offsets

MODELS = ["dae.onnx", "dae.tflite", "dae_int8.onnx", "dae_int8.tflite"]


def test_quantize_rounds_then_clips():
    q = quantize(np.array([0.0, 0.74, 0.76, 100.0, -100.0]), scale=0.5, zero_point=-10, dtype=np.int8)
    assert q.dtype == np.int8 and q.tolist() == [-10, -9, -8, 127, -128]  # 1.52 rounds up, ±200 clip
    assert dequantize(q, 0.5, -10).tolist() == [0.0, 0.5, 1.0, 68.5, -59.0]


@pytest.mark.parametrize("shape", [(28, 28, 1), (5, 3, 1), (29, 61, 3), (100, 40, 1)])
def test_tiles_cover_the_image_and_blend_back(shape):
    image = np.random.default_rng(0).random(shape, dtype=np.float32)
    blend = Blend(shape, 28)
    for y, x in offsets(shape, 28):
        tile = cut(image, y, x, 28)
        assert tile.shape == (28, 28, shape[2])
        blend.add(tile, y, x)
    assert np.allclose(blend.result(), image, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_both_backends_keep_shape_and_range(exported_dir, name):
    denoiser = Denoiser.load(exported_dir / name, threads=1)
    images = np.random.default_rng(1).random((3, 28, 28), dtype=np.float32)
    plain, channel = denoiser.denoise(images), denoiser.denoise(images[..., None])
    assert plain.shape == (3, 28, 28) and channel.shape == (3, 28, 28, 1) and plain.dtype == np.float32
    assert np.array_equal(plain, channel[..., 0])
    assert 0 <= plain.min() and plain.max() <= 1
    odd = denoiser.denoise(np.random.default_rng(2).random((2, 33, 57), dtype=np.float32))
    assert odd.shape == (2, 33, 57)
    assert denoiser.info["file"] == name  # the manifest entry travels with the loaded model


def test_tampered_model_is_refused(exported_copy):
    path = exported_copy / "dae.onnx"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DaeEdgeError, match="checksum mismatch"):
        Denoiser.load(path)


def test_corrupt_model_without_manifest_is_one_line(tmp_path):
    for name in ("broken.onnx", "broken.tflite"):
        (tmp_path / name).write_bytes(b"garbage" * 10)
        with pytest.raises(DaeEdgeError, match="not a valid") as info:
            Denoiser.load(tmp_path / name)
        assert "\n" not in str(info.value)


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"x")
    with pytest.raises(DaeEdgeError, match="unknown model type '.pt'"):
        Denoiser.load(tmp_path / "model.pt")
    with pytest.raises(DaeEdgeError, match="no such model file"):
        Denoiser.load(tmp_path / "absent.onnx")


def test_missing_runtime_names_its_extra(exported_dir, monkeypatch):
    real_import = builtins.__import__

    def no_litert(name, *args, **kwargs):
        if name.startswith(("ai_edge_litert", "tflite_runtime")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_litert)
    with pytest.raises(DaeEdgeError, match=r"pip install 'dae-edge\[tflite\]'"):
        Denoiser.load(exported_dir / "dae_int8.tflite")


def test_default_model_follows_the_installed_runtime(exported_dir, monkeypatch):
    monkeypatch.setattr(denoiser_module, "shipped_models", lambda: exported_dir)
    monkeypatch.setattr(denoiser_module, "DEFAULT_MODEL", "paper")  # the folder itself, not a subfolder
    from dae_edge.runtime.formats import Format

    monkeypatch.setattr(Format, "installed", lambda self: True)
    assert denoiser_module.default_model().name == "dae_int8.tflite"
    monkeypatch.setattr(Format, "installed", lambda self: self.name == "onnx")
    assert denoiser_module.default_model().name == "dae.onnx"
    monkeypatch.setattr(Format, "installed", lambda self: False)  # the base install's format all the same
    assert denoiser_module.default_model().name == "dae.onnx"
    assert denoiser_module.default_model("tflite").name == "dae_int8.tflite"


def test_bad_array_shape(exported_dir):
    with pytest.raises(DaeEdgeError, match="expected images of shape"):
        Denoiser.load(exported_dir / "dae.onnx").denoise(np.zeros((2, 28, 28, 2), np.float32))


def test_tflite_runtime_alone_is_not_used(exported_dir, monkeypatch):
    """tflite-runtime 2.14, its last aarch64 wheel, fails with numpy 2: only ai-edge-litert runs .tflite models."""
    import sys
    import types

    real_import = builtins.__import__

    def without_litert(name, *args, **kwargs):
        if name.startswith("ai_edge_litert"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    legacy = types.ModuleType("tflite_runtime")
    legacy.interpreter = types.SimpleNamespace(Interpreter=lambda **kwargs: pytest.fail("tflite_runtime was used"))
    monkeypatch.setitem(sys.modules, "tflite_runtime", legacy)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", legacy.interpreter)
    monkeypatch.setattr(builtins, "__import__", without_litert)
    with pytest.raises(DaeEdgeError, match=r"pip install 'dae-edge\[tflite\]'"):
        Denoiser.load(exported_dir / "dae_int8.tflite")


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape", [(9, 28, 28), (3, 1, 1500), (2, 1500, 1), (1, 75, 101)])
def test_worker_threads_give_the_one_thread_result(exported_dir, name, shape, monkeypatch):
    """Calls spread over two worker threads (each with its own runtime) equal one thread's, in tiles and whole."""
    monkeypatch.setattr(denoiser_module, "CALL_PIXELS", 4096)  # many calls, even for small images
    monkeypatch.setattr(denoiser_module, "HALO_OVERHEAD", math.inf)  # that halos do not grow
    images = np.random.default_rng(3).random(shape, dtype=np.float32)
    for large in ("whole", "tiles"):
        one = Denoiser.load(exported_dir / name, threads=1, large=large)
        two = Denoiser.load(exported_dir / name, threads=2, large=large)
        # Tiles overlap, so the order in which threads blend them moves the last bit.
        np.testing.assert_allclose(two.denoise(images), one.denoise(images), rtol=0, atol=1e-6)
        assert two._pool is not None  # the threads really ran
