"""The trained Keras model run as a user would run it without dae-edge: the benchmark's baseline."""
from pathlib import Path

import numpy as np


class KerasPredict:
    """The Keras model through model.predict, with the runtime backends' run(batch) interface."""

    name = "keras"
    input_shape = (None, None, 1)  # any size (the model's channels once loaded), so Denoiser runs Keras like any backend
    max_batch = None

    def __init__(self, path: Path, batch_size: int = 256) -> None:
        import keras

        self.path = path
        self.model = keras.models.load_model(path, compile=False)
        self.input_shape = (None, None, int(self.model.input_shape[-1]))
        self.batch_size = batch_size

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.model.predict(batch, batch_size=self.batch_size, verbose=0)
