"""One small class per runtime, chosen by the model file's suffix. Each imports its runtime lazily.

A backend runs one batch in the calling thread. Parallel work is the Denoiser's: it gives each of
its worker threads a single-threaded backend of its own. A runtime's own thread pool spins while it
waits for its other threads; where another process holds a core, that made int8 LiteRT 7.6× slower
on two threads than on one. Workers that block instead of spinning cost nothing there.
"""
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from dae_edge.core.errors import DaeEdgeError, RuntimeMissing
from dae_edge.runtime.formats import format_of
from dae_edge.runtime.quant import dequantize, quantize
from dae_edge.core.quiet import quiet

DYNAMIC_START = 32  # the side a dynamic LiteRT input is allocated at before the first image: divides by up to 32
EXPECTED = ("the runtime expects NHWC float32 (batch, height, width, 1 or 3) in [0, 1], "
            "or int8/uint8 with quantization")


class Backend(Protocol):
    name: str
    input_shape: tuple  # (H, W, C) of one image; None where the model takes any size
    max_batch: int | None  # None: any batch

    def run(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, H, W, C) in [0, 1] → float32 (N, H, W, C); C is input_shape's last."""


def default_threads() -> int:
    return os.cpu_count() or 1


def _dim(value) -> int | None:
    return int(value) if isinstance(value, (int, np.integer)) and value > 0 else None


def check_layout(path: Path, shape: tuple, out_shape: tuple) -> None:
    """Grey or RGB NHWC in and the same shape out, where the model states its dimensions."""
    if len(shape) != 4 or shape[3] not in (1, 3):
        raise DaeEdgeError(f"{path}: input shape {list(shape)}; {EXPECTED}")
    if len(out_shape) != 4 or any(a is not None and b is not None and a != b for a, b in zip(shape, out_shape)):
        raise DaeEdgeError(f"{path}: output shape {list(out_shape)} is not its input's {list(shape)}; "
                           "dae-edge runs image-to-image denoisers")


class OnnxBackend:
    name = "onnxruntime"

    def __init__(self, path: Path, threads: int = 1) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise RuntimeMissing("onnxruntime is not installed: pip install dae-edge") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise DaeEdgeError(f"{path}: not a valid ONNX model ({str(exc).splitlines()[0][:200]})") from None
        model_input, model_output = self.session.get_inputs()[0], self.session.get_outputs()[0]
        if model_input.type != "tensor(float)":
            raise DaeEdgeError(f"{path}: input type {model_input.type}; {EXPECTED}")
        shape = tuple(_dim(d) for d in model_input.shape)
        check_layout(path, shape, tuple(_dim(d) for d in model_output.shape))
        self.input_name = model_input.name
        self.input_shape = shape[1:]
        self.max_batch = shape[0]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})[0]


def litert_interpreter():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise RuntimeMissing("LiteRT is not installed: pip install 'dae-edge[tflite]'") from None
    return Interpreter


class LiteRTBackend:
    name = "litert"

    def __init__(self, path: Path, threads: int = 1) -> None:
        Interpreter = litert_interpreter()
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
            self._input = self.interpreter.get_input_details()[0]
            # A dynamic input starts as 1×1: too small to pool. Without XNNPACK (as where it cannot read the
            # CPU's features) the built-in kernels then refuse to prepare, so start from a size that divides.
            signature = self._input["shape_signature"]
            if len(signature) == 4 and any(d < 0 for d in signature):
                start = [1, *(d if d > 0 else DYNAMIC_START for d in signature[1:3]), int(signature[3])]
                self.interpreter.resize_tensor_input(self._input["index"], start)
            with quiet():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
                self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise DaeEdgeError(f"{path}: not a valid TFLite model ({str(exc).splitlines()[0][:200]})") from None
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]  # index and quantization survive resizing
        dtype = np.dtype(self._input["dtype"])
        if dtype != np.float32 and not (dtype in (np.int8, np.uint8) and self._input["quantization"][0]):
            raise DaeEdgeError(f"{path}: input type {dtype.name} without quantization; {EXPECTED}")
        signature = tuple(_dim(d) for d in self._input["shape_signature"])
        check_layout(path, signature, tuple(_dim(d) for d in self._output["shape_signature"]))
        self.input_shape = signature[1:]
        self.max_batch = None  # LiteRT resizes any input dimension
        self._shape = tuple(int(d) for d in self._input["shape"])
        self.metadata = {}

    def _resize(self, shape: tuple) -> None:
        if shape != self._shape:
            self.interpreter.resize_tensor_input(self._input["index"], list(shape))
            self.interpreter.allocate_tensors()
            self._shape = shape

    def run(self, batch: np.ndarray) -> np.ndarray:
        self._resize(tuple(batch.shape))
        scale, zero_point = self._input["quantization"]
        if scale:  # a quantized input: use the tensor's own parameters
            batch = quantize(batch, scale, zero_point, self._input["dtype"])
        self.interpreter.set_tensor(self._input["index"], np.ascontiguousarray(batch, dtype=self._input["dtype"]))
        self.interpreter.invoke()
        result = self.interpreter.get_tensor(self._output["index"])
        scale, zero_point = self._output["quantization"]
        return dequantize(result, scale, zero_point) if scale else result.astype(np.float32)


def open_backend(path: Path, threads: int = 1) -> Backend:
    """Open `path` with the runtime its suffix names in the format table."""
    backend = format_of(path).load_backend()
    if not path.is_file():
        raise DaeEdgeError(f"{path}: no such model file")
    return backend(path, threads)
