import numpy as np

from dae_edge.train.config import TrainConfig
from dae_edge.train.model import build_model


def test_reference_design():
    import keras

    model = build_model()
    assert model.count_params() == 37_601
    assert model.get_layer("code").output.shape[1:] == (None, None, 32)
    leaky = [layer for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(leaky) == 5 and all(np.isclose(layer.negative_slope, 0.2) for layer in leaky)
    assert model.layers[-1].activation.__name__ == "sigmoid"
    fixed = build_model(TrainConfig(), input_shape=(28, 28, 1))
    assert fixed.get_layer("code").output.shape[1:] == (7, 7, 32)  # the 1,568-value code


def test_fully_convolutional_output_in_unit_range():
    import keras

    keras.utils.set_random_seed(0)
    model = build_model()
    out = model.predict(np.random.default_rng(0).random((2, 36, 44, 1), dtype=np.float32), verbose=0)
    assert out.shape == (2, 36, 44, 1)
    assert out.min() >= 0 and out.max() <= 1


def test_config_is_frozen_and_hashable():
    config = TrainConfig()
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.sha256() != TrainConfig(seed=1).sha256()
