"""Bursts (Noise2Noise): scenes found by sub-folder or name stem, pairs of shots cut at one place, training and
export from noisy shots alone, and the one-line refusals."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import verify_and_run_in_colour, write_pictures
from dae_edge.app.cli import app
from dae_edge.core.bursts import BurstSource, group_scenes, scene_of
from dae_edge.core.data_config import DataConfig
from dae_edge.core.folder import ImageFile
from dae_edge.core.sources import SourceError

runner = CliRunner()
TINY = ["--arch", "photo", "--filters", "8", "--patch", "32", "--patches-per-epoch", "64", "--val-patches", "16",
        "--batch-size", "16", "--epochs", "2", "--channels", "3"]
SHOTS = 3


def save(pixels: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)).save(path)


@pytest.fixture(scope="module")
def bursts(tmp_path_factory) -> Path:
    """Four scenes, a sub-folder of three σ 0.1 shots each (the clean pictures are not kept)."""
    root = tmp_path_factory.mktemp("bursts")
    clean = write_pictures(root / "clean", ("astronaut", "chelsea", "coffee", "rocket"), side=96)
    rng = np.random.default_rng(0)
    for path in sorted(clean.glob("*.png")):
        pixels = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
        for shot in range(SHOTS):
            save(pixels + rng.normal(0, 0.1, pixels.shape), root / "noisy" / path.stem / f"shot-{shot}.png")
        path.unlink()
    return root / "noisy"


@pytest.fixture(scope="module")
def trained(bursts, tmp_path_factory) -> tuple[Path, object]:
    from dae_edge.core.noise import Noise

    kinds = []
    real_apply = Noise.apply
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Noise, "apply", lambda self, images, seed: (kinds.append(self.kind), real_apply(self, images, seed))[1])
        out = tmp_path_factory.mktemp("n2n-bursts")
        result = runner.invoke(app, ["train", "--data", str(bursts), "--bursts", "--val-fraction", "0.25", *TINY, "--out", str(out)])
        assert result.exit_code == 0, result.output
        exported = runner.invoke(app, ["export", "--model", str(out / "dae.keras"), "--out", str(out), "--int8",
                                       "--calibration-images", "32", "--validation-images", "16"])
        assert exported.exit_code == 0, exported.output
    assert set(kinds) == {"none"}  # no noise is ever added: the shots are the inputs and the targets
    return out, result


@pytest.mark.parametrize("name, scene", [("night/a.png", "night"), ("trip/night/0001.jpg", "trip/night"),
                                         ("night-01.png", "night"), ("night_2.tif", "night"), ("IMG 0003.png", "IMG"),
                                         ("kitchen.png", "kitchen"), ("0042.png", "0042")])
def test_a_shot_belongs_to_its_sub_folder_or_its_name_without_the_last_number(name, scene):
    assert scene_of(name) == scene


def test_scenes_need_two_shots_of_one_size():
    shots = [ImageFile("a/1.png", 64, 48), ImageFile("a/2.png", 64, 48), ImageFile("b-1.png", 32, 32), ImageFile("b-2.png", 32, 32)]
    assert {k: len(v) for k, v in group_scenes(shots).items()} == {"a": 2, "b": 2}
    with pytest.raises(SourceError, match="scene 'c' has one shot"):
        group_scenes(shots + [ImageFile("c.png", 32, 32)])
    with pytest.raises(SourceError, match=r"differ in size \(a/1.png 64×48, a/3.png 48×64\)"):
        group_scenes(shots + [ImageFile("a/3.png", 48, 64)])


def test_a_pair_is_one_place_in_two_different_shots(tmp_path):
    """Shot k of a scene is one ramp plus 0.1·k: a pair's difference is then flat, and never zero."""
    ramp = np.add.outer(np.arange(64), np.arange(80)) / 400
    for scene in ("x", "y"):
        for k in range(SHOTS):
            save(np.repeat((ramp + 0.1 * k)[..., None], 3, -1), tmp_path / scene / f"{k}.png")
    source = BurstSource.open(tmp_path, DataConfig(patch=16, patches_per_epoch=50, val_patches=8), seed=0)
    inputs, targets = source.train_pairs(0)
    difference = (targets - inputs).reshape(len(inputs), -1)
    assert inputs.shape == targets.shape == (50, 16, 16, 1)
    assert np.ptp(difference, axis=1).max() < 1.5 / 255  # the same place (up to 8-bit rounding)
    assert np.abs(difference.mean(axis=1)).min() > 0.09  # never the same shot
    again = source.train_pairs(0)
    assert np.array_equal(again[0], inputs) and not np.array_equal(source.train_pairs(1)[0], inputs)


def test_validation_holds_out_whole_scenes(trained):
    out, _ = trained
    data = json.loads((out / "contract.json").read_text())["data"]
    held = {scene_of(name) for name in data["validation"]["files"]}
    assert data["kind"] == "bursts" and data["scenes"] == 3 and len(held) == 1
    assert len(data["validation"]["files"]) == SHOTS


def test_trains_and_exports_from_noisy_shots_alone(trained):
    out, result = trained
    contract = json.loads((out / "contract.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert "self-supervised (Noise2Noise)" in result.output and "from 3 bursts (9 shots)" in result.output
    assert contract["self_supervised"] == manifest["contract"]["self_supervised"] == "noise2noise"
    assert manifest["source"]["training_config"]["bursts"] is True
    assert "psnr_denoised" not in metrics and 2e-3 < metrics["self_supervised_val_loss"] < 0.1  # ≈ 2σ² between shots


def test_verify_and_run_work_unchanged(trained, bursts, tmp_path):
    verify_and_run_in_colour(trained[0], bursts / "chelsea" / "shot-0.png", tmp_path)


@pytest.mark.parametrize("layout, message", [
    ({"a/1.png": (48, 48), "a/2.png": (48, 48), "b/1.png": (48, 48), "b/2.png": (40, 48)}, "the shots of scene 'b' differ in size"),
    ({"a/1.png": (48, 48), "a/2.png": (48, 48), "b/1.png": (48, 48)}, "scene 'b' has one shot (b/1.png)"),
    ({"a/1.png": (48, 48), "a/2.png": (48, 48)}, "one scene cannot be split into training and validation"),
])
def test_bad_bursts_get_one_line(tmp_path, layout, message):
    for name, (w, h) in layout.items():
        save(np.full((h, w), 0.5), tmp_path / "data" / name)
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "data"), "--bursts", *TINY, "--out", str(tmp_path / "m")])
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "m").exists()


@pytest.mark.parametrize("extra, message", [(["--noise", "gaussian:0.1"], "--bursts learns from pictures that are noisy already"),
                                            ([], "--bursts: MNIST's digits are clean")])
def test_bursts_with_noise_or_mnist_is_refused(bursts, tmp_path, mnist_dir, extra, message):
    data = str(bursts) if extra else str(mnist_dir)
    result = runner.invoke(app, ["train", "--data", data, "--bursts", *extra, "--out", str(tmp_path / "m")])
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
