"""What an artifact's inputs and outputs are, read from the file itself, for the manifest."""
from pathlib import Path

import numpy as np


def _tensor(name: str, shape, dtype: str, quantization: dict | None) -> dict:
    return {"name": name, "shape": [d if isinstance(d, int) and d >= 0 else None for d in shape],
            "dtype": dtype, "quantization": quantization}


def describe_tflite(path: Path) -> dict:
    from dae_edge.runtime.backends import litert_interpreter

    interpreter = litert_interpreter()(model_path=str(path))

    def tensors(details: list[dict]) -> list[dict]:
        result = []
        for d in details:
            scale, zero_point = d["quantization"]
            quant = {"scale": float(scale), "zero_point": int(zero_point)} if scale else None
            result.append(_tensor(d["name"], [int(x) for x in d["shape_signature"]], np.dtype(d["dtype"]).name, quant))
        return result

    return {"inputs": tensors(interpreter.get_input_details()), "outputs": tensors(interpreter.get_output_details()),
            "opset": None}


def describe_onnx(path: Path) -> dict:
    import onnx

    proto = onnx.load(str(path))
    names = {1: "float32", 3: "int8", 2: "uint8"}

    def tensors(values) -> list[dict]:
        return [_tensor(v.name, [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim],
                        names.get(v.type.tensor_type.elem_type, str(v.type.tensor_type.elem_type)), None) for v in values]

    opset = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    return {"inputs": tensors(proto.graph.input), "outputs": tensors(proto.graph.output), "opset": opset}
