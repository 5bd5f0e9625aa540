import numpy as np
import pytest
from skimage.metrics import structural_similarity

from dae_edge.core.metrics import psnr, ssim
from dae_edge.core.noise import add_noise


def test_noise_is_seeded_clipped_and_scaled():
    clean = np.full((200, 28, 28), 0.5, np.float32)
    noisy = add_noise(clean, 0.1, seed=3)
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape
    assert np.array_equal(noisy, add_noise(clean, 0.1, seed=3))
    assert not np.array_equal(noisy, add_noise(clean, 0.1, seed=4))
    assert abs(float((noisy - clean).std()) - 0.1) < 0.002  # 0.5 ± 0.1·N(0,1) is almost never clipped
    wide = add_noise(clean, 0.5, seed=3)
    assert wide.min() == 0.0 and wide.max() == 1.0
    assert np.array_equal(add_noise(clean, 0.0, seed=3), clean)


def test_noise_rejects_a_negative_factor():
    with pytest.raises(ValueError, match="noise factor"):
        add_noise(np.zeros((1, 28, 28)), -0.1, seed=0)


def test_psnr_of_a_known_error():
    clean = np.zeros((2, 28, 28))
    off = clean + np.array([0.1, 0.01])[:, None, None]
    assert np.allclose(psnr(clean, off), [20.0, 40.0])


def test_ssim_matches_scikit_image():
    rng = np.random.default_rng(0)
    a = rng.random((3, 28, 28))
    b = np.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1)
    expected = [structural_similarity(x, y, data_range=1.0) for x, y in zip(a, b)]
    assert np.allclose(ssim(a, b), expected, atol=1e-10)
    assert np.allclose(ssim(a, a), 1.0)


def test_noise_specs_parse_and_refuse():
    from dae_edge.core.noise import Noise

    assert Noise.parse("gaussian:0.5") == Noise("gaussian", 0.5, None)
    assert Noise.parse("gaussian:0.1-0.8") == Noise("gaussian", 0.1, 0.8) and Noise.parse("gaussian:.1-.8").blind
    assert str(Noise.parse("poisson:30")) == "poisson:30"
    for bad in ["gauss:0.5", "gaussian", "gaussian:0.8-0.1", "poisson:0", "saltpepper:1.5", "gaussian:-1", "gaussian:a"]:
        with pytest.raises(ValueError, match="--noise"):
            Noise.parse(bad)


def test_noise_models_corrupt_reproducibly():
    from dae_edge.core.noise import Noise, add_noise

    clean = np.random.default_rng(0).random((200, 16, 16, 1), dtype=np.float32)
    assert np.array_equal(Noise.parse("gaussian:0.5").apply(clean, 3), add_noise(clean, 0.5, 3))  # the paper's draws
    for spec in ["gaussian:0.1-0.8", "poisson:20", "saltpepper:0.2"]:
        noise = Noise.parse(spec)
        a, b = noise.apply(clean, 3), noise.apply(clean, 3)
        assert np.array_equal(a, b) and not np.array_equal(a, noise.apply(clean, 4))
        assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1 and not np.allclose(a, clean)
    grey = np.full_like(clean, 0.5)
    levels = (Noise.parse("gaussian:0.1-0.8").apply(grey, 3) - grey).reshape(200, -1).std(axis=1)
    assert levels.min() < 0.15 and levels.max() > 0.4  # a level per image, drawn from the range (clipping narrows it)
    flipped = Noise.parse("saltpepper:0.2").apply(clean, 3) != clean
    assert 0.17 < flipped.mean() < 0.23
    shot = Noise.parse("poisson:20").apply(np.full((1, 100, 100, 1), 0.5, np.float32), 3)
    assert abs(shot.mean() - 0.5) < 0.02 and abs(shot.std() - np.sqrt(0.5 / 20)) < 0.02  # variance x / peak


def test_a_mixture_gives_each_image_one_of_its_parts():
    from dae_edge.core.noise import Noise, NoiseMix

    mix = Noise.parse("gaussian:0.02|saltpepper:0.3|gaussian:0.02")
    assert isinstance(mix, NoiseMix) and mix.blind and str(mix) == "gaussian:0.02|saltpepper:0.3|gaussian:0.02"
    grey = np.full((300, 16, 16, 1), 0.5, np.float32)
    noisy = mix.apply(grey, 3)
    assert np.array_equal(noisy, mix.apply(grey, 3)) and not np.array_equal(noisy, mix.apply(grey, 4))
    flipped = (np.abs(noisy - grey) > 0.4).reshape(300, -1).mean(axis=1)  # salt and pepper sets pixels to 0 or 1
    peppered = flipped > 0.2
    assert np.all((flipped == 0) | peppered)  # an image gets one part, never both
    assert 0.22 < peppered.mean() < 0.45  # a third of the odds: the Gaussian part, named twice, has two thirds
    assert abs(float((noisy[~peppered] - 0.5).std()) - 0.02) < 0.002
    for bad in ["gaussian:0.1|none", "gaussian:0.1|", "gaussian:0.1|gauss:1"]:
        with pytest.raises(ValueError, match="--noise"):
            Noise.parse(bad)


@pytest.mark.parametrize("channels", [None, 1, 3])
def test_picture_metrics_score_the_whole_picture(channels):
    """psnr() reads a 3-D array as a batch of grey images: a colour picture (H, W, 3), or a grey one (H, W, 1),
    needs picture_psnr, or only its first row is scored (as the photo tables and export's whole-or-tiles
    choice once did)."""
    from dae_edge.core.metrics import picture_psnr, picture_ssim

    shape = (40, 50) if channels is None else (40, 50, channels)
    clean = np.full(shape, 0.5)
    damaged = clean.copy()
    damaged[20:] += 0.1  # the lower half only: the first row is untouched
    assert picture_psnr(clean, damaged) == pytest.approx(10 * np.log10(1 / 0.005))
    assert picture_ssim(clean, clean) == pytest.approx(1.0) and picture_ssim(clean, damaged) < 1


def test_filters_run_channel_by_channel_on_colour():
    from dae_edge.bench.filters import FILTERS, median3

    rng = np.random.default_rng(0)
    colour = rng.random((2, 9, 11, 3)).astype(np.float32)
    for name, method in FILTERS.items():
        out = method(colour)
        assert out.shape == colour.shape, name
    np.testing.assert_array_equal(FILTERS["median 3×3"](colour)[..., 1], median3(colour[..., 1]))
