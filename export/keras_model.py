"""Loading the trained Keras model and reading what the runtime needs to know about its shape."""
import zipfile
from pathlib import Path

import numpy as np

from dae_edge.core.errors import DaeEdgeError, require_training_stack


def load_keras_model(path: Path):
    """Load a `.keras` file, failing with one line if it is missing or not a Keras model."""
    if not path.is_file():
        raise DaeEdgeError(f"{path}: no such model file; train one with dae-edge train")
    if path.suffix != ".keras":
        raise DaeEdgeError(f"{path}: not a Keras model (expected a .keras file)")
    if not zipfile.is_zipfile(path):  # Keras would report a damaged archive as "File not found"
        raise DaeEdgeError(f"{path}: not a loadable Keras model (not a .keras zip archive: damaged or truncated?)")
    require_training_stack("export")
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a damaged archive
        raise DaeEdgeError(f"{path}: not a loadable Keras model ({type(exc).__name__}: {_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else "no details"


def check_keras_model(model, multiple: int) -> int:
    """The model must map NHWC images of one or three channels, of any size (a multiple of `multiple`), to the same
    shape; returns its channels."""
    from dae_edge.runtime.denoiser import check_image_to_image

    shape = tuple(model.input_shape)
    if len(shape) != 4 or shape[3] not in (1, 3) or shape[1:3] != (None, None):
        raise DaeEdgeError(f"the model's input {shape} is not (batch, any height, any width, 1 or 3): "
                           "export expects a fully convolutional grey or RGB model")
    check_image_to_image(model, multiple, shape[3])
    return shape[3]


def receptive_radius(model) -> int:
    """An upper bound, in input pixels, on how far an output pixel's inputs reach along one axis.

    Summed over every layer in order (a skip connection's path is a sub-sequence, so never longer):
    a k×k convolution adds k//2 steps of the current stride, a 2×2 pooling one step before it doubles
    the stride, a transposed convolution k//2 steps of its input stride before it halves it.
    """
    from keras import layers

    radius, jump = 0, 1
    for layer in model.layers:
        if isinstance(layer, layers.Conv2DTranspose):
            radius += (layer.kernel_size[0] // 2) * jump
            jump = max(jump // layer.strides[0], 1)
        elif isinstance(layer, layers.Conv2D):
            radius += (layer.kernel_size[0] // 2) * layer.dilation_rate[0] * jump
            jump *= layer.strides[0]
        elif isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
            radius += (layer.pool_size[0] - 1) * jump
            jump *= layer.strides[0]
    return radius


def downsampling_factor(model) -> int:
    """The product of the poolings' and strided convolutions' strides: sizes must divide by it."""
    from keras import layers

    factor = 1
    for layer in model.layers:
        if isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)) or (
                isinstance(layer, layers.Conv2D) and not isinstance(layer, layers.Conv2DTranspose)):
            factor *= layer.strides[0]
    return factor


def largest_activation(model, multiple: int) -> float:
    """Floats per input pixel in the model's largest layer output (the runtime sizes its calls by it): 32 for the
    paper's model at full resolution, 8 for the photo model, whose widest full-size layers run at half resolution."""
    from dae_edge.train.model import build_model_like

    side = 8 * multiple
    fixed = build_model_like(model, (side, side, model.input_shape[-1]))
    return max(float(np.prod(layer.output.shape[1:])) / side**2 for layer in fixed.layers)


def fresh_copy(model):
    """The same layers and weights in a new model object: each converter traces its own, so what one converter
    leaves on a model (a traced signature of its own batch size) cannot reach the next."""
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone
