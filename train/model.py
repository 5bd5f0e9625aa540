"""The denoising autoencoders (Keras 3): the paper's reference design and a small U-Net.

Both are fully convolutional with two 2×2 poolings: any height and width divisible by 4 work
(config.ARCH_DOWNSAMPLING states it, and a test checks it against each model built here).
"""
from dae_edge.train.config import TrainConfig


def _paper(config: TrainConfig, inputs, leaky):
    """Encoder 2×(Conv+LeakyReLU+MaxPool) → 7×7×32 code; decoder Conv, 2×Conv2DTranspose, Conv+sigmoid."""
    from keras import layers

    f = config.filters
    x = layers.Conv2D(f, 3, padding="same", name="enc_conv1")(inputs)
    x = layers.MaxPooling2D(2, name="enc_pool1")(leaky()(x))
    x = layers.Conv2D(f, 3, padding="same", name="enc_conv2")(x)
    code = layers.MaxPooling2D(2, name="code")(leaky()(x))
    x = leaky()(layers.Conv2D(f, 3, padding="same", name="dec_conv")(code))
    x = leaky()(layers.Conv2DTranspose(f, 3, strides=2, padding="same", name="dec_up1")(x))
    x = leaky()(layers.Conv2DTranspose(f, 3, strides=2, padding="same", name="dec_up2")(x))
    return layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="denoised")(x)


def _unet(config: TrainConfig, inputs, leaky):
    """The paper's encoder; a wider 7×7 bottleneck (two convs of 2·f); each transposed convolution's
    output joined with the encoder's features at its scale, and the noisy input joined before the last conv.

    Width goes where pixels are few: a channel at 7×7 costs 1/16 of one at 28×28. 9.72 M MACs per 28×28
    image at f=32, under twice the paper's 4.97 M.
    """
    from keras import layers

    f = config.filters
    e1 = leaky()(layers.Conv2D(f, 3, padding="same", name="enc_conv1")(inputs))
    e2 = leaky()(layers.Conv2D(f, 3, padding="same", name="enc_conv2")(layers.MaxPooling2D(2, name="enc_pool1")(e1)))
    code = layers.MaxPooling2D(2, name="code")(e2)
    x = leaky()(layers.Conv2D(2 * f, 3, padding="same", name="mid_conv1")(code))
    x = leaky()(layers.Conv2D(2 * f, 3, padding="same", name="mid_conv2")(x))
    x = leaky()(layers.Conv2DTranspose(f, 3, strides=2, padding="same", name="dec_up1")(x))
    x = layers.Concatenate(name="skip14")([x, e2])
    x = leaky()(layers.Conv2DTranspose(f, 3, strides=2, padding="same", name="dec_up2")(x))
    x = layers.Concatenate(name="skip28")([x, e1, inputs])
    return layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="denoised")(x)


ARCHITECTURES = {"paper": _paper, "unet": _unet}


def build_model(config: TrainConfig = TrainConfig(), input_shape: tuple = (None, None, 1)):
    """The network `config.arch` names, fully convolutional by default."""
    import keras
    from keras import layers

    def leaky():
        return layers.LeakyReLU(negative_slope=config.leaky_slope)

    inputs = keras.Input(shape=input_shape, name="noisy")
    outputs = ARCHITECTURES[config.arch](config, inputs, leaky)
    return keras.Model(inputs, outputs, name="dae" if config.arch == "paper" else f"dae_{config.arch}")


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """Adam's rate for `epoch` (0-based): constant, or with `cosine`, constant for the first
    LR_HOLD of the run and then a cosine down to LR_FLOOR of the start."""
    import math

    hold = int(round(config.epochs * LR_HOLD))
    if config.lr_schedule == "constant" or epoch < hold:
        return config.learning_rate
    t = (epoch - hold + 1) / max(config.epochs - hold, 1)
    return config.learning_rate * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * t)))


LR_HOLD = 0.6  # a cosine decay over a whole short run cost 0.4–0.55 dB in 1,000-step trials: learn at full rate first
LR_FLOOR = 0.02


def compile_model(model, config: TrainConfig) -> None:
    import keras

    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="binary_crossentropy")


def count_macs(model, height: int = 28, width: int = 28) -> int:
    """Multiply-accumulates of one (height, width) image: k·k·C_in·C_out per output pixel of a
    convolution, per input pixel of a transposed one; pooling, activations and joins are free."""
    from keras import layers

    fixed = build_model_like(model, (height, width, 1))
    total = 0
    for layer in fixed.layers:
        if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
            kh, kw, *channels = layer.kernel.shape  # Conv2D: (kh, kw, in, out); transposed: (kh, kw, out, in)
            transposed = isinstance(layer, layers.Conv2DTranspose)
            pixels = layer.input.shape if transposed else layer.output.shape
            total += pixels[1] * pixels[2] * kh * kw * channels[0] * channels[1]
    return int(total)


def build_model_like(model, input_shape: tuple):
    """The same layers and weights behind another input shape."""
    config = model.get_config()
    config["layers"][0]["config"]["batch_shape"] = (None, *input_shape)
    clone = model.__class__.from_config(config)
    clone.set_weights(model.get_weights())
    return clone
