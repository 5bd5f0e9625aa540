"""Self-supervised training (Neighbor2Neighbor): from a folder of noisy pictures alone to shipped artifacts, without
reading a clean picture; its pair sampling and loss; and the one-line refusals."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import verify_and_run_in_colour, write_pictures
from dae_edge.app.cli import app
from dae_edge.train.neighbour import NEIGHBOURS, cell_pairs, gamma_at, neighbour_loss, subsample

runner = CliRunner()
TINY = ["--arch", "photo", "--filters", "8", "--patch", "32", "--patches-per-epoch", "64", "--val-patches", "16",
        "--batch-size", "16", "--epochs", "2", "--channels", "3"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> Path:
    """clean/ (never to be read in self-supervised mode) and noisy/, the same pictures with σ 0.1 noise baked in."""
    root = tmp_path_factory.mktemp("n2n")
    write_pictures(root / "clean", ("astronaut", "chelsea", "coffee", "rocket"), side=96)
    (root / "noisy").mkdir()
    rng = np.random.default_rng(0)
    for path in sorted((root / "clean").glob("*.png")):
        clean = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
        noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1)
        Image.fromarray((noisy * 255).round().astype(np.uint8)).save(root / "noisy" / path.name)
    return root


@pytest.fixture(scope="module")
def trained(folders, tmp_path_factory) -> tuple[Path, list[Path], object]:
    """A self-supervised model trained and exported through the CLI, with every file Pillow opened meanwhile."""
    from dae_edge.core.noise import Noise

    opened: list[Path] = []
    real_open, real_apply = Image.open, Noise.apply
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Image, "open", lambda fp, *a, **k: (opened.append(Path(fp).resolve()), real_open(fp, *a, **k))[1])
        kinds = []  # every noise added in training and export: none at all, the pictures are the noisy inputs
        patch.setattr(Noise, "apply", lambda self, images, seed: (kinds.append(self.kind), real_apply(self, images, seed))[1])
        out = tmp_path_factory.mktemp("n2n-model")
        result = runner.invoke(app, ["train", "--data", str(folders / "noisy"), "--self-supervised", *TINY, "--out", str(out)])
        assert result.exit_code == 0, result.output
        exported = runner.invoke(app, ["export", "--model", str(out / "dae.keras"), "--out", str(out), "--int8",
                                       "--calibration-images", "32", "--validation-images", "16"])
        assert exported.exit_code == 0, exported.output
    assert set(kinds) == {"none"}
    return out, opened, result


def test_no_clean_picture_is_read(trained, folders):
    out, opened, result = trained
    assert any(path.is_relative_to((folders / "noisy").resolve()) for path in opened)
    assert not [path for path in opened if path.is_relative_to((folders / "clean").resolve())]
    assert "self-supervised (Neighbor2Neighbor), no clean targets" in result.output


def test_without_clean_pictures_validation_says_it_cannot_give_psnr(trained):
    out, _, result = trained
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    assert "psnr_denoised" not in metrics and 1e-4 < metrics["self_supervised_val_loss"] < 0.1
    assert all(1e-4 < loss < 0.1 for loss in history["loss"] + history["val_loss"])  # σ 0.1: about 2·0.01 at first
    assert "PSNR not measured: the validation pictures are noisy, with no clean copy" in result.output


def test_the_contract_and_manifest_say_how_it_was_trained(trained):
    out, _, _ = trained
    contract = json.loads((out / "contract.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert contract["self_supervised"] == "neighbor2neighbor" and contract["noise"] == "none"
    assert manifest["contract"]["self_supervised"] == "neighbor2neighbor"
    assert manifest["source"]["training_config"]["self_supervised"] is True
    assert {a["file"] for a in manifest["artifacts"]} >= {"dae.onnx", "dae_int8.onnx", "dae_int8.tflite"}


def test_verify_and_run_work_unchanged(trained, folders, tmp_path):
    verify_and_run_in_colour(trained[0], folders / "noisy" / "coffee.png", tmp_path)


def test_clean_validation_pictures_give_psnr(folders, tmp_path):
    result = runner.invoke(app, ["train", "--data", str(folders / "noisy"), "--self-supervised", *TINY, "--epochs", "1",
                                 "--val-data", str(folders / "clean"), "--val-noise", "gaussian:0.1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["psnr_noisy"] == pytest.approx(20.0, abs=1.5) and metrics["noise"] == "gaussian:0.1"
    assert json.loads((tmp_path / "contract.json").read_text())["val_noise"] == "gaussian:0.1"
    history = json.loads((tmp_path / "history.json").read_text())
    assert 1e-4 < history["val_loss"][0] < 0.1  # squared error against the clean pictures


def test_pairs_are_neighbours_in_their_cell():
    picks = cell_pairs(50, 8, seed=1)
    first, second = picks[..., 0], picks[..., 1]
    assert picks.shape == (50, 8, 8, 2) and set(np.unique(first)) == {0, 1, 2, 3}
    assert np.all(first != second) and np.all(first + second != 3)  # never the same pixel, never the diagonal
    assert np.all((NEIGHBOURS[first] == second[..., None]).any(-1))
    assert not np.array_equal(picks, cell_pairs(50, 8, seed=2))


def test_subsample_takes_the_named_pixel_of_each_cell():
    rng = np.random.default_rng(0)
    images = rng.random((2, 6, 8, 3)).astype(np.float32)
    picks = cell_pairs(2, 3, seed=0)[..., :1][..., 0]
    picks = np.resize(picks, (2, 3, 4))
    out = np.asarray(subsample(images, picks))
    n, i, j = np.meshgrid(range(2), range(3), range(4), indexing="ij")
    expected = images[n, 2 * i + picks // 2, 2 * j + picks % 2]
    np.testing.assert_array_equal(out, expected)


def test_the_loss_is_the_papers():
    rng = np.random.default_rng(0)
    out, target, gap = (rng.random((2, 4, 4, 3)).astype(np.float32) for _ in range(3))
    expected = np.mean((out - target) ** 2) + 1.5 * np.mean((out - target - gap) ** 2)
    assert float(neighbour_loss(out, target, gap, 1.5)) == pytest.approx(expected, rel=1e-5)


def test_the_regulariser_ramps_up_to_gamma():
    from dae_edge.train.config import TrainConfig

    config = TrainConfig(arch="photo", loss="mse", noise="none", self_supervised=True, epochs=5, n2n_gamma=2.0)
    assert [gamma_at(config, e) for e in range(5)] == [0.0, 0.5, 1.0, 1.5, 2.0]


@pytest.mark.parametrize("extra, message", [
    (["--noise", "gaussian:0.1"], "--self-supervised learns from pictures that are noisy already"),
    (["--loss", "bce"], "use --loss mse"),
    (["--patch", "40"], "must be a multiple of 16"),
    (["--grey-share", "0.25"], "a noisy colour picture turned grey has less noise"),
])
def test_bad_combinations_get_one_line(folders, tmp_path, extra, message):
    result = runner.invoke(app, ["train", "--data", str(folders / "noisy"), "--self-supervised", *TINY, *extra, "--out", str(tmp_path / "m")])
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "m").exists()


def test_mnist_and_self_supervised_is_refused(tmp_path, mnist_dir):
    result = runner.invoke(app, ["train", "--data", str(mnist_dir), "--self-supervised", "--out", str(tmp_path / "m")])
    assert result.exit_code != 0 and "MNIST's digits are clean" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_val_noise_without_self_supervised_is_refused(folders, tmp_path):
    result = runner.invoke(app, ["train", "--data", str(folders / "noisy"), "--val-noise", "gaussian:0.1", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "--val-noise is for --self-supervised" in result.output
