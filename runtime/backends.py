"""One small class per runtime, chosen by the model file's suffix. Each imports its runtime lazily."""
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from dae_edge.runtime.errors import DaeEdgeError, RuntimeMissing
from dae_edge.runtime.quant import dequantize, quantize


class Backend(Protocol):
    name: str
    input_shape: tuple  # (H, W, C) of one image
    input_dtype: str

    def run(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, H, W, C) in [0, 1] → float32 (N, H, W, C)."""


def default_threads() -> int:
    return os.cpu_count() or 1


class OnnxBackend:
    """onnxruntime. Small batches use its own threads; large ones are split across `threads` runs of a
    single-threaded session, which keeps both cores busy where its ConvTranspose kernel does not
    (measured here: 4,600 instead of 3,550 images/s at batch 256 on 2 cores)."""

    name = "onnxruntime"
    PARALLEL_MIN_BATCH = 32  # below this, handing chunks to threads costs more than it saves

    def __init__(self, path: Path, threads: int | None = None) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise RuntimeMissing("onnxruntime is not installed: pip install dae-edge") from None
        self._ort, self._path, self.threads = onnxruntime, path, threads or default_threads()
        self.session = self._session(self.threads)
        self._split: tuple | None = None  # (single-threaded session, thread pool), made when first needed
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_shape = tuple(model_input.shape[1:])
        self.input_dtype = "float32" if model_input.type == "tensor(float)" else model_input.type

    def _session(self, threads: int):
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            return self._ort.InferenceSession(str(self._path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise DaeEdgeError(f"{self._path}: not a valid ONNX model ({str(exc).splitlines()[0][:200]})") from None

    def _run_one(self, session, batch: np.ndarray) -> np.ndarray:
        return session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})[0]

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self.threads < 2 or len(batch) < self.PARALLEL_MIN_BATCH:
            return self._run_one(self.session, batch)
        if self._split is None:
            from concurrent.futures import ThreadPoolExecutor

            self._split = (self._session(1), ThreadPoolExecutor(self.threads))
        session, pool = self._split
        chunks = np.array_split(batch, self.threads)
        return np.concatenate(list(pool.map(lambda chunk: self._run_one(session, chunk), chunks)))


def litert_interpreter():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise RuntimeMissing("LiteRT is not installed: pip install 'dae-edge[tflite]'") from None
    return Interpreter


class LiteRTBackend:
    name = "litert"

    def __init__(self, path: Path, threads: int | None = None) -> None:
        Interpreter = litert_interpreter()
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads or default_threads())
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise DaeEdgeError(f"{path}: not a valid TFLite model ({str(exc).splitlines()[0][:200]})") from None
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]  # index and quantization survive resizing
        self._batch = int(self._input["shape"][0])
        self.input_shape = tuple(int(d) for d in self._input["shape"][1:])
        self.input_dtype = np.dtype(self._input["dtype"]).name

    def _resize(self, batch_size: int) -> None:
        if batch_size != self._batch:
            self.interpreter.resize_tensor_input(self._input["index"], [batch_size, *self.input_shape])
            self.interpreter.allocate_tensors()
            self._batch = batch_size

    def run(self, batch: np.ndarray) -> np.ndarray:
        self._resize(len(batch))
        scale, zero_point = self._input["quantization"]
        if scale:  # a quantized input: use the tensor's own parameters
            batch = quantize(batch, scale, zero_point, self._input["dtype"])
        self.interpreter.set_tensor(self._input["index"], np.ascontiguousarray(batch, dtype=self._input["dtype"]))
        self.interpreter.invoke()
        result = self.interpreter.get_tensor(self._output["index"])
        scale, zero_point = self._output["quantization"]
        return dequantize(result, scale, zero_point) if scale else result.astype(np.float32)


BACKENDS: dict[str, type] = {".onnx": OnnxBackend, ".tflite": LiteRTBackend}
BACKEND_NAMES = {"onnx": ".onnx", "tflite": ".tflite"}


def open_backend(path: Path, threads: int | None = None) -> Backend:
    """Open `path` with the runtime its suffix names."""
    backend = BACKENDS.get(path.suffix.lower())
    if backend is None:
        raise DaeEdgeError(f"{path}: unknown model type '{path.suffix}'; expected one of {', '.join(BACKENDS)}")
    if not path.is_file():
        raise DaeEdgeError(f"{path}: no such model file")
    return backend(path, threads)
