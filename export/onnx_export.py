"""Keras → ONNX with tf2onnx, and ONNX → int8 QDQ with onnxruntime's static quantization."""
import contextlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

OPSET = 17  # a current opset that tf2onnx writes and every maintained onnxruntime runs
# onnxruntime's CPU provider has no int8 ConvTranspose kernel: it runs in float between its
# DequantizeLinear and QuantizeLinear, but its weights are still stored in int8 (half the file).
INT8_OPS = ["Conv", "ConvTranspose", "MaxPool", "LeakyRelu", "Sigmoid"]
# Without VNNI, x86 int8 kernels multiply u8 × s8 pairs into a saturating int16: full 8-bit
# weights overflow it (measured here: mean |Δ| 0.015, PSNR −0.7 dB). 7-bit weights avoid that.
REDUCE_RANGE = True
CONVERSION_ATTEMPTS = 2


def set_metadata(model_proto, metadata: dict[str, str]) -> None:
    del model_proto.metadata_props[:]
    for key, value in metadata.items():
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, str(value)


def name_dynamic_dimensions(model_proto) -> None:
    """Name the dynamic dimensions of every input and output: batch, height, width."""
    for value in [*model_proto.graph.input, *model_proto.graph.output]:
        for dim, name in zip(value.type.tensor_type.shape.dim, ("batch", "height", "width")):
            if not dim.HasField("dim_value"):
                dim.dim_param = name


def to_onnx(model, path: Path, metadata: dict[str, str], opset: int = OPSET) -> Path:
    """Convert `model` (input (N, H, W, C)) with symbolic batch, height and width, and check the result."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    from dae_edge.export.keras_model import fresh_copy

    signature = (tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="noisy"),)
    tf2onnx.logging.set_level(tf2onnx.logging.ERROR)
    for _ in range(CONVERSION_ATTEMPTS):
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset)
        rank = len(proto.graph.output[0].type.tensor_type.shape.dim)
        if rank == len(signature[0].shape):
            break
        model = fresh_copy(model)  # seen in 2 of about 15 test runs, never alone: an output of rank 5; again, afresh
    else:
        raise RuntimeError(f"tf2onnx gave an output of rank {rank} for an input of rank {len(signature[0].shape)}, twice")
    name_dynamic_dimensions(proto)
    set_metadata(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return path


class _Calibration:
    """onnxruntime's CalibrationDataReader over an array of images."""

    def __init__(self, input_name: str, images: np.ndarray, batch: int = 32) -> None:
        self._batches = iter([{input_name: images[i : i + batch]} for i in range(0, len(images), batch)])

    def get_next(self):
        return next(self._batches, None)


@contextlib.contextmanager
def _working_folder(folder: str):
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def convert(model, path: Path, precision: str, calibration: np.ndarray | None, metadata: dict[str, str]) -> list[Path]:
    """The format table's converter: fp32, or int8 quantized from the fp32 graph beside it (made first if missing)."""
    meta = {**metadata, "precision": precision}
    if precision not in ("fp32", "int8"):
        raise ValueError(f"ONNX artifacts are fp32 or int8, not {precision}")
    if precision == "fp32":
        return [to_onnx(model, path, meta)]
    fp32 = path.with_name("dae.onnx")
    if not fp32.is_file():
        to_onnx(model, fp32, {**metadata, "precision": "fp32"})
    return [to_onnx_int8(fp32, path, calibration, meta)]


def to_onnx_int8(fp32_path: Path, path: Path, calibration: np.ndarray, metadata: dict[str, str]) -> Path:
    """Static QDQ quantization (int8 weights per channel, uint8 activations) after onnxruntime's pre-processing."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    fp32_path, path = fp32_path.resolve(), path.resolve()  # the working folder changes below
    input_name = onnx.load(str(fp32_path)).graph.input[0].name
    # Symbolic shape inference cannot prove ConvTranspose's output size from symbolic H and W, and says so.
    logging.getLogger("onnxruntime.tools.symbolic_shape_infer").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp, _working_folder(tmp):
        prepared = Path(tmp) / "prepared.onnx"
        # auto_merge: a concatenation of skip features joins symbolic sizes that inference cannot prove equal.
        # Where inference fails anyway, onnxruntime saves its partial model into the working folder: the temporary one.
        quant_pre_process(str(fp32_path), str(prepared), auto_merge=True)
        quantize_static(
            str(prepared), str(path), _Calibration(input_name, calibration.astype(np.float32)),
            quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            per_channel=True, reduce_range=REDUCE_RANGE, op_types_to_quantize=INT8_OPS, calibrate_method=CalibrationMethod.MinMax,
        )
    proto = onnx.load(str(path))
    set_metadata(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return path
