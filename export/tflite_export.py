"""Keras → TFLite, float32 or full-integer int8."""
import contextlib
import io
import warnings
from pathlib import Path

import numpy as np


def to_tflite(model, path: Path, calibration: np.ndarray | None = None) -> Path:
    """Convert `model`; with `calibration` images (N, 28, 28, 1), quantize everything to int8, I/O included."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([image[None]] for image in calibration.astype(np.float32))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it prints its SavedModel signature and warns about I/O statistics
        path.write_bytes(converter.convert())
    return path
