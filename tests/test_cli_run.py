import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from dae_edge.app.cli import app
from dae_edge.core.idx_source import IdxSource

runner = CliRunner()
HEAVY = ("tensorflow", "keras", "tf2onnx", "onnx", "matplotlib")


def digit_files(folder, golden_dir, count=3, suffix=".png"):
    """Noisy golden test digits written as 8-bit images."""
    inputs = np.load(golden_dir / "golden.npz")["inputs"]
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"digit{i}{suffix}"
        Image.fromarray(np.round(inputs[i, ..., 0] * 255).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def run(*args: str):
    return runner.invoke(app, ["run", *args])


@pytest.mark.parametrize("model", ["dae_int8.tflite", "dae.onnx"])
def test_run_never_imports_tensorflow(tmp_path, exported_dir, model):
    [image] = digit_files(tmp_path, exported_dir, 1)
    code = ("import sys\nfrom dae_edge.app.cli import app\ntry:\n    app(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\nprint('HEAVY', [m for m in %r if m in sys.modules])" % (HEAVY,))
    done = subprocess.run([sys.executable, "-c", code, "run", str(image), "--model", str(exported_dir / model)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
    assert (tmp_path / "digit0.denoised.png").is_file()


def test_folder_glob_json_and_out(tmp_path, exported_dir):
    digit_files(tmp_path / "in", exported_dir, 3)
    result = run(str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(exported_dir / "dae.onnx"), "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [r["ok"] for r in lines] == [True] * 3 and all(r["ms"] > 0 for r in lines)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"digit{i}.denoised.png" for i in range(3)]
    again = run(str(tmp_path / "in" / "digit*.png"), "--model", str(exported_dir / "dae.onnx"))
    assert again.exit_code == 0 and again.output.count("→") == 3
    rerun = run(str(tmp_path / "in"), "--model", str(exported_dir / "dae.onnx"))  # outputs beside inputs are skipped
    assert rerun.exit_code == 0 and rerun.output.count("→") == 3


def test_a_bad_image_in_a_batch(tmp_path, exported_dir):
    digit_files(tmp_path, exported_dir, 2)
    (tmp_path / "notes.png").write_text("not an image")
    result = run(str(tmp_path), "--model", str(exported_dir / "dae.onnx"))
    assert result.exit_code == 1
    assert (tmp_path / "digit0.denoised.png").is_file() and (tmp_path / "digit1.denoised.png").is_file()
    assert "notes.png: not an image" in result.output and "1 of 3 images failed" in result.output
    assert not (tmp_path / "notes.denoised.png").exists()


def test_output_never_overwrites_an_input(tmp_path, exported_dir):
    [image] = digit_files(tmp_path, exported_dir, 1)
    clash = tmp_path / "digit0.denoised.png"
    Image.open(image).save(clash)
    before = clash.read_bytes()
    result = run(str(image), str(clash), "--model", str(exported_dir / "dae.onnx"))
    assert result.exit_code == 1 and "is one of the inputs" in result.output
    assert clash.read_bytes() == before


def test_add_noise_and_compare(tmp_path, exported_dir):
    clean = np.load(exported_dir / "golden.npz")["clean"][0, ..., 0]
    path = tmp_path / "clean.png"
    Image.fromarray(np.round(clean * 255).astype(np.uint8)).save(path)
    result = run(str(path), "--add-noise", "0.5", "--compare", "--model", str(exported_dir / "dae_int8.tflite"), "--threads", "1")
    assert result.exit_code == 0, result.output
    compare = np.asarray(Image.open(tmp_path / "clean.compare.png"))
    assert compare.shape == (28, 58)
    noisy = compare[:, :28] / 255.0
    assert np.abs(noisy - clean).mean() > 0.1  # the left half really is the noisy input


@pytest.mark.parametrize("args, message", [
    (["absent.png"], "no such file"),
    (["empty_dir"], "no images in this folder"),
    (["*.nothing"], "no file matches"),
    (["digit0.png", "--model", "model.pt"], "unknown model type"),
    (["digit0.png", "--backend", "onnx", "--model", "m.tflite"], "--backend onnx runs .onnx models"),
    (["empty.png"], "not an image"),
])
def test_bad_input_is_one_line(tmp_path, exported_dir, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    digit_files(tmp_path, exported_dir, 1)
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "model.pt").write_bytes(b"x")
    (tmp_path / "m.tflite").write_bytes(b"x")
    result = run(*args, *([] if "--model" in args else ["--model", str(exported_dir / "dae.onnx")]))
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_verify_passes_then_catches_tampering(exported_copy):
    result = runner.invoke(app, ["verify", str(exported_copy)])
    assert result.exit_code == 0, result.output
    assert result.output.count("PASS") == 5
    path = exported_copy / "dae_int8.tflite"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    failed = runner.invoke(app, ["verify", str(exported_copy)])
    assert failed.exit_code == 1 and "FAIL  dae_int8.tflite: checksum mismatch" in failed.output
    assert failed.output.count("PASS") == 4


def test_verify_without_manifest(tmp_path):
    result = runner.invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 1 and "no manifest.json" in result.output


def test_bench_measures_every_artifact(exported_dir, mnist, quick_bench):
    bench_module = quick_bench
    result = bench_module.bench(exported_dir, IdxSource(mnist, None), 40, [1], log=lambda line: None, large=False)
    files = [row["file"] for row in result["rows"]]
    assert files == ["dae.keras", "dae.tflite", "dae.onnx", "dae_fp16.tflite", "dae_int8.tflite", "dae_int8.onnx"]
    keras_row = result["rows"][0]
    for row in result["rows"]:
        assert row["throughput_ips"] > 0 and row["latency_ms_p95"] >= row["latency_ms_median"] > 0
        same = 1e-4 if row["precision"] == "fp32" else 0.5  # dB: fp32 reproduces Keras, int8 stays close
        assert abs(row["psnr_0.5"] - keras_row["psnr_0.5"]) < same and abs(row["psnr_0.7"] - keras_row["psnr_0.7"]) < same
    assert all(row["cold_start_s"] > 0 for row in result["rows"][1:])
    assert result["machine"]["cores"] >= 1 and "onnxruntime" in result["machine"]["libraries"]
    assert "| dae_int8.tflite | litert | 1 |" in bench_module.format_table(result)
    assert result["model"]["macs_per_28x28"] == 4_967_424 and result["model"]["arch"] == "paper"
    median = result["curve"]["median3"]
    assert median["0.1"] > median["0.5"] > median["0.9"]
    onnx_row = next(r for r in result["rows"] if r["file"] == "dae.onnx")
    assert abs(result["curve"]["model"]["0.5"] - onnx_row["psnr_0.5"]) < 1e-4  # the curve runs the same model


def result_stub() -> dict:
    return {"machine": {"cpu": "x", "cores": 2, "python": "3", "libraries": {}}, "images": 1, "noise_seed": 0,
            "rows": [], "input": {}, "one_by_one": True}


@pytest.mark.slow
def test_bench_large_images_whole_and_tiles(exported_dir, mnist, monkeypatch):
    from dae_edge.bench import bench as bench_module, large as bench_large

    monkeypatch.setattr(bench_large, "SIDES", (64, 96))
    monkeypatch.setattr(bench_large, "STRIP", (1, 3000))
    clean = mnist.x_test[:200] / np.float32(255)
    noisy = np.clip(clean + 0.5 * np.random.default_rng(0).standard_normal(clean.shape, dtype=np.float32), 0, 1)[..., None]
    row = bench_module.large_images(exported_dir / "dae.onnx", clean, noisy, log=lambda line: None)
    assert min(row["composite_single"], row["composite_whole"], row["composite_tiles"]) > 5  # a weak model, but a model
    assert row["composite_whole"] != row["composite_tiles"]
    assert row["side0_whole_s"] > 0 and row["side1_tiles_mpps"] > 0 and "strip_error" not in row and "large_error" not in row
    assert "| dae.onnx |" in bench_module.format_table({**result_stub(), "large": [row]})
    # the run's own peak, not the parent's: this test process holds TensorFlow, over 400 MB by itself
    assert 30 < row["strip_rss_mb"] < 400 and row["busy_ips_1"] > 0 and row["busy_ips_2"] > 0


def test_two_inputs_never_share_an_output(tmp_path, exported_dir):
    [png] = digit_files(tmp_path, exported_dir, 1)
    Image.open(png).save(tmp_path / "digit0.bmp")
    result = run(str(png), str(tmp_path / "digit0.bmp"), "--model", str(exported_dir / "dae.onnx"))
    assert result.exit_code == 1 and "would overwrite the result of" in result.output
    assert (tmp_path / "digit0.denoised.png").is_file()


def test_verify_checks_the_golden_set(exported_copy):
    golden = dict(np.load(exported_copy / "golden.npz"))
    golden["outputs"] = golden["outputs"] + 0.1
    np.savez_compressed(exported_copy / "golden.npz", **golden)
    result = runner.invoke(app, ["verify", str(exported_copy)])
    assert result.exit_code == 1 and "FAIL  golden.npz" in result.output
