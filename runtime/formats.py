"""The one table of model formats: what a file suffix means to export, to the runtime and to the installer.

Adding a format means one converter (export side), one backend (runtime side) and one row here.
Code is named by "module:attribute" and imported only when used, so the runtime never loads a converter.
"""
from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec

from dae_edge.runtime.errors import DaeEdgeError


@dataclass(frozen=True)
class Format:
    name: str  # what --backend calls it, and manifest artifacts' "format"
    suffix: str  # of its main file
    backend: str  # the runtime class that runs it
    runtime_module: str  # importable where its runtime is installed
    extra: str | None  # the pip extra that installs the runtime; None: the base install has it
    preference: int  # lower first: the format `run` picks from a folder where its runtime is installed
    default_precision: str  # the artifact `run` picks from a folder
    converter: str  # convert(model, path, precision, calibration, metadata) → every file written, main file first
    describe: str  # describe(path) → its input and output tensors, for the manifest
    description: str

    def artifact(self, precision: str) -> str:
        """The main file's name of this format's artifact at `precision`."""
        return f"dae{'' if precision == 'fp32' else '_' + precision}{self.suffix}"

    def installed(self) -> bool:
        return find_spec(self.runtime_module) is not None

    def load(self, attribute: str):
        module, name = getattr(self, attribute).split(":")
        return getattr(import_module(module), name)


FORMATS = (
    Format("tflite", ".tflite", "dae_edge.runtime.backends:LiteRTBackend", "ai_edge_litert", "tflite", 0, "int8",
           "dae_edge.export.tflite_export:convert", "dae_edge.export.describe:describe_tflite",
           "TensorFlow Lite flatbuffer, run by LiteRT (ai-edge-litert); int8 is full-integer, I/O included"),
    Format("onnx", ".onnx", "dae_edge.runtime.backends:OnnxBackend", "onnxruntime", None, 1, "fp32",
           "dae_edge.export.onnx_export:convert", "dae_edge.export.describe:describe_onnx",
           "ONNX graph with symbolic batch, height and width, run by onnxruntime; int8 as QDQ"),
)
BY_NAME = {f.name: f for f in FORMATS}
BY_SUFFIX = {f.suffix: f for f in FORMATS}


def format_of(path) -> Format:
    """The format a model file's suffix names, or a one-line error."""
    from pathlib import Path

    found = BY_SUFFIX.get(Path(path).suffix.lower())
    if found is None:
        raise DaeEdgeError(f"{path}: unknown model type '{Path(path).suffix}'; expected one of {', '.join(BY_SUFFIX)}")
    return found


def preferred(name: str | None = None) -> Format:
    """The format asked for, else the most preferred one whose runtime is installed (else the base install's)."""
    if name is not None:
        return BY_NAME[name]
    ordered = sorted(FORMATS, key=lambda f: f.preference)
    return next((f for f in ordered if f.installed()), next(f for f in ordered if f.extra is None))
