"""Non-overlapping transposed convolutions (kernel = stride) as a 1×1 convolution and a pixel shuffle.

The two compute the same numbers: out[s·i + a, s·j + b, o] = Σ_c x[i, j, c]·K[a, b, o, c] + bias[o]. But a
transposed convolution on an input of any size converts to TFLite with its output shape computed at run time
(SHAPE, STRIDED_SLICE, PACK), which XNNPACK cannot delegate, so the graph runs in pieces; a 1×1 convolution
and DEPTH_TO_SPACE stay in one delegated graph. Only the exported copy is rewritten: training keeps its layers.
"""
import numpy as np


def _shuffles(layer) -> bool:
    import keras

    return (isinstance(layer, keras.layers.Conv2DTranspose) and tuple(layer.kernel_size) == tuple(layer.strides)
            and layer.kernel_size[0] == layer.kernel_size[1] and layer.output_padding is None
            and tuple(layer.dilation_rate) == (1, 1) and layer.data_format == "channels_last")


def _shuffle_layer():
    import keras

    class ShuffleUp(keras.layers.Layer):
        """A 1×1 convolution to factor²·filters channels, then depth_to_space: a transposed convolution
        whose kernel equals its stride."""

        def __init__(self, filters: int, factor: int, activation=None, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor
            self.conv = keras.layers.Conv2D(filters * factor**2, 1, name=f"{self.name}_1x1")
            self.activation = keras.activations.get(activation)

        def get_config(self):
            return {**super().get_config(), "filters": self.conv.filters // self.factor**2, "factor": self.factor,
                    "activation": keras.activations.serialize(self.activation)}

        def build(self, input_shape):
            self.conv.build(input_shape)

        def call(self, x):
            return self.activation(keras.ops.depth_to_space(self.conv(x), self.factor))

        def compute_output_shape(self, input_shape):
            n, h, w, _ = input_shape
            scale = lambda d: None if d is None else d * self.factor  # noqa: E731
            return n, scale(h), scale(w), self.conv.filters // self.factor**2

    return ShuffleUp


def shuffle_weights(kernel: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A transposed kernel (s, s, out, in) and its bias as the 1×1 kernel (1, 1, in, s²·out) and bias whose
    output depth_to_space (channels ordered (a, b, out), TensorFlow's DCR) lays out at (s·i + a, s·j + b)."""
    s, _, out, inputs = kernel.shape
    one_by_one = kernel.reshape(s * s, out, inputs).transpose(2, 0, 1).reshape(1, 1, inputs, s * s * out)
    return one_by_one, np.tile(bias, s * s)


def with_pixel_shuffles(model):
    """`model` with each transposed convolution of kernel = stride made a 1×1 convolution and a pixel shuffle
    (the same outputs to float rounding); `model` itself where it has none."""
    import keras

    if not any(_shuffles(layer) for layer in model.layers):
        return model
    ShuffleUp = _shuffle_layer()

    def clone(layer):
        if _shuffles(layer):
            return ShuffleUp(layer.filters, layer.strides[0], activation=layer.activation, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    rewritten = keras.models.clone_model(model, clone_function=clone)
    for old, new in zip(model.layers, rewritten.layers):
        weights = old.get_weights()
        if _shuffles(old):
            kernel, *bias = weights
            weights = list(shuffle_weights(kernel, bias[0] if bias else np.zeros(kernel.shape[2], kernel.dtype)))
        new.set_weights(weights)
    return rewritten
