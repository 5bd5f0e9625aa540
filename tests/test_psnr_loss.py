"""`--loss psnr`: each patch's log squared error, the mean PSNR that bench reports, and a checkpoint that resumes."""
import numpy as np
from typer.testing import CliRunner

from dae_edge.app.cli import app
from dae_edge.core.metrics import psnr
from dae_edge.train import training
from dae_edge.train.model import PSNR_FLOOR, psnr_loss

runner = CliRunner()


def test_the_loss_is_each_patch_s_psnr_scaled():
    rng = np.random.default_rng(0)
    clean = rng.random((3, 8, 8, 3), dtype=np.float32)
    denoised = clean + rng.normal(0, 1, clean.shape).astype(np.float32) * np.float32([0.01, 0.05, 0.2])[:, None, None, None]
    loss = np.asarray(psnr_loss(clean, denoised))
    assert loss.shape == (3,)  # one value per patch, so the batch mean is the mean PSNR, not the PSNR of the mean
    expected = np.log(10 ** (-psnr(clean, denoised) / 10) + PSNR_FLOOR)  # −PSNR·ln(10)/10 above the floor
    np.testing.assert_allclose(loss, expected, rtol=1e-4)
    assert np.isclose(float(np.asarray(psnr_loss(clean, clean))[0]), np.log(PSNR_FLOOR))  # a perfect patch is bounded


def test_a_psnr_checkpoint_resumes_to_the_same_weights(tmp_path, small_mnist_dir, monkeypatch):
    import keras

    def run(out, *extra):
        return runner.invoke(app, ["train", "--data", str(small_mnist_dir), "--limit", "64", "--epochs", "2",
                                   "--loss", "psnr", "--out", str(out), *extra])

    assert run(tmp_path / "a").exit_code == 0
    save = training._save_checkpoint

    def save_then_interrupt(*args, **kwargs):
        save(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_save_checkpoint", save_then_interrupt)
    assert run(tmp_path / "b").exit_code == 1
    monkeypatch.setattr(training, "_save_checkpoint", save)
    resumed = run(tmp_path / "b", "--resume")
    assert resumed.exit_code == 0, resumed.output
    for x, y in zip(*(keras.models.load_model(tmp_path / f / "dae.keras", compile=False).get_weights() for f in "ab")):
        assert np.array_equal(x, y)
