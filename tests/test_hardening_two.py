"""Hardening, round two: what a hostile tester and a new user found, each kept as a test that fails on the code
before its fix."""
import errno
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import need
from dae_edge.app.cli import app
from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.folder import FolderSource
from dae_edge.core.images import read_image
from dae_edge.core.noise import Noise
from dae_edge.core.data_config import DataConfig
from dae_edge.runtime.denoiser import Denoiser, Geometry, default_model
from dae_edge.runtime.formats import BY_NAME
from dae_edge.runtime.precision import agreement

runner = CliRunner()


def one_line_error(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def pictures(folder: Path, count: int = 5, side: int = 96) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray((rng.random((side, side)) * 255).astype(np.uint8)).save(folder / f"p{i}.png")
    return folder


# 7. NaN through every gate
def test_nan_pixels_are_refused_where_images_are_read(tmp_path):
    values = np.full((16, 16), 0.5, np.float32)
    values[3] = np.nan
    Image.fromarray(values, mode="F").save(tmp_path / "nan.tiff")
    with pytest.raises(DaeEdgeError, match="NaN or infinite"):
        read_image(tmp_path / "nan.tiff")


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_every_gate_fails_on_nan(precision):
    reference = np.full((2, 8, 8, 1), 0.5, np.float32)
    output = reference.copy()
    output[0, 0, 0, 0] = np.nan
    assert agreement(precision, reference, output, reference)[1], "NaN passed the gate"


def test_a_model_that_gives_nan_writes_nothing(tmp_path):
    class NaNBackend:
        name, input_shape, max_batch = "nan", (None, None, 1), None

        def run(self, batch):
            return np.full(batch.shape, np.nan, np.float32)

    denoiser = Denoiser(NaNBackend(), tmp_path / "nan.onnx", None, Geometry(tile=None))
    with pytest.raises(DaeEdgeError, match="NaN or infinite values: the model is broken"):
        denoiser.denoise(np.zeros((1, 8, 8), np.float32))


def test_training_stops_in_one_line_when_the_loss_is_not_finite(tmp_path, monkeypatch):
    folder = pictures(tmp_path / "pics")
    monkeypatch.setattr(FolderSource, "train_images", lambda self, epoch: np.full((64, 32, 32, 1), np.nan, np.float32))
    result = runner.invoke(app, ["train", "--data", str(folder), "--patch", "32", "--patches-per-epoch", "64",
                                 "--val-patches", "8", "--epochs", "2", "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "training diverged in epoch 1" in result.output and "Traceback" not in result.output


# 8, 9. Large or undecodable pictures never starve an epoch, and resume draws the same patches
def png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims a large picture: the scan accepts it, decoding fails."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


@pytest.mark.slow
def test_an_undecodable_picture_is_dropped_and_every_epoch_is_filled_the_same_way(tmp_path):
    folder = pictures(tmp_path / "pics")
    png_claiming(folder / "huge.png", 5000, 5000)
    config = DataConfig(patch=32, patches_per_epoch=200, val_patches=8)
    seen = FolderSource.open(folder, config, seed=0, val_data=pictures(tmp_path / "val", 1))
    first = [seen.train_images(epoch) for epoch in range(3)]
    assert all(len(p) == 200 and (p.reshape(200, -1).max(axis=1) > 0).all() for p in first)  # none left empty
    # (the claimed 25 MP would otherwise have drawn nearly every patch)
    fresh = FolderSource.open(folder, config, seed=0, val_data=tmp_path / "val")  # as after --resume at epoch 2
    assert np.array_equal(fresh.train_images(2), first[2])
    assert "huge.png" in seen.skipped_summary() and "from the other pictures" in seen.skipped_summary()


def test_pictures_above_the_training_limit_are_left_out_at_the_scan_and_said(tmp_path, monkeypatch):
    from dae_edge.core import folder as folder_module

    monkeypatch.setattr(folder_module, "TRAIN_MAX_PIXELS", 96 * 96 - 1)
    folder = pictures(tmp_path / "pics", 3)
    Image.new("L", (64, 64), 128).save(folder / "small.png")
    source = FolderSource.open(folder, DataConfig(patch=32), seed=0, val_data=pictures(tmp_path / "val", 1, 32))
    assert [f.name for f in source.train_files] == ["small.png"] and "p0.png" in source.skipped_summary()


# 10. Deep images by their real range
def test_float_and_32_bit_images_are_scaled_by_their_range_or_refused(tmp_path):
    Image.fromarray(np.full((8, 8), 127.5, np.float32), mode="F").save(tmp_path / "f255.tiff")
    assert np.allclose(read_image(tmp_path / "f255.tiff").pixels, 0.5)
    Image.fromarray(np.full((8, 8), 70000, np.int32), mode="I").save(tmp_path / "big.tiff")
    with pytest.raises(DaeEdgeError, match="outside 0–1, 0–255 and 0–65,535"):
        read_image(tmp_path / "big.tiff")


# 11. One Denoiser, eight threads
def test_one_litert_denoiser_is_safe_from_eight_threads(exported_dir):
    need(BY_NAME["tflite"].installed(), "LiteRT (ai-edge-litert) is not installed")
    denoiser = Denoiser.load(exported_dir / "dae_int8.tflite", threads=1)
    images = [np.random.default_rng(i).random((2, 28, 28), dtype=np.float32) for i in range(40)]
    alone = [denoiser.denoise(batch) for batch in images]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(denoiser.denoise, images))
    assert all(np.array_equal(a, b) for a, b in zip(alone, together))


# 12, 13. A FIFO and a link loop as inputs
def test_a_fifo_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "f.png")
    done = subprocess.run([sys.executable, "-m", "dae_edge.app.cli", "run", str(tmp_path / "f.png")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "not a regular file" in done.stderr and "Traceback" not in done.stderr


def test_a_link_loop_is_one_line(tmp_path):
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    one_line_error(runner.invoke(app, ["run", str(tmp_path / "a.png")]), "not a regular file")


# 14. Tampered contracts and unbounded noise
@pytest.mark.parametrize("change", [
    lambda c: c.update(patch=-4),
    lambda c: c["data"].update(patches_per_epoch=0),
    lambda c: c["data"].pop("files_sha256"),
    lambda c: c.update(data="x"),
    lambda c: c["data"].pop("kind"),
    lambda c: c.pop("noise_seed"),
    lambda c: c.update(noise="poisson:100000000000000000000000"),
])
def test_a_tampered_contract_is_one_line(folder_exported_dir, tmp_path, change):
    import shutil

    model = Path(shutil.copytree(folder_exported_dir, tmp_path / "m", symlinks=True))
    contract = json.loads((model / "contract.json").read_text())
    change(contract)
    (model / "contract.json").write_text(json.dumps(contract))
    one_line_error(runner.invoke(app, ["export", "--model", str(model / "dae.keras"), "--out", str(model)]),
                   "not a valid contract")


def test_every_noise_parameter_is_bounded():
    for spec in ("poisson:100000000000000000000000", "gaussian:5", "gaussian:0.1-3"):
        with pytest.raises(ValueError, match="at most"):
            Noise.parse(spec)


# 16. A full disk while training
def test_a_full_disk_while_training_is_one_line(tmp_path, monkeypatch):
    from dae_edge.train import training

    def full(path, value):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(training, "_write_json", full)
    result = runner.invoke(app, ["train", "--data", str(pictures(tmp_path / "pics")), "--patch", "32",
                                 "--patches-per-epoch", "32", "--val-patches", "8", "--epochs", "1", "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "could not write (No space left on device)" in result.output.strip().splitlines()[-1]  # after the first line
    assert not (tmp_path / "m" / "dae.keras").exists()


# 17. The busy core's helper dies with the bench
def test_the_busy_core_helper_dies_with_the_bench(exported_dir):
    script = ("import sys, numpy as np\nfrom pathlib import Path\nfrom dae_edge.bench.large import busy_throughput\n"
              "busy_throughput(Path(sys.argv[1]), np.zeros((4, 28, 28), np.float32), 1, seconds=120)\n")
    bench = subprocess.Popen([sys.executable, "-c", script, str(exported_dir / "dae.onnx")])

    def children() -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == bench.pid:
                found.append(int(stat.parent.name))
        return found

    deadline = time.monotonic() + 60
    while not children() and time.monotonic() < deadline:
        time.sleep(0.1)
    spinners = children()
    assert spinners, "the bench started no helper"
    bench.terminate()
    bench.wait(timeout=30)
    time.sleep(1.0)
    alive = [pid for pid in spinners if Path(f"/proc/{pid}").exists()
             and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]]
    for pid in alive:
        os.kill(pid, 9)
    assert not alive, "the spinning helper outlived the bench"


# 18. --out inside --data
def test_out_inside_data_is_refused(tmp_path):
    folder = pictures(tmp_path / "pics")
    result = runner.invoke(app, ["train", "--data", str(folder), "--patch", "32", "--out", str(folder / "m")])
    one_line_error(result, "is inside --data")
    assert not (folder / "m").exists()


# 19. A folder exported without --int8
def test_a_folder_without_int8_runs_its_best_artifact(exported_dir, tmp_path):
    import shutil

    for name in ("dae.tflite", "dae.onnx"):
        shutil.copy(exported_dir / name, tmp_path / name)
    expected = "dae.tflite" if BY_NAME["tflite"].installed() else "dae.onnx"
    assert default_model(folder=tmp_path).name == expected


# 20. --val-data is named as itself
def test_a_missing_val_data_is_named_as_such(tmp_path):
    result = runner.invoke(app, ["train", "--data", str(pictures(tmp_path / "pics")), "--val-data", str(tmp_path / "nothere"),
                                 "--patch", "32", "--out", str(tmp_path / "m")])
    one_line_error(result, f"--val-data {tmp_path / 'nothere'}: no such folder")


# What a new user trips over
def interrupted_after_one_epoch(args: list[str], monkeypatch) -> None:
    from dae_edge.train import training

    original = training._save_checkpoint

    def stop(*a):
        original(*a)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(training, "_save_checkpoint", stop)
        assert "rerun with --resume" in runner.invoke(app, [*args, "--epochs", "2"]).output


def test_resume_with_other_epochs_is_refused_for_a_schedule_and_said_otherwise(tmp_path, monkeypatch):
    folder = pictures(tmp_path / "pics")
    common = ["train", "--data", str(folder), "--patch", "32", "--patches-per-epoch", "32", "--val-patches", "8"]
    cosine = [*common, "--lr-schedule", "cosine", "--out", str(tmp_path / "cosine")]
    interrupted_after_one_epoch(cosine, monkeypatch)
    refused = runner.invoke(app, [*cosine, "--epochs", "3", "--resume"])
    assert refused.exit_code == 1 and "resume with --epochs 2" in refused.output
    constant = [*common, "--out", str(tmp_path / "constant")]
    interrupted_after_one_epoch(constant, monkeypatch)
    extended = runner.invoke(app, [*constant, "--epochs", "3", "--resume"])
    assert extended.exit_code == 0 and "the run was for 2 epochs; it now runs to 3" in extended.output


def help_text(command: str) -> str:
    """The --help text as one line, the frames of its boxes left out."""
    output = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
    return " ".join(output.replace("│", " ").split())


def test_training_reports_progress_inside_each_epoch(tmp_path):
    from dae_edge.app.train import _progress
    from dae_edge.core.data import open_source
    from dae_edge.train.config import TrainConfig
    from dae_edge.train.training import train

    heard = []
    source = open_source(pictures(tmp_path / "pics"), DataConfig(patch=32, patches_per_epoch=64, val_patches=8), seed=0)
    train(TrainConfig(epochs=2, batch_size=16), source, tmp_path / "m", log=lambda line: None,
          progress=lambda *step: heard.append(step))
    assert [(e, s) for e, _, s, steps, _ in heard] == [(e, s) for e in (0, 1) for s in range(1, 5)] and heard[0][3] == 4
    import io
    from contextlib import redirect_stderr

    with redirect_stderr(io.StringIO()) as shown:
        _progress(0, 10, 2, 4, 1.0)
    assert "epoch 1/10" in shown.getvalue() and "2/4 steps, 2.0/s, 1 s left" in shown.getvalue() and "the run about" in shown.getvalue()


def test_help_names_the_default_model_and_the_noise_scale():
    run_help = help_text("run")
    assert "default: photo" in run_help and "see the README" not in run_help and "0–1 scale" in run_help
    assert "0–1 scale" in help_text("train")


def test_run_says_which_model_and_backend_once_and_in_json(tmp_path, exported_dir):
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "b.png")
    model = exported_dir / "dae.onnx"
    said = runner.invoke(app, ["run", str(tmp_path / "a.png"), "--model", str(model), "--overwrite"])
    assert said.exit_code == 0 and said.output.count(f"model dae.onnx on onnxruntime ({exported_dir})") == 1
    lines = [json.loads(line) for line in runner.invoke(
        app, ["run", str(tmp_path), "--model", str(model), "--json", "--overwrite"]).output.splitlines()]
    assert all(line["backend"] == "onnxruntime" and line["model"].endswith("dae.onnx") for line in lines)
    assert len({line["ms"] for line in lines}) == len(lines)  # each its own time


def test_a_shipped_model_loads_by_name():
    denoiser = Denoiser.shipped("paper")
    assert denoiser.info is not None and denoiser.denoise(np.zeros((1, 28, 28), np.float32)).shape == (1, 28, 28)
    with pytest.raises(DaeEdgeError, match="expected one of"):
        Denoiser.shipped("nope")


def test_the_try_it_folder_is_ignored_by_git():
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["git", "check-ignore", "-q", "demo/demo.png"], cwd=root)
    assert done.returncode == 0, "demo/ is not in .gitignore"


def test_the_command_line_starts_without_numpy_or_pillow():
    """`dae-edge --help` took 0.6–1.1 s; its imports are the lever (measured with python -X importtime)."""
    code = "import sys, dae_edge.app.cli; print(sorted(m for m in ('numpy', 'PIL', 'onnxruntime') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
