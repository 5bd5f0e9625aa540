"""`dae-edge run --cluster`: the same bytes as a local run, a killed worker or driver loses nothing, reruns redo
nothing that is whole. One local Ray with 2 CPUs serves the whole test run."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import need
from dae_edge.core.images import is_our_output
from dae_edge.runtime.denoiser import Denoiser
from dae_edge.runtime.options import RunOptions
from dae_edge.runtime.run import denoise_files, is_up_to_date, model_id

try:
    import ray
except ImportError:  # CI installs [cluster]; need() below fails there rather than skip
    ray = None

FILES = 200


@pytest.fixture(scope="module")
def cluster():
    need(ray is not None, "Ray is not installed (pip install 'dae-edge[cluster]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(3)
    for i in range(FILES):
        shape = (28 + i % 5 * 4, 32 + i % 3 * 8) + ((3,) if i % 4 == 0 else ())  # a few sizes, every fourth in colour
        Image.fromarray((rng.random(shape) * 255).astype(np.uint8)).save(folder / f"img{i:03d}.png")
    return folder


def inputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix == ".png")


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if is_our_output(p)}


def all_whole(paths: list[Path], options: RunOptions, model: Path) -> bool:
    denoiser = Denoiser.load(model, threads=1)
    return all(is_up_to_date(p, options, model_id(denoiser), denoiser.geometry.large) for p in paths)


def test_outputs_equal_a_local_run_byte_for_byte(cluster, images, exported_dir, tmp_path):
    from dae_edge.cluster import denoise_folder

    model = exported_dir / "dae.onnx"
    local = tmp_path / "local"
    local.mkdir()
    results = list(denoise_files(Denoiser.load(model), inputs(images), RunOptions(out=local)))
    assert all(r.error is None for r in results)
    counts = denoise_folder(images, tmp_path / "cluster", model, address=cluster)
    assert (counts.total, counts.done, counts.skipped, counts.failed) == (FILES, FILES, 0, 0)
    assert outputs(tmp_path / "cluster") == outputs(local) and len(outputs(local)) == FILES
    again = denoise_folder(images, tmp_path / "cluster", model, address=cluster)
    assert (again.done, again.skipped) == (0, FILES)  # a rerun redoes nothing that is whole


@pytest.mark.slow
def test_a_killed_worker_loses_nothing(cluster, images, exported_dir, tmp_path):
    from dae_edge.cluster.batch import denoise_on_cluster

    model, options = exported_dir / "dae.onnx", RunOptions(out=tmp_path / "out")
    options.out.mkdir()
    killed = []

    def kill_one_worker(row: dict) -> None:
        if not killed and len(os.listdir(options.out)) >= 20:
            killed.append(int(row["worker"]))
            os.kill(killed[0], signal.SIGKILL)

    counts = denoise_on_cluster(inputs(images), model, options, address=cluster, on_result=kill_one_worker)
    assert killed, "no worker was killed"
    assert counts.failed == 0 and (counts.done, counts.skipped) == (FILES, 0)  # each file once, none lost
    assert all_whole(inputs(images), options, model) and len(outputs(options.out)) == FILES


@pytest.mark.slow
def test_a_killed_driver_is_resumed_by_a_rerun(cluster, images, exported_dir, tmp_path):
    from dae_edge.cluster.batch import denoise_on_cluster

    model, out = exported_dir / "dae.onnx", tmp_path / "out"
    command = [sys.executable, "-m", "dae_edge.app.cli", "run", str(images), "--out", str(out), "--model", str(model),
               "--cluster", cluster, "--json"]
    out.mkdir()
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(outputs(out)) < 30 and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    driver.kill()
    driver.wait()
    time.sleep(2.0)  # the killed job's workers stop
    whole = [p for p in inputs(images) if all_whole([p], RunOptions(out=out), model)]
    assert 0 < len(whole) < FILES, "the driver was not killed mid-run"
    counts = denoise_on_cluster(inputs(images), model, RunOptions(out=out), address=cluster)
    assert counts.skipped >= len(whole) and counts.done == FILES - counts.skipped and counts.failed == 0
    assert all_whole(inputs(images), RunOptions(out=out), model)


@pytest.mark.slow
def test_cli_cluster_json_lines_and_summary(cluster, images, exported_dir, tmp_path):
    from typer.testing import CliRunner

    from dae_edge.app.cli import app

    few = tmp_path / "few"
    few.mkdir()
    for path in inputs(images)[:6]:
        (few / path.name).write_bytes(path.read_bytes())
    result = CliRunner().invoke(app, ["run", str(few), "--out", str(tmp_path / "out"), "--model", str(exported_dir / "dae.onnx"),
                                      "--cluster", cluster, "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(lines) == 7 and all(line["ok"] for line in lines[:6])
    assert lines[-1]["summary"] and (lines[-1]["total"], lines[-1]["done"]) == (6, 6)
