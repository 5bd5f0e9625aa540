"""The export orchestrator: convert, validate against Keras, and publish only what passed."""
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from dae_edge.export.describe import describe_onnx, describe_tflite
from dae_edge.export.keras_model import fixed_input_model, load_keras_model
from dae_edge.runtime.backends import open_backend
from dae_edge.runtime.errors import DaeEdgeError
from dae_edge.runtime.files import ensure_writable_dir, publish, sha256, staging_dir
from dae_edge.runtime.manifest import GOLDEN, MANIFEST, read_manifest
from dae_edge.runtime.noise import add_noise
from dae_edge.runtime.tolerances import FP32_MAX_ABS, INT8_MEAN_ABS, INT8_PSNR_DROP_DB, agreement
from dae_edge.train.config import TrainConfig
from dae_edge.train.data import Mnist, one_per_class, to_float

MIN_CALIBRATION_IMAGES = 32  # fewer and min/max calibration misses the tails of the activations
GOLDEN_IMAGES = 10  # one noisy test digit per class: enough for a device to check itself quickly


class ExportError(DaeEdgeError):
    """An artifact did not reproduce the Keras model; nothing was published."""


@dataclass(frozen=True)
class ExportOptions:
    int8: bool = False
    calibration_images: int = 300  # a few hundred real noisy digits pin down int8 ranges
    validation_images: int = 500  # held-out noisy test digits each artifact is compared on
    seed: int = 0


def _training_config(model_path: Path) -> TrainConfig:
    path = model_path.parent / "config.json"
    return TrainConfig.from_dict(json.loads(path.read_text())) if path.is_file() else TrainConfig()


def _pick(total: int, count: int, seed: int) -> np.ndarray:
    """`count` distinct indices below `total`, seeded, in ascending order."""
    return np.sort(np.random.default_rng(seed).choice(total, count, replace=False))


def _converters(fixed, int8: bool, calibration: np.ndarray, metadata: dict) -> list[tuple[str, str, str, callable]]:
    """(file, format, precision, convert(path)) for each artifact to make, in order."""
    from dae_edge.export.onnx_export import to_onnx, to_onnx_int8
    from dae_edge.export.tflite_export import to_tflite

    def meta(precision: str) -> dict:
        return {**metadata, "precision": precision}

    targets = [("dae.tflite", "tflite", "fp32", lambda p: to_tflite(fixed, p)),
               ("dae.onnx", "onnx", "fp32", lambda p: to_onnx(fixed, p, meta("fp32")))]
    if int8:
        targets += [("dae_int8.tflite", "tflite", "int8", lambda p: to_tflite(fixed, p, calibration)),
                    ("dae_int8.onnx", "onnx", "int8", lambda p: to_onnx_int8(p.parent / "dae.onnx", p, calibration, meta("int8")))]
    return targets


def export(model_path: Path, out: Path, data: Mnist, options: ExportOptions, log=print) -> dict:
    """Write the artifacts, golden set and manifest into `out`, or raise and leave `out` as it was."""
    if options.calibration_images < MIN_CALIBRATION_IMAGES:
        raise DaeEdgeError(f"--calibration-images {options.calibration_images} is too few; use at least {MIN_CALIBRATION_IMAGES}")
    if options.calibration_images > len(data.x_train):
        raise DaeEdgeError(f"--calibration-images {options.calibration_images} is more than the {len(data.x_train)} training images")
    if not 1 <= options.validation_images <= len(data.x_test):
        raise DaeEdgeError(f"--validation-images must be between 1 and {len(data.x_test)}")
    model = load_keras_model(model_path)
    fixed = fixed_input_model(model)
    ensure_writable_dir(out)
    config = _training_config(model_path)

    calibration = add_noise(to_float(data.x_train[_pick(len(data.x_train), options.calibration_images, options.seed)]),
                            config.noise_factor, options.seed)
    order = _pick(len(data.x_test), options.validation_images, options.seed)
    clean = to_float(data.x_test[order])
    noisy = add_noise(clean, config.noise_factor, config.val_noise_seed)
    reference = fixed.predict(noisy, batch_size=256, verbose=0)
    model_sha = sha256(model_path)
    metadata = {"dae_edge_version": version("dae-edge"), "model_version": model_sha[:12], "layout": "NHWC",
                "input_shape": "[batch, 28, 28, 1]", "value_range": "[0, 1]", "polarity": "white digit on black",
                "training_config_sha256": config.sha256()}

    artifacts, failures = [], []
    with staging_dir(out) as stage:
        for name, fmt, precision, convert in _converters(fixed, options.int8, calibration, metadata):
            log(f"exporting {name}")
            try:
                convert(stage / name)
            except Exception as exc:  # converters raise anything from TensorFlow, tf2onnx or onnx
                raise ExportError(f"{name}: conversion failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from exc
            output = open_backend(stage / name).run(noisy)
            figures, failed = agreement(precision, reference, output, clean)
            failures += [f"{name}: {f}" for f in failed]
            describe = describe_tflite if fmt == "tflite" else describe_onnx
            artifacts.append({"file": name, "sha256": sha256(stage / name), "bytes": (stage / name).stat().st_size,
                              "format": fmt, "precision": precision, **describe(stage / name),
                              "value_range": [0.0, 1.0], "layout": "NHWC", "validation": figures})
        if failures:
            raise ExportError("validation failed, nothing was published: " + "; ".join(failures))
        golden = _golden(data.y_test[order], noisy, reference, clean)
        np.savez_compressed(stage / GOLDEN, **golden)
        manifest = _manifest(model_path.name, model_sha, config, options, metadata, golden, stage / GOLDEN, artifacts)
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        try:
            old = read_manifest(out)
        except DaeEdgeError:
            old = None  # a broken old manifest is simply replaced
        names = [a["file"] for a in artifacts]
        publish(stage, out, [*names, GOLDEN, MANIFEST])
    _remove_stale(out, old, names)
    return manifest


def _manifest(model_name: str, model_sha: str, config: TrainConfig, options: ExportOptions, metadata: dict,
              golden: dict, golden_path: Path, artifacts: list[dict]) -> dict:
    return {
        "format_version": 1,
        "created_by": f"dae-edge {metadata['dae_edge_version']}",
        "model_version": metadata["model_version"],
        "source": {"file": model_name, "sha256": model_sha, "training_config": config.to_dict(),
                   "training_config_sha256": config.sha256()},
        "input": {"layout": "NHWC", "shape": [None, 28, 28, 1], "dtype": "float32", "value_range": [0.0, 1.0],
                  "polarity": "white digit on black (MNIST)", "tiling": "larger images: overlapping 28×28 tiles"},
        "calibration": {"images": options.calibration_images, "from": "MNIST training images",
                        "noise_factor": config.noise_factor, "seed": options.seed},
        "validation": {"images": options.validation_images, "from": "MNIST test images",
                       "noise_factor": config.noise_factor, "noise_seed": config.val_noise_seed,
                       "tolerances": {"fp32_max_abs": FP32_MAX_ABS, "int8_mean_abs": INT8_MEAN_ABS,
                                      "int8_psnr_drop_db": INT8_PSNR_DROP_DB}},
        "golden": {"file": GOLDEN, "sha256": sha256(golden_path), "images": len(golden["inputs"])},
        "artifacts": artifacts,
    }


def _golden(labels: np.ndarray, noisy: np.ndarray, reference: np.ndarray, clean: np.ndarray) -> dict:
    picks = one_per_class(labels)[:GOLDEN_IMAGES]
    return {"inputs": noisy[picks], "outputs": reference[picks], "clean": clean[picks], "labels": labels[picks]}


def _remove_stale(out: Path, old: dict | None, names: list[str]) -> None:
    """Artifacts of an earlier export that this one no longer lists would be stale: remove them."""
    for entry in (old or {}).get("artifacts", []):
        if entry["file"] not in names:
            (out / entry["file"]).unlink(missing_ok=True)
