"""Whole images through a fully convolutional model, in bounded memory.

An image is padded at its bottom and right to a multiple of the model's downsampling factor (and by a
margin of mirrored context on every side, where the model's manifest asks for one), run in one call
and cropped. Above a pixel budget it is cut into blocks whose cores tile the padded image; each block
carries a halo of rows and columns covering the model's receptive field, and starts on a multiple of
the downsampling factor, so every output pixel sees exactly the inputs it sees in one pass: the result
equals the one-pass result up to float rounding. Padding is virtual (an index map), so not even the
padded image is ever held whole.
"""
import math
from dataclasses import dataclass

import numpy as np

def round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def source_index(start: int, stop: int, length: int, mode: str) -> np.ndarray:
    """For positions start..stop of an axis of `length` padded before its start (negative positions) and after its
    end, the positions they copy."""
    i = np.arange(start, stop)
    if mode == "edge" or length == 1:
        return np.clip(i, 0, length - 1)
    period = 2 * (length - 1)  # numpy's "reflect": mirrored about the first and last pixels, which are not repeated
    i = i % period
    return np.where(i < length, i, period - i)


@dataclass(frozen=True)
class Block:
    rows: tuple[int, int]  # what the model sees, in padded coordinates
    cols: tuple[int, int]
    core_rows: tuple[int, int]  # what the block contributes
    core_cols: tuple[int, int]


def square_overhead(budget: int, radius: int, multiple: int) -> float:
    """Pixels a square block of `budget` pixels computes per pixel of its core, inside a large image (plan's squares)."""
    side = math.isqrt(budget)
    core = (side - 2 * round_up(radius, multiple)) // multiple * multiple
    return (side / core) ** 2 if core > 0 else math.inf


def plan(height: int, width: int, multiple: int, radius: int, budget: int, margin: int = 0) -> list[Block]:
    """Blocks covering the padded image, each at most about `budget` pixels with its halo; the image is seen with
    `margin` (a multiple of `multiple`) more rows and columns of context on every side."""
    hp, wp = round_up(height, multiple), round_up(width, multiple)
    if (hp + 2 * margin) * (wp + 2 * margin) <= budget:
        return [Block((-margin, hp + margin), (-margin, wp + margin), (0, hp), (0, wp))]
    halo = round_up(radius, multiple)
    band = (budget // (wp + 2 * margin) - 2 * halo) // multiple * multiple
    if band >= max(4 * halo, multiple):  # full-width bands, halo overhead at most 1.5×
        core_h, core_w = band, wp
    else:
        side = max((math.isqrt(budget) - 2 * halo) // multiple * multiple, multiple)
        core_h = min(hp, side)
        core_w = side if core_h < hp else max((budget // hp - 2 * halo) // multiple * multiple, multiple)
    blocks = []
    for r0 in range(0, hp, core_h):
        r1 = min(r0 + core_h, hp)
        for c0 in range(0, wp, core_w):
            c1 = min(c0 + core_w, wp)
            blocks.append(Block((max(r0 - halo, -margin), min(r1 + halo, hp + margin)),
                                (max(c0 - halo, -margin), min(c1 + halo, wp + margin)), (r0, r1), (c0, c1)))
    return blocks


def cut(image: np.ndarray, block: Block, mode: str) -> np.ndarray:
    """The block's input: its part of the image, padded past the image's edges."""
    rows = source_index(*block.rows, image.shape[0], mode)
    cols = source_index(*block.cols, image.shape[1], mode)
    return image[np.ix_(rows, cols)]


def place(result: np.ndarray, block: Block, output: np.ndarray) -> None:
    """Copy the block's core from its `output` into `result` (the unpadded image), cropping the padding."""
    (r0, r1), (c0, c1) = block.core_rows, block.core_cols
    r1, c1 = min(r1, result.shape[0]), min(c1, result.shape[1])
    if r0 < r1 and c0 < c1:
        top, left = r0 - block.rows[0], c0 - block.cols[0]
        result[r0:r1, c0:c1] = output[top : top + r1 - r0, left : left + c1 - c0]
