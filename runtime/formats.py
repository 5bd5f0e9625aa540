"""The one table of model formats: what a file suffix means to the runtime and to the installer.

Each row states the precisions its format stores. Adding a format means one backend (runtime side), one
converter in export's own table (export/converters.py) and one row here. Backends are named by
"module:attribute" and imported only when used, so a model's runtime is loaded only where it runs.
"""
from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

from dae_edge.core.errors import DaeEdgeError
from dae_edge.runtime.precision import Precision


@dataclass(frozen=True)
class Format:
    name: str  # what --backend calls it, and manifest artifacts' "format"
    suffix: str  # of its main file
    backend: str  # the runtime class that runs it, "module:attribute"
    runtime_module: str  # importable where its runtime is installed
    extra: str | None  # the pip extra that installs the runtime; None: the base install has it
    preference: int  # lower first: the format `run` picks from a folder where its runtime is installed
    precisions: tuple[Precision, ...]  # what export can write in this format; the first is the preferred one to run
    description: str

    def artifact(self, precision: Precision | str) -> str:
        """The main file's name of this format's artifact at `precision`."""
        return f"dae{Precision.of(precision).suffix}{self.suffix}"

    def installed(self) -> bool:
        return find_spec(self.runtime_module) is not None

    def load_backend(self):
        module, name = self.backend.split(":")
        return getattr(import_module(module), name)


FORMATS = (
    Format("tflite", ".tflite", "dae_edge.runtime.backends:LiteRTBackend", "ai_edge_litert", "tflite", 0,
           (Precision.int8, Precision.fp32, Precision.fp16),
           "TensorFlow Lite flatbuffer, run by LiteRT (ai-edge-litert); int8 is full-integer, I/O included; "
           "fp16 stores float16 weights"),
    Format("onnx", ".onnx", "dae_edge.runtime.backends:OnnxBackend", "onnxruntime", None, 1,
           (Precision.fp32, Precision.int8),
           "ONNX graph with symbolic batch, height and width, run by onnxruntime; int8 as QDQ"),
)
BY_NAME = {f.name: f for f in FORMATS}
BY_SUFFIX = {f.suffix: f for f in FORMATS}


def format_of(path) -> Format:
    """The format a model file's suffix names, or a one-line error."""
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
