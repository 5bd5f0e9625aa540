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


def test_mac_count_matches_a_hand_count():
    from dae_edge.train.model import count_macs

    # The paper's DAE, layer by layer: output (or, transposed, input) pixels × 3·3 × C_in × C_out.
    paper = (28 * 28 * 9 * 1 * 32 + 14 * 14 * 9 * 32 * 32 + 7 * 7 * 9 * 32 * 32
             + 7 * 7 * 9 * 32 * 32 + 14 * 14 * 9 * 32 * 32 + 28 * 28 * 9 * 32 * 1)
    assert paper == 4_967_424
    assert count_macs(build_model()) == paper
    unet = build_model(TrainConfig(arch="unet"))
    assert unet.count_params() == 102_506
    assert count_macs(unet) <= 2 * paper  # the stronger model's budget
    assert count_macs(build_model(), 56, 56) == 4 * paper  # linear in pixels


def test_unet_is_fully_convolutional_and_sees_its_input():
    import keras

    keras.utils.set_random_seed(0)
    model = build_model(TrainConfig(arch="unet"))
    out = model.predict(np.zeros((1, 36, 44, 1), np.float32), verbose=0)
    assert out.shape == (1, 36, 44, 1)
    assert "noisy" in [t.name.split("/")[0] for t in model.get_layer("skip28").input]


def test_learning_rate_schedule():
    from dae_edge.train.model import learning_rate

    constant = TrainConfig(epochs=10)
    assert [learning_rate(constant, e) for e in range(10)] == [1e-3] * 10
    cosine = TrainConfig(epochs=10, lr_schedule="cosine")
    rates = [learning_rate(cosine, e) for e in range(10)]
    assert rates[:6] == [1e-3] * 6 and all(a > b for a, b in zip(rates[5:], rates[6:]))
    assert np.isclose(rates[-1], 1e-3 * 0.02)


def test_mosaic_lays_images_out_in_a_grid():
    from dae_edge.train.training import mosaic

    images = np.arange(9 * 2 * 3, dtype=np.float32).reshape(9, 2, 3, 1)
    grid = mosaic(images, 2)
    assert grid.shape == (2, 4, 6, 1)
    assert np.array_equal(grid[0, :2, :3], images[0]) and np.array_equal(grid[0, :2, 3:], images[1])
    assert np.array_equal(grid[0, 2:, :3], images[2]) and np.array_equal(grid[1, 2:, 3:], images[7])
    assert mosaic(images, 1) is images


def test_stated_downsampling_matches_each_architecture():
    from dae_edge.export.keras_model import downsampling_factor
    from dae_edge.train.config import ARCH_DOWNSAMPLING

    for arch, factor in ARCH_DOWNSAMPLING.items():
        assert downsampling_factor(build_model(TrainConfig(arch=arch))) == factor, arch
