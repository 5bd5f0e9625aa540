"""Keras → TFLite, float32 or full-integer int8."""
import contextlib
import io
import warnings
from pathlib import Path

import numpy as np

from dae_edge.core.quiet import quiet


def to_tflite(model, path: Path, calibration: np.ndarray | None = None, float16: bool = False) -> Path:
    """Convert `model`; with `calibration` images (N, H, W, C), quantize everything to int8, I/O included; with
    `float16`, store the weights as float16 (computed in float32 where the CPU has no float16 arithmetic)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    if calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([image[None]] for image in calibration.astype(np.float32))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), quiet((1, 2)):
        warnings.simplefilter("ignore")  # it prints its SavedModel signature and warns about I/O statistics
        path.write_bytes(converter.convert())  # and its C++ side "fully_quantize: 0, …" straight to the terminal
    return path


def convert(model, path: Path, precision: str, calibration: np.ndarray | None, metadata: dict[str, str]) -> list[Path]:
    """The format table's converter: float32, float16 weights, or full-integer int8 calibrated on `calibration`
    (from the same function with concatenations split, so that each joined tensor keeps its own int8 scale).
    Transposed convolutions of kernel = stride go in as pixel shuffles, which XNNPACK runs in one graph."""
    from dae_edge.export.pixel_shuffle import with_pixel_shuffles

    model = with_pixel_shuffles(model)
    if precision == "fp32":
        return [to_tflite(model, path)]
    if precision == "fp16":
        return [to_tflite(model, path, float16=True)]
    from dae_edge.export.int8_graph import split_concatenated_convolutions

    return [to_tflite(split_concatenated_convolutions(model), path, calibration)]
