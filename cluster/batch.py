"""Denoising many files on a Ray cluster, resumable and exactly once.

The driver lists the inputs and leaves out every one whose output is whole and up to date: a PNG that
dae-edge wrote, that decodes to its last chunk, and whose provenance tag (the input's bytes, the model's
checksum and the options, hashed) matches. Ray Data spreads the rest over an actor pool; each actor
loads the Denoiser once and runs `dae-edge run`'s own code on its share, so large images keep their
bounded-memory blocks and every PNG is written as a local run writes it: to a temporary name, then
renamed, never over a file dae-edge did not write. A worker that dies has its batch retried by Ray;
a driver that dies is rerun, and redoes only what is not whole.
"""
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dae_edge.core.errors import DaeEdgeError
from dae_edge.runtime.options import RunOptions

BATCH_FILES = 8  # files per Ray task: enough to amortise a task, few enough to spread 2,000 files evenly
ACTOR_RESTARTS = 3  # a worker process that dies is restarted this often, its batch retried


@dataclass
class Counts:
    """What a cluster run did."""

    total: int = 0
    done: int = 0  # denoised and written now
    skipped: int = 0  # already whole and up to date
    failed: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"summary": True, "total": self.total, "done": self.done, "skipped": self.skipped, "failed": self.failed,
                "seconds": round(self.seconds, 3), "files_per_s": round(self.done / self.seconds, 2) if self.seconds else None}


class DenoiseWorker:
    """One per Ray actor: the model loaded once, then `dae-edge run`'s code on each batch of paths."""

    def __init__(self, model: str, options: RunOptions, large: str | None) -> None:
        from dae_edge.runtime.denoiser import Denoiser

        self.denoiser = Denoiser.load(Path(model), threads=1, large=large)
        self.options = options

    def __call__(self, batch: dict) -> dict:
        from dae_edge.runtime.run import denoise_files

        results = list(denoise_files(self.denoiser, [Path(p) for p in batch["path"]], self.options))
        return {"input": [str(r.input) for r in results], "output": [str(r.output or "") for r in results],
                "ok": [r.error is None for r in results], "error": [r.error or "" for r in results],
                "ms": [r.ms for r in results], "worker": [os.getpid()] * len(results)}


def connect(address: str | None) -> None:
    """Join the cluster at `address`; "auto" (or None) joins RAY_ADDRESS's, or starts a local one."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise DaeEdgeError("--cluster needs Ray, which the edge runtime does not install: pip install 'dae-edge[cluster]'") from None
    if ray.is_initialized():
        return
    if address in (None, "auto") and not os.environ.get("RAY_ADDRESS"):
        address = None  # a local Ray on this machine's cores
    elif "RAY_AUTH_MODE" not in os.environ and Path("~/.ray/auth_token").expanduser().is_file():
        os.environ["RAY_AUTH_MODE"] = "token"  # `ray start` clusters use this machine's token (Ray >= 2.59)
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # our own progress line, not Ray Data's
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise DaeEdgeError(f"--cluster {address}: cannot join the Ray cluster ({str(exc).splitlines()[0][:200]}); "
                           "start one with `ray start --head`, or use --cluster auto") from None


def denoise_on_cluster(paths: list[Path], model: Path, options: RunOptions, large: str | None = None,
                       address: str | None = None, workers: int | None = None,
                       on_result: Callable[[dict], None] = lambda row: None) -> Counts:
    """Denoise `paths` on the cluster with `model`; `on_result` hears of each file done (not of those skipped)."""
    from dae_edge.runtime.denoiser import Denoiser
    from dae_edge.runtime.run import is_up_to_date, model_id

    began = time.perf_counter()
    local = Denoiser.load(model, threads=1, large=large)  # checked here, once, before any worker starts
    todo = [p for p in paths if not is_up_to_date(p, options, model_id(local), local.geometry.large)]
    counts = Counts(total=len(paths), skipped=len(paths) - len(todo))
    if todo:
        connect(address)
        import ray

        pool = workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
        dataset = ray.data.from_items([{"path": str(p)} for p in todo], override_num_blocks=max(len(todo) // BATCH_FILES, 1))
        results = dataset.map_batches(
            DenoiseWorker, batch_size=BATCH_FILES, num_cpus=1, max_restarts=ACTOR_RESTARTS, max_task_retries=ACTOR_RESTARTS,
            compute=ray.data.ActorPoolStrategy(size=min(pool, len(todo))),
            fn_constructor_kwargs={"model": str(local.path), "options": options, "large": large})
        for row in results.iter_rows():
            counts.done += bool(row["ok"])
            counts.failed += not row["ok"]
            on_result(row)
    counts.seconds = time.perf_counter() - began
    return counts


def denoise_folder(src: Path | str, out: Path | str, model: Path | str | None = None, address: str | None = None,
                   workers: int | None = None) -> Counts:
    """Denoise every image in `src` into `out` on a Ray cluster (None: RAY_ADDRESS's, or a local one), with
    `model` (a file or exported folder; default: the shipped default model). Returns the counts."""
    from dae_edge.core.files import ensure_writable_dir
    from dae_edge.runtime.denoiser import default_model
    from dae_edge.runtime.inputs import expand_inputs

    out = ensure_writable_dir(Path(out))
    model = Path(model) if model is not None else default_model()
    model = default_model(folder=model) if model.is_dir() else model
    return denoise_on_cluster(expand_inputs([str(src)]), model, RunOptions(out=out), address=address, workers=workers)
