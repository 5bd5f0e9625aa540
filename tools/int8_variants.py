"""int8 ONNX recipe variants of a ReLU model (the photo model): each one's PSNR change against fp32 ONNX on
the exporter's validation patches (σ as trained) and on 100 of them at σ 5, 15, 25 and 50 (of 255):

    python tools/int8_variants.py MODEL.keras WORK_FOLDER [VARIANT ...]

The model's contract names its data (as for export). WORK_FOLDER keeps dae.onnx and the variants.
The MODEL_CARD of models/photo gives the figures this measured.
"""
import argparse
import contextlib
import io
import time
from pathlib import Path
import numpy as np
import onnx, onnxruntime as ort
from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from dae_edge.export.keras_model import load_keras_model
from dae_edge.export.exporter import read_contract, training_config
from dae_edge.export.onnx_export import to_onnx, _Calibration
from dae_edge.core.data import source_from_contract
from dae_edge.core.noise import pairs, Noise
from dae_edge.core.metrics import psnr

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("model", type=Path)
parser.add_argument("work", type=Path)
parser.add_argument("variants", nargs="*")
args = parser.parse_args()
M, W = args.model, args.work
W.mkdir(parents=True, exist_ok=True)
keras_model = load_keras_model(M)
config, contract = training_config(M), read_contract(M)
src = source_from_contract(contract)
calib = pairs(src.calibration_images(300, 0), config.noise, 0)[0].astype(np.float32)
val_noisy, val_clean = pairs(src.validation_images(200, 0), Noise.parse(config.validation_noise), config.val_noise_seed)
fixed = {s: pairs(src.validation_images(100, 0), Noise.parse(f"gaussian:{s/255}"), 7) for s in (5, 15, 25, 50)}
fp32 = W / "dae.onnx"
if not fp32.exists():
    to_onnx(keras_model, fp32, {})
prepared = W / "prepared.onnx"
if not prepared.exists():
    quant_pre_process(str(fp32), str(prepared), auto_merge=True)
proto = onnx.load(str(prepared))
convs = [n.name for n in proto.graph.node if n.op_type == "Conv"]
print("convs", len(convs), convs, flush=True)

def run(path, x):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return np.concatenate([s.run(None, {name: x[i:i+8].astype(np.float32)})[0] for i in range(0, len(x), 8)])

def score(path):
    out = {"val": float(psnr(val_clean, run(path, val_noisy)).mean())}
    for s, (n, c) in fixed.items():
        out[s] = float(psnr(c, run(path, n)).mean())
    return out

ref = score(fp32)
print("fp32", {k: round(v, 2) for k, v in ref.items()}, flush=True)
variants = {
    "base": dict(),
    "p99999": dict(extra={"CalibPercentile": 99.999}),
    "p9999_excl_last": dict(exclude=[convs[-1]]),
    "p9999_excl_first_last": dict(exclude=[convs[0], convs[-1]]),
    "p999_excl_last": dict(exclude=[convs[-1]], extra={"CalibPercentile": 99.9}),
    "p995_excl_last": dict(exclude=[convs[-1]], extra={"CalibPercentile": 99.5}),
    "p999_excl_last2": dict(exclude=convs[-2:], extra={"CalibPercentile": 99.9}),
    "p999_excl_last3": dict(exclude=convs[-3:], extra={"CalibPercentile": 99.9}),
    **{f"last2_plus_{i}": dict(exclude=convs[-2:] + [convs[i]], extra={"CalibPercentile": 99.9}) for i in range(10)},
    **{f"shipped_plus_{i}": dict(exclude=convs[-2:] + [convs[7], convs[i]], extra={"CalibPercentile": 99.9}) for i in range(10)},
    **{f"only_{i}": dict(exclude=convs[:i] + convs[i + 1:], extra={"CalibPercentile": 99.9}) for i in range(len(convs))},
    "head2_tail2": dict(exclude=convs[:2] + convs[-2:], extra={"CalibPercentile": 99.9}),
    "head3_tail2": dict(exclude=convs[:3] + convs[-2:], extra={"CalibPercentile": 99.9}),
    "head3_tail2_mid3": dict(exclude=convs[:3] + convs[-2:] + [convs[7]], extra={"CalibPercentile": 99.9}),
    "entropy": dict(method=CalibrationMethod.Entropy, extra={}),
    "minmax": dict(method=CalibrationMethod.MinMax, extra={}, batch=32),
}
only = args.variants or list(variants)
for name in only:
    v = variants[name]
    out = W / f"{name}.onnx"
    t = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        quantize_static(str(prepared), str(out), _Calibration(proto.graph.input[0].name, calib, v.get("batch", 1)),
                        quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, reduce_range=False, op_types_to_quantize=["Conv", "Relu"],
                        nodes_to_exclude=v.get("exclude", []),
                        calibrate_method=v.get("method", CalibrationMethod.Percentile),
                        extra_options=v.get("extra", {"CalibPercentile": 99.99}))
    r = score(out)
    print(name, {k: round(r[k] - ref[k], 3) for k in r}, f"{time.time()-t:.0f}s", flush=True)
