"""The int8 graph rewrite: the same function, and the noisy image keeps its own int8 scale in TFLite."""
import numpy as np

from dae_edge.export.int8_graph import split_concatenated_convolutions
from dae_edge.export.tflite_export import to_tflite
from dae_edge.runtime.backends import litert_interpreter
from dae_edge.train.config import TrainConfig
from dae_edge.train.model import build_model


def test_split_unet_is_the_same_function_without_concatenations_before_convolutions():
    import keras

    keras.utils.set_random_seed(3)
    model = build_model(TrainConfig(arch="unet"))
    split = split_concatenated_convolutions(model)
    images = np.random.default_rng(0).random((4, 36, 44, 1), dtype=np.float32)
    np.testing.assert_allclose(split.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-5)
    assert not any(isinstance(layer, keras.layers.Concatenate) for layer in split.layers)
    assert any(isinstance(layer, keras.layers.Concatenate) for layer in model.layers)
    paper = build_model(TrainConfig())
    assert split_concatenated_convolutions(paper) is paper  # nothing to split: the model itself


def test_int8_tflite_input_keeps_the_scale_of_an_image(tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    model = build_model(TrainConfig(arch="unet"))
    calibration = np.random.default_rng(1).random((32, 28, 28, 1), dtype=np.float32)
    scales = {}
    for name, graph in (("joined", model), ("split", split_concatenated_convolutions(model))):
        to_tflite(graph, tmp_path / f"{name}.tflite", calibration)
        interpreter = litert_interpreter()(model_path=str(tmp_path / f"{name}.tflite"))
        scales[name] = interpreter.get_input_details()[0]["quantization"][0]
    assert abs(scales["split"] - 1 / 255) < 1e-4, scales  # [0, 1] in 255 steps
    assert scales["joined"] > scales["split"], scales  # a concatenation forces its own, coarser scale onto the input
