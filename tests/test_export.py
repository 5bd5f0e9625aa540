import json

import numpy as np
import pytest

from dae_edge.core.idx_source import IdxSource
from typer.testing import CliRunner

from dae_edge.export import exporter, onnx_export
from dae_edge.export.exporter import ExportOptions, export
from dae_edge.app.cli import app
from dae_edge.core.files import sha256

ARTIFACTS = ["dae.tflite", "dae.onnx", "dae_fp16.tflite", "dae_int8.tflite", "dae_int8.onnx"]
runner = CliRunner()


def snapshot(folder) -> dict[str, str]:
    return {p.name: sha256(p) for p in folder.iterdir() if p.is_file()}


def test_writes_four_artifacts_with_matching_manifest(exported_dir):
    manifest = json.loads((exported_dir / "manifest.json").read_text())
    assert [a["file"] for a in manifest["artifacts"]] == ARTIFACTS
    for entry in manifest["artifacts"]:
        path = exported_dir / entry["file"]
        assert entry["sha256"] == sha256(path) and entry["bytes"] == path.stat().st_size
        assert entry["validation"]["psnr"] > 0 and entry["value_range"] == [0.0, 1.0]
    assert manifest["source"]["sha256"] == sha256(exported_dir / "dae.keras")
    assert manifest["source"]["training_config"] == json.loads((exported_dir / "config.json").read_text())
    assert manifest["golden"]["sha256"] == sha256(exported_dir / "golden.npz")
    assert manifest["input"]["largest_activation"] == 32  # the paper's model: 32 channels at full size
    assert not [p for p in exported_dir.iterdir() if p.name.startswith(".staging")]


def test_int8_tflite_is_full_integer_with_its_own_quantization(exported_dir):
    from ai_edge_litert.interpreter import Interpreter

    manifest = json.loads((exported_dir / "manifest.json").read_text())
    entry = next(a for a in manifest["artifacts"] if a["file"] == "dae_int8.tflite")
    interpreter = Interpreter(model_path=str(exported_dir / "dae_int8.tflite"))
    for recorded, actual in [(entry["inputs"][0], interpreter.get_input_details()[0]),
                             (entry["outputs"][0], interpreter.get_output_details()[0])]:
        assert recorded["dtype"] == "int8" and actual["dtype"] == np.int8
        assert recorded["quantization"]["scale"] == pytest.approx(actual["quantization"][0])
        assert recorded["quantization"]["zero_point"] == actual["quantization"][1]
    assert entry["inputs"][0]["quantization"]["scale"] == pytest.approx(1 / 255, rel=0.05)  # calibrated on [0, 1]
    weights = [t for t in interpreter.get_tensor_details() if t["name"].endswith("convolution") or "Conv" in t["name"]]
    assert weights and all(t["dtype"] in (np.int8, np.int32) for t in weights)


def test_onnx_passes_the_checker_with_metadata_and_dynamic_batch(exported_dir):
    import onnx

    for name in ("dae.onnx", "dae_int8.onnx"):
        proto = onnx.load(str(exported_dir / name))
        onnx.checker.check_model(proto, full_check=True)
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta["value_range"] == "[0, 1]" and meta["layout"] == "NHWC" and meta["model_version"]
        assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
        assert {o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")} == {onnx_export.OPSET}
    int8_ops = {n.op_type for n in onnx.load(str(exported_dir / "dae_int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= int8_ops


def test_a_perturbed_conversion_is_not_published(exported_copy, mnist, monkeypatch):
    before = snapshot(exported_copy)
    convert = onnx_export.to_onnx

    def perturbed(model, path, metadata, opset=onnx_export.OPSET):
        model.set_weights([w + 0.01 for w in model.get_weights()])
        return convert(model, path, metadata, opset)

    monkeypatch.setattr(onnx_export, "to_onnx", perturbed)
    with pytest.raises(Exception, match=r"dae.onnx on validation images: max \|Δ\|"):
        export(exported_copy / "dae.keras", exported_copy, ExportOptions(validation_images=50), source=IdxSource(mnist, None))
    assert snapshot(exported_copy) == before
    assert not [p for p in exported_copy.iterdir() if p.name.startswith(".staging")]


def test_a_set_that_verify_would_fail_is_not_published(exported_copy, mnist, monkeypatch):
    before = snapshot(exported_copy)
    golden_set = exporter.golden_set

    def off_by_a_tenth(*args, **kwargs):  # golden outputs that no artifact reproduces, though each passed its validation
        golden = golden_set(*args, **kwargs)
        golden["outputs"] = (golden["outputs"] + 0.1).astype(np.float32)
        return golden

    monkeypatch.setattr(exporter, "golden_set", off_by_a_tenth)
    with pytest.raises(exporter.ExportError, match=r"verify failed, nothing was published: dae.tflite: .* 10 golden images"):
        export(exported_copy / "dae.keras", exported_copy, ExportOptions(validation_images=50), source=IdxSource(mnist, None))
    assert snapshot(exported_copy) == before
    assert not [p for p in exported_copy.iterdir() if p.name.startswith(".staging")]


def test_cli_export_fp32_only_removes_stale_int8(exported_copy, mnist_dir):
    result = runner.invoke(app, ["export", "--model", str(exported_copy / "dae.keras"), "--out", str(exported_copy),
                                 "--data", str(mnist_dir), "--validation-images", "50"])
    assert result.exit_code == 0, result.output
    assert "dae.onnx" in result.output and "max |Δ|" in result.output
    manifest = json.loads((exported_copy / "manifest.json").read_text())
    assert [a["file"] for a in manifest["artifacts"]] == ["dae.tflite", "dae.onnx"]
    assert not (exported_copy / "dae_int8.tflite").exists()


def test_a_left_out_artifact_is_not_made_and_the_manifest_says_so(exported_copy, mnist_dir):
    result = runner.invoke(app, ["export", "--model", str(exported_copy / "dae.keras"), "--out", str(exported_copy), "--int8",
                                 "--leave-out", "dae_int8.tflite", "--data", str(mnist_dir), "--validation-images", "50"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((exported_copy / "manifest.json").read_text())
    assert [a["file"] for a in manifest["artifacts"]] == ["dae.tflite", "dae.onnx", "dae_int8.onnx"]
    assert manifest["left_out"] == ["dae_int8.tflite"] and not (exported_copy / "dae_int8.tflite").exists()


def bad_model(folder):
    import keras

    inputs = keras.Input((28, 28, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(inputs))
    model.save(folder / "rgb.keras")
    return folder / "rgb.keras"


@pytest.mark.parametrize("case, message", [
    ("missing", "no such model file"),
    ("not_keras", "not a loadable Keras model"),
    ("wrong_suffix", "not a Keras model"),
    ("wrong_input", "is not (batch, any height, any width, 1 or 3)"),
    ("few_calibration", "too few"),
    ("unwritable", "cannot write there"),
    ("leave_out_unknown", "--leave-out dae_fp16.tflite: not an artifact this export makes"),
    ("leave_out_all_fp32", "every fp32 artifact left out"),
])
def test_bad_input_leaves_good_artifacts_untouched(exported_copy, mnist_dir, case, message):
    model, out, extra = exported_copy / "dae.keras", exported_copy, []
    if case == "missing":
        model = exported_copy / "absent.keras"
    elif case == "not_keras":
        model = exported_copy / "text.keras"
        model.write_text("not a model")
    elif case == "wrong_suffix":
        model = exported_copy / "dae.onnx"
    elif case == "wrong_input":
        model = bad_model(exported_copy)
    elif case == "few_calibration":
        extra = ["--calibration-images", "3"]
    elif case == "unwritable":
        out = exported_copy / "config.json" / "sub"
    elif case == "leave_out_unknown":
        extra = ["--leave-out", "dae_fp16.tflite"]
    elif case == "leave_out_all_fp32":
        extra = ["--leave-out", "dae.tflite", "--leave-out", "dae.onnx"]
    before = snapshot(exported_copy)
    result = runner.invoke(app, ["export", "--model", str(model), "--out", str(out), "--int8", "--data", str(mnist_dir), *extra])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert snapshot(exported_copy) == before


def test_a_crashing_converter_is_one_line_and_publishes_nothing(exported_copy, mnist_dir, monkeypatch):
    from dae_edge.export import tflite_export

    def crash(*args, **kwargs):
        raise RuntimeError("converter crashed\nwith details")

    monkeypatch.setattr(tflite_export, "to_tflite", crash)
    before = snapshot(exported_copy)
    result = runner.invoke(app, ["export", "--model", str(exported_copy / "dae.keras"), "--out", str(exported_copy),
                                 "--data", str(mnist_dir)])
    assert result.exit_code == 1
    assert "dae.tflite: conversion failed (RuntimeError: converter crashed)" in result.output
    assert snapshot(exported_copy) == before


def test_large_images_run_whole_unless_tiles_keep_clearly_more():
    from dae_edge.export.large_choice import large_choice as _large_choice

    assert _large_choice({"whole": 24.512, "tiles": 24.518})["large_images"] == "whole"  # a tie: the faster one
    assert _large_choice({"whole": 17.41, "tiles": 18.88})["large_images"] == "tiles"  # the paper model on digit grids
    assert _large_choice({"whole": 21.08, "tiles": 20.70})["large_images"] == "whole"
    assert _large_choice({}) == {"large_images": "whole"}


def test_golden_pictures_are_centre_crops_with_their_own_reference():
    """A colour photo model's whole 128² patches made golden.npz 7.7 MB; crops keep it small, and Keras's output
    is computed on the crop (a crop of the whole patch's output would differ near the new border)."""
    from dae_edge.export.exporter import GOLDEN_SIDE, golden_set

    class Halve:
        def predict(self, images, verbose=0):
            return images / 2 + images.shape[1]  # depends on the size it is given

    noisy = np.random.default_rng(0).random((12, 128, 128, 3)).astype(np.float32)
    golden = golden_set(None, (noisy, noisy, noisy), Halve(), multiple=8)
    assert golden["inputs"].shape == (10, GOLDEN_SIDE, GOLDEN_SIDE, 3) and golden["large_input"].shape == (1, 64, 160, 3)
    np.testing.assert_array_equal(golden["outputs"], golden["inputs"] / 2 + GOLDEN_SIDE)
    np.testing.assert_array_equal(golden["inputs"][0], noisy[0, 48:80, 48:80])
    digits = golden_set(None, (noisy[:, :28, :28], noisy[:, :28, :28], noisy[:, :28, :28]), Halve())
    assert digits["inputs"].shape[1:3] == (28, 28)  # MNIST's golden digits stay whole
