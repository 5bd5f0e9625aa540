"""`dae-edge bench`."""
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from dae_edge.bench.options import BenchOptions

BENCH = BenchOptions()


def bench_command(
    models: Annotated[Optional[Path], typer.Option(help="Folder with manifest.json (default: the shipped models).")] = None,
    n: Annotated[int, typer.Option(min=1, max=10000, help="Validation images for quality: MNIST test digits, or whole validation pictures.")] = BENCH.n,
    threads: Annotated[str, typer.Option(help="Comma-separated thread counts to measure.")] = BENCH.threads,
    data: Annotated[Optional[Path], typer.Option(help="The model's training data, where it has moved (default: what its contract names; MNIST from $DAE_EDGE_DATA).")] = None,
    val_data: Annotated[Optional[Path], typer.Option(help="Its validation pictures, where they have moved (trained with --val-data).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Also large images (512² and 4000²), a fresh process's memory and a busy core: minutes more.")] = BENCH.full,
    save: Annotated[bool, typer.Option("--save", help="Write the result as bench.json into the models folder.")] = BENCH.save,
    photos: Annotated[Optional[Path], typer.Option(help="Also measure on this folder of held-out photographs (grey and colour) at σ 5, 15, 25 and 50 of 255, beside non-local means and BM3D where installed: minutes more.")] = None,
    peer: Annotated[Optional[Path], typer.Option(help="With --photos: another project's .onnx or .tflite model, measured beside ours (quality and seconds per megapixel).")] = None,
    photo_noise: Annotated[Optional[list[str]], typer.Option(help="With --photos: measure at this noise instead of Gaussian σ 5–50 (repeatable), e.g. poisson-gaussian:60,0.02 for a camera; the classical methods get its true σ.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of the table.")] = False,
) -> None:
    """Measure size, quality at the model's own noise beside classical filters, latency, throughput and cold start
    of every artifact (and Keras, if installed): a minute or so; --full adds large images, memory and a busy core."""
    from dae_edge.bench.bench import bench, format_table
    from dae_edge.core.data import source_from_contract
    from dae_edge.core.errors import DaeEdgeError
    from dae_edge.core.idx_source import IdxSource
    from dae_edge.runtime.denoiser import shipped_folder
    from dae_edge.runtime.manifest import read_manifest

    try:
        counts = [int(t) for t in threads.split(",")]
    except ValueError:
        raise DaeEdgeError(f"--threads {threads!r}: expected numbers separated by commas, like 1,2") from None
    if not counts or min(counts) < 1:
        raise DaeEdgeError("--threads: each count must be at least 1")
    folder = models or shipped_folder()
    contract = (read_manifest(folder) or {}).get("contract")
    log = lambda line: typer.echo(line, err=True)  # noqa: E731
    # Exported before contracts: an MNIST model.
    source = IdxSource.load(data) if contract is None else source_from_contract(contract, data, val_data)
    if peer is not None and photos is None:
        raise DaeEdgeError("--peer is measured on --photos; name a folder of held-out photographs too")
    if photo_noise and photos is None:
        raise DaeEdgeError("--photo-noise is measured on --photos; name a folder of held-out photographs too")
    from dae_edge.bench.photos import check_level

    try:
        noises = tuple(check_level(spec) for spec in photo_noise or ())
    except ValueError as exc:
        raise DaeEdgeError(str(exc)) from None
    result = bench(folder, source, n, counts, log, large=full, photos=photos, peer=peer, photo_noises=noises)
    if skipped := source.skipped_summary():
        log(skipped)
    if save:
        from dae_edge.core.files import write_text_atomically

        write_text_atomically(folder / "bench.json", json.dumps(result, indent=2) + "\n")
        log(f"wrote {folder / 'bench.json'}")
    typer.echo(json.dumps(result, indent=2) if as_json else format_table(result))
