"""The trained Keras model run as a user would run it without dae-edge: the benchmark's baseline."""
from pathlib import Path

import numpy as np


class KerasPredict:
    """The Keras model through model.predict, with the runtime backends' run(batch) interface."""

    name = "keras"
    input_shape = (28, 28, 1)  # the tile the runtime feeds, so Denoiser can run Keras like any backend
    input_dtype = "float32"

    def __init__(self, path: Path, batch_size: int = 256) -> None:
        import keras

        self.model = keras.models.load_model(path, compile=False)
        self.batch_size = batch_size

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.model.predict(batch, batch_size=self.batch_size, verbose=0)
