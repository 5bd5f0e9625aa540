"""Images of any size through a fixed-size model: overlapping tiles, blended at native resolution.

Each image is padded (edge values) to at least one tile, cut into tiles that overlap by half a tile
(the last one flush with the edge), and the outputs are averaged with a tent weight that is
largest at a tile's centre, where the model sees the most context. The model sees only whole
tiles, so every backend gets the same inputs and the blend is the same numpy code everywhere.
"""
import numpy as np


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


def split(image: np.ndarray, tile: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(T, tile, tile) tiles of one padded image and their offsets."""
    h, w = image.shape
    padded = np.pad(image, ((0, max(tile - h, 0)), (0, max(tile - w, 0))), mode="edge")
    offsets = [(y, x) for y in tile_starts(padded.shape[0], tile) for x in tile_starts(padded.shape[1], tile)]
    return np.stack([padded[y : y + tile, x : x + tile] for y, x in offsets]), offsets


def merge(tiles: np.ndarray, offsets: list[tuple[int, int]], shape: tuple[int, int]) -> np.ndarray:
    """Blend denoised tiles back into an image of `shape`."""
    tile = tiles.shape[1]
    size = (max(shape[0], tile), max(shape[1], tile))
    total, weight = np.zeros(size, np.float32), np.zeros(size, np.float32)
    window = tent(tile)
    for t, (y, x) in zip(tiles, offsets):
        total[y : y + tile, x : x + tile] += t * window
        weight[y : y + tile, x : x + tile] += window
    return (total / weight)[: shape[0], : shape[1]]
