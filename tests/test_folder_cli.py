"""A model of the user's own pictures, from the command line: train, export without --data, verify, bench, run."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import write_pictures
from dae_edge.app.cli import app
from dae_edge.core.images import read_image
from dae_edge.core.metrics import psnr

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.slow
def test_train_export_verify_bench_run_on_a_folder(tmp_path, pictures_dir, quick_bench):
    m = tmp_path / "m"
    trained = invoke("train", "--data", pictures_dir / "train", "--patch", 64, "--noise", "gaussian:0.1-0.5", "--out", m,
                     "--epochs", 1, "--patches-per-epoch", 64, "--val-patches", 16, "--val-fraction", 0.2)
    assert trained.exit_code == 0, trained.output
    assert "64 random 64×64 patches per epoch from 5 pictures" in trained.output
    contract = json.loads((m / "contract.json").read_text())
    assert contract["data"]["kind"] == "folder" and contract["data"]["files"] == 6 and contract["patch"] == 64
    assert contract["noise"] == "gaussian:0.1-0.5" and contract["downsampling"] == 4 and contract["channels"] == 1
    assert len(contract["data"]["validation"]["files"]) == 1

    exported = invoke("export", "--model", m / "dae.keras", "--out", m, "--int8", "--calibration-images", 32,
                      "--validation-images", 16)
    assert exported.exit_code == 0, exported.output
    manifest = json.loads((m / "manifest.json").read_text())
    assert manifest["contract"] == contract and manifest["input"]["polarity"] == contract["polarity"]
    assert manifest["input"]["patch"] == 64 and manifest["validation"]["from"] == "patches of the validation pictures"
    assert manifest["validation"]["composite"] == "a 160×124 crop of a validation picture"  # whole vs tiles on a real picture
    golden = np.load(m / "golden.npz")
    assert golden["inputs"].shape == (10, 32, 32, 1) and "labels" not in golden  # centre crops of the 64² patches

    verified = invoke("verify", m)
    assert verified.exit_code == 0 and verified.output.count("PASS") >= 4, verified.output

    benched = invoke("bench", "--models", m, "--threads", 1, "--json", "--save")
    assert benched.exit_code == 0, benched.output
    result = json.loads(benched.stdout)
    assert json.loads((Path(m) / "bench.json").read_text()) == result  # --save: the same figures beside the model
    methods = result["own_noise"]["methods"]
    assert result["own_noise"]["noise"] == "gaussian:0.1-0.5" and result["images"] == 1
    assert {"noisy input", "median 3×3", "Gaussian blur σ=1", "dae.keras", "dae_int8.tflite", "dae_int8.onnx"} <= set(methods)
    assert abs(methods["dae.onnx"]["psnr"] - methods["dae.keras"]["psnr"]) < 1e-3
    table = quick_bench.format_table(result)
    assert "| median 3×3 |" in table and "64×64 validation patches" in table and "MNIST" not in table

    held_out = pictures_dir / "heldout" / "camera.png"
    ran = invoke("run", held_out, "--model", m / "dae_int8.tflite", "--add-noise", 0.3, "--out", tmp_path / "out")
    assert ran.exit_code == 0, ran.output
    output = np.asarray(Image.open(tmp_path / "out" / "camera.denoised.png"))
    assert output.shape == np.asarray(Image.open(held_out).convert("L")).shape


def test_export_finds_moved_data_with_data_and_refuses_other_data(tmp_path, folder_exported_dir, pictures_dir):
    model = tmp_path / "model"
    shutil.copytree(folder_exported_dir, model, symlinks=True)
    moved = tmp_path / "moved"
    shutil.copytree(pictures_dir, moved)
    args = ["export", "--model", model / "dae.keras", "--out", model, "--calibration-images", 32, "--validation-images", 8]
    contract = json.loads((model / "contract.json").read_text())
    contract["data"]["resolved"] = str(tmp_path / "gone")
    contract["data"]["validation"]["resolved"] = str(tmp_path / "gone too")
    (model / "contract.json").write_text(json.dumps(contract))
    missing = invoke(*args)
    assert missing.exit_code == 1 and "the training folder that contract.json names is not there" in missing.output
    no_val = invoke(*args, "--data", moved / "train")
    assert no_val.exit_code == 1 and "the validation folder that contract.json names is not there" in no_val.output
    ok = invoke(*args, "--data", moved / "train", "--val-data", moved / "heldout")
    assert ok.exit_code == 0, ok.output
    write_pictures(moved / "train", ("coffee",))
    before = (model / "manifest.json").read_bytes()
    refused = invoke(*args, "--data", moved / "train", "--val-data", moved / "heldout")
    assert refused.exit_code == 1 and "not the ones the model was trained on" in refused.output
    assert (model / "manifest.json").read_bytes() == before


@pytest.mark.parametrize("setup, args, message", [
    ("empty", [], "no readable images found"),
    ("pictures", ["--patch", "30"], "--patch 30 is not a multiple of 4"),
    ("small", ["--no-pad", "--patch", "64"], "smaller than the 64-pixel patch"),
    ("pictures", ["--noise", "gaussian"], "expected KIND:LEVEL"),
    ("pictures", ["--noise", "gaussian:0.5-0.1"], "out of order"),
    ("overlap", [], "validation files must be kept out of training"),
    ("pictures", ["--mosaic", "2"], "--mosaic is for small IDX images"),
])
def test_bad_folder_input_is_one_line_and_writes_nothing(tmp_path, pictures_dir, setup, args, message):
    data = tmp_path / "data"
    if setup == "empty":
        data.mkdir()
    elif setup == "small":
        write_pictures(data, ("coins", "text"), side=48)
    else:
        shutil.copytree(pictures_dir / "train", data)
    if setup == "overlap":
        args = ["--val-data", str(data / "samples")]
    out = tmp_path / "out"
    result = invoke("train", "--data", data, "--out", out, "--epochs", 1, *args)
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_export_refuses_a_model_without_a_contract(tmp_path, folder_exported_dir):
    model = tmp_path / "model"
    model.mkdir()
    for name in ("dae.keras", "config.json"):
        shutil.copy(folder_exported_dir / name, model / name)
    result = invoke("export", "--model", model / "dae.keras", "--out", tmp_path / "out")
    assert result.exit_code == 1 and "no contract.json beside it" in result.output
    assert not (tmp_path / "out").exists()
    (model / "contract.json").write_text(json.dumps({"contract_version": 99}))
    newer = invoke("export", "--model", model / "dae.keras", "--out", tmp_path / "out")
    assert newer.exit_code == 1 and "contract_version 99 is newer" in newer.output


def test_invert_auto_brings_pages_to_a_page_model_and_back(tmp_path, folder_exported_dir):
    from dae_edge.core.images import DARK_ON_LIGHT, LIGHT_ON_DARK, Invert

    page = tmp_path / "page.png"
    write_pictures(tmp_path, ("page",))
    assert not read_image(page, Invert.auto, DARK_ON_LIGHT).inverted  # a page model takes pages as they are
    assert read_image(page, Invert.auto, LIGHT_ON_DARK).inverted  # an MNIST model needs them inverted
    model = tmp_path / "m"
    shutil.copytree(folder_exported_dir, model, symlinks=True)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["input"]["polarity"] = DARK_ON_LIGHT
    (model / "manifest.json").write_text(json.dumps(manifest))
    for polarity in (DARK_ON_LIGHT, LIGHT_ON_DARK):
        manifest["input"]["polarity"] = polarity
        (model / "manifest.json").write_text(json.dumps(manifest))
        out = tmp_path / polarity.replace(" ", "_")
        result = invoke("run", page, "--model", model / "dae.onnx", "--out", out, "--json")
        assert result.exit_code == 0, result.output
    # Both come back in the page's polarity; only the page model saw the page as it is.
    as_is = np.asarray(Image.open(tmp_path / "dark_on_light" / "page.denoised.png"), np.float32) / 255
    flipped = np.asarray(Image.open(tmp_path / "light_on_dark" / "page.denoised.png"), np.float32) / 255
    clean = read_image(page, Invert.no).pixels
    assert psnr(clean, as_is)[0] > 10 and psnr(clean, flipped)[0] > 10  # both in the page's polarity
    assert not np.array_equal(as_is, flipped)
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(model / "dae.onnx", bare / "dae.onnx")
    from dae_edge.runtime.denoiser import Denoiser
    from dae_edge.core.images import ANY_POLARITY

    assert Denoiser.load(bare / "dae.onnx").polarity == ANY_POLARITY  # no contract: nothing about MNIST assumed
    manifest["input"]["polarity"] = "upside down"
    (model / "manifest.json").write_text(json.dumps(manifest))
    bad = invoke("run", page, "--model", model / "dae.onnx", "--out", tmp_path / "bad")
    assert bad.exit_code == 1 and "input.polarity 'upside down'" in bad.output


@pytest.mark.slow
def test_bench_of_a_picture_model_measures_large_images_too(folder_exported_dir, quick_bench, monkeypatch):
    from dae_edge.bench import large as bench_large
    from dae_edge.core.data import source_from_contract

    bench_module = quick_bench
    monkeypatch.setattr(bench_large, "SIDES", (64, 96))
    monkeypatch.setattr(bench_large, "STRIP", (1, 3000))
    manifest = json.loads((folder_exported_dir / "manifest.json").read_text())
    source = source_from_contract(manifest["contract"])
    result = bench_module.bench(folder_exported_dir, source, 100, [1], log=lambda line: None)
    assert [r["file"] for r in result["large"]] == [a["file"] for a in manifest["artifacts"]]
    for row in result["large"]:
        assert row["side1_whole_s"] > 0 and row["busy_ips_1"] > 0 and "strip_error" not in row and "large_error" not in row
        assert "composite_single" not in row  # per-digit grids are for digit models
    table = bench_module.format_table(result)
    assert "| 64² whole s | 64² tiles s |" in table and "grid whole" not in table and "| median 3×3 |" in table
