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


def _photo(config: TrainConfig, inputs, leaky):
    """A residual U-Net for photographs: it predicts the noise and subtracts it, and works at 1/2, 1/4 and 1/8
    resolution, with f, 2f and 4f channels (f = config.filters).

    The first layer is a 2×2 stride-2 convolution (a pixel-unshuffle and a 1×1 convolution, as in FFDNet) and
    the last a 2×2 stride-2 transposed one (back to full resolution): nothing runs at full resolution but the
    residual sum. Width sits at 1/8, where a channel costs 1/64 of one at full size, and its 3×3 convolutions
    reach far (the receptive field spans about 100 pixels). Skips are sums, not concatenations, so every
    int8 tensor keeps a scale of its own. ReLU throughout: int8-friendly. The estimate it returns is not
    clipped (`_photo_clipped` and `_photo_fullres` clip what they return to [0, 1]).
    22,976 MACs per pixel at f = 32 with three channels.
    """
    from keras import layers

    f = config.filters
    relu = layers.ReLU
    conv = lambda width, name: layers.Conv2D(width, 3, padding="same", activation="relu", name=name)  # noqa: E731
    down = lambda width, name: layers.Conv2D(width, 2, strides=2, activation="relu", name=name)  # noqa: E731
    up = lambda width, name: layers.Conv2DTranspose(width, 2, strides=2, name=name)  # noqa: E731
    e1 = conv(f, "enc1")(down(f, "unshuffle")(inputs))  # 1/2
    e2 = conv(2 * f, "enc2")(down(2 * f, "down2")(e1))  # 1/4
    x = down(4 * f, "down3")(e2)  # 1/8
    for i in range(3):
        x = conv(4 * f, f"mid{i + 1}")(x)
    x = relu()(layers.Add(name="skip4")([up(2 * f, "up4")(x), e2]))
    x = conv(2 * f, "dec4b")(conv(2 * f, "dec4a")(x))
    x = relu()(layers.Add(name="skip2")([up(f, "up2")(x), e1]))
    x = conv(f, "dec2b")(conv(f, "dec2a")(x))
    return layers.Add(name="residual")([inputs, up(inputs.shape[-1], "shuffle")(x)])


def _photo_clipped(config: TrainConfig, inputs, leaky):
    """`_photo`'s estimate clipped to [0, 1]."""
    from keras import layers

    return layers.ReLU(max_value=1.0, name="denoised")(_photo(config, inputs, leaky))


FULLRES_WIDTH = 16  # channels of the full-resolution head: 1,296 MACs a pixel with three channels
WIDE_HEAD_WIDTH = 24  # photo_fullres_wide's head: 1,944 MACs a pixel, which brings the model to 24,920


def _photo_fullres(config: TrainConfig, inputs, leaky, width: int = FULLRES_WIDTH):
    """`photo` and a full-resolution head: two 3×3 convolutions that see the noisy picture beside the U-Net's
    estimate and add a correction to it, where the 1/2-resolution decoder blurs edges. The last one starts at
    zero, so the head starts as the identity and `--init` from a `photo` model starts from that model's output.
    24,272 MACs per pixel at f = 32 with three channels (the head 1,296)."""
    from keras import layers

    estimate = _photo(config, inputs, leaky)
    both = layers.Concatenate(name="full_in")([inputs, estimate])
    hidden = layers.Conv2D(width, 3, padding="same", activation="relu", name="full1")(both)
    correction = layers.Conv2D(inputs.shape[-1], 3, padding="same", kernel_initializer="zeros", name="full2")(hidden)
    return layers.ReLU(max_value=1.0, name="denoised")(layers.Add(name="refined")([estimate, correction]))


def _photo_fullres_wide(config: TrainConfig, inputs, leaky):
    """`photo_fullres` with WIDE_HEAD_WIDTH channels in its head, for thin lines and edges (24,920 MACs per pixel at
    f = 32 with three channels); `--init` from a `photo_fullres` model widens its head and keeps its output."""
    return _photo_fullres(config, inputs, leaky, WIDE_HEAD_WIDTH)


ARCHITECTURES = {"paper": _paper, "unet": _unet, "photo": _photo_clipped, "photo_fullres": _photo_fullres,
                 "photo_fullres_wide": _photo_fullres_wide}


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


PSNR_FLOOR = 1e-6  # squared error below which a patch weighs no more (60 dB): clean patches do not take over


def psnr_loss(y_true, y_pred):
    """Each patch's log squared error: −PSNR up to a constant factor, so the batch mean is what bench reports, the mean
    PSNR over pictures; against the mean squared error it weighs each patch by 1/its error, lifting the low noise."""
    from keras import ops

    return ops.log(ops.mean(ops.square(y_pred - y_true), axis=(1, 2, 3)) + PSNR_FLOOR)


def custom_objects() -> dict:
    """What `keras.models.load_model` needs to read a compiled checkpoint back."""
    return {"psnr_loss": psnr_loss}


def compile_model(model, config: TrainConfig) -> None:
    import keras

    loss = {"bce": "binary_crossentropy", "mse": "mean_squared_error", "psnr": psnr_loss}[config.loss]
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss)


def count_macs(model, height: int = 28, width: int = 28) -> int:
    """Multiply-accumulates of one (height, width) image: k·k·C_in·C_out per output pixel of a
    convolution, per input pixel of a transposed one; pooling, activations and joins are free."""
    from keras import layers

    fixed = build_model_like(model, (height, width, model.input_shape[-1]))
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
