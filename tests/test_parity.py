"""Every exported format against the Keras model and against each other, on real images and edge patterns.

Each test runs for two models: one trained on MNIST digits, one trained on a folder of real pictures."""
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import need
from dae_edge.export.onnx_export import to_onnx, to_onnx_int8
from dae_edge.export.tflite_export import to_tflite
from dae_edge.runtime.formats import BY_NAME, BY_SUFFIX
from dae_edge.app.cli import app
from dae_edge.runtime.denoiser import Denoiser, shipped_models
from dae_edge.core.metrics import picture_psnr, psnr
from dae_edge.core.noise import add_noise
from dae_edge.runtime.precision import TOLERANCES, Precision

INT8_PSNR_DROP_DB = TOLERANCES[Precision.int8].psnr_drop_db
from dae_edge.runtime.verify import verify_folder
from dae_edge.core.idx import to_float
from dae_edge.bench.reference import KerasPredict
from dae_edge.core.data import source_from_contract
from parity import BY_PRECISION, FP16, FP32, INT8, INT8_PAIR, PNG_STEP, Tolerance, assert_close

# (reference, candidate, tolerance): "keras" is the trained model, the others exported artifacts.
PAIRS = [
    ("keras", "dae.tflite", FP32),
    ("keras", "dae.onnx", FP32),
    ("dae.tflite", "dae.onnx", FP32),  # LiteRT ↔ onnxruntime on the same float weights
    ("keras", "dae_fp16.tflite", FP16),
    ("dae.tflite", "dae_fp16.tflite", FP16),  # float16 weights against the same float32 ones
    ("keras", "dae_int8.tflite", INT8),
    ("keras", "dae_int8.onnx", INT8),
    ("dae_int8.tflite", "dae_int8.onnx", INT8_PAIR),  # LiteRT ↔ onnxruntime, both int8
]
ARTIFACTS = sorted({name for pair in PAIRS for name in pair[:2]} - {"keras"})


def tolerance_of(name: str) -> Tolerance:
    """The gate's tolerance for an artifact against Keras, by the precision its name carries."""
    return BY_PRECISION[next((p for p in ("int8", "fp16") if f"_{p}." in name), "fp32")]


SETS = {"mnist": "exported_dir", "pictures": "folder_exported_dir"}


@pytest.fixture(scope="module", params=list(SETS))
def exported(request) -> Path:
    """The exported folder of each trained model in turn."""
    return request.getfixturevalue(SETS[request.param])


@pytest.fixture(scope="module")
def clean(exported, request) -> np.ndarray:
    """Real clean images the export did not validate on: the last MNIST test digits, or held-out picture patches."""
    contract = json.loads((exported / "manifest.json").read_text())["contract"]
    if contract["data"]["kind"] == "idx":
        return to_float(request.getfixturevalue("mnist").x_test[-200:])[..., 0]
    return source_from_contract(contract).validation_images(64, seed=99)[..., 0]


@pytest.fixture(scope="module")
def models(exported) -> dict[str, Denoiser]:
    need(BY_NAME["tflite"].installed(), "LiteRT (ai-edge-litert) is not installed")
    exported_dir = exported
    loaded = {name: Denoiser.load(exported_dir / name, threads=1) for name in ARTIFACTS}
    keras_model = KerasPredict(exported_dir / "dae.keras")  # Keras behind the Backend interface: same tiles and blocks
    return {"keras": Denoiser(keras_model, exported_dir / "dae.keras", None, loaded["dae.onnx"].geometry), **loaded}


@pytest.fixture(scope="module")
def inputs(clean) -> dict[str, np.ndarray]:
    """Real noisy images ("digits" for either model) and edge patterns of the training size."""
    rng = np.random.default_rng(7)
    size = (7, *clean.shape[1:])
    return {
        "digits": add_noise(clean[:64], 0.5, seed=11),
        "black": np.zeros(size, np.float32),
        "white": np.ones(size, np.float32),
        "noise": rng.random(size, dtype=np.float32),
    }


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("kind", ["digits", "black", "white", "noise"])
@pytest.mark.parametrize("reference, candidate, tolerance", PAIRS, ids=[f"{a}-{b}" for a, b, _ in PAIRS])
def test_pairs_agree(models, inputs, reference, candidate, tolerance, kind, batch):
    images = inputs[kind][:batch]
    assert_close(f"{reference} ↔ {candidate} on {batch} {kind}", models[reference].denoise(images),
                 models[candidate].denoise(images), tolerance)


@pytest.mark.parametrize("name", ["dae_int8.tflite", "dae_int8.onnx"])
def test_int8_keeps_the_pictures(models, clean, name):
    noisy = add_noise(clean, 0.5, seed=11)
    reference = psnr(clean, models["keras"].denoise(noisy)).mean()
    quantized = psnr(clean, models[name].denoise(noisy)).mean()
    assert quantized >= reference - INT8_PSNR_DROP_DB, f"{name}: PSNR {quantized:.2f} dB vs Keras {reference:.2f} dB"


@pytest.mark.parametrize("reference, candidate, tolerance", PAIRS, ids=[f"{a}-{b}" for a, b, _ in PAIRS])
def test_large_non_square_image_through_tiling(models, inputs, reference, candidate, tolerance):
    p = inputs["digits"].shape[1]
    grid = inputs["digits"][:12].reshape(2, 3, 2, p, p).transpose(0, 1, 3, 2, 4).reshape(2, 3 * p, 2 * p)
    big = np.concatenate([grid, grid[:, :, :45]], axis=2)[:, :75]  # and make it 75 rows, not a multiple of the patch
    assert_close(f"{reference} ↔ {candidate} on 75×101 tiles", models[reference].denoise(big),
                 models[candidate].denoise(big), tolerance)


def keras_one_pass(model, image: np.ndarray, multiple: int) -> np.ndarray:
    """Keras on the whole image, edge-padded at its bottom and right to a multiple, in one call, cropped."""
    h, w = image.shape
    padded = np.pad(image, ((0, -h % multiple), (0, -w % multiple)), mode="edge")
    return model.predict(padded[None, ..., None], verbose=0)[0, :h, :w, 0]


# Odd sizes (not multiples of 4), strips one pixel thin, and images large enough to be cut into blocks.
LARGE_SHAPES = [(75, 101), (1, 777), (777, 1), (30, 5000), (513, 301)]


@pytest.mark.parametrize("shape", LARGE_SHAPES, ids=[f"{h}x{w}" for h, w in LARGE_SHAPES])
@pytest.mark.parametrize("name", ARTIFACTS)
def test_whole_images_agree_with_keras_in_one_pass(models, inputs, name, shape, monkeypatch):
    from dae_edge.runtime import denoiser

    monkeypatch.setattr(denoiser, "CALL_PIXELS", 1 << 15)  # blocks from 32k pixels on: the larger shapes are cut
    monkeypatch.setattr(denoiser, "HALO_OVERHEAD", math.inf)  # that halos do not grow
    rng = np.random.default_rng(sum(shape))
    image = np.clip(rng.normal(0.2, 0.4, shape), 0, 1).astype(np.float32)
    image[: min(shape[0], 28), : min(shape[1], 28)] = inputs["digits"][0][: min(shape[0], 28), : min(shape[1], 28)]
    model = Denoiser.load(models[name].path, threads=2, large="whole")
    reference = keras_one_pass(models["keras"].backend.model, image, model.geometry.multiple)
    tolerance = tolerance_of(name)
    assert_close(f"keras one pass ↔ {name} whole on {shape}", reference[None], model.denoise(image[None]), tolerance)


@pytest.mark.parametrize("name", ARTIFACTS)
def test_dae_edge_run_on_png_files(tmp_path, models, inputs, exported, name):
    """Image reading and writing inside the comparison: PNG in, `dae-edge run`, PNG out."""
    digits = np.round(inputs["digits"][:7] * 255).astype(np.uint8)
    for i, digit in enumerate(digits):
        Image.fromarray(digit).save(tmp_path / f"d{i}.png")
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(tmp_path / "out"), "--invert", "no",
                                      "--model", str(exported / name)])
    assert result.exit_code == 0, result.output
    written = np.stack([np.asarray(Image.open(tmp_path / "out" / f"d{i}.denoised.png")) for i in range(7)]) / 255.0
    expected = models["keras"].denoise(digits / np.float32(255))
    base = tolerance_of(name)
    tolerance = Tolerance(max_abs=None if base.max_abs is None else base.max_abs + PNG_STEP,
                          mean_abs=None if base.mean_abs is None else base.mean_abs + PNG_STEP)
    assert_close(f"keras ↔ dae-edge run {name} via PNG", expected.astype(np.float64), written, tolerance)


def test_every_backend_and_artifact_kind_is_covered(exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    assert {a["file"] for a in manifest["artifacts"]} <= set(ARTIFACTS), "an exported artifact has no parity pair"
    assert set(BY_SUFFIX) <= {os.path.splitext(name)[1] for name in ARTIFACTS}, "a format in the table has no parity pair"
    kinds = {(a["format"], a["precision"]) for a in manifest["artifacts"]}
    assert kinds == {("tflite", "fp32"), ("onnx", "fp32"), ("tflite", "fp16"), ("tflite", "int8"), ("onnx", "int8")}


def _perturbed(model):
    import keras

    clone = keras.models.clone_model(model)
    weights = model.get_weights()
    weights[-1] = weights[-1] + 0.5  # the output layer's bias: every pixel moves, as a broken converter would
    clone.set_weights(weights)
    return clone


@pytest.mark.parametrize("name", ["dae.tflite", "dae_fp16.tflite", "dae.onnx", "dae_int8.tflite", "dae_int8.onnx"])
def test_a_perturbed_artifact_is_caught(tmp_path, models, inputs, name):
    fixed = _perturbed(models["keras"].backend.model)
    calibration = inputs["digits"][:32, ..., None]
    path = tmp_path / name
    if name == "dae.tflite":
        to_tflite(fixed, path)
    elif name == "dae_fp16.tflite":
        to_tflite(fixed, path, float16=True)
    elif name == "dae_int8.tflite":
        to_tflite(fixed, path, calibration)
    else:
        to_onnx(fixed, tmp_path / "dae.onnx", {})
        if name == "dae_int8.onnx":
            to_onnx_int8(tmp_path / "dae.onnx", path, calibration, {})
    pair = next(p for p in PAIRS if p[0] == "keras" and p[1] == name)
    images = inputs["digits"][:7]
    with pytest.raises(AssertionError, match=f"keras ↔ {name}"):
        assert_close(f"keras ↔ {name}", models["keras"].denoise(images), Denoiser.load(path).denoise(images), pair[2])


def test_shipped_models_match_their_golden_set():
    need(BY_NAME["tflite"].installed(), "LiteRT (ai-edge-litert) is not installed")
    folder = shipped_models()
    need((folder / "manifest.json").is_file(), "no models have been shipped yet")
    checks = list(verify_folder(folder))
    assert len(checks) == 4 and all(c.status == "pass" for c in checks), [c for c in checks if c.status != "pass"]


def test_the_shipped_photo_model_agrees_with_keras_in_every_format():
    """The default model, every artifact it ships, against its own dae.keras and each other, on real colour photos
    and a grey one at σ 25/255 (a TensorFlow install: the runtime tier checks it against its golden set)."""
    need(BY_NAME["tflite"].installed(), "LiteRT (ai-edge-litert) is not installed")
    from skimage import data

    folder = shipped_models() / "photo"
    shipped = {a["file"] for a in json.loads((folder / "manifest.json").read_text())["artifacts"]}
    assert {"dae.onnx", "dae.tflite", "dae_int8.onnx"} <= shipped
    keras_model = KerasPredict(folder / "dae.keras")
    loaded = {name: Denoiser.load(folder / name, threads=1) for name in shipped}
    models = {"keras": Denoiser(keras_model, folder / "dae.keras", None, loaded["dae.onnx"].geometry), **loaded}
    rng = np.random.default_rng(3)
    clean = [np.asarray(getattr(data, name)(), np.float32)[:96, :128] / 255 for name in ("chelsea", "coffee", "rocket")]
    clean.append(clean[0].mean(axis=-1))  # a grey photo: three equal channels in, their mean out
    noisy = [np.clip(c + rng.normal(0, 25 / 255, c.shape), 0, 1).astype(np.float32) for c in clean]
    outputs = {name: model.denoise_list(noisy) for name, model in models.items()}
    pairs = [p for p in PAIRS if {p[0], p[1]} <= set(models)]
    assert len(pairs) >= 5
    for reference, candidate, tolerance in pairs:
        for i, (r, c) in enumerate(zip(outputs[reference], outputs[candidate])):
            assert_close(f"{reference} ↔ {candidate} on photo {i}", r, c, tolerance)
    for name, images in outputs.items():
        gain = np.mean([picture_psnr(c, o) - picture_psnr(c, n) for c, n, o in zip(clean, noisy, images)])
        assert gain > 5, f"{name}: {gain:.2f} dB"
