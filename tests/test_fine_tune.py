"""`train --init`: fine-tuning starts from a trained model's weights, records which, and refuses a model it cannot use."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from dae_edge.app.cli import app
from dae_edge.core.files import sha256
from dae_edge.train.config import TrainConfig

runner = CliRunner()


def weights(path) -> list[np.ndarray]:
    import keras

    return keras.models.load_model(path).get_weights()


def train(data, out, *args: str):
    return runner.invoke(app, ["train", "--data", str(data), "--limit", "256", "--epochs", "1", "--out", str(out), *args])


def test_fine_tuning_starts_from_the_given_weights_and_records_them(tmp_path, small_mnist_dir, trained_dir):
    start = trained_dir / "dae.keras"
    result = train(small_mnist_dir, tmp_path / "tuned", "--init", str(start), "--learning-rate", "1e-12")
    assert result.exit_code == 0, result.output
    assert train(small_mnist_dir, tmp_path / "fresh", "--learning-rate", "1e-12").exit_code == 0
    trained, tuned, fresh = weights(start), weights(tmp_path / "tuned" / "dae.keras"), weights(tmp_path / "fresh" / "dae.keras")
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(trained, tuned))  # a rate of 1e-12 leaves them where they began
    assert not all(np.allclose(a, b, atol=1e-3) for a, b in zip(trained, fresh))  # without --init they begin elsewhere
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["init"] == str(start) and config["init_sha256"] == sha256(start)


def test_configurations_without_init_hash_as_before():
    assert "init" not in TrainConfig().to_dict() and "init_sha256" not in TrainConfig().to_dict()
    assert TrainConfig(init="a.keras", init_sha256="0" * 64).sha256() != TrainConfig().sha256()


@pytest.mark.parametrize("case, message", [
    ("missing", "no such file"),
    ("not a model", "not a Keras model that can be read"),
    ("other layers", "fine-tune with the --arch, --filters and --channels it was trained with"),
])
def test_an_unusable_init_is_one_line_and_writes_nothing(tmp_path, small_mnist_dir, trained_dir, case, message):
    start, args = trained_dir / "dae.keras", []
    if case == "missing":
        start = tmp_path / "missing.keras"
    elif case == "not a model":
        start = tmp_path / "text.keras"
        start.write_text("not a model")
    else:
        args = ["--arch", "unet"]
    out = tmp_path / "out"
    result = train(small_mnist_dir, out, "--init", str(start), *args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2
    assert not out.exists()
