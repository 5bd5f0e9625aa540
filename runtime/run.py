"""`dae-edge run`: denoise image files in batches; good images are written even where others fail."""
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dae_edge.runtime.denoiser import Denoiser
from dae_edge.runtime.errors import DaeEdgeError
from dae_edge.runtime.images import Invert, LoadedImage, read_image, side_by_side, write_image
from dae_edge.runtime.inputs import output_path
from dae_edge.runtime.noise import add_noise

FILES_PER_BATCH = 64


@dataclass
class Result:
    input: Path
    output: Path | None = None
    ms: float = 0.0
    error: str | None = None

    def to_json(self) -> dict:
        return {"input": str(self.input), "output": self.output and str(self.output),
                "ms": round(self.ms, 3), "ok": self.error is None, "error": self.error}


@dataclass(frozen=True)
class RunOptions:
    out: Path | None = None
    invert: Invert = Invert.auto
    add_noise: float | None = None  # demo: corrupt the input first, with this noise factor
    seed: int = 0
    compare: bool = False  # also write input and result side by side


def _load(path: Path, options: RunOptions, inputs: set[Path], taken: dict[Path, Path]) -> tuple[LoadedImage, Path]:
    target = output_path(path, options.out)
    if target.resolve() in inputs:
        raise DaeEdgeError(f"{path}: its output name {target.name} is one of the inputs; use --out DIR")
    if taken.setdefault(target.resolve(), path) != path:
        raise DaeEdgeError(f"{path}: its output {target.name} would overwrite the result of {taken[target.resolve()]}")
    image = read_image(path, options.invert)
    if options.add_noise is not None:
        image = LoadedImage(add_noise(image.pixels, options.add_noise, options.seed), image.inverted)
    return image, target


def denoise_files(
    denoiser: Denoiser, paths: list[Path], options: RunOptions, progress: Callable[[int], None] = lambda n: None
) -> Iterator[Result]:
    """Denoise `paths` in batches, yielding one Result per input in order."""
    inputs = {p.resolve() for p in paths}
    taken: dict[Path, Path] = {}
    for start in range(0, len(paths), FILES_PER_BATCH):
        began = time.perf_counter()
        loaded: list[tuple[Result, LoadedImage, Path]] = []
        results = []
        for path in paths[start : start + FILES_PER_BATCH]:
            result = Result(path)
            results.append(result)
            try:
                image, target = _load(path, options, inputs, taken)
                loaded.append((result, image, target))
            except DaeEdgeError as exc:
                result.error = str(exc)
        outputs = denoiser.denoise_list([image.pixels for _, image, _ in loaded]) if loaded else []
        for (result, image, target), denoised in zip(loaded, outputs):
            try:
                write_image(target, denoised, image.inverted)
                if options.compare:
                    write_image(output_path(result.input, options.out, ".compare"),
                                side_by_side(image.pixels, denoised), image.inverted)
                result.output = target
            except DaeEdgeError as exc:
                result.error = str(exc)
        per_image = (time.perf_counter() - began) * 1000 / max(len(results), 1)
        for result in results:
            result.ms = per_image
        progress(len(results))
        yield from results
