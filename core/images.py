"""Reading any image Pillow can open into the model's polarity, and writing results back."""
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.polarity import ANY_POLARITY, DARK_ON_LIGHT, LIGHT_ON_DARK, POLARITIES, Invert  # noqa: F401

MAX_PIXELS = 16_000_000  # 16 MP: far above any digit scan, well below Pillow's 89 MP bomb limit
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm"}


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # float32 (H, W), or (H, W, 3) where read as RGB, in [0, 1], in the model's polarity
    inverted: bool  # whether the file was dark on light (and the result must be inverted back)
    frames: int = 1  # frames or pages in the file; only the first is read
    colour: bool = False  # whether the file had colour (pixels are (H, W) or (H, W, 3) as asked, whatever it had)


SOFTWARE = "dae-edge"  # the PNG text tag that marks a file this tool wrote (and may overwrite)
OUTPUT_TAG = ".denoised"
COMPARE_TAG = ".compare"


def is_our_output(path: Path) -> bool:
    """`NAME.denoised.png` or `NAME.compare.png`: what run writes, never read back as an input."""
    return path.name.lower().endswith((f"{OUTPUT_TAG}.png", f"{COMPARE_TAG}.png"))


def _flatten(image: Image.Image) -> tuple[Image.Image | None, np.ndarray | None]:
    """Deep (16- and 32-bit, float) images as one float32 channel in [0, 1]; others as an 8-bit L or RGB image,
    palettes expanded and transparency laid on white paper."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return None, np.asarray(image, dtype=np.float32) / 65535.0
    if image.mode in ("I", "F"):
        return None, scaled(np.asarray(image, dtype=np.float64), image.mode)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("LA", "RGBA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        low, high = rgba.getchannel("A").getextrema()
        if low == high:  # uniform transparency says nothing about the picture: ignore it
            image = rgba.convert("RGB")
        else:  # transparent parts are the paper the picture lies on
            image = Image.alpha_composite(Image.new("RGBA", image.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return (image if image.mode in ("L", "RGB") else image.convert("RGB")), None


def scaled(values: np.ndarray, mode: str) -> np.ndarray:
    """32-bit integer or float pixels in [0, 1], by the range they are in: [0, 1] as they are (floats), else
    8-bit (up to 255) or 16-bit (up to 65,535) values; NaN, infinity, negative or larger values are refused."""
    if not np.isfinite(values).all():
        raise DaeEdgeError("has NaN or infinite pixel values; only finite values can be denoised")
    low, high = float(values.min()), float(values.max())
    ranges = ([1.0] if mode == "F" else []) + [255.0, 65535.0]
    top = next((r for r in ranges if low >= 0 and high <= r), None)
    if top is None:
        raise DaeEdgeError(f"has {mode} pixel values from {low:g} to {high:g}, outside 0–1, 0–255 and 0–65,535; "
                           "save it scaled to one of those ranges")
    return (values / top).astype(np.float32)


def _to_gray(image: Image.Image) -> np.ndarray:
    """Grayscale float32 in [0, 1]; 16- and 32-bit images are scaled, transparency laid on white paper."""
    flat, deep = _flatten(image)
    if deep is not None:
        return deep
    gray = np.asarray(flat if flat.mode == "L" else flat.convert("L"), dtype=np.float32)
    gray /= 255.0
    return gray


def _to_rgb(image: Image.Image) -> np.ndarray:
    """RGB float32 (H, W, 3) in [0, 1]; a grey image has three equal channels."""
    flat, deep = _flatten(image)
    if deep is not None:
        return np.repeat(deep[..., None], 3, axis=2)
    rgb = np.asarray(flat.convert("RGB") if flat.mode != "RGB" else flat, dtype=np.float32)
    rgb /= 255.0
    return rgb


def is_colour(image: Image.Image) -> bool:
    """Whether a file's pixels have colour: RGB-like modes and palettes (a grey image saved as RGB counts as colour)."""
    return image.mode not in ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def read_image(path: Path, invert: Invert = Invert.auto, polarity: str = ANY_POLARITY, channels: int | None = 1,
               limit: int = MAX_PIXELS) -> LoadedImage:
    """Load an image file as a model of `polarity` expects it, in [0, 1], inverted where `invert` says: one channel,
    or with `channels` 3 RGB, or with None as the file has it (RGB where it has colour, else grey)."""
    if not path.is_file():  # a pipe would block forever, a link loop raise; a folder or nothing is named as such
        what = "is a folder, not an image" if path.is_dir() else "no such file" if not os.path.lexists(path) else \
            "not a regular file (a pipe, a device or a link that leads nowhere)"
        raise DaeEdgeError(f"{path}: {what}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > limit:
                    raise DaeEdgeError(f"{image.width}×{image.height} is above the limit of {limit:,} pixels")
                frames = getattr(image, "n_frames", 1)
                colour = is_colour(image)
                rgb = channels == 3 or channels is None and colour
                gray = (_to_rgb if rgb else _to_gray)(ImageOps.exif_transpose(image))
    except FileNotFoundError:
        raise DaeEdgeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DaeEdgeError(f"{path}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise DaeEdgeError(f"{path}: not an image that Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DaeEdgeError(f"{path}: above the limit of {limit:,} pixels") from None
    except DaeEdgeError as exc:
        raise DaeEdgeError(f"{path}: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise DaeEdgeError(f"{path}: truncated or corrupt image ({exc})") from None
    inverted = invert == Invert.yes or (invert == Invert.auto and needs_inversion(gray, polarity))
    if inverted:
        np.subtract(1.0, gray, out=gray)
    return LoadedImage(gray, inverted, frames, colour)


def is_dark_on_light(gray: np.ndarray) -> bool:
    """Ink on paper: the background, most of the pixels, is light."""
    return float(np.median(gray)) > 0.5


def needs_inversion(gray: np.ndarray, polarity: str) -> bool:
    """Whether an image's background is the opposite of the one the model was trained on."""
    if polarity == ANY_POLARITY:
        return False
    return is_dark_on_light(gray) != (polarity == DARK_ON_LIGHT)


PIXELS_AT_ONCE = 1 << 20  # converted per step: a 16 MP result needs no full-size temporaries


def to_uint8(pixels: np.ndarray, inverted: bool = False) -> np.ndarray:
    """[0, 1] floats → 8-bit, rounded, a million pixels at a time."""
    flat = np.asarray(pixels).reshape(-1)  # a view where the image is contiguous, as large results are
    out = np.empty(flat.shape, np.uint8)
    for start in range(0, len(flat), PIXELS_AT_ONCE):
        values = np.clip(flat[start : start + PIXELS_AT_ONCE], 0, 1)
        if inverted:
            np.subtract(1, values, out=values)
        values *= 255
        out[start : start + PIXELS_AT_ONCE] = np.round(values, out=values)
    return out.reshape(np.shape(pixels))


def written_by_us(path: Path) -> bool:
    """Whether `path` is a PNG that this tool wrote (its text tag says so)."""
    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.text.get("Software") == SOFTWARE
    except (OSError, SyntaxError, ValueError):
        return False


def write_image(path: Path, pixels: np.ndarray, inverted: bool = False, overwrite: bool = False,
                tags: dict[str, str] | None = None) -> None:
    """Write an 8-bit grey (H, W) or RGB (H, W, 3) PNG in the input's polarity, tagged as ours: to a temporary name unique to
    this process, then renamed in place, so concurrent writers leave one whole file. A file that this
    tool did not write is replaced only with `overwrite`. `tags` become PNG text chunks beside the Software tag."""
    if path.exists() and not overwrite and not written_by_us(path):
        raise DaeEdgeError(f"{path}: exists and was not written by dae-edge; pass --overwrite to replace it")
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")  # unique per process and call
    try:
        with open(tmp, "xb") as f:
            info = PngInfo()
            info.add_text("Software", SOFTWARE)
            for key, value in (tags or {}).items():
                info.add_text(key, value)
            eight = to_uint8(pixels, inverted)
            rgb = eight.ndim == 3 and eight.shape[2] == 3
            Image.fromarray(eight if rgb else eight.reshape(eight.shape[:2]), mode="RGB" if rgb else "L").save(
                f, format="PNG", pnginfo=info)
        os.replace(tmp, path)
    except (OSError, ValueError) as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # a read-only or vanished folder: nothing was left there anyway
            pass
        raise DaeEdgeError(f"{path}: cannot write ({getattr(exc, 'strerror', None) or exc})") from None


def side_by_side(*images: np.ndarray, gap: int = 2) -> np.ndarray:
    """Images next to each other, separated by a mid-grey gap; RGB where any of them is."""
    height = max(image.shape[0] for image in images)
    channels = max(image.shape[2] if image.ndim == 3 else 1 for image in images)
    parts = []
    for image in images:
        image = image.reshape(*image.shape[:2], -1)
        image = np.repeat(image, channels // image.shape[2], axis=2)
        parts += [np.pad(image, ((0, height - image.shape[0]), (0, 0), (0, 0))), np.full((height, gap, channels), 0.5, np.float32)]
    joined = np.concatenate(parts[:-1], axis=1)
    return joined if channels == 3 else joined[..., 0]
