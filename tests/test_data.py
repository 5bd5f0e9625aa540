import gzip

import numpy as np
import pytest

from conftest import write_idx, write_small_mnist
from dae_edge.core import idx as data_module
from dae_edge.core.idx import DataError, load_mnist, load_npz, read_idx


def test_reads_gzip_and_raw_idx(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    assert np.array_equal(read_idx(write_idx(tmp_path / "a.gz", images), 3), images)
    assert np.array_equal(read_idx(write_idx(tmp_path / "a", images), 3), images)


@pytest.mark.parametrize("raw, problem", [
    (b"\x01\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc", "magic"),
    (b"\x00\x00\x0d\x01" + (3).to_bytes(4, "big") + b"abc", "element type 0x0d"),
    (b"\x00\x00\x08\x02" + (3).to_bytes(4, "big") + b"abc", "2 dimensions"),
    (b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc", "truncated"),
    (b"\x00\x00", "magic"),
])
def test_rejects_bad_idx(tmp_path, raw, problem):
    path = tmp_path / "labels"
    path.write_bytes(raw)
    with pytest.raises(DataError, match=problem) as info:
        read_idx(path, 1)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_rejects_a_corrupt_gzip(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc")[:-6])
    with pytest.raises(DataError, match="cannot read"):
        read_idx(path, 1)


def test_loads_a_folder_and_checks_counts(tmp_path, mnist):
    folder = write_small_mnist(tmp_path / "m", mnist, train=64, test=32, gz=False)
    loaded = load_mnist(folder)
    assert loaded.x_train.shape == (64, 28, 28) and loaded.y_test.shape == (32,)
    assert np.array_equal(loaded.x_test, mnist.x_test[:32])
    write_idx(folder / "t10k-labels-idx1-ubyte", mnist.y_test[:31])
    with pytest.raises(DataError, match="32 test images but 31 labels"):
        load_mnist(folder)


def test_missing_folder_and_files(tmp_path):
    with pytest.raises(DataError, match="no such folder.*--data DIR"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(DataError, match="missing train-images-idx3-ubyte"):
        load_mnist(tmp_path)


def test_real_mnist_matches_its_readme(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_npz_and_search_order(tmp_path, monkeypatch, mnist):
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=mnist.x_train[:10], y_train=mnist.y_train[:10], x_test=mnist.x_test[:5], y_test=mnist.y_test[:5])
    assert len(load_npz(npz).x_train) == 10
    folder = write_small_mnist(tmp_path / "idx", mnist, train=20, test=8)
    monkeypatch.setenv(data_module.ENV_VAR, str(folder))
    monkeypatch.setattr(data_module, "KERAS_CACHE", npz)
    assert len(load_mnist(tmp_path).x_train) == 10  # --data wins (a folder holding mnist.npz)
    assert len(load_mnist().x_train) == 20  # then the environment variable
    monkeypatch.delenv(data_module.ENV_VAR)
    assert len(load_mnist().x_train) == 10  # then Keras's cache


def test_clear_message_when_everything_fails(tmp_path, monkeypatch):
    monkeypatch.delenv(data_module.ENV_VAR, raising=False)
    monkeypatch.setattr(data_module, "KERAS_CACHE", tmp_path / "absent.npz")
    monkeypatch.setattr(data_module, "MNIST_URL", (tmp_path / "no-such-file.npz").as_uri())  # as offline as a URL gets
    with pytest.raises(DataError, match="download failed.*--data DIR.*DAE_EDGE_DATA"):
        load_mnist()


def test_npz_missing_array(tmp_path):
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DataError, match="missing array"):
        load_npz(npz)
