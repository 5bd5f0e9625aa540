"""`dae-edge run`: denoise image files in batches; good images are written even where others fail."""
import hashlib
import json
import time
from collections.abc import Callable, Iterator
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from dae_edge.runtime.denoiser import Denoiser, Progress
from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.files import sha256
from dae_edge.core.images import SOFTWARE, LoadedImage, read_image, side_by_side, write_image
from dae_edge.runtime.inputs import COMPARE_TAG, output_path, resolved
from dae_edge.runtime.options import RunOptions
from dae_edge.core.noise import Noise, corrupt_each

FILES_PER_BATCH = 64
BATCH_PIXELS = 1 << 20  # files are read until they hold this many pixels: one large image is a batch of its own


@dataclass
class Result:
    input: Path
    output: Path | None = None
    ms: float = 0.0  # its own reading and writing, and its share (by pixels) of its batch's model calls
    error: str | None = None
    note: str | None = None  # something the user should know, such as frames that were not read

    def to_json(self, **extra) -> dict:
        return {"input": str(self.input), "output": self.output and str(self.output),
                "ms": round(self.ms, 3), "ok": self.error is None, "error": self.error, "note": self.note, **extra}


PROVENANCE = "dae-edge:source"  # the PNG text chunk naming what an output was made from


def model_id(denoiser: Denoiser) -> str:
    """The model's checksum: the manifest's, or the file's own for a model without one."""
    return denoiser.info["sha256"] if denoiser.info else sha256(denoiser.path)


def provenance(path: Path, options: RunOptions, model: str, large: str) -> str:
    """A hash of everything an output depends on: the input's bytes, the model and the options that change pixels."""
    digest = hashlib.sha256(sha256(path).encode())
    digest.update(json.dumps([model, options.invert.value, options.add_noise, options.seed, large, options.compare]).encode())
    return digest.hexdigest()[:32]


def is_up_to_date(path: Path, options: RunOptions, model: str, large: str) -> bool:
    """Whether `path`'s output is whole (every chunk of the PNG checks out) and was made from this input, model and
    options; then a rerun leaves it as it is."""
    targets = [output_path(path, options.out)] + [output_path(path, options.out, COMPARE_TAG)] * options.compare
    try:
        expected = provenance(path, options, model, large)
        for target in targets:
            with Image.open(target) as image:
                image.verify()  # every chunk's checksum, to the end: a truncated file fails
            with Image.open(target) as image:
                if image.format != "PNG" or image.text.get(PROVENANCE) != expected or image.text.get("Software") != SOFTWARE:
                    return False
    except (OSError, SyntaxError, ValueError, DaeEdgeError):
        return False
    return True


def _load(path: Path, options: RunOptions, polarity: str, inputs: set[Path], taken: dict[Path, Path]) -> tuple[LoadedImage, Path]:
    target = output_path(path, options.out)
    if resolved(target) in inputs:
        raise DaeEdgeError(f"{path}: its output name {target.name} is one of the inputs; use --out DIR")
    if taken.setdefault(resolved(target), path) != path:
        raise DaeEdgeError(f"{path}: its output {target.name} would overwrite the result of {taken[resolved(target)]}")
    image = read_image(path, options.invert, polarity, channels=None)  # colour stays colour
    if options.add_noise is not None:  # each image its own noise, reproducible from the seed and its name
        noise = Noise("gaussian", options.add_noise)
        image = replace(image, pixels=corrupt_each([image.pixels], noise, options.seed, [zlib.crc32(path.name.encode())])[0])
    return image, target


def denoise_files(
    denoiser: Denoiser, paths: list[Path], options: RunOptions, progress: Callable[[int], None] = lambda n: None,
    blocks: Progress | None = None,
) -> Iterator[Result]:
    """Denoise `paths` a batch at a time (at most FILES_PER_BATCH files, or BATCH_PIXELS pixels, so memory
    stays bounded), yielding one Result per input in order. `blocks` hears of progress inside a large image."""
    inputs = {resolved(p) for p in paths}
    model = model_id(denoiser)  # once: a model without a manifest is hashed from its file
    taken: dict[Path, Path] = {}
    pending: list[Result] = []
    loaded: list[tuple[Result, LoadedImage, Path]] = []
    for index, path in enumerate(paths):
        result = Result(path)
        pending.append(result)
        began = time.perf_counter()
        try:
            image, target = _load(path, options, denoiser.polarity, inputs, taken)
            loaded.append((result, image, target))
            if image.frames > 1:
                result.note = f"{path}: {image.frames} frames or pages; only the first was denoised"
        except DaeEdgeError as exc:
            result.error = str(exc)
        result.ms = (time.perf_counter() - began) * 1000
        pixels = sum(image.pixels.size for _, image, _ in loaded)
        if len(pending) == FILES_PER_BATCH or pixels >= BATCH_PIXELS or index == len(paths) - 1:
            _denoise_and_write(denoiser, loaded, options, blocks, model)
            progress(len(pending))
            yield from pending
            pending, loaded = [], []


def _denoise_and_write(denoiser: Denoiser, loaded: list, options: RunOptions, blocks: Progress | None, model: str) -> None:
    began = time.perf_counter()
    outputs = denoiser.denoise_list([image.pixels for _, image, _ in loaded], blocks) if loaded else []
    model_ms, pixels = (time.perf_counter() - began) * 1000, sum(image.pixels.size for _, image, _ in loaded)
    while loaded:  # popped as written, so an input's pixels are freed before the next output is encoded
        (result, image, target), denoised = loaded.pop(0), outputs.pop(0)
        began = time.perf_counter()
        result.ms += model_ms * image.pixels.size / pixels
        try:
            tags = {PROVENANCE: provenance(result.input, options, model, denoiser.geometry.large)}
            write_image(target, denoised, image.inverted, options.overwrite, tags)
            if options.compare:
                write_image(output_path(result.input, options.out, COMPARE_TAG),
                            side_by_side(image.pixels, denoised), image.inverted, options.overwrite, tags)
            result.output = target
        except DaeEdgeError as exc:
            result.error = str(exc)
        result.ms += (time.perf_counter() - began) * 1000
        del image, denoised
