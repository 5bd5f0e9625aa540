"""Images of any size through a fixed-size model: overlapping tiles, blended at native resolution.

Each image is padded (edge values) to at least one tile, cut into tiles that overlap by half a tile
(the last one flush with the edge), and the outputs are averaged with a tent weight that is
largest at a tile's centre, where the model sees the most context. Tiles are cut and blended a
few at a time, so memory stays at a few image-sized arrays whatever the image's shape.
"""
import numpy as np

from dae_edge.runtime.blocks import source_index


def tile_starts(length: int, tile: int) -> list[int]:
    """Start offsets covering `length` with tiles overlapping by half a tile."""
    if length <= tile:
        return [0]
    step = tile // 2
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def tent(tile: int) -> np.ndarray:
    """2-D weights, 1 at the border rising to tile/2 at the centre; never zero."""
    ramp = np.minimum(np.arange(1, tile + 1), np.arange(tile, 0, -1)).astype(np.float32)
    return np.outer(ramp, ramp)


def offsets(shape: tuple[int, int], tile: int) -> list[tuple[int, int]]:
    """Where the tiles of an image of `shape` start."""
    return [(y, x) for y in tile_starts(shape[0], tile) for x in tile_starts(shape[1], tile)]


def cut(image: np.ndarray, y: int, x: int, tile: int) -> np.ndarray:
    """The tile at (y, x), edge-padded where the image is smaller than a tile."""
    return image[np.ix_(source_index(y, y + tile, image.shape[0], "edge"), source_index(x, x + tile, image.shape[1], "edge"))]


class Blend:
    """The weighted sum of tile outputs over one image (H, W, C)."""

    def __init__(self, shape: tuple[int, ...], tile: int) -> None:
        self.total = np.zeros(shape, np.float32)
        self.weight = np.zeros((*shape[:2], 1), np.float32)
        self.window = tent(tile)[..., None]

    def add(self, output: np.ndarray, y: int, x: int) -> None:
        h, w = min(output.shape[0], self.total.shape[0] - y), min(output.shape[1], self.total.shape[1] - x)
        self.total[y : y + h, x : x + w] += output[:h, :w] * self.window[:h, :w]
        self.weight[y : y + h, x : x + w] += self.window[:h, :w]

    def result(self) -> np.ndarray:
        self.total /= self.weight
        return self.total
