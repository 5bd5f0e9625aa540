"""The runtime tier: the shipped models with the edge install only (numpy, Pillow, onnxruntime, LiteRT).

Runs on a Raspberry Pi with `pip install ".[tflite]" pytest && python -m pytest tests/runtime`:
nothing here needs TensorFlow or MNIST.
"""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from dae_edge.runtime import denoiser as denoiser_module
from dae_edge.app.cli import app
from conftest import need
from dae_edge.runtime.denoiser import SHIPPED, Denoiser, shipped_folder
from dae_edge.runtime.formats import BY_NAME
from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.files import sha256
from dae_edge.core.images import Invert, read_image, written_by_us
from dae_edge.runtime.options import RunOptions
from dae_edge.runtime.run import denoise_files
from dae_edge.runtime.verify import verify_folder

runner = CliRunner()
LITERT = BY_NAME["tflite"].installed()  # a Pi may run onnxruntime alone (pip install . pytest)
DIGITS = "unet"  # the digits model most of these tests feed MNIST digits to (the default, photo, has tests of its own)
SETS = [name for name in SHIPPED if (shipped_folder(name) / "manifest.json").is_file()]


def golden(name: str = DIGITS) -> dict:
    """The golden set of a shipped model (default: the digits model)."""
    with np.load(shipped_folder(name) / "golden.npz") as data:
        return {key: data[key] for key in data.files}


def digits(folder: Path, count: int, name: str = "digit") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    inputs = golden()["inputs"][..., 0]
    paths = []
    for i in range(count):
        paths.append(folder / f"{name}{i}.png")
        Image.fromarray(np.round(inputs[i % len(inputs)] * 255).astype(np.uint8)).save(paths[-1])
    return paths


@pytest.fixture
def shipped_copy(tmp_path) -> Path:
    """A plain copy of the shipped reference set, for tests that change it."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ["manifest.json", "golden.npz", *[a["file"] for a in json.loads((shipped_folder(DIGITS) / "manifest.json").read_text())["artifacts"]]]:
        shutil.copy(shipped_folder(DIGITS) / name, folder / name)
    return folder


def rewrite_manifest(folder: Path, change) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("name", SETS)
def test_every_shipped_set_passes_verify(name):
    checks = list(verify_folder(shipped_folder(name)))
    shipped = {a["file"] for a in json.loads((shipped_folder(name) / "manifest.json").read_text())["artifacts"]}
    expected = {file: "pass" if LITERT or not file.endswith(".tflite") else "skip" for file in shipped}
    assert {c.file: c.status for c in checks} == expected, [c for c in checks if c.status != "pass"]
    assert {"dae.tflite", "dae.onnx", "dae_int8.tflite", "dae_int8.onnx"} <= shipped  # every set ships int8 TFLite now
    need(LITERT, "LiteRT (ai-edge-litert) is not installed: the .tflite files were skipped, the .onnx files passed")


def test_both_shipped_sets_are_there():
    assert SETS == list(SHIPPED)


@pytest.mark.parametrize("entry", ["../outside/evil.onnx", "/etc/passwd", "sub/dae.onnx", "..", ".current"])
def test_a_manifest_entry_outside_its_folder_is_refused(shipped_copy, entry):
    outside = shipped_copy.parent / "outside"
    outside.mkdir()
    shutil.copy(shipped_copy / "dae.onnx", outside / "evil.onnx")
    rewrite_manifest(shipped_copy, lambda m: m["artifacts"][1].update(file=entry, sha256=sha256(outside / "evil.onnx")))
    result = runner.invoke(app, ["verify", str(shipped_copy)])
    assert result.exit_code == 1 and "not a plain file name" in result.output and "PASS" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    with pytest.raises(DaeEdgeError, match="not a plain file name"):
        Denoiser.load(shipped_copy / "dae.onnx")


@pytest.mark.parametrize("change, message", [
    (lambda m: m["artifacts"][0].pop("sha256"), "missing or malformed sha256"),
    (lambda m: m.update(artifacts=["dae.onnx"]), "expected an object with file and sha256"),
    (lambda m: m.update(artifacts=None), "'artifacts' must be a non-empty list"),
    (lambda m: m.update(format_version=99), "newer than this dae-edge understands"),
    (lambda m: m["artifacts"][0].update(precision="int4"), "precision must be one of"),
    (lambda m: m["input"].update(multiple_of="four"), "input.multiple_of must be a whole number"),
    (lambda m: m["input"].update(largest_activation=0), "input.largest_activation must be a number above 0"),
])
def test_a_malformed_manifest_is_one_line(shipped_copy, tmp_path, change, message):
    rewrite_manifest(shipped_copy, change)
    [image] = digits(tmp_path / "in", 1)
    for args in (["verify", str(shipped_copy)], ["run", str(image), "--model", str(shipped_copy / "dae.onnx")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_verify_catches_a_changed_golden_output_even_when_checksummed_again(shipped_copy):
    """The golden outputs are the int8 gate on the device: shifting them by two output steps must fail it."""
    data = golden()
    data["outputs"] = np.clip(data["outputs"] + 4 / 256, 0, 1).astype(np.float32)
    np.savez_compressed(shipped_copy / "golden.npz", **data)
    rewrite_manifest(shipped_copy, lambda m: m["golden"].update(sha256=sha256(shipped_copy / "golden.npz")))
    checks = {c.file: c for c in verify_folder(shipped_copy)}
    assert checks["dae_int8.onnx"].status == "fail" and "mean |Δ|" in checks["dae_int8.onnx"].detail
    assert checks["dae.onnx"].status == "fail" and "max |Δ|" in checks["dae.onnx"].detail
    assert checks["dae_int8.tflite"].status == ("fail" if LITERT else "skip")


def test_two_runs_into_one_folder_leave_whole_pngs(tmp_path):
    digits(tmp_path / "in", 400)
    command = [sys.executable, "-m", "dae_edge.app.cli", "run", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
               "--model", str(shipped_folder(DIGITS) / "dae.onnx"), "--threads", "1", "--json"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    written = sorted((tmp_path / "out").iterdir())
    assert len(written) == 400 and all(p.name.endswith(".denoised.png") for p in written)  # no temporary left
    for path in written:
        assert Image.open(path).size == (28, 28) and written_by_us(path)


def test_a_read_only_destination_fails_per_image_in_one_line(tmp_path, monkeypatch):
    import os

    paths = digits(tmp_path, 2)

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "replace", read_only)
    monkeypatch.setattr(Path, "unlink", read_only)  # the clean-up fails too
    results = list(denoise_files(Denoiser.load(shipped_folder(DIGITS) / "dae.onnx"), paths, RunOptions(invert=Invert.no)))
    assert [r.error for r in results] == [f"{p.with_name(p.stem + '.denoised.png')}: cannot write (Read-only file system)"
                                          for p in paths]


def test_compare_keeps_a_users_file_and_is_never_an_input(tmp_path):
    [image] = digits(tmp_path, 1, "x")
    users = tmp_path / "x0.compare.png"
    users.write_bytes(b"the user's own file")
    model = ["--model", str(shipped_folder(DIGITS) / "dae.onnx")]
    result = runner.invoke(app, ["run", str(tmp_path), "--compare", *model])
    assert result.exit_code == 1 and "exists and was not written by dae-edge; pass --overwrite" in result.output
    assert users.read_bytes() == b"the user's own file"
    assert runner.invoke(app, ["run", str(tmp_path), "--compare", "--overwrite", *model]).exit_code == 0
    again = runner.invoke(app, ["run", str(tmp_path), "--compare", *model])  # ours now: replaced without asking
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x0.compare.png", "x0.denoised.png", "x0.png"]


def test_added_noise_differs_per_image_and_repeats_per_seed(tmp_path):
    for i in range(2):  # two copies of one digit
        digits(tmp_path / "in", 1, f"copy{i}_")
    model = ["--model", str(shipped_folder(DIGITS) / "dae.onnx"), "--invert", "no", "--compare"]

    def noisy_halves(seed: str) -> list[np.ndarray]:
        assert runner.invoke(app, ["run", str(tmp_path / "in"), "--add-noise", "0.5", "--seed", seed, *model]).exit_code == 0
        return [np.asarray(Image.open(tmp_path / "in" / f"copy{i}_0.compare.png"))[:, :28] for i in range(2)]

    first, again, other = noisy_halves("0"), noisy_halves("0"), noisy_halves("1")
    assert not np.array_equal(first[0], first[1])
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_uniform_alpha_is_ignored_and_varying_alpha_is_paper(tmp_path):
    gray = np.round(golden()["clean"][0, ..., 0] * 255).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "plain.png")
    rgba = np.stack([gray, gray, gray, np.full_like(gray, 200)], axis=-1)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "faint.png")
    plain, faint = read_image(tmp_path / "plain.png"), read_image(tmp_path / "faint.png")
    assert np.array_equal(plain.pixels, faint.pixels) and plain.inverted == faint.inverted
    rgba[..., 3] = 0
    rgba[10:20, 10:20, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    cutout = read_image(tmp_path / "cutout.png", Invert.no).pixels
    assert cutout[0, 0] == 1.0 and np.array_equal(cutout[10:20, 10:20], plain.pixels[10:20, 10:20])


def test_an_unchecked_model_warns_and_a_folder_is_a_model(tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(shipped_folder(DIGITS) / "dae.onnx", bare / "dae.onnx")
    [image] = digits(tmp_path / "in", 1)
    result = runner.invoke(app, ["run", str(image), "--model", str(bare / "dae.onnx")])
    assert result.exit_code == 0 and "warning:" in result.output and "unchecked model" in result.output
    checked = runner.invoke(app, ["run", str(image), "--model", str(shipped_folder(DIGITS)), "--backend", "onnx", "--json"])
    assert checked.exit_code == 0 and "warning" not in checked.output
    assert json.loads(checked.output)["ok"]
    from dae_edge.app.run import BackendChoice, _pick_model

    assert _pick_model(shipped_folder(DIGITS), BackendChoice.onnx).name == "dae.onnx"  # --backend holds for a folder too
    assert _pick_model(shipped_folder(DIGITS), BackendChoice.tflite).name == "dae_int8.tflite"
    assert Denoiser.load(shipped_folder(DIGITS)).info is not None


@pytest.mark.parametrize("images, message", [
    (np.full((1, 28, 28), 200, np.uint8), "expected float pixels in [0, 1], got uint8"),
    (np.full((1, 28, 28), 2.0, np.float32), "pixel values must be finite and lie in [0, 1], got 2 to 2"),
    (np.full((1, 28, 28), np.nan, np.float32), "pixel values must be finite and lie in [0, 1]"),
])
def test_the_api_refuses_what_it_cannot_denoise(images, message):
    with pytest.raises(DaeEdgeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Denoiser.load(shipped_folder(DIGITS) / "dae.onnx").denoise(images)


def test_only_the_first_frame_is_used_and_said(tmp_path):
    frames = [Image.fromarray(np.full((28, 28), v, np.uint8)) for v in (0, 128, 255)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    result = runner.invoke(app, ["run", str(tmp_path / "anim.gif"), "--model", str(shipped_folder(DIGITS) / "dae.onnx"), "--json"])
    assert result.exit_code == 0 and "3 frames or pages; only the first was denoised" in json.loads(result.output)["note"]


def test_verify_and_run_print_no_runtime_chatter(tmp_path):
    [image] = digits(tmp_path, 1)
    model = shipped_folder(DIGITS) / ("dae_int8.tflite" if LITERT else "dae_int8.onnx")
    for args in (["verify"], ["run", str(image), "--model", str(model)]):
        done = subprocess.run([sys.executable, "-m", "dae_edge.app.cli", *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "XNNPACK" not in done.stderr + done.stdout and "INFO" not in done.stderr


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("shape", [(1, 3001), (257, 131), (2003, 3)])
def test_blocks_equal_one_pass_on_shipped_models(name, shape, monkeypatch):
    image = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    one_pass = Denoiser.load(shipped_folder(name) / "dae.onnx", threads=1, large="whole").denoise(image[None])
    monkeypatch.setattr(denoiser_module, "CALL_PIXELS", 1 << 12)  # now every shape is cut into blocks
    monkeypatch.setattr(denoiser_module, "HALO_OVERHEAD", math.inf)  # that halos do not grow
    blocked = Denoiser.load(shipped_folder(name) / "dae.onnx", threads=2, large="whole")
    np.testing.assert_allclose(blocked.denoise(image[None]), one_pass, rtol=0, atol=1e-6)


def test_concurrent_writers_of_one_file_never_collide(tmp_path):
    import threading

    from dae_edge.core.images import write_image

    target, errors = tmp_path / "x.denoised.png", []

    def writer(value: float) -> None:
        for _ in range(200):
            try:
                write_image(target, np.full((64, 64), value, np.float32))
            except DaeEdgeError as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=writer, args=(v,)) for v in (0.2, 0.8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and [p.name for p in tmp_path.iterdir()] == ["x.denoised.png"]
    assert np.asarray(Image.open(target)).std() == 0  # one writer's whole picture


def test_model_name_picks_a_shipped_model(tmp_path):
    [image] = digits(tmp_path, 1)
    written = {}
    for name in SHIPPED:
        result = runner.invoke(app, ["run", str(image), "--model-name", name, "--backend", "onnx", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        written[name] = np.asarray(Image.open(tmp_path / name / "digit0.denoised.png"))
    assert not np.array_equal(written["paper"], written["unet"])
    unknown = runner.invoke(app, ["run", str(image), "--model-name", "vgg"])
    assert unknown.exit_code == 1 and "--model-name 'vgg': expected one of photo, paper, unet, blind, pictures" in unknown.output
    both = runner.invoke(app, ["run", str(image), "--model-name", "unet", "--model", str(shipped_folder(DIGITS) / "dae.onnx")])
    assert both.exit_code == 1 and "give one" in both.output


@pytest.mark.parametrize("name", ["dae.tflite", "dae_int8.tflite"])
def test_litert_without_xnnpack_runs_any_size_models(name, monkeypatch):
    """Where XNNPACK cannot start (it failed to read the CPU list in an emulated Pi), the built-in kernels run."""
    need(LITERT, "LiteRT (ai-edge-litert) is not installed")
    import functools

    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from dae_edge.runtime import backends

    plain = functools.partial(Interpreter, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    monkeypatch.setattr(backends, "litert_interpreter", lambda: plain)
    data = golden()
    output = Denoiser.load(shipped_folder(DIGITS) / name, threads=1).denoise(data["inputs"])
    assert np.abs(output - data["outputs"]).mean() < 3 / 256
