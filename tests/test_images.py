import io

import numpy as np
import pytest
from PIL import Image

from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.images import LIGHT_ON_DARK, MAX_PIXELS, Invert, read_image, write_image

DIGIT = np.zeros((28, 28), np.uint8)
DIGIT[6:22, 12:16] = 255  # a white "1" on black


def save(tmp_path, image: Image.Image, name: str = "x.png", **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGB", "RGBA"])
def test_modes_read_as_the_same_digit(tmp_path, mode):
    image = Image.fromarray(DIGIT, "L").convert(mode)
    loaded = read_image(save(tmp_path, image))
    assert loaded.pixels.shape == (28, 28) and loaded.pixels.dtype == np.float32
    assert np.allclose(loaded.pixels, DIGIT / 255.0, atol=1 / 255) and not loaded.inverted


def test_transparency_lies_on_white_paper(tmp_path):
    ink = np.zeros((28, 28, 4), np.uint8)
    ink[..., 3] = DIGIT  # black ink where the digit is, transparent elsewhere
    loaded = read_image(save(tmp_path, Image.fromarray(ink, "RGBA")), Invert.auto, LIGHT_ON_DARK)  # for an MNIST model
    assert loaded.inverted and np.allclose(loaded.pixels, DIGIT / 255.0, atol=1 / 255)


def test_16_bit_is_scaled_not_clipped(tmp_path):
    values = (DIGIT.astype(np.uint16) * 257 // 2)  # half brightness in 16 bits
    image = Image.fromarray(values.astype(np.uint16))
    path = save(tmp_path, image)
    assert Image.open(path).mode.startswith("I")
    loaded = read_image(path, Invert.no)
    assert loaded.pixels.max() == pytest.approx(0.5, abs=1e-3)


def test_dark_on_light_is_inverted_back(tmp_path):
    path = save(tmp_path, Image.fromarray(255 - DIGIT, "L"), "ink.jpg", quality=100)
    loaded = read_image(path, Invert.auto, LIGHT_ON_DARK)
    assert loaded.inverted and np.abs(loaded.pixels - DIGIT / 255.0).max() < 0.1
    assert not read_image(path).inverted  # a model of unknown polarity gets the image as it is
    assert not read_image(path, Invert.no).inverted
    assert read_image(save(tmp_path, Image.fromarray(DIGIT, "L")), Invert.yes).inverted
    out = tmp_path / "out.png"
    write_image(out, loaded.pixels, loaded.inverted)
    assert np.abs(np.asarray(Image.open(out)).astype(int) - (255 - DIGIT)).max() < 26


def test_exif_orientation_is_applied(tmp_path):
    wide = np.zeros((20, 40), np.uint8)
    wide[:, :5] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    path = save(tmp_path, Image.fromarray(wide, "L"), "r.jpg", exif=exif, quality=100)
    loaded = read_image(path, Invert.no)
    assert loaded.pixels.shape == (40, 20)
    assert loaded.pixels[:5].mean() > 0.9  # the bright left edge is now on top


@pytest.mark.parametrize("content, message", [
    (b"", "not an image"),
    (b"hello, this is text\n", "not an image"),
])
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(DaeEdgeError, match=message):
        read_image(path)


def test_truncated_png(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[:300])
    with pytest.raises(DaeEdgeError, match="truncated or corrupt"):
        read_image(path)


def test_pixel_limit(tmp_path):
    side = int(MAX_PIXELS**0.5) + 1
    path = save(tmp_path, Image.new("1", (side, side)), "big.png")
    with pytest.raises(DaeEdgeError, match="above the limit"):
        read_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(DaeEdgeError, match="no such file"):
        read_image(tmp_path / "absent.png")
