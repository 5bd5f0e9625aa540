"""Classical denoisers, the baselines a learned model has to beat (numpy only, edges replicated)."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

BLUR_SIGMA = 1.0  # pixels: strong enough to flatten noise of 0.1–0.3, as a user would first try


def channel_by_channel(images: np.ndarray, method) -> np.ndarray:
    """`method` over (N, H, W), applied to (N, H, W) or to each channel of (N, H, W, C)."""
    images = np.asarray(images)
    if images.ndim == 3:
        return method(images)
    planes = np.moveaxis(images, -1, 1).reshape(-1, *images.shape[1:3])
    out = method(planes).reshape(images.shape[0], images.shape[-1], *images.shape[1:3])
    return np.moveaxis(out, 1, -1)


def median3(images: np.ndarray) -> np.ndarray:
    """A 3×3 median filter over (N, H, W)."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="edge")
    return np.median(sliding_window_view(padded, (3, 3), axis=(1, 2)), axis=(-2, -1)).astype(np.float32)


def gaussian_blur(images: np.ndarray, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """A separable Gaussian blur over (N, H, W), the kernel cut at 3σ."""
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = np.asarray(images, dtype=np.float32)
    for axis in (1, 2):
        pad = [(0, 0)] * 3
        pad[axis] = (radius, radius)
        windows = sliding_window_view(np.pad(out, pad, mode="edge"), len(taps), axis=axis)
        out = (windows @ taps.astype(np.float32)).astype(np.float32)
    return out


FILTERS = {"median 3×3": lambda images: channel_by_channel(images, median3),
           f"Gaussian blur σ={BLUR_SIGMA:g}": lambda images: channel_by_channel(images, gaussian_blur)}  # (N, H, W[, C])
