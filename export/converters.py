"""Export's own table: for each format of the runtime's table, the function that writes it and the one that
describes what was written, for the manifest.

    convert(model, path, precision, calibration, metadata) → every file written, main file first
    describe(path) → its input and output tensors
"""
from collections.abc import Callable
from dataclasses import dataclass

from dae_edge.export import describe, onnx_export, tflite_export


@dataclass(frozen=True)
class Converter:
    convert: Callable
    describe: Callable


CONVERTERS = {
    "tflite": Converter(tflite_export.convert, describe.describe_tflite),
    "onnx": Converter(onnx_export.convert, describe.describe_onnx),
}
