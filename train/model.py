"""The reference convolutional denoising autoencoder (Keras 3)."""
from dae_edge.train.config import TrainConfig


def build_model(config: TrainConfig = TrainConfig(), input_shape: tuple = (None, None, 1)):
    """Encoder 2×(Conv+LeakyReLU+MaxPool) → 7×7×32 code; decoder Conv, 2×Conv2DTranspose, Conv+sigmoid.

    Fully convolutional: any height and width divisible by 4 works.
    """
    import keras
    from keras import layers

    def leaky():
        return layers.LeakyReLU(negative_slope=config.leaky_slope)

    f = config.filters
    inputs = keras.Input(shape=input_shape, name="noisy")
    x = layers.Conv2D(f, 3, padding="same", name="enc_conv1")(inputs)
    x = layers.MaxPooling2D(2, name="enc_pool1")(leaky()(x))
    x = layers.Conv2D(f, 3, padding="same", name="enc_conv2")(x)
    code = layers.MaxPooling2D(2, name="code")(leaky()(x))
    x = leaky()(layers.Conv2D(f, 3, padding="same", name="dec_conv")(code))
    x = leaky()(layers.Conv2DTranspose(f, 3, strides=2, padding="same", name="dec_up1")(x))
    x = leaky()(layers.Conv2DTranspose(f, 3, strides=2, padding="same", name="dec_up2")(x))
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="denoised")(x)
    return keras.Model(inputs, outputs, name="dae")


def compile_model(model, config: TrainConfig) -> None:
    import keras

    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="binary_crossentropy")
