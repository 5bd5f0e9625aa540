"""`dae-edge run`, `verify` and `bench`: the commands of the edge runtime."""
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from dae_edge.runtime.formats import BY_NAME, FORMATS
from dae_edge.runtime.images import Invert
from dae_edge.runtime.options import BenchOptions, RunOptions

RUN, BENCH = RunOptions(), BenchOptions()


BackendChoice = Enum("BackendChoice", {"auto": "auto", **{f.name: f.name for f in FORMATS}}, type=str)


class LargeChoice(str, Enum):
    auto = "auto"
    whole = "whole"
    tiles = "tiles"


def _pick_model(model: Optional[Path], backend: BackendChoice, model_name: Optional[str] = None) -> Path:
    from dae_edge.runtime.denoiser import default_model, shipped_folder
    from dae_edge.runtime.errors import DaeEdgeError

    if model is not None and model_name is not None:
        raise DaeEdgeError("--model and --model-name name two models; give one")
    runtime = None if backend == BackendChoice.auto else backend.value
    if model is None or model.is_dir():  # a folder: its default artifact for the runtime asked for
        return default_model(runtime, model or shipped_folder(model_name))
    if backend != BackendChoice.auto and model.suffix.lower() != BY_NAME[backend.value].suffix:
        raise DaeEdgeError(f"--backend {backend.value} runs {BY_NAME[backend.value].suffix} models, not {model.name}")
    return model


def run_command(
    inputs: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option(help="Folder for the results (default: beside each input).")] = None,
    model: Annotated[Optional[Path], typer.Option(help="A .onnx or .tflite model, or a folder with manifest.json (default: a shipped one).")] = None,
    model_name: Annotated[Optional[str], typer.Option(help="A shipped model: paper (the reference), unet (stronger), blind (unknown noise levels) or pictures (photographs and scans); default: see the README.")] = None,
    backend: Annotated[BackendChoice, typer.Option(help="Runtime; auto picks int8 TFLite where LiteRT is installed, else ONNX.")] = BackendChoice.auto,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Runtime threads (default: all cores).")] = None,
    invert: Annotated[Invert, typer.Option(help="Invert inputs: auto brings each to the model's polarity (its background) and the result back.")] = RUN.invert,
    add_noise: Annotated[Optional[float], typer.Option(min=0.0, help="Demo: add Gaussian noise of this factor first.")] = RUN.add_noise,
    seed: Annotated[int, typer.Option(help="Seed for --add-noise.")] = RUN.seed,
    compare: Annotated[bool, typer.Option(help="Also write NAME.compare.png: input and result side by side.")] = RUN.compare,
    overwrite: Annotated[bool, typer.Option(help="Replace existing files that dae-edge did not write.")] = RUN.overwrite,
    large: Annotated[LargeChoice, typer.Option(help="Images larger than the training patch: whole, tiles, or auto (what export measured best).")] = LargeChoice.auto,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per input.")] = False,
) -> None:
    """Denoise images; writes NAME.denoised.png (in the input's size and polarity) for each."""
    from dae_edge.runtime.denoiser import Denoiser
    from dae_edge.runtime.errors import DaeEdgeError
    from dae_edge.runtime.files import ensure_writable_dir
    from dae_edge.runtime.inputs import expand_inputs
    from dae_edge.runtime.run import denoise_files

    paths = expand_inputs(inputs)
    if out is not None:
        ensure_writable_dir(out)
    denoiser = Denoiser.load(_pick_model(model, backend, model_name), threads,
                             None if large == LargeChoice.auto else large.value)
    for note in denoiser.notes:
        typer.echo(f"warning: {note}", err=True)
    options = RunOptions(out, invert, add_noise, seed, compare, overwrite)
    failed = []
    interactive = not as_json and sys.stderr.isatty()
    show_bar = len(paths) > 1 and interactive
    with typer.progressbar(length=len(paths), label="denoising", file=sys.stderr, hidden=not show_bar) as bar:
        for result in denoise_files(denoiser, paths, options, bar.update, _block_progress if interactive else None):
            if result.note and not as_json:
                typer.echo(f"note: {result.note}", err=True)
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


def _block_progress(done: int, total: int) -> None:
    """Blocks done inside one large image, on one line of stderr."""
    sys.stderr.write(f"\r  blocks {done}/{total}" + ("\n" if done == total else ""))
    sys.stderr.flush()


def verify_command(
    folder: Annotated[Optional[Path], typer.Argument(help="A folder written by dae-edge export (default: every shipped model).")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Runtime threads.")] = None,
) -> None:
    """Check every artifact's checksum and run its golden digits through each available runtime."""
    from dae_edge.runtime.denoiser import SHIPPED, shipped_folder
    from dae_edge.runtime.errors import DaeEdgeError
    from dae_edge.runtime.manifest import MANIFEST
    from dae_edge.runtime.verify import verify_folder

    folders = [folder] if folder else [shipped_folder(name) for name in SHIPPED if (shipped_folder(name) / MANIFEST).is_file()]
    failures = []
    for each in folders:
        if len(folders) > 1:
            typer.echo(f"{each}:")
        for check in verify_folder(each, threads):
            typer.echo(f"{check.status.upper():4}  {check.file}: {check.detail}")
            if check.status == "fail":
                failures.append(check.file)
    if failures:
        raise DaeEdgeError(f"verify failed for {', '.join(failures)}")


def bench_command(
    models: Annotated[Optional[Path], typer.Option(help="Folder with manifest.json (default: the shipped models).")] = None,
    n: Annotated[int, typer.Option(min=1, max=10000, help="Validation images for quality: MNIST test digits, or whole validation pictures.")] = BENCH.n,
    threads: Annotated[str, typer.Option(help="Comma-separated thread counts to measure.")] = BENCH.threads,
    data: Annotated[Optional[Path], typer.Option(help="The model's training data, where it has moved (default: what its contract names; MNIST from $DAE_EDGE_DATA).")] = None,
    val_data: Annotated[Optional[Path], typer.Option(help="Its validation pictures, where they have moved (trained with --val-data).")] = None,
    large: Annotated[bool, typer.Option(help="Also measure large images, a fresh process's memory and a busy core.")] = BENCH.large,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of the table.")] = False,
) -> None:
    """Measure size, quality at the model's own noise beside classical filters, latency, throughput and cold start
    of every artifact (and Keras, if installed)."""
    from dae_edge.runtime.bench import bench, bench_pictures, format_table
    from dae_edge.runtime.denoiser import shipped_folder
    from dae_edge.runtime.errors import DaeEdgeError
    from dae_edge.runtime.manifest import read_manifest
    from dae_edge.train.data import load_mnist, to_float
    from dae_edge.train.sources import FolderSource, source_from_contract

    try:
        counts = [int(t) for t in threads.split(",")]
    except ValueError:
        raise DaeEdgeError(f"--threads {threads!r}: expected numbers separated by commas, like 1,2") from None
    if not counts or min(counts) < 1:
        raise DaeEdgeError("--threads: each count must be at least 1")
    folder = models or shipped_folder()
    contract = (read_manifest(folder) or {}).get("contract")
    log = lambda line: typer.echo(line, err=True)  # noqa: E731
    if contract is None:  # exported before contracts: an MNIST model
        source = None
    else:
        source = source_from_contract(contract, data, val_data)
    if isinstance(source, FolderSource):
        pictures = [pixels for _, pixels in source.whole_validation_images(n)]
        patches = source.validation_images(256, contract["noise_seed"])[..., 0]
        result = bench_pictures(folder, pictures, patches, counts, log, large=large)
        if skipped := source.skipped_summary():
            log(skipped)
    else:
        clean = to_float((source.data if source else load_mnist(data)).x_test[:n])[..., 0]
        result = bench(folder, clean, counts, log=log, large=large)
    typer.echo(json.dumps(result, indent=2) if as_json else format_table(result))
