"""Int8 TFLite variants of a ReLU model (the photo model), full-integer or with named layers left in float (`sel_…`,
by the converter's QuantizationDebugger denylist): each one's PSNR change against the fp32 TFLite file on 100
validation patches at σ 5, 25 and 50 (of 255):

    python tools/int8_tflite_variants.py MODEL.keras WORK_FOLDER [VARIANT ...]

The model's contract names its data (as for export). WORK_FOLDER keeps the files. The MODEL_CARD of
models/photo gives the figures this measured.
"""
import argparse
import time
from pathlib import Path

import numpy as np

from dae_edge.core.data import source_from_contract
from dae_edge.core.metrics import psnr
from dae_edge.core.noise import Noise, pairs
from dae_edge.export.exporter import read_contract, training_config
from dae_edge.export.keras_model import load_keras_model
from dae_edge.export.pixel_shuffle import with_pixel_shuffles
from dae_edge.export.tflite_export import _converter, to_tflite, to_tflite_float_ends
from dae_edge.runtime.backends import LiteRTBackend

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("model", type=Path)
parser.add_argument("work", type=Path)
parser.add_argument("variants", nargs="*")
args = parser.parse_args()
args.work.mkdir(parents=True, exist_ok=True)
keras_model = load_keras_model(args.model)
config, contract = training_config(args.model), read_contract(args.model)
source = source_from_contract(contract)
calibration = pairs(source.calibration_images(300, 0), config.noise, 0)[0].astype(np.float32)
fixed = {s: pairs(source.validation_images(100, 0), Noise.parse(f"gaussian:{s / 255}"), 7) for s in (5, 25, 50)}


def run(path: Path, x: np.ndarray) -> np.ndarray:
    backend = LiteRTBackend(path, threads=2)
    return np.concatenate([backend.run(x[i : i + 8]) for i in range(0, len(x), 8)])


def score(path: Path) -> dict:
    return {s: float(psnr(clean, run(path, noisy)).mean()) for s, (noisy, clean) in fixed.items()}


def relu6_rescaled(model, layer_name: str, percentile: float):
    """`model` with `layer_name`'s ReLU outputs clipped at their `percentile` on the calibration patches, as ReLU6 on
    outputs scaled by 6 / clip and the one layer it feeds scaled back: outliers no longer set its int8 range."""
    import keras

    probe = keras.Model(model.inputs, model.get_layer(layer_name).output)
    clip = float(np.percentile(probe.predict(calibration[:64], verbose=0), percentile))
    rewritten = keras.models.clone_model(model)
    rewritten.set_weights(model.get_weights())
    layer = rewritten.get_layer(layer_name)
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel * 6 / clip, bias * 6 / clip])
    layer.activation = keras.activations.relu6
    (consumer,) = [n.operation for n in layer._outbound_nodes]
    target = getattr(consumer, "conv", consumer)  # a pixel shuffle's 1×1 convolution
    weights = target.get_weights()
    target.set_weights([weights[0] * clip / 6, *weights[1:]])
    print(f"  {layer_name}: clipped at {clip:.3f} (the {percentile}th percentile)", flush=True)
    return rewritten


shuffled = with_pixel_shuffles(keras_model)
fp32 = args.work / "dae.tflite"
if not fp32.exists():
    to_tflite(shuffled, fp32)
reference = score(fp32)
print("fp32", {k: round(v, 2) for k, v in reference.items()}, flush=True)
CHAIN = ["unshuffle", "down2", "down3", "mid1", "mid2", "mid3", "dec4a", "dec4b", "dec2a", "dec2b"]  # one conv each feeds


def all_rescaled(model, percentile: float):
    for name in CHAIN:
        model = relu6_rescaled(model, name, percentile)
    return model


def selective(model, path: Path, float_layers: list[str]) -> Path:
    """int8 with float I/O and `float_layers` (Keras names; a pixel shuffle's 1×1 convolution and depth-to-space
    included) in float: the ONNX recipe's float head and tail, which a full-integer file cannot have."""
    from ai_edge_litert.interpreter import Interpreter

    names = [t["name"] for t in Interpreter(model_content=_converter(model).convert()).get_tensor_details()]
    return to_tflite_float_ends(model, path, calibration, [n for n in names if any(f"/{layer}_1/" in n for layer in float_layers)])


HEAD_TAIL = ["unshuffle", "enc1", "down2", "dec2a", "dec2b"]
OUTPUT_END = ["shuffle", "residual", "denoised"]
SELECTIVE = {  # the ONNX file's float set: head, tail and the transposed convolutions (here pixel shuffles)
    "sel_head_tail": HEAD_TAIL, "sel_onnx_float_set": HEAD_TAIL + OUTPUT_END + ["up4", "up2"],
    "sel_half_resolution": HEAD_TAIL + OUTPUT_END + ["up2", "skip2"]}  # export's set, less its output clip
variants = {
    "plain": lambda: shuffled,
    "mid3_p999": lambda: relu6_rescaled(shuffled, "mid3", 99.9),
    "mid3_p9999": lambda: relu6_rescaled(shuffled, "mid3", 99.99),
    "mid3_p995": lambda: relu6_rescaled(shuffled, "mid3", 99.5),
    "chain_p999": lambda: all_rescaled(shuffled, 99.9),
    "chain_p9999": lambda: all_rescaled(shuffled, 99.99),
    "chain_p9995": lambda: all_rescaled(shuffled, 99.95),
}
for name in args.variants or list(variants) + list(SELECTIVE) + ["exported"]:
    began = time.time()
    if name == "exported":  # export's own choice of float ops (by resolution)
        path = to_tflite_float_ends(shuffled, args.work / f"{name}.tflite", calibration)
    elif name in SELECTIVE:
        path = selective(shuffled, args.work / f"{name}.tflite", SELECTIVE[name])
    else:
        path = to_tflite(variants[name](), args.work / f"{name}.tflite", calibration)
    result = score(path)
    print(name, {k: round(result[k] - reference[k], 3) for k in result}, f"{time.time() - began:.0f} s", flush=True)
