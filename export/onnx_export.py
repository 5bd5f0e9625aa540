"""Keras → ONNX with tf2onnx, and ONNX → int8 QDQ with onnxruntime's static quantization."""
import contextlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OPSET = 17  # a current opset that tf2onnx writes and every maintained onnxruntime runs
# onnxruntime's CPU provider has no int8 ConvTranspose kernel: it runs in float between its
# DequantizeLinear and QuantizeLinear, but its weights are still stored in int8 (half the file).
# Without VNNI, x86 int8 kernels multiply u8 × s8 pairs into a saturating int16: full 8-bit
# weights overflow it (measured here: mean |Δ| 0.015, PSNR −0.7 dB). 7-bit weights avoid that.


@dataclass(frozen=True)
class Int8Recipe:
    """Which operators are quantized, and how activation ranges are calibrated."""

    ops: tuple[str, ...]
    reduce_range: bool  # 7-bit weights
    percentile: float | None  # calibrate to this percentile of each activation; None: its min and max
    float_fine: bool = False  # convolutions that read or write at 1/2 the input's resolution or finer stay in float
    outlier_ratio: float | None = None  # convolutions whose output reaches this many times its 99.9th percentile stay float


# The MNIST models (LeakyReLU and sigmoid): every op with an int8 kernel, min-max ranges, 7-bit weights.
LEAKY_RECIPE = Int8Recipe(("Conv", "ConvTranspose", "MaxPool", "LeakyRelu", "Sigmoid"), reduce_range=True, percentile=None)
# ReLU models (the residual photo model). Measured on its epoch-108 checkpoint, 9 held-out 128² colour crops:
# the LEAKY recipe loses 3.3 dB at σ 25. Three causes, each fixed: a Conv's output quantized before its ReLU
# wastes half the range on negatives (quantizing the ReLU too folds it into the Conv's output); min-max
# ranges follow rare outliers (the 99.99th percentile does not); the 2×2 transposed convolutions, which run in
# float on the CPU anyway, lose 1.1 dB at σ 5 with int8 weights (kept in float). 7-bit weights cost 0.5 dB
# more at σ 5, so this recipe uses 8: exact where the CPU has VNNI or is ARM, as a Pi is.
# Measured again on the epoch-200 model (int8 − fp32 dB at σ 5 / 25 / 50, 100 validation patches each): the
# 99.99th percentile −0.73 / −0.35 / −0.20; the 99.9th with the last two convolutions (1/2 resolution, 20% of
# the MACs) in float −0.41 / −0.05 / −0.02; the 99.5th, 99.999th, entropy or min-max ranges all lose more.
# Keeping `mid3` in float as well gives −0.22 / −0.06 / −0.02: its outputs reach 11.8× their 99.9th percentile
# on the calibration images, the other convolutions' 1.2–5.5×.
# Measured on the third cycle's model (`tools/int8_variants.py MODEL WORK last2_plus_7 only_0 … only_11
# head3_tail2 head3_tail2_mid3`: 100 validation patches at σ 5 / 15 / 25 / 50), that recipe loses 0.37 / 0.15 /
# 0.07 / 0.06 dB. Quantizing one convolution at a time, the rest in float, finds where: at σ 5 the first (the
# 1/2-resolution input convolution) 0.18, enc1 (whose output is also the decoder's skip) 0.38, down2 0.07, the
# last two 0.15 and 0.09, each 1/4- and 1/8-resolution one 0.03 or less. The first three in float as well:
# −0.02 / +0.02 / +0.03 / −0.01, and +0.02 / +0.02 / +0.02 / −0.01 with mid3 in float too. Float then holds
# a third of the MACs (7,520 of 22,976 a pixel; 9,824 where mid3 is an outlier too).
# The outlier ratio was 8.0 until the sixth cycle's mid3 reached 7.78× (the fifth's 8.41×): quantized, it cost
# 0.13 dB at σ 5 in colour and failed verify. On the 300 calibration images of each the other convolutions reach
# 1.18–5.45× (mid2 the highest, 5.45 and 5.32); 6.5 sits in the middle of that gap (`tools/int8_variants.py`).
# Those first three and last two are the convolutions that read or write at 1/2 resolution: the rule, which also
# keeps photo_fullres's full-resolution head in float (as the int8 TFLite file keeps the same ops).
RELU_RECIPE = Int8Recipe(("Conv", "Relu"), reduce_range=False, percentile=99.9, float_fine=True, outlier_ratio=6.5)
PROBE_SIDE = 32  # the square input on which fine_convolutions measures each tensor's resolution


def _probe(proto, tensors: list[str]):
    """An onnxruntime session of `proto` whose outputs are `tensors`, its inner values, in that order."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(proto)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None) for t in tensors)
    return ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])


def fine_convolutions(proto) -> list[str]:
    """The names of the convolutions that read or write a tensor at half the input's resolution or finer (run on a
    PROBE_SIDE² picture; an NHWC input, as tf2onnx writes it, and NCHW convolutions)."""
    convolutions = [node for node in proto.graph.node if node.op_type == "Conv"]
    tensors = list(dict.fromkeys(t for node in convolutions for t in (node.input[0], node.output[0])))
    session = _probe(proto, tensors)
    given = session.get_inputs()[0]
    picture = np.zeros((1, PROBE_SIDE, PROBE_SIDE, int(given.shape[-1])), np.float32)
    height = {t: out.shape[2] for t, out in zip(tensors, session.run(None, {given.name: picture}))}
    return [node.name for node in convolutions if max(height[node.input[0]], height[node.output[0]]) >= PROBE_SIDE // 2]


def outlier_convolutions(proto, images: np.ndarray, ratio: float | None) -> list[str]:
    """The convolutions whose outputs (after their ReLU, so negatives count as 0) reach more than `ratio` times
    their 99.9th percentile on `images`: one range cannot hold both their rare peaks and their common values."""
    if ratio is None:
        return []
    convolutions = [node for node in proto.graph.node if node.op_type == "Conv"]
    session = _probe(proto, [node.output[0] for node in convolutions])
    name = session.get_inputs()[0].name
    samples: list[list[np.ndarray]] = [[] for _ in convolutions]
    peaks = np.zeros(len(convolutions))
    for i in range(0, len(images), 8):
        for k, out in enumerate(session.run(None, {name: images[i : i + 8]})):
            peaks[k] = max(peaks[k], out.max())
            samples[k].append(np.maximum(out, 0).ravel()[::7])  # every 7th value for the percentile: a tenth of the memory
    return [node.name for node, peak, seen in zip(convolutions, peaks, samples)
            if peak > ratio * max(np.percentile(np.concatenate(seen), 99.9), 1e-12)]


def int8_recipe(proto) -> Int8Recipe:
    return RELU_RECIPE if any(node.op_type == "Relu" for node in proto.graph.node) else LEAKY_RECIPE
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
    fp32 = onnx.load(str(fp32_path))
    input_name, recipe = fp32.graph.input[0].name, int8_recipe(fp32)
    # Symbolic shape inference cannot prove ConvTranspose's output size from symbolic H and W, and says so.
    logging.getLogger("onnxruntime.tools.symbolic_shape_infer").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp, _working_folder(tmp):
        prepared = Path(tmp) / "prepared.onnx"
        # auto_merge: a concatenation of skip features joins symbolic sizes that inference cannot prove equal.
        # Where inference fails anyway, onnxruntime saves its partial model into the working folder: the temporary one.
        quant_pre_process(str(fp32_path), str(prepared), auto_merge=True)
        graph, images = onnx.load(str(prepared)), calibration.astype(np.float32)
        with contextlib.redirect_stdout(io.StringIO()):  # the histogram calibrators print their progress
            quantize_static(
                # The histogram calibrators stack every batch's outputs: batches of one keep them the same shape.
                str(prepared), str(path), _Calibration(input_name, images, 32 if recipe.percentile is None else 1),
                quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                per_channel=True, reduce_range=recipe.reduce_range, op_types_to_quantize=list(recipe.ops),
                nodes_to_exclude=(fine_convolutions(graph) if recipe.float_fine else [])
                + outlier_convolutions(graph, images, recipe.outlier_ratio),
                calibrate_method=CalibrationMethod.MinMax if recipe.percentile is None else CalibrationMethod.Percentile,
                extra_options={} if recipe.percentile is None else {"CalibPercentile": recipe.percentile},
            )
    proto = onnx.load(str(path))
    set_metadata(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return path
