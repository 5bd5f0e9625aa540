"""`dae-edge run` and `verify`: the commands of the edge runtime."""
import json
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from dae_edge.runtime.formats import BY_NAME, FORMATS
from dae_edge.runtime.shipped import DEFAULT_MODEL, SHIPPED
from dae_edge.core.polarity import Invert
from dae_edge.runtime.options import RunOptions

RUN = RunOptions()


BackendChoice = Enum("BackendChoice", {"auto": "auto", **{f.name: f.name for f in FORMATS}}, type=str)


class LargeChoice(str, Enum):
    auto = "auto"
    whole = "whole"
    tiles = "tiles"


def _pick_model(model: Optional[Path], backend: BackendChoice, model_name: Optional[str] = None) -> Path:
    from dae_edge.runtime.denoiser import default_model, shipped_folder
    from dae_edge.core.errors import DaeEdgeError

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
    model_name: Annotated[Optional[str], typer.Option(help=f"A shipped model: {', '.join(SHIPPED)} (default: {DEFAULT_MODEL}).")] = None,
    backend: Annotated[BackendChoice, typer.Option(help="Runtime; auto picks int8 TFLite where LiteRT is installed, else ONNX.")] = BackendChoice.auto,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Runtime threads (default: all cores).")] = None,
    invert: Annotated[Invert, typer.Option(help="Invert inputs: auto brings each to the model's polarity (its background) and the result back.")] = RUN.invert,
    add_noise: Annotated[Optional[float], typer.Option(min=0.0, help="Demo: add Gaussian noise first, σ on the 0–1 scale of the pixels (0.1 ≈ 25/255).")] = RUN.add_noise,
    seed: Annotated[int, typer.Option(help="Seed for --add-noise.")] = RUN.seed,
    compare: Annotated[bool, typer.Option(help="Also write NAME.compare.png: input and result side by side.")] = RUN.compare,
    overwrite: Annotated[bool, typer.Option(help="Replace existing files that dae-edge did not write.")] = RUN.overwrite,
    large: Annotated[LargeChoice, typer.Option(help="Images larger than the training patch: whole, tiles, or auto (what export measured best).")] = LargeChoice.auto,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per input.")] = False,
    cluster: Annotated[Optional[str], typer.Option(help="Denoise on a Ray cluster: its address, or auto (RAY_ADDRESS's, else a local Ray); skips outputs already whole and up to date.")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="With --cluster: worker processes (default: the cluster's CPUs).")] = None,
) -> None:
    """Denoise images; writes NAME.denoised.png (in the input's size and polarity) for each."""
    from dae_edge.runtime.denoiser import Denoiser
    from dae_edge.core.errors import DaeEdgeError
    from dae_edge.core.files import ensure_writable_dir
    from dae_edge.runtime.inputs import expand_inputs
    from dae_edge.runtime.run import denoise_files

    paths = expand_inputs(inputs)
    if out is not None:
        ensure_writable_dir(out)
    picked = _pick_model(model, backend, model_name)
    options = RunOptions(out, invert, add_noise, seed, compare, overwrite)
    if cluster is not None:
        return _run_on_cluster(paths, picked, options, None if large == LargeChoice.auto else large.value, cluster, workers, as_json)
    denoiser = Denoiser.load(picked, threads, None if large == LargeChoice.auto else large.value)
    for note in denoiser.notes:
        typer.echo(f"warning: {note}", err=True)
    used = {"model": str(picked), "backend": denoiser.backend.name}
    said = as_json  # the model is named once, with the first image written
    failed = []
    interactive = not as_json and sys.stderr.isatty()
    show_bar = len(paths) > 1 and interactive
    with typer.progressbar(length=len(paths), label="denoising", file=sys.stderr, hidden=not show_bar) as bar:
        for result in denoise_files(denoiser, paths, options, bar.update, _block_progress if interactive else None):
            if result.note and not as_json:
                typer.echo(f"note: {result.note}", err=True)
            if as_json:
                typer.echo(json.dumps(result.to_json(**used)))
            elif result.error is None and not show_bar:
                if not said:
                    typer.echo(f"model {picked.name} on {denoiser.backend.name} ({picked.parent})")
                    said = True
                typer.echo(f"{result.input} → {result.output}")
            if result.error is not None:
                failed.append(result.error)
    if show_bar:
        typer.echo(f"denoised {len(paths) - len(failed)} of {len(paths)} images with {picked.name} on {denoiser.backend.name}")
    if failed:
        if len(paths) == 1:
            raise DaeEdgeError(failed[0])
        for error in failed:
            typer.echo(f"failed: {error}", err=True)
        raise DaeEdgeError(f"{len(failed)} of {len(paths)} images failed; the others were written")


def _run_on_cluster(paths: list[Path], model: Path, options: RunOptions, large: str | None, address: str,
                    workers: int | None, as_json: bool) -> None:
    """`run --cluster`: one JSON line per file denoised and a summary, or a progress line; skipped files are counted."""
    from dae_edge.cluster.batch import denoise_on_cluster
    from dae_edge.core.errors import DaeEdgeError

    began, done, failed = time.perf_counter(), [0], []
    interactive = not as_json and sys.stderr.isatty()

    def report(row: dict) -> None:
        done[0] += 1
        if as_json:
            typer.echo(json.dumps({"input": row["input"], "output": row["output"] or None, "ms": round(float(row["ms"]), 3),
                                   "ok": bool(row["ok"]), "error": row["error"] or None, "model": str(model),
                                   "backend": "cluster", "worker": int(row["worker"])}))
        if not row["ok"]:
            failed.append(row["error"])
        if interactive:
            rate = done[0] / max(time.perf_counter() - began, 1e-9)
            sys.stderr.write(f"\r  {done[0]} files denoised, {rate:.1f} files/s")
            sys.stderr.flush()

    counts = denoise_on_cluster(paths, model, options, large, address, workers, report)
    if interactive:
        sys.stderr.write("\n")
    if as_json:
        typer.echo(json.dumps(counts.to_json()))
    else:
        typer.echo(f"denoised {counts.done} of {counts.total} files on the cluster with {model.name} "
                   f"({counts.skipped} already up to date, {counts.failed} failed) in {counts.seconds:.1f} s")
    if failed:
        for error in failed[:20]:
            typer.echo(f"failed: {error}", err=True)
        raise DaeEdgeError(f"{len(failed)} of {counts.total} images failed; the others were written")


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
    from dae_edge.core.errors import DaeEdgeError
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
