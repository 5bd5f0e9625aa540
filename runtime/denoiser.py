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
from dae_edge.runtime.errors import DaeEdgeError
from dae_edge.runtime.formats import BY_NAME, preferred
from dae_edge.runtime.manifest import MANIFEST, artifact_entry, check_checksum, read_manifest
from dae_edge.runtime.images import ANY_POLARITY, LIGHT_ON_DARK

# Pixels per model call (images stacked, or one block with its halo). Measured here on the paper's
# model: the runtimes need about 1 KB per pixel, and run fastest per pixel on calls of 16k–128k
# pixels; 2^16 keeps two workers near 130 MB, and a 4000×4000 image's halos at about 1.4× its pixels.
CALL_PIXELS = 1 << 16
PAD_MODE = "edge"  # measured against reflect on odd-sized crops of digit grids: see the README
UNKNOWN_RADIUS = 64  # a bare model (no manifest, no metadata): a generous halo for its receptive field

Progress = Callable[[int, int], None]  # (blocks done, blocks in all) of one large image


def shipped_models() -> Path:
    """The folder of models that ship with the package."""
    return Path(str(files("dae_edge.models")))


SHIPPED = {"paper": "", "unet": "unet", "blind": "blind", "pictures": "pictures"}  # model names → folders under shipped_models()
# unet: 21.14 dB against the paper's 20.40 on the 10,000 test digits, and at batch 1 on this 2-core
# machine (default threads) 1.45× the paper's latency with int8 TFLite, 1.81× with fp32 ONNX (bench).
DEFAULT_MODEL = "unet"


def shipped_folder(name: str | None = None) -> Path:
    """The folder of a shipped model by name (default: DEFAULT_MODEL)."""
    name = name or DEFAULT_MODEL
    if name not in SHIPPED:
        raise DaeEdgeError(f"--model-name {name!r}: expected one of {', '.join(SHIPPED)}")
    return shipped_models() / SHIPPED[name]


def litert_installed() -> bool:
    return BY_NAME["tflite"].installed()


def default_model(backend: str | None = None, folder: Path | None = None) -> Path:
    """In `folder` (default: the shipped models), the default artifact of the format asked for, else of the most
    preferred format whose runtime is installed (int8 TFLite where LiteRT is, else fp32 ONNX)."""
    fmt = preferred(backend)
    path = (folder or shipped_folder()) / fmt.artifact(fmt.default_precision)
    if not path.is_file():
        raise DaeEdgeError(f"no model at {path}; pass --model PATH (see dae-edge export)")
    return path


LARGE_MODES = ("whole", "tiles")


@dataclass(frozen=True)
class Geometry:
    """How a model takes images: in overlapping tiles of a fixed size, or whole (any size that divides by `multiple`)."""

    tile: int | None  # the size tiles are cut to: a fixed-size model's input, or an any-size model's training patch
    multiple: int = 1
    radius: int = 0  # receptive field radius in input pixels: the halo that blocks carry
    large: str = "whole"  # images larger than a tile: "whole" (any-size models only) or "tiles"


def _probe_multiple(backend: Backend) -> int:
    """The smallest downsampling factor for which the model maps an image to its own shape."""
    for multiple in (1, 2, 4, 8, 16, 32):
        probe = np.zeros((1, 3 * multiple, 5 * multiple, 1), np.float32)
        try:
            if backend.run(probe).shape == probe.shape:
                return multiple
        except Exception:  # a size the model cannot take: try the next
            continue
    raise DaeEdgeError("the model does not map any probe image to its own shape; dae-edge runs image-to-image denoisers")


def geometry(backend: Backend, manifest: dict | None, large: str | None = None) -> Geometry:
    """How to feed this model: from its manifest, its metadata, or probing it. `large` overrides the manifest's choice."""
    h, w, _ = backend.input_shape
    if h is not None or w is not None:
        if h != w:
            raise DaeEdgeError(f"fixed input {h}×{w}: dae-edge tiles with square fixed-size models only")
        if large == "whole":
            raise DaeEdgeError(f"the model takes {h}×{w} images only: it cannot run whole images (use tiles)")
        return Geometry(tile=h, large="tiles")
    stated = (manifest or {}).get("input", {}) or {}
    meta = getattr(backend, "metadata", {})
    multiple = int(stated.get("multiple_of") or meta.get("multiple_of") or _probe_multiple(backend))
    radius = int(stated.get("receptive_radius") or meta.get("receptive_radius") or UNKNOWN_RADIUS)
    probe = np.zeros((1, 2 * multiple, 3 * multiple, 1), np.float32)
    out_shape = backend.run(probe).shape
    if out_shape != probe.shape:
        raise DaeEdgeError(f"the model maps {probe.shape} to {out_shape}; "
                           "dae-edge runs image-to-image denoisers whose output has the input's shape")
    tile = stated.get("patch")
    large = large or stated.get("large_images") or "whole"
    if large == "tiles" and not tile:
        raise DaeEdgeError("this model's manifest names no patch size to tile with; run whole images")
    return Geometry(tile=tile, multiple=multiple, radius=radius, large=large)


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
    backend: Backend
    path: Path
    info: dict | None  # the model's manifest entry, where a manifest lies beside it
    geometry: Geometry
    threads: int = 1
    notes: list[str] = field(default_factory=list)  # warnings for the user, such as an unchecked model
    polarity: str = ANY_POLARITY  # the background the model was trained on (manifest input.polarity); unknown: any
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: Path | str | None = None, threads: int | None = None, large: str | None = None) -> "Denoiser":
        """Open a .onnx or .tflite model (or a folder's default one), checking it against the manifest beside it."""
        path = Path(path) if path is not None else default_model()
        if path.is_dir():
            if read_manifest(path) is None:
                raise DaeEdgeError(f"{path}: a folder without {MANIFEST}; name a .onnx or .tflite model instead")
            path = default_model(folder=path)
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

    # -- running calls on worker threads, each with a single-threaded backend of its own
    def _worker_backend(self) -> Backend:
        if threading.current_thread() is threading.main_thread():
            return self.backend
        backend = getattr(self._local, "backend", None)
        if backend is None:
            backend = self._local.backend = open_backend(self.path)
        return backend

    def _map(self, work: Callable, items: list) -> list:
        if self.threads < 2 or len(items) < 2:
            return [work(self.backend, item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="dae-edge")
        return list(self._pool.map(lambda item: work(self._worker_backend(), item), items))

    def _call(self, backend: Backend, batch: np.ndarray) -> np.ndarray:
        """One model call on (N, H, W) float32; splits batches a fixed-batch model cannot take at once."""
        size = backend.max_batch or len(batch)
        outputs = [backend.run(batch[i : i + size, ..., None])[..., 0] for i in range(0, len(batch), size)]
        return np.concatenate(outputs)

    # -- fixed-size models: overlapping tiles
    def _tiled(self, images: list[np.ndarray], progress: Progress | None) -> list[np.ndarray]:
        tile = self.geometry.tile
        blends = [tiling.Blend(image.shape, tile) for image in images]
        jobs = [(i, y, x) for i, image in enumerate(images) for y, x in tiling.offsets(image.shape, tile)]
        per_call = max(CALL_PIXELS // (tile * tile), 1)
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
        plan = blocks.plan(*image.shape, g.multiple, g.radius, CALL_PIXELS)
        result = np.empty(image.shape, np.float32)
        counter = _Counter(len(plan), progress)

        def work(backend: Backend, block: blocks.Block) -> None:
            blocks.place(result, block, self._call(backend, blocks.cut(image, block, PAD_MODE)[None])[0])
            with counter.lock:
                counter.step()

        self._map(work, plan)
        return result

    def _whole(self, images: list[np.ndarray], progress: Progress | None) -> list[np.ndarray]:
        g = self.geometry
        results: list[np.ndarray | None] = [None] * len(images)
        by_shape: dict[tuple[int, int], list[int]] = {}
        for i, image in enumerate(images):
            padded = (blocks.round_up(image.shape[0], g.multiple), blocks.round_up(image.shape[1], g.multiple))
            if padded[0] * padded[1] > CALL_PIXELS:
                results[i] = self._large(image, progress)
            else:
                by_shape.setdefault(padded, []).append(i)
        chunks = []
        for (hp, wp), members in by_shape.items():
            whole = blocks.Block((0, hp), (0, wp), (0, hp), (0, wp))  # one block: the padded image
            per_call = max(CALL_PIXELS // (hp * wp), 1)
            chunks += [(whole, members[k : k + per_call]) for k in range(0, len(members), per_call)]

        def work(backend: Backend, chunk: tuple[blocks.Block, list[int]]) -> None:
            block, members = chunk
            outputs = self._call(backend, np.stack([blocks.cut(images[i], block, PAD_MODE) for i in members]))
            for i, output in zip(members, outputs):
                results[i] = output[: images[i].shape[0], : images[i].shape[1]]

        self._map(work, chunks)
        return results

    def denoise_list(self, images: list[np.ndarray], progress: Progress | None = None) -> list[np.ndarray]:
        """Denoise 2-D float32 images in [0, 1] of any sizes; each result has its input's size.

        Tiling keeps an image of exactly one tile whole: it is the same single call either way.
        """
        images = [check_pixels(image) for image in images]
        if not images:
            return []
        if self.geometry.large == "tiles":
            return self._tiled(images, progress)
        return self._whole(images, progress)

    def denoise(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, H, W) or (N, H, W, 1) in [0, 1] → denoised, same shape."""
        images = np.asarray(images)
        channel = images.ndim == 4
        if channel and images.shape[-1] != 1 or images.ndim not in (3, 4):
            raise DaeEdgeError(f"expected images of shape (N, H, W) or (N, H, W, 1), got {images.shape}")
        plain = images[..., 0] if channel else images
        if len(plain) == 0:
            return np.asarray(images, np.float32).copy()
        result = np.stack(self.denoise_list(list(plain)))
        return result[..., None] if channel else result


def check_pixels(image: np.ndarray) -> np.ndarray:
    """A 2-D float image with values in [0, 1], as float32; anything else is refused with its reason."""
    image = np.asarray(image)
    if image.ndim != 2 or min(image.shape) < 1:
        raise DaeEdgeError(f"expected a 2-D image, got shape {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise DaeEdgeError(f"expected float pixels in [0, 1], got {image.dtype} (divide 8-bit images by 255)")
    low, high = float(np.min(image)), float(np.max(image))
    if not (0.0 <= low and high <= 1.0):
        raise DaeEdgeError(f"pixel values must lie in [0, 1], got {low:g} to {high:g}")
    return image.astype(np.float32, copy=False)
