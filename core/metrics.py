"""Image quality: per-image PSNR and SSIM for batches of images in [0, 1] (numpy only)."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SSIM_WINDOW = 7  # scikit-image's default window, so figures compare with published ones
SSIM_K1, SSIM_K2 = 0.01, 0.03  # the constants of Wang et al. (2004)


def _as_batch(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 2:
        images = images[None]
    return images


def psnr(reference: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB, data range 1: 10·log10(1 / MSE). Identical images give inf."""
    reference, images = _as_batch(reference), _as_batch(images)
    mse = ((reference - images) ** 2).reshape(len(reference), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(1.0 / mse)


def ssim(reference: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Per-image SSIM, data range 1, 7×7 uniform window with sample covariance (as scikit-image)."""
    x, y = _as_batch(reference), _as_batch(images)
    w = SSIM_WINDOW
    n = w * w
    cov_norm = n / (n - 1)

    def local_mean(a: np.ndarray) -> np.ndarray:
        return sliding_window_view(a, (w, w), axis=(1, 2)).mean(axis=(-2, -1))

    ux, uy = local_mean(x), local_mean(y)
    vx = cov_norm * (local_mean(x * x) - ux * ux)
    vy = cov_norm * (local_mean(y * y) - uy * uy)
    vxy = cov_norm * (local_mean(x * y) - ux * uy)
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return s.reshape(len(s), -1).mean(axis=1)


def picture_psnr(reference: np.ndarray, image: np.ndarray) -> float:
    """PSNR of one picture, (H, W) or (H, W, C): psnr() reads a 3-D array as a batch of (H, W) images."""
    return float(psnr(np.asarray(reference)[None], np.asarray(image)[None])[0])


def picture_ssim(reference: np.ndarray, image: np.ndarray) -> float:
    """SSIM of one picture, (H, W) or (H, W, C): the mean over its channels' windows."""
    return float(ssim(np.asarray(reference)[None], np.asarray(image)[None])[0])
