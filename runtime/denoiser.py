"""The library entry point: `Denoiser.load(path).denoise(images)`."""
from dataclasses import dataclass
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from dae_edge.runtime.backends import Backend, open_backend
from dae_edge.runtime.errors import DaeEdgeError
from dae_edge.runtime.manifest import artifact_entry, check_checksum, read_manifest
from dae_edge.runtime.tiling import merge, split

BATCH_SIZE = 256  # images (or tiles) per model call: large enough for throughput, small in memory


def shipped_models() -> Path:
    """The folder of models that ship with the package."""
    return Path(str(files("dae_edge.models")))


def litert_installed() -> bool:
    return find_spec("ai_edge_litert") is not None or find_spec("tflite_runtime") is not None


def default_model(backend: str | None = None) -> Path:
    """The shipped int8 TFLite model where LiteRT is installed (or asked for), else the fp32 ONNX model."""
    if backend is None:
        backend = "tflite" if litert_installed() else "onnx"
    path = shipped_models() / ("dae_int8.tflite" if backend == "tflite" else "dae.onnx")
    if not path.is_file():
        raise DaeEdgeError(f"no shipped model at {path}; pass --model PATH (see dae-edge export)")
    return path


@dataclass
class Denoiser:
    backend: Backend
    path: Path
    info: dict | None  # the model's manifest entry, where a manifest lies beside it

    @classmethod
    def load(cls, path: Path | str | None = None, threads: int | None = None) -> "Denoiser":
        """Open a .onnx or .tflite model, checking it against the manifest beside it if there is one."""
        path = Path(path) if path is not None else default_model()
        entry = artifact_entry(read_manifest(path.parent), path.name) if path.is_file() else None
        if entry is not None:
            check_checksum(path, entry)
        return cls(open_backend(path, threads), path, entry)

    @property
    def tile(self) -> int:
        return int(self.backend.input_shape[0])

    def _run(self, batch: np.ndarray) -> np.ndarray:
        chunks = [self.backend.run(batch[i : i + BATCH_SIZE, ..., None]) for i in range(0, len(batch), BATCH_SIZE)]
        return np.concatenate(chunks)[..., 0]

    def denoise_list(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Denoise 2-D float images in [0, 1] of any sizes; each result has its input's size."""
        tile = self.tile
        if all(image.shape == (tile, tile) for image in images):
            return list(self._run(np.stack(images).astype(np.float32))) if images else []
        pieces = [split(np.asarray(image, np.float32), tile) for image in images]
        outputs = self._run(np.concatenate([tiles for tiles, _ in pieces]))
        results, at = [], 0
        for image, (tiles, offsets) in zip(images, pieces):
            results.append(merge(outputs[at : at + len(tiles)], offsets, image.shape))
            at += len(tiles)
        return results

    def denoise(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, H, W) or (N, H, W, 1) in [0, 1] → denoised, same shape."""
        images = np.asarray(images, dtype=np.float32)
        channel = images.ndim == 4
        if channel and images.shape[-1] != 1 or images.ndim not in (3, 4):
            raise DaeEdgeError(f"expected images of shape (N, H, W) or (N, H, W, 1), got {images.shape}")
        plain = images[..., 0] if channel else images
        if len(plain) == 0:
            return images.copy()
        result = np.stack(self.denoise_list(list(plain)))
        return result[..., None] if channel else result
