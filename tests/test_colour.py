"""Colour end to end: a tiny seeded RGB photo model trained on real colour pictures, exported in every format,
verified, and run on colour and grey files; colour comes back colour."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import write_pictures
from dae_edge.app.cli import app
from dae_edge.runtime.denoiser import Denoiser
from dae_edge.runtime.verify import verify_folder

runner = CliRunner()


@pytest.fixture(scope="module")
def colour_model(tmp_path_factory) -> Path:
    from dae_edge.core.data_config import DataConfig
    from dae_edge.core.folder import FolderSource
    from dae_edge.export.exporter import ExportOptions, export
    from dae_edge.train.config import TrainConfig
    from dae_edge.train.training import train

    root = tmp_path_factory.mktemp("colour")
    write_pictures(root / "train", ("astronaut", "chelsea", "rocket", "immunohistochemistry"))
    write_pictures(root / "heldout", ("coffee",))
    out = root / "model"
    source = FolderSource.open(root / "train", DataConfig(patch=32, patches_per_epoch=256, val_patches=32, channels=3),
                               seed=0, val_data=root / "heldout")
    train(TrainConfig(arch="photo", loss="mse", filters=8, grey_share=0.25, epochs=2, noise="gaussian:0-0.2", batch_size=16),
          source, out, log=lambda line: None)
    export(out / "dae.keras", out, ExportOptions(int8=True, fp16=True, calibration_images=64, validation_images=64),
           log=lambda line: None)
    return out


def test_the_contract_and_manifest_say_three_channels(colour_model):
    contract = json.loads((colour_model / "contract.json").read_text())
    manifest = json.loads((colour_model / "manifest.json").read_text())
    assert contract["channels"] == 3 and manifest["input"]["channels"] == 3 and manifest["input"]["multiple_of"] == 8
    assert manifest["input"]["shape"] == [None, None, None, 3] and manifest["model"]["macs_per_pixel"] > 0
    golden = np.load(colour_model / "golden.npz")
    assert golden["inputs"].shape[-1] == 3 and golden["outputs"].shape == golden["inputs"].shape


def test_a_photo_model_is_run_with_its_context_margin(colour_model):
    """The manifest and the ONNX file's own metadata both carry the margin, so the runtime mirrors 16 pixels of
    context around every image, with a manifest or without."""
    import onnx

    from dae_edge.runtime.denoiser import Denoiser

    assert json.loads((colour_model / "manifest.json").read_text())["input"]["margin"] == 16
    metadata = {p.key: p.value for p in onnx.load(colour_model / "dae.onnx").metadata_props}
    assert metadata["margin"] == "16" and Denoiser.load(colour_model / "dae.onnx").geometry.margin == 16


def test_every_format_verifies(colour_model):
    checks = list(verify_folder(colour_model))
    assert len(checks) == 5 and all(c.status == "pass" for c in checks), [c for c in checks if c.status != "pass"]


def test_colour_files_come_back_in_colour_and_grey_files_in_grey(colour_model, tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((45, 70, 3)) * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    Image.fromarray((rng.random((45, 70)) * 255).astype(np.uint8)).save(tmp_path / "page.png")
    result = runner.invoke(app, ["run", str(tmp_path / "photo.png"), str(tmp_path / "page.png"), "--model", str(colour_model)])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "photo.denoised.png").mode == "RGB" and Image.open(tmp_path / "photo.denoised.png").size == (70, 45)
    assert Image.open(tmp_path / "page.denoised.png").mode == "L"


def test_a_grey_image_is_three_equal_channels_to_a_colour_model(colour_model):
    denoiser = Denoiser.load(colour_model / "dae.onnx")
    grey = np.random.default_rng(1).random((1, 40, 48), dtype=np.float32)
    out = denoiser.denoise(grey)
    m = denoiser.geometry.margin  # mirrored context on every side
    padded = np.pad(grey, ((0, 0), (m, m), (m, m)), mode="reflect")
    direct = denoiser.backend.run(np.repeat(padded[..., None], 3, axis=-1))[:, m : m + 40, m : m + 48].mean(axis=-1)
    assert out.shape == grey.shape and np.allclose(out, direct, atol=1e-6)


def test_a_colour_image_through_a_grey_model_is_denoised_channel_by_channel(exported_dir):
    denoiser = Denoiser.load(exported_dir / "dae.onnx")
    colour = np.random.default_rng(2).random((1, 28, 28, 3), dtype=np.float32)
    out = denoiser.denoise(colour)
    assert out.shape == colour.shape
    for c in range(3):
        assert np.allclose(out[..., c], denoiser.denoise(colour[..., c]), atol=1e-6)


def calibration_images(model: Path, count: int = 64) -> np.ndarray:
    """The noisy patches export calibrated `model` on (its default seed, the fixture's count)."""
    from dae_edge.core.data import source_from_contract
    from dae_edge.core.noise import pairs

    contract = json.loads((model / "contract.json").read_text())
    return pairs(source_from_contract(contract).calibration_images(count, 0), contract["noise"], 0)[0].astype(np.float32)


def test_convolutions_with_rare_peaks_are_found():
    """Two 1×1 convolutions of a two-channel input: the second sees a channel with rare spikes 50× its values."""
    import onnx
    from onnx import TensorProto, helper

    from dae_edge.export.onnx_export import outlier_convolutions

    weights = [helper.make_tensor(f"w{c}", TensorProto.FLOAT, [1, 2, 1, 1], [1.0 - c, float(c)]) for c in (0, 1)]
    nodes = [helper.make_node("Conv", ["x", f"w{c}"], [f"y{c}"], name=f"conv{c}") for c in (0, 1)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2, 16, 16])],
                              [helper.make_tensor_value_info(f"y{c}", TensorProto.FLOAT, None) for c in (0, 1)], weights)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    images = np.random.default_rng(0).random((32, 2, 16, 16), dtype=np.float32)
    images[::4, 1, 3, 3] = 50.0  # one pixel in 2,048 of the second channel
    assert outlier_convolutions(proto, images, 8.0) == ["conv1"]
    assert outlier_convolutions(proto, images, 100.0) == [] and outlier_convolutions(proto, images, None) == []


def test_a_relu_model_gets_the_relu_int8_recipe(colour_model, exported_dir):
    """ReLUs folded into their convolutions, transposed convolutions and those at 1/2 resolution or finer (in the photo
    model the first three and last two: in int8 they cost it 0.07–1.1 dB at σ 5) kept in float; the MNIST models keep
    the min-max recipe of every op."""
    import onnx

    from dae_edge.export.onnx_export import LEAKY_RECIPE, RELU_RECIPE, fine_convolutions, int8_recipe, outlier_convolutions

    assert int8_recipe(onnx.load(colour_model / "dae.onnx")) is RELU_RECIPE
    assert int8_recipe(onnx.load(exported_dir / "dae.onnx")) is LEAKY_RECIPE
    graph = onnx.load(colour_model / "dae_int8.onnx").graph
    made_by = {output: node for node in graph.node for output in node.output}
    weight_of = lambda node: made_by.get(node.input[1])  # noqa: E731
    convs = [n for n in graph.node if n.op_type == "Conv"]
    quantized = [weight_of(n) is not None and weight_of(n).op_type == "DequantizeLinear" for n in convs]
    outliers = set(outlier_convolutions(onnx.load(colour_model / "dae.onnx"), calibration_images(colour_model), RELU_RECIPE.outlier_ratio))
    fine = fine_convolutions(onnx.load(colour_model / "dae.onnx"))
    names = [n.name.split("/")[1] for n in convs]
    assert [name.split("/")[1] for name in fine] == names[:3] + names[-2:]  # unshuffle, enc1, down2; dec2a, dec2b
    assert RELU_RECIPE.float_fine and quantized == [n.name not in {*fine, *outliers} for n in convs]
    assert sum(quantized) >= len(convs) // 2
    assert all(weight_of(n) is None for n in graph.node if n.op_type == "ConvTranspose")
    relus = lambda graph: sum(n.op_type == "Relu" for n in graph.node)  # noqa: E731
    assert relus(graph) <= relus(onnx.load(colour_model / "dae.onnx").graph) - sum(quantized)  # folded into its Conv


def test_a_relu_model_int8_tflite_keeps_its_fine_resolution_ops_in_float(colour_model):
    """The int8 TFLite file of a ReLU model: float I/O, every convolution that reads or writes at 1/2 resolution or
    finer in float (full-integer, they cost the photo model 1.6–4.4 dB at σ 5), the coarse middle int8."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(str(colour_model / "dae_int8.tflite"),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], [1, 32, 32, 3])
    interpreter.allocate_tensors()
    assert interpreter.get_input_details()[0]["dtype"] == np.float32 == interpreter.get_output_details()[0]["dtype"]
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()
    height = lambda i: tensors[i]["shape"][1]  # noqa: E731
    convs = [op for op in ops if op["op_name"] == "CONV_2D"]
    int8 = [tensors[op["outputs"][0]]["dtype"] == np.int8 for op in convs]
    fine = [max(height(op["inputs"][0]), height(op["outputs"][0])) >= 16 for op in convs]
    assert not any(q and f for q, f in zip(int8, fine)) and any(fine)
    assert sum(int8) >= len(convs) // 2


def test_photo_tables_measure_every_method_on_the_same_noisy_pictures(colour_model, tmp_path):
    from dae_edge.bench.bench import photo_stage
    from dae_edge.bench.photos import SIGMAS, format_photos, photo_quality, read_photos

    write_pictures(tmp_path / "photos", ("coffee",))
    Image.open(tmp_path / "photos" / "coffee.png").convert("L").save(tmp_path / "photos" / "coffee-grey.png")
    peer = tmp_path / "peer" / "foreign.onnx"
    peer.parent.mkdir()
    peer.write_bytes((colour_model / "dae.onnx").read_bytes())  # a bare model without a manifest, as a peer's
    manifest = json.loads((colour_model / "manifest.json").read_text())
    from dae_edge.bench.reference import KerasPredict

    keras = KerasPredict(colour_model / "dae.keras")
    result = photo_stage(colour_model, manifest, tmp_path / "photos", peer, 2, keras, log=lambda line: None)
    assert set(result["kinds"]) == {"grey", "colour"} and result["sigmas"] == list(SIGMAS)
    for table in result["kinds"].values():
        methods = table["methods"]
        assert {"noisy input", "median 3×3", "dae.keras", "dae.onnx", "dae_int8.onnx", "dae_int8.tflite", "peer foreign.onnx"} <= set(methods)
        assert methods["dae.onnx"]["25"]["psnr"] == pytest.approx(methods["peer foreign.onnx"]["25"]["psnr"], abs=1e-4)
        assert methods["noisy input"]["5"]["psnr"] > methods["noisy input"]["50"]["psnr"] + 10
    assert set(result["speed"]) == {e["file"] for e in manifest["artifacts"]} | {"dae.keras", "peer foreign.onnx"}
    assert "| peer foreign.onnx | " in "\n".join(format_photos(result))
    # The identity as a method scores exactly the noisy input: every method sees the same noisy images.
    photos = read_photos(tmp_path / "photos")
    same = photo_quality(photos, {"identity": lambda noisy, sigma: noisy}, seed=3, log=lambda line: None)
    for table in same["kinds"].values():
        for s in map(str, SIGMAS):
            assert table["methods"]["identity"][s] == {"psnr": table["methods"]["noisy input"][s]["psnr"], "worst_gain": 0.0}


def test_photo_tables_at_camera_noise_give_the_classical_methods_its_true_sigma(tmp_path):
    from dae_edge.bench.photos import check_level, format_photos, photo_quality, read_photos

    write_pictures(tmp_path / "photos", ("coffee",), side=64)
    photos = read_photos(tmp_path / "photos")
    clean = photos["colour"][0][1]
    given: list[float] = []
    levels = ("poisson-gaussian:60,0.02", "gaussian:0.1")
    result = photo_quality(photos, {"identity": lambda noisy, sigma: (given.append(sigma), noisy)[1]}, seed=3,
                           log=lambda line: None, sigmas=levels)
    assert given == pytest.approx([np.sqrt(clean.mean() / 60 + 0.02**2), 0.1])
    scores = result["kinds"]["colour"]["methods"]["noisy input"]
    expected = 10 * np.log10(1 / (clean.mean() / 60 + 0.02**2))  # unclipped; clipping at 0 and 1 only lowers the error
    assert expected < scores["poisson-gaussian:60,0.02"]["psnr"] < expected + 1.5
    assert "| method | poisson-gaussian:60,0.02 | gaussian:0.1 |" in "\n".join(format_photos(result))
    for spec in ("gaussian:0-0.2", "saltpepper:0.1", "poisson-gaussian:20-200,0.02"):
        with pytest.raises(ValueError, match="at fixed levels"):
            check_level(spec)


def test_photo_noise_needs_photos_and_a_fixed_level(colour_model, tmp_path):
    result = CliRunner().invoke(app, ["bench", "--models", str(colour_model), "--photo-noise", "poisson-gaussian:60,0.02"])
    assert result.exit_code != 0 and "--photo-noise is measured on --photos" in result.output
    result = CliRunner().invoke(app, ["bench", "--models", str(colour_model), "--photos", str(tmp_path), "--photo-noise", "gaussian:0-0.2"])
    assert result.exit_code != 0 and "give gaussian, poisson or poisson-gaussian noise at fixed levels" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_own_noise_quality_measures_colour_pictures(colour_model):
    from dae_edge.bench.quality import own_noise_quality
    from dae_edge.core.data import source_from_contract

    manifest = json.loads((colour_model / "manifest.json").read_text())
    pictures = source_from_contract(manifest["contract"]).bench_images(2)
    assert pictures[0].ndim == 3 and pictures[0].shape[-1] == 3
    result = own_noise_quality(colour_model, manifest, pictures, 0, log=lambda line: None)
    scores = result["methods"]
    assert {"noisy input", "median 3×3", "dae.onnx"} <= set(scores)
    assert all(np.isfinite(s["psnr"]) and 0 < s["ssim"] <= 1 for s in scores.values())
    assert scores["median 3×3"]["psnr"] > scores["noisy input"]["psnr"]
