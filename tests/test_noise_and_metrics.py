import numpy as np
import pytest
from skimage.metrics import structural_similarity

from dae_edge.runtime.metrics import psnr, ssim
from dae_edge.runtime.noise import add_noise


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
