"""The shipped photo model, the default of `dae-edge run`, with the edge install only: colour photos come back
in colour and cleaner, printed pages cleaner with their text still black, and the demo shows both."""
import json

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from dae_edge.app.cli import app
from dae_edge.core.metrics import picture_psnr
from dae_edge.runtime.denoiser import shipped_folder
from dae_edge.runtime.shipped import DEFAULT_MODEL

runner = CliRunner()
SIGMA = 25 / 255


def noisy(clean: np.ndarray, seed: int = 0) -> np.ndarray:
    return np.clip(clean + np.random.default_rng(seed).normal(0, SIGMA, clean.shape), 0, 1)


def save(path, pixels: np.ndarray) -> None:
    Image.fromarray((pixels * 255).round().astype(np.uint8)).save(path)


def run_default(path) -> dict:
    result = runner.invoke(app, ["run", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_the_default_model_is_photo():
    assert DEFAULT_MODEL == "photo"
    manifest = json.loads((shipped_folder() / "manifest.json").read_text())
    assert manifest["input"]["channels"] == 3 and manifest["model"]["macs_per_pixel"] <= 25_000


def test_a_colour_photo_comes_back_in_colour_and_cleaner(tmp_path):
    y, x = np.mgrid[0:96, 0:128] / 128
    clean = np.stack([0.2 + 0.6 * x, 0.3 + 0.5 * y, 0.7 - 0.4 * x * y], axis=-1)  # smooth colour, as sky or skin
    save(tmp_path / "photo.png", noisy(clean))
    line = run_default(tmp_path / "photo.png")
    assert "photo" in line["model"]
    out = Image.open(tmp_path / "photo.denoised.png")
    assert out.mode == "RGB"
    given = np.asarray(Image.open(tmp_path / "photo.png"), np.float32) / 255
    denoised = np.asarray(out, np.float32) / 255
    assert picture_psnr(clean, denoised) > picture_psnr(clean, given) + 6
    assert np.abs(denoised.mean(axis=(0, 1)) - clean.mean(axis=(0, 1))).max() < 0.02  # its colours, not grey


def test_a_printed_page_comes_back_cleaner_with_its_text_still_black(tmp_path):
    page = Image.new("L", (256, 128), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=11)
    for row in range(8):
        draw.text((4, 4 + 15 * row), "The quick brown fox jumps over 12 lazy dogs.", fill=0, font=font)
    clean = np.asarray(page, np.float32) / 255
    save(tmp_path / "page.png", noisy(clean, 1))
    run_default(tmp_path / "page.png")
    out = Image.open(tmp_path / "page.denoised.png")
    assert out.mode == "L"
    given = np.asarray(Image.open(tmp_path / "page.png"), np.float32) / 255
    denoised = np.asarray(out, np.float32) / 255
    assert picture_psnr(clean, denoised) > picture_psnr(clean, given) + 2
    ink = clean < 0.5
    assert denoised[ink].mean() < 0.35 and denoised[~ink].mean() > 0.9  # not smeared into grey


def test_demo_shows_digits_and_a_photo_and_a_page(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert np.asarray(Image.open(tmp_path / "demo.png")).shape == (56, 280)
    assert len(list(tmp_path.glob("noisy_*.denoised.png"))) == 10
    side = np.asarray(Image.open(tmp_path / "demo_photo.png"))
    assert side.ndim == 3 and side.shape[0] == 2 * 192
    for name in ("photo", "page"):
        before = np.asarray(Image.open(tmp_path / f"{name}.png"), np.float32)
        after = np.asarray(Image.open(tmp_path / f"{name}.denoised.png"), np.float32)
        assert before.shape == after.shape
        high = lambda a: np.abs(np.diff(a, axis=0)).mean()  # noqa: E731  (noise is mostly high frequencies)
        assert high(after) < 0.6 * high(before)
