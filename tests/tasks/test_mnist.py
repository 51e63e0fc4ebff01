import os

import numpy as np
import pytest

from keras_rnninit.tasks import DatasetUnavailableError
from keras_rnninit.tasks import load_mnist
from keras_rnninit.tasks import mnist
from keras_rnninit.tasks import permuted_mnist
from keras_rnninit.tasks.mnist import pixel_permutation

from helpers import make_mnist_npz as make_npz


def all_examples(ds):
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


@pytest.fixture
def npz(tmp_path):
    path = tmp_path / "mnist.npz"
    return path, make_npz(path)


@pytest.fixture
def no_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))


def test_local_npz_pixel_by_pixel(npz):
    path, arrays = npz
    task = mnist(source="npz", path=path, num_validation=10, batch_size=8, seed=0)
    assert task.input_shape == (784, 1) and task.output_size == 10
    assert task.objective_spec() == ("val_accuracy", "max")
    x, y = all_examples(task.test)
    assert x.shape == (12, 784, 1) and x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_allclose(
        x[..., 0], arrays["x_test"].reshape(12, 784) / 255.0, rtol=1e-6
    )
    np.testing.assert_array_equal(y, arrays["y_test"])
    assert 0.0 <= x.min() and x.max() <= 1.0
    xv, yv = all_examples(task.validation)
    np.testing.assert_array_equal(yv, arrays["y_train"][30:])
    xt, yt = all_examples(task.train)
    assert xt.shape == (30, 784, 1)
    np.testing.assert_array_equal(np.sort(yt), np.sort(arrays["y_train"][:30]))


def test_rows_and_baseline(npz):
    path, arrays = npz
    task = mnist(path=path, rows=True, num_validation=5, batch_size=8)
    x, y = all_examples(task.test)
    assert task.input_shape == (28, 28) and x.shape == (12, 28, 28)
    np.testing.assert_allclose(x, arrays["x_test"] / 255.0, rtol=1e-6)
    # Majority class of the training labels (7), scored on the test labels.
    assert task.baseline == pytest.approx(np.mean(arrays["y_test"] == 7))


def test_permutation_is_fixed_and_real(npz):
    path, arrays = npz
    perm = pixel_permutation(784, 0)
    assert not np.array_equal(perm, np.arange(784))
    np.testing.assert_array_equal(np.sort(perm), np.arange(784))
    a = permuted_mnist(path=path, num_validation=5, batch_size=8, seed=1)
    b = permuted_mnist(path=path, num_validation=5, batch_size=8, seed=2)
    xa, _ = all_examples(a.test)
    xb, _ = all_examples(b.test)
    np.testing.assert_array_equal(xa, xb)  # independent of the training seed
    flat = arrays["x_test"].reshape(12, 784) / 255.0
    np.testing.assert_allclose(xa[..., 0], flat[:, perm], rtol=1e-6)
    c = permuted_mnist(path=path, num_validation=5, permutation_seed=1)
    assert not np.array_equal(all_examples(c.test)[0], xa)
    assert a.name == "permuted-mnist" and a.success_threshold < 0.95


def test_training_order_deterministic_under_seed(npz):
    path, _ = npz
    a = mnist(path=path, num_validation=5, batch_size=35, seed=3)
    b = mnist(path=path, num_validation=5, batch_size=35, seed=3)
    np.testing.assert_array_equal(all_examples(a.train)[1], all_examples(b.train)[1])


def test_keras_cache_is_used_by_auto(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    os.makedirs(home / "datasets")
    arrays = make_npz(home / "datasets" / "mnist.npz", seed=5)
    monkeypatch.setenv("KERAS_HOME", str(home))
    x_train, y_train, x_test, y_test = load_mnist()
    np.testing.assert_array_equal(x_test, arrays["x_test"])
    task = mnist(source="keras-cache", num_validation=4, num_train=8, num_test=6)
    assert all_examples(task.train)[0].shape == (8, 784, 1)
    assert all_examples(task.test)[0].shape == (6, 784, 1)


def test_error_lists_the_options_when_unavailable(tmp_path, no_keras_cache):
    with pytest.raises(DatasetUnavailableError) as info:
        mnist(data_dir=str(tmp_path / "no_tfds_data"))
    message = str(info.value)
    for option in ("source='npz'", "path=", "mnist.npz", "source='tfds'",
                   "data_dir", "'digits'"):
        assert option in message
    with pytest.raises(DatasetUnavailableError, match="no file"):
        mnist(source="npz", path=tmp_path / "missing.npz")
    with pytest.raises(DatasetUnavailableError):
        load_mnist(source="keras-cache")


def test_bad_arguments(npz, tmp_path):
    path, _ = npz
    with pytest.raises(ValueError, match="source"):
        mnist(source="internet")
    with pytest.raises(ValueError, match="num_train"):
        mnist(path=path, num_train=100, num_validation=5)
    with pytest.raises(ValueError, match="num_test"):
        mnist(path=path, num_test=13, num_validation=5)
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="y_train"):
        mnist(path=bad)


def test_tfds_source_under_mock_data(tmp_path, no_keras_cache):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=24):
        task = mnist(source="tfds", data_dir=str(tmp_path), num_validation=4,
                     batch_size=8, seed=0)
    x, y = all_examples(task.train)
    assert x.shape == (20, 784, 1) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert y.min() >= 0 and y.max() < 10
    assert all_examples(task.validation)[0].shape == (4, 784, 1)
    assert all_examples(task.test)[0].shape == (24, 784, 1)
