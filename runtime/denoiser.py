"""The library entry point: `Denoiser.load(path).denoise(images)`."""
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np

from dae_edge.runtime import blocks, tiling
from dae_edge.runtime.backends import Backend, default_threads, open_backend
from dae_edge.core.errors import DaeEdgeError
from dae_edge.runtime.formats import FORMATS, preferred
from dae_edge.runtime.shipped import DEFAULT_MODEL, SHIPPED
from dae_edge.runtime.manifest import MANIFEST, artifact_entry, check_checksum, published_version, read_manifest
from dae_edge.core.images import ANY_POLARITY, LIGHT_ON_DARK

# Pixels per model call (images stacked, or one block with its halo). Measured here on the paper's
# model: the runtimes need about 1 KB per pixel, and run fastest per pixel on calls of 16k–128k
# pixels; 2^16 keeps two workers near 130 MB, and a 4000×4000 image's halos at about 1.4× its pixels.
CALL_PIXELS = 1 << 16
REFERENCE_ACTIVATION = 32  # floats per input pixel in the paper model's largest activation, the model CALL_PIXELS fits
PAD_MODE = "edge"  # measured against reflect on odd-sized crops of digit grids: see the README
MARGIN_PAD_MODE = "reflect"  # a model with a context margin sees mirrored pixels past every edge (export's MARGINS)
UNKNOWN_RADIUS = 64  # a bare model (no manifest, no metadata): a generous halo for its receptive field


HALO_OVERHEAD = 2.0  # the most work per output pixel that halos may cost in a large image's blocks, where memory allows
MAX_CALL_PIXELS = 1 << 19  # calls grow for halos up to this: about 200 MB a worker at the photo model's 390 B a pixel


def call_budget(largest_activation: float | None, radius: int = 0, multiple: int = 1) -> int:
    """Pixels per model call: CALL_PIXELS, times the largest power of two by which a model's largest activation per
    input pixel (its manifest's input.largest_activation) is smaller than the paper model's, so that calls stay near
    the same memory (measured: the photo model, 8 floats, takes 155–233 B per pixel, the paper's 0.8–1 KB). A model
    that states its activations gets calls doubled, up to MAX_CALL_PIXELS, until the halos of its receptive field
    (`radius`) cost at most HALO_OVERHEAD times the work: the full-resolution photo model, 16 floats and a 65-pixel
    radius, had 2^17-pixel blocks computing 2.8 times their core (1.3–1.55× the time of 2^18-pixel ones, measured
    with tools/call_sizes.py)."""
    ratio = REFERENCE_ACTIVATION / largest_activation if largest_activation else 1
    budget = CALL_PIXELS << max(int(ratio).bit_length() - 1, 0)
    while (largest_activation and budget < MAX_CALL_PIXELS
           and blocks.square_overhead(budget, radius, multiple) > HALO_OVERHEAD):
        budget *= 2
    return budget


Progress = Callable[[int, int], None]  # (blocks done, blocks in all) of one large image


def shipped_models() -> Path:
    """The folder of models that ship with the package."""
    return Path(str(files("dae_edge.models")))




def shipped_folder(name: str | None = None) -> Path:
    """The folder of a shipped model by name (default: DEFAULT_MODEL)."""
    name = name or DEFAULT_MODEL
    if name not in SHIPPED:
        raise DaeEdgeError(f"--model-name {name!r}: expected one of {', '.join(SHIPPED)}")
    return shipped_models() / SHIPPED[name]


def default_model(backend: str | None = None, folder: Path | None = None) -> Path:
    """In `folder` (default: the shipped default model's), the best artifact it has: of the format asked for, else
    of each installed format in order of preference (LiteRT before onnxruntime), its precisions in the order its
    row gives (int8 TFLite, then fp32; fp32 ONNX, then int8)."""
    folder = folder or shipped_folder()
    installed = [f for f in sorted(FORMATS, key=lambda f: f.preference) if f.installed()]
    formats = [preferred(backend)] if backend else installed or [preferred()]  # none: the base install's, to say so
    candidates = [folder / fmt.artifact(precision) for fmt in formats for precision in fmt.precisions]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        names = ", ".join(p.name for p in candidates) or "a model for an installed runtime"
        raise DaeEdgeError(f"{folder}: no model to run here (looked for {names}); pass --model PATH (see dae-edge export)")
    return found


LARGE_MODES = ("whole", "tiles")


@dataclass(frozen=True)
class Geometry:
    """How a model takes images: in overlapping tiles of a fixed size, or whole (any size that divides by `multiple`)."""

    tile: int | None  # the size tiles are cut to: a fixed-size model's input, or an any-size model's training patch
    multiple: int = 1
    radius: int = 0  # receptive field radius in input pixels: the halo that blocks carry
    large: str = "whole"  # images larger than a tile: "whole" (any-size models only) or "tiles"
    activation: float | None = None  # floats per input pixel of the largest activation, where stated (call_budget)
    margin: int = 0  # rows and columns of mirrored context added on every side of an image run whole (not tiles)

    @property
    def pad_mode(self) -> str:
        return MARGIN_PAD_MODE if self.margin else PAD_MODE

    @property
    def call_pixels(self) -> int:
        return call_budget(self.activation, self.radius, self.multiple)


def probe_shape(run, multiple: int, channels: int) -> tuple:
    """The shape a model maps a (1, 2·multiple, 3·multiple, channels) image of zeros to."""
    return tuple(run(np.zeros((1, 2 * multiple, 3 * multiple, channels), np.float32)).shape)


def check_image_to_image(run, multiple: int, channels: int) -> None:
    """A denoiser's output has its input's shape; anything else is refused in one line."""
    shape = (1, 2 * multiple, 3 * multiple, channels)
    try:
        out_shape = probe_shape(run, multiple, channels)
    except DaeEdgeError:
        raise
    except Exception as exc:  # a size the model cannot take
        raise DaeEdgeError(f"the model cannot run a {shape[1]}×{shape[2]} image ({str(exc).splitlines()[0][:200]})") from None
    if out_shape != shape:
        raise DaeEdgeError(f"the model maps {shape} to {out_shape}; "
                           "dae-edge runs image-to-image denoisers whose output has the input's shape")


def probe_multiple(run, channels: int) -> int:
    """The smallest downsampling factor for which the model maps an image to its own shape."""
    for multiple in (1, 2, 4, 8, 16, 32):
        try:
            check_image_to_image(run, multiple, channels)
            return multiple
        except DaeEdgeError:  # a size the model cannot take: try the next
            continue
    raise DaeEdgeError("the model does not map any probe image to its own shape; dae-edge runs image-to-image denoisers")


def geometry(backend: Backend, manifest: dict | None, large: str | None = None) -> Geometry:
    """How to feed this model: from its manifest, its metadata, or probing it. `large` overrides the manifest's choice."""
    h, w, channels = backend.input_shape
    if h is not None or w is not None:
        if h != w:
            raise DaeEdgeError(f"fixed input {h}×{w}: dae-edge tiles with square fixed-size models only")
        if large == "whole":
            raise DaeEdgeError(f"the model takes {h}×{w} images only: it cannot run whole images (use tiles)")
        return Geometry(tile=h, large="tiles")
    stated = (manifest or {}).get("input", {}) or {}
    meta = getattr(backend, "metadata", {})
    multiple = int(stated.get("multiple_of") or meta.get("multiple_of") or probe_multiple(backend.run, channels))
    radius = int(stated.get("receptive_radius") or meta.get("receptive_radius") or UNKNOWN_RADIUS)
    check_image_to_image(backend.run, multiple, channels)
    tile = stated.get("patch")
    large = large or stated.get("large_images") or "whole"
    if large == "tiles" and not tile:
        raise DaeEdgeError("this model's manifest names no patch size to tile with; run whole images")
    margin = int(stated.get("margin") or meta.get("margin") or 0)
    if margin % multiple:
        raise DaeEdgeError(f"the model's margin {margin} is not a multiple of its downsampling {multiple}: export it again")
    return Geometry(tile=tile, multiple=multiple, radius=radius, large=large, margin=margin,
                    activation=_number(stated.get("largest_activation") or meta.get("largest_activation")))


def _number(value) -> float | None:
    """A positive number from a manifest or a model's metadata (text there); None for anything else."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


class _Counter:
    """Counts finished calls across worker threads and reports them; step() with `lock` held."""

    def __init__(self, total: int, report: Progress | None) -> None:
        self.total, self.report, self.done, self.lock = total, report, 0, threading.Lock()

    def step(self) -> None:
        self.done += 1
        if self.report is not None and self.total > 1:
            self.report(self.done, self.total)


@dataclass
class Denoiser:
    """A model and how to feed it. Safe to call from several threads at once: each calling thread (and each of its
    own worker threads) runs a backend of its own, opened on first use."""

    backend: Backend
    path: Path
    info: dict | None  # the model's manifest entry, where a manifest lies beside it
    geometry: Geometry
    threads: int = 1
    notes: list[str] = field(default_factory=list)  # warnings for the user, such as an unchecked model
    polarity: str = ANY_POLARITY  # the background the model was trained on (manifest input.polarity); unknown: any
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _owner: int = field(default_factory=threading.get_ident, repr=False)  # the thread `backend` was opened for

    @classmethod
    def load(cls, path: Path | str | None = None, threads: int | None = None, large: str | None = None) -> "Denoiser":
        """Open a .onnx or .tflite model (or a folder's best one), checking it against the manifest beside it.

        In a folder that dae-edge export wrote, its published version is looked up once, and the manifest and the
        model are both read from that version: an export running meanwhile cannot mix two sets."""
        path = Path(path) if path is not None else default_model()
        if path.is_dir():
            if read_manifest(path) is None:
                raise DaeEdgeError(f"{path}: a folder without {MANIFEST}; name a .onnx or .tflite model instead")
            path = default_model(folder=path)
        path = published_version(path.parent) / path.name if path.is_file() else path
        manifest = read_manifest(path.parent) if path.is_file() else None
        entry = artifact_entry(manifest, path.name)
        notes = []
        if entry is not None:
            check_checksum(path, entry)
        elif path.is_file():
            notes.append(f"{path}: unchecked model (no {MANIFEST} beside it lists it): its checksum and golden "
                         "outputs cannot be verified, and its polarity is unknown (--invert yes|no to choose)")
        backend = open_backend(path)
        # Manifests before format 3 were all MNIST's and said "light on dark"; a bare model's contract is unknown.
        polarity = ((manifest or {}).get("input") or {}).get("polarity", LIGHT_ON_DARK) if entry else ANY_POLARITY
        return cls(backend, path, entry, geometry(backend, manifest if entry else None, large),
                   threads or default_threads(), notes, polarity)

    @classmethod
    def shipped(cls, name: str | None = None, threads: int | None = None) -> "Denoiser":
        """A model that ships with the package, by name (see SHIPPED; default: DEFAULT_MODEL), its best artifact
        for the runtimes installed."""
        return cls.load(default_model(folder=shipped_folder(name)), threads)

    @property
    def channels(self) -> int:
        """What the model takes: 1 (grey) or 3 (RGB)."""
        return int(self.backend.input_shape[2] or 1)

    # -- running calls on worker threads, each with a single-threaded backend of its own
    def _thread_backend(self) -> Backend:
        if threading.get_ident() == self._owner:
            return self.backend
        backend = getattr(self._local, "backend", None)
        if backend is None:
            backend = self._local.backend = open_backend(self.path)
        return backend

    def _map(self, work: Callable, items: list) -> list:
        if self.threads < 2 or len(items) < 2:
            backend = self._thread_backend()
            return [work(backend, item) for item in items]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="dae-edge")
        return list(self._pool.map(lambda item: work(self._thread_backend(), item), items))

    def _call(self, backend: Backend, batch: np.ndarray) -> np.ndarray:
        """One model call on (N, H, W, C) float32; splits batches a fixed-batch model cannot take at once."""
        size = backend.max_batch or len(batch)
        return np.concatenate([backend.run(batch[i : i + size]) for i in range(0, len(batch), size)])

    # -- fixed-size models: overlapping tiles
    def _tiled(self, images: list[np.ndarray], progress: Progress | None) -> list[np.ndarray]:
        tile = self.geometry.tile
        blends = [tiling.Blend(image.shape, tile) for image in images]
        jobs = [(i, y, x) for i, image in enumerate(images) for y, x in tiling.offsets(image.shape, tile)]
        per_call = max(self.geometry.call_pixels // (tile * tile), 1)
        chunks = [jobs[k : k + per_call] for k in range(0, len(jobs), per_call)]
        counter = _Counter(len(chunks), progress)

        def work(backend: Backend, chunk: list[tuple[int, int, int]]) -> None:
            outputs = self._call(backend, np.stack([tiling.cut(images[i], y, x, tile) for i, y, x in chunk]))
            with counter.lock:  # tiles of one image overlap: blend them one call at a time
                for (i, y, x), output in zip(chunk, outputs):
                    blends[i].add(output, y, x)
                counter.step()

        self._map(work, chunks)
        return [blend.result() for blend in blends]

    # -- any-size models: whole images, stacked where they share a size, in blocks where large
    def _large(self, image: np.ndarray, progress: Progress | None) -> np.ndarray:
        g = self.geometry
        plan = blocks.plan(*image.shape[:2], g.multiple, g.radius, g.call_pixels, g.margin)
        result = np.empty(image.shape, np.float32)
        counter = _Counter(len(plan), progress)

        def work(backend: Backend, block: blocks.Block) -> None:
            blocks.place(result, block, self._call(backend, blocks.cut(image, block, g.pad_mode)[None])[0])
            with counter.lock:
                counter.step()

        self._map(work, plan)
        return result

    def _whole(self, images: list[np.ndarray], progress: Progress | None) -> list[np.ndarray]:
        g, m = self.geometry, self.geometry.margin
        results: list[np.ndarray | None] = [None] * len(images)
        by_shape: dict[tuple[int, int], list[int]] = {}
        for i, image in enumerate(images):
            padded = (blocks.round_up(image.shape[0], g.multiple), blocks.round_up(image.shape[1], g.multiple))
            if (padded[0] + 2 * m) * (padded[1] + 2 * m) > g.call_pixels:
                results[i] = self._large(image, progress)
            else:
                by_shape.setdefault(padded, []).append(i)
        chunks = []
        for (hp, wp), members in by_shape.items():
            whole = blocks.Block((-m, hp + m), (-m, wp + m), (0, hp), (0, wp))  # one block: the padded image
            per_call = max(g.call_pixels // ((hp + 2 * m) * (wp + 2 * m)), 1)
            chunks += [(whole, members[k : k + per_call]) for k in range(0, len(members), per_call)]

        def work(backend: Backend, chunk: tuple[blocks.Block, list[int]]) -> None:
            block, members = chunk
            outputs = self._call(backend, np.stack([blocks.cut(images[i], block, g.pad_mode) for i in members]))
            for i, output in zip(members, outputs):
                results[i] = output[m : m + images[i].shape[0], m : m + images[i].shape[1]]

        self._map(work, chunks)
        return results

    def denoise_list(self, images: list[np.ndarray], progress: Progress | None = None) -> list[np.ndarray]:
        """Denoise float32 images in [0, 1] of any sizes, grey (H, W) or (H, W, 1), or RGB (H, W, 3); each result
        has its input's shape. A grey model denoises an RGB image channel by channel; an RGB model takes a grey
        image as three equal channels and gives back their mean (it was trained on such images).

        Tiling keeps an image of exactly one tile whole: it is the same single call either way.
        """
        images = [check_pixels(image) for image in images]
        if not images:
            return []
        planes = [plane for image in images for plane in as_model_input(image, self.channels)]
        run = self._tiled if self.geometry.large == "tiles" else self._whole
        results = run(planes, progress)
        if not all(np.isfinite(r).all() for r in results):
            raise DaeEdgeError(f"{self.path.name} gave NaN or infinite values: the model is broken; verify it, or export it again")
        outputs = iter(results)
        return [from_model_output([next(outputs) for _ in range(3 if self.channels == 1 and colour(image) else 1)], image)
                for image in images]

    def denoise(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, H, W), (N, H, W, 1) or (N, H, W, 3) in [0, 1] → denoised, same shape."""
        images = np.asarray(images)
        if images.ndim not in (3, 4) or images.ndim == 4 and images.shape[-1] not in (1, 3):
            raise DaeEdgeError(f"expected images of shape (N, H, W), (N, H, W, 1) or (N, H, W, 3), got {images.shape}")
        if len(images) == 0:
            return np.asarray(images, np.float32).copy()
        return np.stack(self.denoise_list(list(images)))


def colour(image: np.ndarray) -> bool:
    return image.ndim == 3 and image.shape[2] == 3


def as_model_input(image: np.ndarray, channels: int) -> list[np.ndarray]:
    """What the model is run on for one image: (H, W, channels) planes; three for an RGB image and a grey model."""
    if channels == 1:
        return [image[..., c : c + 1] for c in range(3)] if colour(image) else [image.reshape(*image.shape[:2], 1)]
    return [image if colour(image) else np.repeat(image.reshape(*image.shape[:2], 1), 3, axis=2)]


def from_model_output(outputs: list[np.ndarray], image: np.ndarray) -> np.ndarray:
    """The model's outputs for one image, back in the image's shape."""
    if len(outputs) == 3:  # an RGB image through a grey model, channel by channel
        return np.concatenate(outputs, axis=2)
    (output,) = outputs
    if output.shape[2] == 3 and not colour(image):  # a grey image through an RGB model: the channels' mean
        output = output.mean(axis=2, keepdims=True, dtype=np.float32)
    return output.reshape(image.shape)


def check_pixels(image: np.ndarray) -> np.ndarray:
    """A grey (H, W), (H, W, 1) or RGB (H, W, 3) float image with finite values in [0, 1], as float32; anything else
    is refused with its reason."""
    image = np.asarray(image)
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 1 or image.ndim == 3 and image.shape[2] not in (1, 3):
        raise DaeEdgeError(f"expected a 2-D grey or RGB image, (H, W), (H, W, 1) or (H, W, 3), got shape {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise DaeEdgeError(f"expected float pixels in [0, 1], got {image.dtype} (divide 8-bit images by 255)")
    low, high = float(np.min(image)), float(np.max(image))
    if not (0.0 <= low and high <= 1.0):  # NaN fails both comparisons
        raise DaeEdgeError(f"pixel values must be finite and lie in [0, 1], got {low:g} to {high:g}")
    return image.astype(np.float32, copy=False)
