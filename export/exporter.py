"""The export orchestrator: convert, validate against Keras, and publish only what passed."""
import json
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

import numpy as np

from dae_edge.export.options import ExportOptions
from dae_edge.export.keras_model import check_image_to_image, downsampling_factor, load_keras_model, receptive_radius
from dae_edge.export.publish import publish_set
from dae_edge.runtime.backends import open_backend
from dae_edge.runtime.denoiser import LARGE_MODES, Denoiser, Geometry
from dae_edge.runtime.metrics import psnr
from dae_edge.runtime.errors import DaeEdgeError
from dae_edge.runtime.files import ensure_writable_dir, sha256
from dae_edge.runtime.grids import cells, mosaic
from dae_edge.runtime.formats import FORMATS, Format
from dae_edge.runtime.manifest import FORMAT_VERSION, GOLDEN, MANIFEST, artifact_files
from dae_edge.runtime.tolerances import FP32_MAX_ABS, INT8_MEAN_ABS, INT8_PSNR_DROP_DB, agreement
from dae_edge.train.config import TrainConfig
from dae_edge.train.contract import read_contract
from dae_edge.train.data import Mnist
from dae_edge.train.model import count_macs
from dae_edge.runtime.noise import pairs
from dae_edge.train.sources import IdxSource, Source, golden_picks, source_from_contract

MIN_CALIBRATION_IMAGES = 32  # fewer and min/max calibration misses the tails of the activations
GOLDEN_IMAGES = 10  # one noisy test digit per class: enough for a device to check itself quickly
COMPOSITE_SIDE = 10  # validation digits laid out 10 × 10: the artifacts must hold on whole images too
TILES_MARGIN_DB = 0.05  # tiles must keep this much more PSNR than one pass to be worth their time
LARGE_SIDE = 320  # a picture source's large validation image: a crop of at most this side


class ExportError(DaeEdgeError):
    """An artifact did not reproduce the Keras model; nothing was published."""


def training_config(model_path: Path) -> TrainConfig:
    """The training options, written beside the model by `dae-edge train`."""
    path = model_path.parent / "config.json"
    if not path.is_file():
        raise DaeEdgeError(f"{model_path}: no config.json beside it, so its architecture and noise are unknown; "
                           "export a model written by dae-edge train")
    try:
        return TrainConfig.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError, AttributeError) as exc:
        raise DaeEdgeError(f"{path}: not a valid training configuration ({exc})") from None


def check_options(options: ExportOptions) -> None:
    if options.calibration_images < MIN_CALIBRATION_IMAGES:
        raise DaeEdgeError(f"--calibration-images {options.calibration_images} is too few; use at least {MIN_CALIBRATION_IMAGES}")
    if options.validation_images < 1:
        raise DaeEdgeError("--validation-images must be at least 1")


def composite(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The first rows·cols images (N, h, w, 1) as one (1, rows·h, cols·w, 1) image."""
    _, h, w, _ = images.shape
    return mosaic(images[: rows * cols, ..., 0], rows * h, cols * w)[None, ..., None]


def large_image_quality(path: Path, geometry: Geometry, noisy: np.ndarray, clean: np.ndarray, cell: int | None) -> dict[str, float]:
    """PSNR of a large image run whole and in overlapping tiles, with the runtime's code: the mean over its
    `cell`-sized cells (a composite of small images), or over the whole picture where `cell` is None."""
    figures, size = {}, cell or clean.shape[1]
    for mode in LARGE_MODES:
        denoiser = Denoiser(open_backend(path), path, None, replace(geometry, large=mode), threads=1)
        output = denoiser.denoise(noisy)
        figures[mode] = float(psnr(cells(clean[0, ..., 0], size, size), cells(output[0, ..., 0], size, size)).mean()) \
            if cell else float(psnr(clean, output)[0])
    return figures


def _large_case(source: Source, noise, seed: int, noisy: np.ndarray, clean: np.ndarray,
                multiple: int) -> tuple[np.ndarray | None, np.ndarray | None, int | None, str | None]:
    """(noisy, clean, cell, description) of one large image: a crop of a validation picture where the source has
    pictures (a mosaic of unrelated patches would favour tiles cut along its seams), else a grid of small images,
    else Nones."""
    picture = source.large_picture(LARGE_SIDE, multiple)
    if picture is not None:
        noisy, whole = pairs(picture[None, ..., None], noise, seed)
        return noisy, whole, None, f"a {picture.shape[1]}×{picture.shape[0]} crop of a validation picture"
    if len(clean) < COMPOSITE_SIDE**2:
        return None, None, None, None  # too few validation images for a grid: no large-image check
    return (composite(noisy, COMPOSITE_SIDE, COMPOSITE_SIDE), composite(clean, COMPOSITE_SIDE, COMPOSITE_SIDE), clean.shape[1],
            f"the first {COMPOSITE_SIDE ** 2} as one {COMPOSITE_SIDE}×{COMPOSITE_SIDE} grid")


def _targets(int8: bool) -> list[tuple[Format, str]]:
    """(format, precision) of each artifact to make, in the table's order: fp32 of every format first."""
    precisions = ["fp32", "int8"] if int8 else ["fp32"]
    return [(fmt, precision) for precision in precisions for fmt in FORMATS]


def _validate(path: Path, precision: str, cases: dict) -> tuple[dict, list[str]]:
    """Run the artifact on each case (name → (noisy, Keras output, clean)); figures and failures."""
    backend = open_backend(path, threads=1)
    figures, failures = {}, []
    for case, (noisy, reference, clean) in cases.items():
        figures[case], failed = agreement(precision, reference, backend.run(noisy), clean)
        failures += [f"{path.name} on {case}: {f}" for f in failed]
    return figures, failures


def _source(data: Mnist | Source | Path | None, contract: dict, val_data: Path | None) -> Source:
    """The training data: as the contract names it, from `data` where it moved, or given as arrays (tests)."""
    if isinstance(data, Mnist):
        return IdxSource(data, None)
    if data is None or isinstance(data, (str, Path)):
        return source_from_contract(contract, data, val_data)
    return data


def export(model_path: Path, out: Path, data: Mnist | Source | Path | None, options: ExportOptions, log=print,
           val_data: Path | None = None) -> dict:
    """Write the artifacts, golden set and manifest into `out`, or raise and leave `out` as it was.

    `data` defaults to the source the model's contract names; it is read only once the model has been checked.
    """
    check_options(options)
    model = load_keras_model(model_path)
    config = training_config(model_path)
    contract = read_contract(model_path)
    multiple = downsampling_factor(model)
    check_image_to_image(model, multiple)
    source = _source(data, contract, val_data)
    train_count, test_count = source.available()
    if options.calibration_images > train_count:
        raise DaeEdgeError(f"--calibration-images {options.calibration_images} is more than the {train_count} training images")
    if options.validation_images > test_count:
        raise DaeEdgeError(f"--validation-images must be at most {test_count}")
    ensure_writable_dir(out)
    noise = config.noise_model

    calibration = pairs(source.calibration_images(options.calibration_images, options.seed), noise, options.seed)[0]
    noisy, clean = pairs(source.validation_images(options.validation_images, options.seed), noise, config.val_noise_seed)
    labels = source.validation_labels(options.validation_images, options.seed)
    reference = model.predict(noisy, batch_size=256, verbose=0)
    cases = {"validation images": (noisy, reference, clean)}
    large_noisy, large_clean, cell, large_description = _large_case(source, noise, config.val_noise_seed, noisy, clean, multiple)
    if large_noisy is not None:
        cases["large image"] = (large_noisy, model.predict(large_noisy, verbose=0), large_clean)
    model_sha = sha256(model_path)
    radius = receptive_radius(model)
    patch = int(contract["patch"])  # the size of the training images: what tiling cuts to
    metadata = {"dae_edge_version": version("dae-edge"), "model_version": model_sha[:12], "layout": "NHWC",
                "input_shape": "[batch, height, width, 1]", "multiple_of": multiple, "receptive_radius": radius,
                "value_range": "[0, 1]", "polarity": contract["polarity"], "training_config_sha256": config.sha256()}

    def build(stage: Path) -> list[str]:
        artifacts, failures = [], []
        for fmt, precision in _targets(options.int8):
            name = fmt.artifact(precision)
            log(f"exporting {name}")
            try:
                written = fmt.load("converter")(model, stage / name, precision, calibration, metadata)
            except Exception as exc:  # converters raise anything from TensorFlow, tf2onnx or onnx
                raise ExportError(f"{name}: conversion failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from exc
            figures, failed = _validate(stage / name, precision, cases)
            failures += failed
            artifacts.append({"file": name, "sha256": sha256(stage / name),
                              "bytes": sum(p.stat().st_size for p in written), "format": fmt.name, "precision": precision,
                              **fmt.load("describe")(stage / name), "accepts": ACCEPTS, "value_range": [0.0, 1.0],
                              "layout": "NHWC", "validation": figures["validation images"], "validation_composite": figures.get("large image"),
                              **_extra_files(written)})
        if failures:
            raise ExportError("validation failed, nothing was published: " + "; ".join(failures))
        large = {}
        if "large image" in cases:
            geometry = Geometry(tile=patch, multiple=multiple, radius=radius)
            fp32 = next(a["file"] for a in artifacts if a["precision"] == "fp32")
            large = large_image_quality(stage / fp32, geometry, cases["large image"][0], cases["large image"][2], cell)
        golden = _golden(labels, noisy, reference, clean, model)
        np.savez_compressed(stage / GOLDEN, **golden)
        manifest.update(_manifest(model_path.name, model_sha, config, contract, options, metadata, large_description, golden, stage / GOLDEN,
                                  artifacts, {"multiple_of": multiple, "receptive_radius": radius, "patch": patch,
                                              **_large_choice(large)},
                                  {"arch": config.arch, "params": int(model.count_params()), "noise": config.noise,
                                   "macs_per_28x28": count_macs(model)}))
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        return [name for a in artifacts for name in artifact_files(a)] + [GOLDEN, MANIFEST]

    manifest: dict = {}  # filled by build(), which publish_set() calls
    publish_set(out, build)
    if skipped := source.skipped_summary():
        log(skipped)
    return manifest


def _extra_files(written: list[Path]) -> dict:
    """Files beside an artifact's main file (a weights file next to its graph), each with its checksum."""
    extra = [{"file": p.name, "sha256": sha256(p)} for p in written[1:]]
    return {"extra_files": extra} if extra else {}


def _large_choice(psnr_by_mode: dict[str, float]) -> dict:
    """Run larger images whole (one pass, 2–3× faster) unless tiles kept clearly more PSNR on the large image."""
    if not psnr_by_mode:
        return {"large_images": "whole"}
    best = "tiles" if psnr_by_mode["tiles"] > psnr_by_mode["whole"] + TILES_MARGIN_DB else "whole"
    return {"large_images": best, "large_images_psnr": {mode: round(v, 3) for mode, v in psnr_by_mode.items()}}


# Every exported format takes any batch, height and width (sizes that divide by `multiple_of`):
# tf2onnx writes symbolic dimensions, and LiteRT resizes its input with resize_tensor_input.
ACCEPTS = {"batch": "any", "height": "any multiple of multiple_of", "width": "any multiple of multiple_of"}


def _trained_on(contract: dict) -> str:
    data = contract["data"]
    if data["kind"] == "folder":
        return f"{data['files']} pictures in {data['path']}, as {contract['patch']}×{contract['patch']} patches"
    return f"IDX images from {data.get('path') or 'MNIST (the default data)'}, {contract['patch']}×{contract['patch']}"


def _manifest(model_name: str, model_sha: str, config: TrainConfig, contract: dict, options: ExportOptions, metadata: dict,
              large_description: str | None,
              golden: dict, golden_path: Path, artifacts: list[dict], shape: dict, model_facts: dict) -> dict:
    noise = {"noise": config.noise, "seed": options.seed}
    what = "patches of the training pictures" if contract["data"]["kind"] == "folder" else "training images"
    held = "patches of the validation pictures" if contract["data"]["kind"] == "folder" else "test images"
    return {
        "format_version": FORMAT_VERSION,
        "created_by": f"dae-edge {metadata['dae_edge_version']}",
        "model_version": metadata["model_version"],
        "source": {"file": model_name, "sha256": model_sha, "training_config": config.to_dict(),
                   "training_config_sha256": config.sha256()},
        "model": model_facts,
        "input": {"layout": "NHWC", "shape": [None, None, None, 1], "dtype": "float32", "value_range": [0.0, 1.0],
                  **shape, "polarity": contract["polarity"], "trained_on": _trained_on(contract), "noise": config.noise},
        "contract": contract,
        "calibration": {"images": options.calibration_images, "from": what, **noise},
        "validation": {"images": options.validation_images, "from": held, "noise": config.noise,
                       "noise_seed": config.val_noise_seed, "composite": large_description,
                       "tolerances": {"fp32_max_abs": FP32_MAX_ABS, "int8_mean_abs": INT8_MEAN_ABS,
                                      "int8_psnr_drop_db": INT8_PSNR_DROP_DB}},
        "golden": {"file": GOLDEN, "sha256": sha256(golden_path), "images": len(golden["inputs"])},
        "artifacts": artifacts,
    }


def _golden(labels: np.ndarray | None, noisy: np.ndarray, reference: np.ndarray, clean: np.ndarray, model) -> dict:
    """One image per class (evenly spaced picks without labels), and the same as one 2×5 image with its Keras output."""
    picks = golden_picks(labels, len(noisy), GOLDEN_IMAGES)
    golden = {"inputs": noisy[picks], "outputs": reference[picks], "clean": clean[picks]}
    if labels is not None:
        golden["labels"] = labels[picks]
    if len(picks) == GOLDEN_IMAGES:
        golden["large_input"], golden["large_clean"] = composite(noisy[picks], 2, 5), composite(clean[picks], 2, 5)
        golden["large_output"] = model.predict(golden["large_input"], verbose=0)
    return golden
