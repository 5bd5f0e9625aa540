"""Images laid out in a grid and cut back into cells: composites for large-image checks, mosaics for training."""
import numpy as np


def grids(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(k·rows·cols, h, w, …) → (k, rows·h, cols·w, …): consecutive images laid out row by row, k grids
    (images beyond the last whole grid are left out). Channels, where there are any, ride along."""
    n, h, w, *channels = images.shape
    k = n // (rows * cols)
    grid = images[: k * rows * cols].reshape(k, rows, cols, h, w, *channels).swapaxes(2, 3)
    return grid.reshape(k, rows * h, cols * w, *channels)


def mosaic(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Images (N, h, w, …) laid out row by row, repeated as needed, cropped to height × width."""
    n, h, w = images.shape[:3]
    rows, cols = -(-height // h), -(-width // w)
    return np.ascontiguousarray(grids(images[np.arange(rows * cols) % n], rows, cols)[0, :height, :width])


def cells(image: np.ndarray, h: int, w: int) -> np.ndarray:
    """The inverse of mosaic for whole cells: (rows·h, cols·w, …) → (rows·cols, h, w, …), row by row."""
    rows, cols = image.shape[0] // h, image.shape[1] // w
    rest = image.shape[2:]
    return image[: rows * h, : cols * w].reshape(rows, h, cols, w, *rest).swapaxes(1, 2).reshape(rows * cols, h, w, *rest)
