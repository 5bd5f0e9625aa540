import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from dae_edge.app.cli import app
from dae_edge.core.metrics import psnr, ssim
from dae_edge.core.noise import add_noise
from dae_edge.core.idx import load_mnist, to_float
from dae_edge.train import training

OUTPUTS = {"dae.keras", "config.json", "contract.json", "history.json", "loss.png", "samples.png", "metrics.json"}
runner = CliRunner()


def train(*args: str):
    return runner.invoke(app, ["train", "--epochs", "2", "--limit", "256", *args])


def weights(folder) -> list[np.ndarray]:
    import keras

    return keras.models.load_model(folder / "dae.keras").get_weights()


def test_short_training_run_writes_everything(tmp_path, small_mnist_dir):
    import keras

    result = train("--data", str(small_mnist_dir), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "epoch 2/2" in result.output and "PSNR" in result.output
    assert OUTPUTS <= {p.name for p in tmp_path.iterdir()}
    assert not (tmp_path / training.CHECKPOINT_DIR).exists()
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["loss"]) == len(history["val_loss"]) == 2
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    clean = to_float(load_mnist(small_mnist_dir).x_test)
    noisy = add_noise(clean, 0.5, metrics["noise_seed"])
    denoised = keras.models.load_model(tmp_path / "dae.keras").predict(noisy, verbose=0)
    assert metrics["images"] == 200
    assert np.isclose(metrics["psnr_noisy"], psnr(clean, noisy).mean())
    assert np.isclose(metrics["psnr_denoised"], psnr(clean, denoised).mean(), atol=1e-4)
    assert np.isclose(metrics["ssim_denoised"], ssim(clean, denoised).mean(), atol=1e-4)
    samples = np.asarray(Image.open(tmp_path / "samples.png").convert("L"))
    assert samples.shape[1] > samples.shape[0] and samples.std() > 20  # three rows of digits, not a blank page
    assert json.loads((tmp_path / "config.json").read_text())["epochs"] == 2


@pytest.mark.slow
def test_same_command_same_weights_and_resume(tmp_path, small_mnist_dir, monkeypatch):
    data = ["--data", str(small_mnist_dir)]
    assert train(*data, "--out", str(tmp_path / "a")).exit_code == 0
    assert train(*data, "--out", str(tmp_path / "b")).exit_code == 0
    for x, y in zip(weights(tmp_path / "a"), weights(tmp_path / "b")):
        assert np.array_equal(x, y)

    save = training._save_checkpoint

    def save_then_interrupt(*args, **kwargs):
        save(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_save_checkpoint", save_then_interrupt)
    interrupted = train(*data, "--out", str(tmp_path / "c"))
    assert interrupted.exit_code == 1 and "--resume" in interrupted.output
    assert {p.name for p in (tmp_path / "c").iterdir()} == {training.CHECKPOINT_DIR}  # nothing half-written
    monkeypatch.setattr(training, "_save_checkpoint", save)
    resumed = train(*data, "--out", str(tmp_path / "c"), "--resume")
    assert resumed.exit_code == 0 and "resuming after epoch 1/2" in resumed.output
    for x, y in zip(weights(tmp_path / "a"), weights(tmp_path / "c")):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "epochs must be >= 1"),
    (["--noise", "gaussian:-0.5"], "--noise 'gaussian:-0.5': expected KIND:LEVEL"),
    (["--noise", "gaussian:0.8-0.1"], "out of order"),
    (["--noise", "poisson:0"], "peak must be > 0"),
    (["--arch", "vgg"], "--arch 'vgg': expected one of paper, unet"),
    (["--mosaic", "0"], "mosaic must be >= 1"),
    (["--data", "/nonexistent/mnist"], "no such folder"),
    (["--resume"], "no checkpoint to resume from"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, small_mnist_dir, args, message):
    out = tmp_path / "out"
    result = runner.invoke(app, ["train", "--data", str(small_mnist_dir), "--limit", "64", "--out", str(out), *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or args == ["--resume"]  # nothing made, not even the folder; --resume names one


def test_unwritable_out(tmp_path, small_mnist_dir):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(app, ["train", "--data", str(small_mnist_dir), "--out", str(blocker / "out")])
    assert result.exit_code == 1 and "cannot write there" in result.output


def test_version_and_help():
    from importlib.metadata import version

    assert version("dae-edge") in runner.invoke(app, ["--version"]).output
    help_text = runner.invoke(app, ["--help"]).output
    assert all(command in help_text for command in ("train", "export", "run", "verify"))
