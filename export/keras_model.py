"""Loading the trained Keras model and fixing its input to the 28×28×1 tiles the runtime feeds."""
from pathlib import Path

from dae_edge.runtime.errors import DaeEdgeError

TILE = 28


def load_keras_model(path: Path):
    """Load a `.keras` file, failing with one line if it is missing or not a Keras model."""
    if not path.is_file():
        raise DaeEdgeError(f"{path}: no such model file; train one with dae-edge train")
    if path.suffix != ".keras":
        raise DaeEdgeError(f"{path}: not a Keras model (expected a .keras file)")
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a damaged archive
        raise DaeEdgeError(f"{path}: not a loadable Keras model ({str(exc).splitlines()[0][:160]})") from None


def fixed_input_model(model):
    """The same layers and weights behind a (batch, 28, 28, 1) input: what TFLite and ONNX are exported from."""
    shape = tuple(model.input_shape)
    if len(shape) != 4 or shape[3] != 1 or any(d not in (None, TILE) for d in shape[1:3]):
        raise DaeEdgeError(f"the model's input {shape} does not take 28×28×1 images")
    try:
        config = model.get_config()
        config["layers"][0]["config"]["batch_shape"] = (None, TILE, TILE, 1)
        fixed = model.__class__.from_config(config)
        fixed.set_weights(model.get_weights())
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DaeEdgeError(f"cannot give the model a 28×28×1 input ({exc}); export expects a functional Keras model") from None
    if tuple(fixed.output_shape[1:]) != (TILE, TILE, 1):
        raise DaeEdgeError(f"the model's output {tuple(fixed.output_shape)} is not a 28×28×1 image")
    return fixed
