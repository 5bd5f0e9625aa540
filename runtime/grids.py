"""Images laid out in a grid and cut back into cells: the composites that large-image quality is measured on."""
import numpy as np


def mosaic(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Images (N, h, w) laid out row by row, repeated as needed, cropped to height × width."""
    n, h, w = images.shape
    rows, cols = -(-height // h), -(-width // w)
    picks = np.arange(rows * cols) % n
    grid = images[picks].reshape(rows, cols, h, w).transpose(0, 2, 1, 3).reshape(rows * h, cols * w)
    return np.ascontiguousarray(grid[:height, :width])


def cells(image: np.ndarray, h: int, w: int) -> np.ndarray:
    """The inverse of mosaic for whole cells: (rows·h, cols·w) → (rows·cols, h, w), row by row."""
    rows, cols = image.shape[0] // h, image.shape[1] // w
    return image[: rows * h, : cols * w].reshape(rows, h, cols, w).transpose(0, 2, 1, 3).reshape(rows * cols, h, w)
