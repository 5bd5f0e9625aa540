"""Camera noise: the poisson-gaussian spec, and noise-estimate recovering a sensor's PEAK and SIGMA from its frames."""
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from dae_edge.app.cli import app
from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.noise import Noise
from dae_edge.core.noise_estimate import estimate

runner = CliRunner()


def grey_card(peak: float, sigma: float, seed: int = 0) -> np.ndarray:
    """A grey card under uneven light (dark to bright across, a slow ripple down), with camera noise."""
    y, x = np.mgrid[:512, :512]
    card = ((0.05 + 0.9 * x / 511) * (0.9 + 0.1 * np.sin(y / 80))).astype(np.float32)
    return Noise.parse(f"poisson-gaussian:{peak},{sigma}").apply(card[None, ..., None], seed)[0, ..., 0]


def test_the_spec_round_trips_and_its_variance_is_shot_plus_read_noise():
    for spec in ("poisson-gaussian:50,0.02", "poisson-gaussian:20-200,0.01-0.05"):
        assert str(Noise.parse(spec)) == spec
    assert Noise.parse("poisson-gaussian:20-200,0.01-0.05").blind and not Noise.parse("poisson-gaussian:50,0.02").blind
    flat = np.full((2000, 8, 8, 1), 0.5, np.float32)
    assert Noise.parse("poisson-gaussian:50,0.02").apply(flat, 0).var() == pytest.approx(0.5 / 50 + 0.02**2, rel=0.02)
    for bad in ("poisson-gaussian:50", "gaussian:0.1,0.2", "poisson-gaussian:50,2", "poisson-gaussian:0,0.01"):
        with pytest.raises(ValueError):
            Noise.parse(bad)


@pytest.mark.parametrize("peak, sigma", [(20, 0.05), (50, 0.02), (100, 0.02), (1000, 0.01)])
def test_noise_estimate_recovers_peak_and_sigma_of_a_grey_card(peak, sigma):
    fit = estimate([grey_card(peak, sigma)])
    assert fit.peak == pytest.approx(peak, rel=0.05) and fit.sigma == pytest.approx(sigma, rel=0.25)


def test_noise_estimate_on_the_command_line(tmp_path):
    frame = np.round(grey_card(100, 0.02) * 65535).astype(np.uint16)
    Image.fromarray(frame).save(tmp_path / "card.png")  # 16-bit: 8 bits would add their own rounding noise
    result = runner.invoke(app, ["noise-estimate", str(tmp_path / "card.png")])
    assert result.exit_code == 0, result.output
    assert "--noise poisson-gaussian:" in result.output and "PEAK 10" in result.output


def test_too_little_flat_area_is_one_line(tmp_path):
    from skimage import data

    Image.fromarray(data.grass()).save(tmp_path / "grass.png")  # texture everywhere
    Image.fromarray(np.full((16, 16), 128, np.uint8)).save(tmp_path / "tiny.png")  # four blocks
    for name in ("grass.png", "tiny.png"):
        result = runner.invoke(app, ["noise-estimate", str(tmp_path / name)])
        assert result.exit_code == 1 and "too little flat area" in result.output and len(result.output.splitlines()) == 1
    with pytest.raises(DaeEdgeError, match="too little flat area"):
        estimate([np.full((64, 64), 0.5)])
