"""The format table, and artifacts made of several files (a graph and its weights), each with a checksum."""
import json
import shutil
from pathlib import Path

import numpy as np

import pytest
from typer.testing import CliRunner

from dae_edge.app.cli import app
from dae_edge.runtime.denoiser import Denoiser
from dae_edge.core.errors import DaeEdgeError
from dae_edge.runtime.formats import BY_NAME, FORMATS, format_of
from dae_edge.runtime.manifest import ManifestError, validate
from dae_edge.runtime.precision import Precision, agreement


def convert_with_weights(model, path, precision, calibration, metadata):
    """A converter of a format that keeps its weights beside its graph (here: ONNX plus a side file)."""
    from dae_edge.export.onnx_export import convert

    written = convert(model, path, precision, calibration, metadata)
    weights = path.with_name(path.stem + ".weights.bin")
    weights.write_bytes(path.read_bytes()[::-1])
    return [*written, weights]


def test_every_row_names_code_that_exists():
    from dae_edge.export.converters import CONVERTERS

    assert set(CONVERTERS) == set(BY_NAME)  # export can write every format the runtime runs
    for fmt in FORMATS:
        assert callable(fmt.load_backend()) and callable(CONVERTERS[fmt.name].convert)
        assert format_of(f"x/model{fmt.suffix.upper()}") is fmt
        assert fmt.precisions and all(isinstance(p, Precision) for p in fmt.precisions)
    assert BY_NAME["tflite"].artifact("int8") == "dae_int8.tflite" and BY_NAME["onnx"].artifact("fp32") == "dae.onnx"
    assert BY_NAME["tflite"].artifact(Precision.fp16) == "dae_fp16.tflite"
    with pytest.raises(DaeEdgeError, match="unknown model type '.pt'"):
        format_of("model.pt")


def test_an_unknown_precision_is_an_error_not_int8():
    with pytest.raises(DaeEdgeError, match="unknown precision 'int4'"):
        Precision.of("int4")
    with pytest.raises(DaeEdgeError, match="unknown precision"):
        agreement("bf16", np.zeros((1, 4, 4, 1)), np.zeros((1, 4, 4, 1)), np.zeros((1, 4, 4, 1)))
    with pytest.raises(ManifestError, match="precision must be one of fp32, fp16, int8"):
        validate({"format_version": 3, "artifacts": [{"file": "dae.onnx", "sha256": "0" * 64, "precision": "int4"}]},
                 Path("manifest.json"))


def test_a_format_without_a_precision_is_left_out_of_that_precision_only():
    from dae_edge.export.exporter import targets
    from dae_edge.export.options import ExportOptions

    made = targets(ExportOptions(int8=True, fp16=True))
    assert [(f.name, p.value) for f, p in made] == [("tflite", "fp32"), ("onnx", "fp32"), ("tflite", "fp16"),
                                                    ("tflite", "int8"), ("onnx", "int8")]  # no ONNX fp16: no error either


def test_a_multi_file_artifact_is_published_and_verified_file_by_file(tmp_path, trained_dir, monkeypatch):
    from dae_edge.export import exporter

    model = tmp_path / "m"
    shutil.copytree(trained_dir, model)
    from dae_edge.export.converters import CONVERTERS, Converter

    monkeypatch.setattr(exporter, "FORMATS", (BY_NAME["onnx"],))
    monkeypatch.setitem(CONVERTERS, "onnx", Converter(convert_with_weights, CONVERTERS["onnx"].describe))
    exporter.export(model / "dae.keras", model, exporter.ExportOptions(calibration_images=32, validation_images=16),
                    log=lambda line: None)
    manifest = json.loads((model / "manifest.json").read_text())
    (entry,) = manifest["artifacts"]
    assert [f["file"] for f in entry["extra_files"]] == ["dae.weights.bin"]
    assert (model / "dae.weights.bin").is_symlink() and (model / "dae.weights.bin").is_file()  # published with the set
    assert CliRunner().invoke(app, ["verify", str(model)]).exit_code == 0

    real = (model / "dae.weights.bin").resolve()
    real.write_bytes(b"tampered")
    result = CliRunner().invoke(app, ["verify", str(model)])
    assert result.exit_code == 1 and "FAIL  dae.onnx: dae.weights.bin: checksum mismatch" in result.output
    with pytest.raises(DaeEdgeError, match="dae.weights.bin: checksum mismatch"):
        Denoiser.load(model / "dae.onnx")
    real.unlink()
    assert "dae.weights.bin: missing" in CliRunner().invoke(app, ["verify", str(model)]).output


def test_extra_files_must_be_plain_names_with_checksums(tmp_path):
    entry = {"file": "dae.onnx", "sha256": "0" * 64, "precision": "fp32"}
    manifest = {"format_version": 3, "artifacts": [entry]}
    for bad in ([{"file": "../weights.bin", "sha256": "0" * 64}], [{"file": "w.bin"}], "w.bin"):
        with pytest.raises(ManifestError):
            validate({**manifest, "artifacts": [{**entry, "extra_files": bad}]}, tmp_path / "manifest.json")
    validate({**manifest, "artifacts": [{**entry, "extra_files": [{"file": "w.bin", "sha256": "1" * 64}]}]},
             tmp_path / "manifest.json")
