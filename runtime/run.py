"""`dae-edge run`: denoise image files in batches; good images are written even where others fail."""
import time
from collections.abc import Callable, Iterator
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from dae_edge.runtime.denoiser import Denoiser, Progress
from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.images import LoadedImage, read_image, side_by_side, write_image
from dae_edge.runtime.inputs import COMPARE_TAG, output_path
from dae_edge.runtime.options import RunOptions
from dae_edge.core.noise import Noise, corrupt_each

FILES_PER_BATCH = 64
BATCH_PIXELS = 1 << 20  # files are read until they hold this many pixels: one large image is a batch of its own


@dataclass
class Result:
    input: Path
    output: Path | None = None
    ms: float = 0.0
    error: str | None = None
    note: str | None = None  # something the user should know, such as frames that were not read

    def to_json(self) -> dict:
        return {"input": str(self.input), "output": self.output and str(self.output),
                "ms": round(self.ms, 3), "ok": self.error is None, "error": self.error, "note": self.note}


def _load(path: Path, options: RunOptions, polarity: str, inputs: set[Path], taken: dict[Path, Path]) -> tuple[LoadedImage, Path]:
    target = output_path(path, options.out)
    if target.resolve() in inputs:
        raise DaeEdgeError(f"{path}: its output name {target.name} is one of the inputs; use --out DIR")
    if taken.setdefault(target.resolve(), path) != path:
        raise DaeEdgeError(f"{path}: its output {target.name} would overwrite the result of {taken[target.resolve()]}")
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
    inputs = {p.resolve() for p in paths}
    taken: dict[Path, Path] = {}
    pending: list[Result] = []
    loaded: list[tuple[Result, LoadedImage, Path]] = []
    began = time.perf_counter()
    for index, path in enumerate(paths):
        result = Result(path)
        pending.append(result)
        try:
            image, target = _load(path, options, denoiser.polarity, inputs, taken)
            loaded.append((result, image, target))
            if image.frames > 1:
                result.note = f"{path}: {image.frames} frames or pages; only the first was denoised"
        except DaeEdgeError as exc:
            result.error = str(exc)
        pixels = sum(image.pixels.size for _, image, _ in loaded)
        if len(pending) == FILES_PER_BATCH or pixels >= BATCH_PIXELS or index == len(paths) - 1:
            _denoise_and_write(denoiser, loaded, options, blocks)
            per_image = (time.perf_counter() - began) * 1000 / len(pending)
            for done in pending:
                done.ms = per_image
            progress(len(pending))
            yield from pending
            pending, loaded, began = [], [], time.perf_counter()


def _denoise_and_write(denoiser: Denoiser, loaded: list, options: RunOptions, blocks: Progress | None) -> None:
    outputs = denoiser.denoise_list([image.pixels for _, image, _ in loaded], blocks) if loaded else []
    while loaded:  # popped as written, so an input's pixels are freed before the next output is encoded
        (result, image, target), denoised = loaded.pop(0), outputs.pop(0)
        try:
            write_image(target, denoised, image.inverted, options.overwrite)
            if options.compare:
                write_image(output_path(result.input, options.out, COMPARE_TAG),
                            side_by_side(image.pixels, denoised), image.inverted, options.overwrite)
            result.output = target
        except DaeEdgeError as exc:
            result.error = str(exc)
        del image, denoised
