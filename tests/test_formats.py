"""The format table, and artifacts made of several files (a graph and its weights), each with a checksum."""
import json
import shutil
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from dae_edge.runtime.cli import app
from dae_edge.runtime.denoiser import Denoiser
from dae_edge.runtime.errors import DaeEdgeError
from dae_edge.runtime.formats import BY_NAME, FORMATS, format_of
from dae_edge.runtime.manifest import ManifestError, validate


def convert_with_weights(model, path, precision, calibration, metadata):
    """A converter of a format that keeps its weights beside its graph (here: ONNX plus a side file)."""
    from dae_edge.export.onnx_export import convert

    written = convert(model, path, precision, calibration, metadata)
    weights = path.with_name(path.stem + ".weights.bin")
    weights.write_bytes(path.read_bytes()[::-1])
    return [*written, weights]


def test_every_row_names_code_that_exists():
    for fmt in FORMATS:
        assert callable(fmt.load("backend")) and callable(fmt.load("converter")) and callable(fmt.load("describe"))
        assert format_of(f"x/model{fmt.suffix.upper()}") is fmt
    assert BY_NAME["tflite"].artifact("int8") == "dae_int8.tflite" and BY_NAME["onnx"].artifact("fp32") == "dae.onnx"
    with pytest.raises(DaeEdgeError, match="unknown model type '.pt'"):
        format_of("model.pt")


def test_a_multi_file_artifact_is_published_and_verified_file_by_file(tmp_path, trained_dir, monkeypatch):
    from dae_edge.export import exporter

    model = tmp_path / "m"
    shutil.copytree(trained_dir, model)
    onnx = replace(BY_NAME["onnx"], converter=f"{__name__}:convert_with_weights")
    monkeypatch.setattr(exporter, "FORMATS", (onnx,))
    exporter.export(model / "dae.keras", model, None, exporter.ExportOptions(calibration_images=32, validation_images=16),
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
