"""What a hostile tester found, each kept as a test that fails on the code before the fix."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dae_edge.core.idx_source import IdxSource
from typer.testing import CliRunner

from dae_edge.export import exporter, onnx_export
from dae_edge.export.exporter import ExportOptions, export
from dae_edge.runtime.backends import open_backend
from dae_edge.app.cli import app
from dae_edge.runtime.denoiser import Denoiser
from dae_edge.core.errors import DaeEdgeError
from dae_edge.runtime.precision import INT8_STEP, TOLERANCES, Precision, agreement

INT8_MEAN_ABS = TOLERANCES[Precision.int8].mean_abs
from dae_edge.runtime.verify import verify_folder

runner = CliRunner()


def test_export_never_deletes_what_a_manifest_names_outside_its_folder(exported_copy, mnist):
    victim = exported_copy.parent / "victim.txt"
    victim.write_text("keep me")
    absolute = exported_copy.parent / "absolute.txt"
    absolute.write_text("keep me too")
    manifest = json.loads((exported_copy / "manifest.json").read_text())
    manifest["artifacts"] += [{"file": "../victim.txt", "sha256": "0" * 64, "precision": "fp32"},
                              {"file": str(absolute), "sha256": "0" * 64, "precision": "fp32"}]
    (exported_copy / "manifest.json").unlink()  # a link into the published version: replace it by a plain file
    (exported_copy / "manifest.json").write_text(json.dumps(manifest))
    export(exported_copy / "dae.keras", exported_copy, ExportOptions(validation_images=50), source=IdxSource(mnist, None), log=lambda line: None)
    assert victim.read_text() == "keep me" and absolute.read_text() == "keep me too"
    assert all(c.status == "pass" for c in verify_folder(exported_copy))


def test_a_failed_export_leaves_the_old_set_and_cleans_up_after_a_killed_one(exported_copy, mnist, monkeypatch):
    versions = exported_copy / ".versions"
    stale = versions / "v20000101-000000-killed"  # what SIGKILL leaves behind
    stale.mkdir()
    (stale / "dae.onnx").write_bytes(b"half")
    before = {p.name: p.read_bytes() for p in exported_copy.iterdir() if p.is_file()}

    def crash_after_some_files(model, path, metadata, opset=onnx_export.OPSET):
        path.write_bytes(b"half-written")
        raise RuntimeError("killed")

    monkeypatch.setattr(onnx_export, "to_onnx", crash_after_some_files)
    with pytest.raises(DaeEdgeError, match="dae.onnx: conversion failed"):
        export(exported_copy / "dae.keras", exported_copy, ExportOptions(validation_images=50), source=IdxSource(mnist, None), log=lambda line: None)
    assert {p.name: p.read_bytes() for p in exported_copy.iterdir() if p.is_file()} == before
    assert [p.name for p in versions.iterdir()] == [os.readlink(exported_copy / ".current").split("/")[-1]]
    assert all(c.status == "pass" for c in verify_folder(exported_copy))


@pytest.mark.slow
def test_killing_an_export_at_any_moment_leaves_a_folder_that_verifies(exported_copy, mnist_dir):
    """SIGKILL at several moments of a real export: the folder holds the old set or the new, never a mix."""
    command = [sys.executable, "-m", "dae_edge.app.cli", "export", "--model", str(exported_copy / "dae.keras"),
               "--out", str(exported_copy), "--data", str(mnist_dir), "--int8", "--validation-images", "100",
               "--calibration-images", "64", "--fp16"]
    for delay in (2.0, 6.0, 9.0):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        checks = list(verify_folder(exported_copy))
        assert len(checks) == 5 and all(c.status == "pass" for c in checks), (delay, checks)
    last = runner.invoke(app, command[3:])
    assert last.exit_code == 0, last.output
    assert len(list((exported_copy / ".versions").iterdir())) == 1  # the killed exports' folders are gone


@pytest.mark.parametrize("command", ["train", "export"])
def test_train_and_export_on_the_base_install_name_the_extra(command, monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("keras", "tensorflow") else real(name, *a))
    result = runner.invoke(app, [command, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "pip install 'dae-edge[train]'" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_export_checks_the_model_before_the_data(tmp_path, monkeypatch):
    from dae_edge.core import idx as data

    monkeypatch.setattr(data, "load_mnist", lambda *a: pytest.fail("the data were loaded before the model was checked"))
    result = runner.invoke(app, ["export", "--model", str(tmp_path / "nothere.keras"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "nothere.keras: no such model file" in result.output
    assert not (tmp_path / "out").exists()


def test_a_damaged_keras_file_is_named_as_such(exported_copy):
    damaged = exported_copy / "damaged.keras"
    damaged.write_bytes((exported_copy / "dae.keras").read_bytes()[:5000])
    result = runner.invoke(app, ["export", "--model", str(damaged), "--out", str(exported_copy)])
    assert result.exit_code == 1 and "not a loadable Keras model" in result.output and "File not found" not in result.output


def onnx_model(path: Path, input_shape: list, output_shape: list, op: str = "Identity", elem=None, **attrs) -> Path:
    import onnx
    from onnx import TensorProto, helper

    elem = elem or TensorProto.FLOAT
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", elem, input_shape)],
                              [helper.make_tensor_value_info("y", elem, output_shape)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize("case, message", [
    ("nchw", "input shape [None, 1, 28, 28]; the runtime expects NHWC float32 (batch, height, width, 1 or 3)"),
    ("two_channels", "input shape [None, 28, 28, 2]"),
    ("uint8", "input type tensor(uint8)"),
    ("half_size", "dae-edge runs image-to-image denoisers"),
])
def test_models_of_other_shapes_are_refused_at_load(tmp_path, case, message):
    from onnx import TensorProto

    path = tmp_path / f"{case}.onnx"
    if case == "nchw":
        onnx_model(path, ["n", 1, 28, 28], ["n", 1, 28, 28])
    elif case == "two_channels":
        onnx_model(path, ["n", 28, 28, 2], ["n", 28, 28, 2])
    elif case == "uint8":
        onnx_model(path, ["n", 28, 28, 1], ["n", 28, 28, 1], elem=TensorProto.UINT8)
    else:  # 2×2 pooling over H and W: a 28×28 input gives a 14×14 output
        onnx_model(path, ["n", 28, 28, 1], ["n", 14, 14, 1], "MaxPool", kernel_shape=[2, 1], strides=[2, 1])
    with pytest.raises(DaeEdgeError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
        Denoiser.load(path)


def test_a_batch_one_model_runs_many_tiles(tmp_path):
    path = onnx_model(tmp_path / "one.onnx", [1, 28, 28, 1], [1, 28, 28, 1])  # identity, batch fixed at 1
    images = np.random.default_rng(0).random((3, 40, 70), dtype=np.float32)
    assert open_backend(path).max_batch == 1
    np.testing.assert_allclose(Denoiser.load(path, threads=1).denoise(images), images, atol=1e-6)


@pytest.mark.slow
def test_train_and_export_keep_the_terminal_clean(tmp_path, small_mnist_dir):
    out = tmp_path / "m"
    for args in (["train", "--data", str(small_mnist_dir), "--limit", "64", "--epochs", "1", "--out", str(out)],
                 ["export", "--model", str(out / "dae.keras"), "--out", str(out), "--data", str(small_mnist_dir),
                  "--int8", "--validation-images", "100", "--calibration-images", "32"]):
        done = subprocess.run([sys.executable, "-m", "dae_edge.app.cli", *args], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        noise = [line for line in (done.stdout + done.stderr).splitlines()
                 if line.startswith(("I0000", "E0000", "W0000", "WARNING", "INFO")) or "fully_quantize" in line]
        assert noise == [], noise


def test_the_int8_gate_fails_on_a_wrong_int8_output():
    rng = np.random.default_rng(0)
    clean = (rng.random((20, 28, 28, 1)) > 0.8).astype(np.float32)
    reference = np.clip(clean + rng.normal(0, 0.05, clean.shape), 0, 1).astype(np.float32)
    faithful = np.clip(reference + rng.normal(0, INT8_STEP, clean.shape), 0, 1).astype(np.float32)
    assert agreement("int8", reference, faithful, clean)[1] == []
    shifted = np.clip(reference + 4 * INT8_STEP, 0, 1).astype(np.float32)  # beyond INT8_MEAN_ABS on average
    assert np.abs(shifted - reference).mean() > INT8_MEAN_ABS
    failures = agreement("int8", reference, shifted, clean)[1]
    assert any("mean |Δ|" in f for f in failures)
    blurred = np.clip(reference * 0.9 + 0.05, 0, 1).astype(np.float32)  # small per pixel, costly in PSNR
    assert any("dB below the reference" in f for f in agreement("int8", reference, blurred, clean)[1])


@pytest.mark.slow
def test_export_refuses_a_wrong_int8_artifact(exported_copy, mnist, monkeypatch):
    quantize = onnx_export.to_onnx_int8

    def off_by_a_bias(fp32_path, path, calibration, metadata):
        quantize(fp32_path, path, calibration, metadata)
        import onnx
        from onnx import numpy_helper

        proto = onnx.load(str(path))
        last_bias = [t for t in proto.graph.initializer if t.dims == [1]][-1]
        last_bias.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(last_bias) + 0.4, last_bias.name))
        onnx.save(proto, str(path))
        return path

    before = {p.name: p.read_bytes() for p in exported_copy.iterdir() if p.is_file()}
    monkeypatch.setattr(onnx_export, "to_onnx_int8", off_by_a_bias)
    with pytest.raises(exporter.ExportError, match=r"dae_int8.onnx on validation images: mean \|Δ\|"):
        export(exported_copy / "dae.keras", exported_copy, ExportOptions(int8=True, validation_images=100), source=IdxSource(mnist, None),
               log=lambda line: None)
    assert {p.name: p.read_bytes() for p in exported_copy.iterdir() if p.is_file()} == before


def test_int8_onnx_export_leaves_nothing_in_the_working_folder(tmp_path, exported_dir, monkeypatch):
    """onnxruntime's shape inference saves a partial model into the working folder when it fails."""
    import onnxruntime.quantization.shape_inference as shape_inference

    from dae_edge.export.onnx_export import to_onnx_int8

    def failing_pre_process(source, target, **kwargs):
        Path("sym_shape_infer_temp.onnx").write_bytes(b"partial model")
        raise RuntimeError("Incomplete symbolic shape inference")

    monkeypatch.setattr(shape_inference, "quant_pre_process", failing_pre_process)
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.chdir(user)
    with pytest.raises(RuntimeError, match="Incomplete"):
        to_onnx_int8(exported_dir / "dae.onnx", tmp_path / "out.onnx", np.zeros((2, 28, 28, 1), np.float32), {})
    assert list(user.iterdir()) == [] and Path.cwd() == user
