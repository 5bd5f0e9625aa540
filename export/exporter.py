"""The export orchestrator: convert, validate against Keras, and publish only what passed."""
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from dae_edge.core.contract import read_contract
from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.files import ensure_writable_dir, sha256
from dae_edge.core.grids import grids
from dae_edge.core.noise import Noise, pairs
from dae_edge.core.data import source_from_contract
from dae_edge.core.sources import Source, golden_picks
from dae_edge.export.converters import CONVERTERS
from dae_edge.export.keras_model import (check_keras_model, downsampling_factor, fresh_copy, largest_activation,
                                         load_keras_model, receptive_radius)
from dae_edge.export.large_choice import large_choice, whole_and_tiles
from dae_edge.export.options import ExportOptions
from dae_edge.export.publish import publish_set
from dae_edge.runtime.backends import open_backend
from dae_edge.runtime.formats import FORMATS, Format
from dae_edge.runtime.manifest import FORMAT_VERSION, GOLDEN, MANIFEST, artifact_files, validate as validate_manifest
from dae_edge.runtime.precision import TOLERANCES, Precision
from dae_edge.runtime.verify import Case, validate, verify_folder
from dae_edge.train.config import TrainConfig
from dae_edge.train.model import count_macs

MIN_CALIBRATION_IMAGES = 32  # fewer and min/max calibration misses the tails of the activations
GOLDEN_IMAGES = 10  # one noisy test digit per class: enough for a device to check itself quickly
# Rows and columns of mirrored context the runtime adds on every side of an image run whole, by architecture.
# Measured on the photo model's sixth cycle (fp32 ONNX, the held-out crops, σ 5 / 15 / 25 / 50, one seeded draw;
# reflect-padded by hand): colour +0.02 / +0.05 / +0.06 / +0.09 dB with 16 pixels, +0.01–0.03 grey; 8 gives most of it,
# 32 no more. A 256² crop then costs 1.27× the MACs, a 2048² image 1.03×. The MNIST models keep none.
MARGINS = {"photo": 16, "photo_fullres": 16, "photo_fullres_wide": 16}
GOLDEN_SIDE = 32  # larger golden images are cut to this (a colour photo model's 128² patches made golden.npz 7.7 MB)
COMPOSITE_SIDE = 10  # validation digits laid out 10 × 10: the artifacts must hold on whole images too
LARGE_SIDE = 320  # a picture source's large validation image: a crop of at most this side
# Every exported format takes any batch, height and width (sizes that divide by `multiple_of`):
# tf2onnx writes symbolic dimensions, and LiteRT resizes its input with resize_tensor_input.
ACCEPTS = {"batch": "any", "height": "any multiple of multiple_of", "width": "any multiple of multiple_of"}


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
    possible = [fmt.artifact(precision) for fmt, precision in targets(ExportOptions(options.int8, options.fp16))]
    for name in options.leave_out:
        if name not in possible:
            raise DaeEdgeError(f"--leave-out {name}: not an artifact this export makes (it makes {', '.join(possible)})")
    if {fmt.artifact(Precision.fp32) for fmt in FORMATS} <= set(options.leave_out):
        raise DaeEdgeError("--leave-out: every fp32 artifact left out; keep at least one")


@dataclass(frozen=True)
class Checks:
    """What every artifact is validated on: named cases, and how the large one was made."""

    cases: dict[str, Case]
    large: str | None  # a description of the large image, where there is one
    cell: int | None  # the side of its cells where it is a grid of small images (PSNR per cell)


def validation_checks(model, source: Source, noise: Noise, seed: int, noisy: np.ndarray, clean: np.ndarray,
                      multiple: int) -> Checks:
    """The validation images, and one large image: a crop of a validation picture where the source has pictures
    (a mosaic of unrelated patches would favour tiles cut along its seams), else a grid of small images."""
    cases = {"validation images": (noisy, model.predict(noisy, batch_size=256, verbose=0), clean)}
    picture = source.large_picture(LARGE_SIDE, multiple)
    if picture is not None:
        large_noisy, large_clean = pairs(picture.reshape(1, *picture.shape[:2], -1), noise, seed)
        description, cell = f"a {picture.shape[1]}×{picture.shape[0]} crop of a validation picture", None
    elif len(clean) >= COMPOSITE_SIDE**2:
        large_noisy, large_clean = (grids(a[: COMPOSITE_SIDE**2], COMPOSITE_SIDE, COMPOSITE_SIDE) for a in (noisy, clean))
        description, cell = f"the first {COMPOSITE_SIDE ** 2} as one {COMPOSITE_SIDE}×{COMPOSITE_SIDE} grid", clean.shape[1]
    else:
        return Checks(cases, None, None)  # too few validation images for a grid: no large-image check
    cases["large image"] = (large_noisy, model.predict(large_noisy, verbose=0), large_clean)
    return Checks(cases, description, cell)


def targets(options: ExportOptions) -> list[tuple[Format, Precision]]:
    """(format, precision) of each artifact to make, fp32 of every format first; a precision only where the
    format's row offers it."""
    precisions = [Precision.fp32] + [Precision.fp16] * options.fp16 + [Precision.int8] * options.int8
    return [(fmt, precision) for precision in precisions for fmt in FORMATS
            if precision in fmt.precisions and fmt.artifact(precision) not in options.leave_out]


@dataclass(frozen=True)
class Model:
    """What export knows of the model it exports."""

    path: Path
    sha256: str
    config: TrainConfig
    contract: dict
    channels: int
    multiple: int
    radius: int
    facts: dict  # architecture, parameters, MACs
    activation: float  # floats per input pixel of the largest layer output (keras_model.largest_activation)
    margin: int = 0  # mirrored context the runtime adds on every side (MARGINS)

    def metadata(self) -> dict[str, str]:
        """What travels inside every artifact (ONNX metadata_props) and heads the manifest."""
        return {"dae_edge_version": version("dae-edge"), "model_version": self.sha256[:12], "layout": "NHWC",
                "input_shape": f"[batch, height, width, {self.channels}]", "multiple_of": self.multiple,
                "receptive_radius": self.radius, "largest_activation": self.activation, "margin": self.margin,
                "value_range": "[0, 1]",
                "polarity": self.contract["polarity"],
                "channels": self.channels, "training_config_sha256": self.config.sha256()}


def export(model_path: Path, out: Path, options: ExportOptions, log=print, *, source: Source | None = None,
           data: Path | None = None, val_data: Path | None = None) -> dict:
    """Write the artifacts, golden set and manifest into `out`, or raise and leave `out` as it was.

    The data is the source the model's contract names (`data` and `val_data`: where its folders are now), or
    `source` where given; it is read only once the model has been checked.
    """
    check_options(options)
    keras_model = load_keras_model(model_path)
    config, contract = training_config(model_path), read_contract(model_path)
    multiple = downsampling_factor(keras_model)
    channels = check_keras_model(keras_model, multiple)
    source = source or source_from_contract(contract, data, val_data)
    train_count, test_count = source.available()
    if options.calibration_images > train_count:
        raise DaeEdgeError(f"--calibration-images {options.calibration_images} is more than the {train_count} training images")
    if options.validation_images > test_count:
        raise DaeEdgeError(f"--validation-images must be at most {test_count}")
    ensure_writable_dir(out)
    model = Model(model_path, sha256(model_path), config, contract, channels, multiple, receptive_radius(keras_model),
                  {"arch": config.arch, "params": int(keras_model.count_params()), "noise": config.noise, "channels": channels,
                   "macs_per_pixel": round(count_macs(keras_model, 8 * multiple, 8 * multiple) / (8 * multiple) ** 2),
                   "macs_per_28x28": count_macs(keras_model) if multiple <= 4 else None},
                  largest_activation(keras_model, multiple), MARGINS.get(config.arch, 0))
    # Self-supervised models: noisy training pictures as they are; clean validation pictures with their --val-noise.
    calibration = pairs(source.calibration_images(options.calibration_images, options.seed), config.noise, options.seed)[0]
    noise = Noise.parse(config.validation_noise)
    noisy, clean = pairs(source.validation_images(options.validation_images, options.seed), noise, config.val_noise_seed)
    checks = validation_checks(keras_model, source, noise, config.val_noise_seed, noisy, clean, multiple)
    labels = source.validation_labels(options.validation_images, options.seed)
    manifest: dict = {}  # filled by build(), which publish_set() calls

    def build(stage: Path) -> list[str]:
        artifacts = [convert_and_validate(keras_model, model, fmt, precision, stage, calibration, checks, log)
                     for fmt, precision in targets(options)]
        failures = [f for a in artifacts for f in a.pop("failures")]
        if failures:
            raise ExportError("validation failed, nothing was published: " + "; ".join(failures))
        golden = golden_set(labels, checks.cases["validation images"], keras_model, multiple)
        np.savez_compressed(stage / GOLDEN, **golden)
        fp32 = next(a["file"] for a in artifacts if a["precision"] == Precision.fp32)
        large = whole_and_tiles(stage / fp32, model.contract["patch"], multiple, model.radius, checks, model.margin) if checks.large else {}
        manifest.update(manifest_of(model, options, checks, artifacts, golden, sha256(stage / GOLDEN), large_choice(large)))
        validate_manifest(json.loads(json.dumps(manifest)), stage / MANIFEST)  # what the runtime will read back
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        # What `dae-edge verify` will check on a device (the golden images, cut and tiled otherwise than the
        # validation images), checked here too: a set that fails it is never published.
        if failed := [c for c in verify_folder(stage) if c.status == "fail"]:
            raise ExportError("verify failed, nothing was published: " + "; ".join(f"{c.file}: {c.detail}" for c in failed)
                              + " (--leave-out FILE publishes the others)")
        return [name for a in artifacts for name in artifact_files(a)] + [GOLDEN, MANIFEST]

    publish_set(out, build)
    if skipped := source.skipped_summary():
        log(skipped)
    return manifest


def convert_and_validate(keras_model, model: Model, fmt: Format, precision: Precision, stage: Path,
                         calibration: np.ndarray, checks: Checks, log) -> dict:
    """One artifact written into `stage` and checked on every case; its manifest entry, with its failures."""
    name = fmt.artifact(precision)
    log(f"exporting {name}")
    converter = CONVERTERS[fmt.name]
    try:
        written = converter.convert(fresh_copy(keras_model), stage / name, precision.value, calibration, model.metadata())
    except Exception as exc:  # converters raise anything from TensorFlow, tf2onnx or onnx
        raise ExportError(f"{name}: conversion failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from exc
    figures, failures = validate(open_backend(stage / name, threads=1), checks.cases, precision)
    extra = [{"file": p.name, "sha256": sha256(p)} for p in written[1:]]  # a weights file beside its graph
    return {"file": name, "sha256": sha256(stage / name), "bytes": sum(p.stat().st_size for p in written),
            "format": fmt.name, "precision": precision.value, **converter.describe(stage / name), "accepts": ACCEPTS,
            "value_range": [0.0, 1.0], "layout": "NHWC", "validation": figures["validation images"],
            "validation_composite": figures.get("large image"), **({"extra_files": extra} if extra else {}),
            "failures": [f"{name} on {f}" for f in failures]}


def _trained_on(contract: dict) -> str:
    data = contract["data"]
    if data["kind"] == "folder":
        return f"{data['files']} pictures in {data['path']}, as {contract['patch']}×{contract['patch']} patches"
    return f"IDX images from {data.get('path') or 'MNIST (the default data)'}, {contract['patch']}×{contract['patch']}"


def manifest_of(model: Model, options: ExportOptions, checks: Checks, artifacts: list[dict], golden: dict,
                golden_sha256: str, large: dict) -> dict:
    config, contract = model.config, model.contract
    folder = contract["data"]["kind"] == "folder"
    metadata = model.metadata()
    return {
        "format_version": FORMAT_VERSION,
        "created_by": f"dae-edge {metadata['dae_edge_version']}",
        "model_version": metadata["model_version"],
        "source": {"file": model.path.name, "sha256": model.sha256, "training_config": config.to_dict(),
                   "training_config_sha256": config.sha256()},
        "model": model.facts,
        "input": {"layout": "NHWC", "shape": [None, None, None, model.channels], "dtype": "float32", "value_range": [0.0, 1.0],
                  "channels": model.channels, "multiple_of": model.multiple, "receptive_radius": model.radius,
                  "largest_activation": model.activation, "margin": model.margin, "patch": int(contract["patch"]), **large,
                  "polarity": contract["polarity"],
                  "trained_on": _trained_on(contract), "noise": config.noise},
        "contract": contract,
        "calibration": {"images": options.calibration_images, "noise": config.noise, "seed": options.seed,
                        "from": "patches of the training pictures" if folder else "training images"},
        "validation": {"images": options.validation_images, "noise": config.validation_noise, "noise_seed": config.val_noise_seed,
                       "from": "patches of the validation pictures" if folder else "test images", "composite": checks.large,
                       "tolerances": {p.value: {k: v for k, v in vars(t).items() if v is not None} for p, t in TOLERANCES.items()}},
        "golden": {"file": GOLDEN, "sha256": golden_sha256, "images": len(golden["inputs"])},
        "artifacts": artifacts,
        **({"left_out": list(options.leave_out)} if options.leave_out else {}),
    }


def golden_set(labels: np.ndarray | None, case: Case, keras_model, multiple: int = 4) -> dict:
    """One image per class (evenly spaced picks without labels), and the same as one 2×5 image with its Keras output.
    Images larger than GOLDEN_SIDE (picture patches) are cut to their centre, and Keras runs on the crops."""
    noisy, reference, clean = case
    picks = golden_picks(labels, len(noisy), GOLDEN_IMAGES)
    noisy, reference, clean = noisy[picks], reference[picks], clean[picks]
    side = -(-GOLDEN_SIDE // multiple) * multiple
    if min(noisy.shape[1:3]) > side:
        top, left = (noisy.shape[1] - side) // 2, (noisy.shape[2] - side) // 2
        noisy, clean = (a[:, top : top + side, left : left + side] for a in (noisy, clean))
        reference = keras_model.predict(noisy, verbose=0)
    golden = {"inputs": noisy, "outputs": reference, "clean": clean}
    if labels is not None:
        golden["labels"] = labels[picks]
    if len(picks) == GOLDEN_IMAGES:
        golden["large_input"], golden["large_clean"] = grids(noisy, 2, 5), grids(clean, 2, 5)
        golden["large_output"] = keras_model.predict(golden["large_input"], verbose=0)
    return golden
