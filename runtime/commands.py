"""`dae-edge run`, `verify` and `bench`: the commands of the edge runtime."""
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from dae_edge.runtime.images import Invert


class BackendChoice(str, Enum):
    auto = "auto"
    onnx = "onnx"
    tflite = "tflite"


def _pick_model(model: Optional[Path], backend: BackendChoice) -> Path:
    from dae_edge.runtime.backends import BACKEND_NAMES
    from dae_edge.runtime.denoiser import default_model
    from dae_edge.runtime.errors import DaeEdgeError

    if model is None:
        return default_model(None if backend == BackendChoice.auto else backend.value)
    if backend != BackendChoice.auto and model.suffix.lower() != BACKEND_NAMES[backend.value]:
        raise DaeEdgeError(f"--backend {backend.value} runs {BACKEND_NAMES[backend.value]} models, not {model.name}")
    return model


def run_command(
    inputs: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option(help="Folder for the results (default: beside each input).")] = None,
    model: Annotated[Optional[Path], typer.Option(help="A .onnx or .tflite model (default: the shipped one).")] = None,
    backend: Annotated[BackendChoice, typer.Option(help="Runtime; auto picks int8 TFLite where LiteRT is installed, else ONNX.")] = BackendChoice.auto,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Runtime threads (default: all cores).")] = None,
    invert: Annotated[Invert, typer.Option(help="Dark-on-light input: auto detects it from the background.")] = Invert.auto,
    add_noise: Annotated[Optional[float], typer.Option(min=0.0, help="Demo: add Gaussian noise of this factor first.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --add-noise.")] = 0,
    compare: Annotated[bool, typer.Option(help="Also write NAME.compare.png: input and result side by side.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per input.")] = False,
) -> None:
    """Denoise images; writes NAME.denoised.png (in the input's size and polarity) for each."""
    from dae_edge.runtime.denoiser import Denoiser
    from dae_edge.runtime.errors import DaeEdgeError
    from dae_edge.runtime.files import ensure_writable_dir
    from dae_edge.runtime.inputs import expand_inputs
    from dae_edge.runtime.run import RunOptions, denoise_files

    paths = expand_inputs(inputs)
    if out is not None:
        ensure_writable_dir(out)
    denoiser = Denoiser.load(_pick_model(model, backend), threads)
    options = RunOptions(out, invert, add_noise, seed, compare)
    failed = []
    show_bar = len(paths) > 1 and not as_json and sys.stderr.isatty()
    with typer.progressbar(length=len(paths), label="denoising", file=sys.stderr, hidden=not show_bar) as bar:
        for result in denoise_files(denoiser, paths, options, bar.update):
            if as_json:
                typer.echo(json.dumps(result.to_json()))
            elif result.error is None and not show_bar:
                typer.echo(f"{result.input} → {result.output}")
            if result.error is not None:
                failed.append(result.error)
    if show_bar:
        typer.echo(f"denoised {len(paths) - len(failed)} of {len(paths)} images")
    if failed:
        if len(paths) == 1:
            raise DaeEdgeError(failed[0])
        for error in failed:
            typer.echo(f"failed: {error}", err=True)
        raise DaeEdgeError(f"{len(failed)} of {len(paths)} images failed; the others were written")


def verify_command(
    folder: Annotated[Optional[Path], typer.Argument(help="A folder written by dae-edge export (default: the shipped models).")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Runtime threads.")] = None,
) -> None:
    """Check every artifact's checksum and run its golden digits through each available runtime."""
    from dae_edge.runtime.denoiser import shipped_models
    from dae_edge.runtime.errors import DaeEdgeError
    from dae_edge.runtime.verify import verify_folder

    folder = folder or shipped_models()
    checks = list(verify_folder(folder, threads))
    for check in checks:
        typer.echo(f"{check.status.upper():4}  {check.file}: {check.detail}")
    failures = [c.file for c in checks if c.status == "fail"]
    if failures:
        raise DaeEdgeError(f"verify failed for {', '.join(failures)}")


def bench_command(
    models: Annotated[Optional[Path], typer.Option(help="Folder with manifest.json (default: the shipped models).")] = None,
    n: Annotated[int, typer.Option(min=1, max=10000, help="Noisy MNIST test digits for PSNR and SSIM.")] = 10000,
    threads: Annotated[str, typer.Option(help="Comma-separated thread counts to measure.")] = "1,2",
    data: Annotated[Optional[Path], typer.Option(help="MNIST folder (default $DAE_EDGE_DATA, then Keras's cache).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of the table.")] = False,
) -> None:
    """Measure size, PSNR/SSIM, latency, throughput and cold start of every artifact (and Keras, if installed)."""
    from dae_edge.runtime.bench import bench, format_table
    from dae_edge.runtime.denoiser import shipped_models
    from dae_edge.runtime.errors import DaeEdgeError
    from dae_edge.train.data import load_mnist, to_float

    try:
        counts = [int(t) for t in threads.split(",")]
    except ValueError:
        raise DaeEdgeError(f"--threads {threads!r}: expected numbers separated by commas, like 1,2") from None
    if not counts or min(counts) < 1:
        raise DaeEdgeError("--threads: each count must be at least 1")
    clean = to_float(load_mnist(data).x_test[:n])[..., 0]
    result = bench(models or shipped_models(), clean, counts, log=lambda line: typer.echo(line, err=True))
    typer.echo(json.dumps(result, indent=2) if as_json else format_table(result))
