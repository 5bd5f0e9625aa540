"""Gaussian noise, the corruption the autoencoder learns to remove (numpy only)."""
import numpy as np


def add_noise(images: np.ndarray, factor: float, seed: int) -> np.ndarray:
    """Return `images + factor * N(0, 1)` clipped to [0, 1], as float32, from a seeded generator."""
    if factor < 0:
        raise ValueError(f"noise factor must be >= 0, got {factor}")
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(images.astype(np.float32) + np.float32(factor) * noise, 0.0, 1.0)
