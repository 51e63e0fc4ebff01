import gzip
import os
import pickle
import shlex
import struct

import numpy as np
import pytest

from keras_rnninit import tasks
from keras_rnninit.tasks import DatasetUnavailableError
from keras_rnninit.tasks import load_mnist
from keras_rnninit.tasks import load_mnist_pickle
from keras_rnninit.tasks import mnist
from keras_rnninit.tasks import permuted_mnist
from keras_rnninit.tasks.mnist import pixel_permutation


def all_examples(ds):
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def make_splits(sizes=(20, 10, 10), seed=0):
    rng = np.random.default_rng(seed)
    return tuple(
        (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n))
        for n in sizes
    )


def write(path, obj, compress=True, pickler=pickle.Pickler):
    with (gzip.open if compress else open)(path, "wb") as f:
        pickler(f, protocol=2).dump(obj)
    return path


class Python2Pickler(pickle._Pickler):
    """Writes `bytes` as Python 2 `str`, as in the original mnist.pkl.gz."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


class Shell:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.fixture
def pkl(tmp_path):
    splits = make_splits()
    return write(tmp_path / "mnist.pkl.gz", splits), splits


def assert_one_line_error(path, match, **kwargs):
    with pytest.raises(ValueError, match=match) as info:
        mnist(path=path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and repr(str(path)) in message
    return message


def test_reads_the_files_own_splits(pkl):
    path, ((x_train, y_train), (x_val, y_val), (x_test, y_test)) = pkl
    task = tasks.get("mnist", path=path, batch_size=8, seed=0)
    assert task.input_shape == (784, 1) and task.output_size == 10
    assert task.config["num_validation"] == 10 and task.config["num_train"] == 20
    x, y = all_examples(task.validation)
    np.testing.assert_array_equal(x[..., 0], x_val)
    np.testing.assert_array_equal(y, y_val)
    x, y = all_examples(task.test)
    assert x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_array_equal(x[..., 0], x_test)
    np.testing.assert_array_equal(y, y_test)
    x, y = all_examples(task.train)
    order, expected = np.argsort(x[:, 0, 0]), np.argsort(x_train[:, 0])
    np.testing.assert_array_equal(x[order, :, 0], x_train[expected])
    np.testing.assert_array_equal(y[order], y_train[expected])

    task = mnist(source="pkl", path=path, rows=True, num_train=5,
                 num_validation=4, num_test=3)
    assert task.input_shape == (28, 28)
    np.testing.assert_array_equal(
        all_examples(task.validation)[0], x_val[:4].reshape(4, 28, 28)
    )
    assert len(all_examples(task.train)[0]) == 5
    assert len(all_examples(task.test)[0]) == 3


def test_loaders(pkl):
    path, splits = pkl
    for (x, y), (x_ref, y_ref) in zip(load_mnist_pickle(path), splits):
        np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(y, y_ref)
        assert x.dtype == np.float32 and y.dtype == np.int64
    x_train, y_train, x_test, y_test = load_mnist(path=path)
    np.testing.assert_array_equal(x_train, np.concatenate([splits[0][0], splits[1][0]]))
    np.testing.assert_array_equal(y_train, np.concatenate([splits[0][1], splits[1][1]]))
    np.testing.assert_array_equal(x_test, splits[2][0])


def test_python2_pickle(tmp_path):
    splits = make_splits(seed=1)
    for name, compress in (("mnist.pkl.gz", True), ("mnist.pkl", False)):
        path = write(tmp_path / name, splits, compress, Python2Pickler)
        with (gzip.open if compress else open)(path, "rb") as f:
            data = f.read()
        # numpy < 2 pickled `_reconstruct` under `numpy.core`.
        assert b"cnumpy._core.multiarray\n" in data
        data = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
        with (gzip.open if compress else open)(path, "wb") as f:
            f.write(data)
        for (x, y), (x_ref, y_ref) in zip(load_mnist_pickle(path), splits):
            np.testing.assert_array_equal(x, x_ref)
            np.testing.assert_array_equal(y, y_ref)


def test_permuted_variant(pkl):
    path, (_, (x_val, _), (x_test, _)) = pkl
    perm = pixel_permutation(784, 0)
    a = permuted_mnist(path=path, batch_size=8, seed=1)
    b = permuted_mnist(path=path, batch_size=8, seed=2)
    xa = all_examples(a.test)[0]
    np.testing.assert_array_equal(xa[..., 0], x_test[:, perm])
    np.testing.assert_array_equal(xa, all_examples(b.test)[0])
    np.testing.assert_array_equal(
        all_examples(a.validation)[0][..., 0], x_val[:, perm]
    )
    c = permuted_mnist(path=path, permutation_seed=1)
    assert not np.array_equal(all_examples(c.test)[0], xa)


def test_split_size_limits(pkl):
    path, _ = pkl
    with pytest.raises(ValueError, match="num_validation.*at most 10"):
        mnist(path=path, num_validation=11)
    with pytest.raises(ValueError, match="num_train.*at most 20"):
        mnist(path=path, num_train=21)
    with pytest.raises(ValueError, match="source='pkl' needs `path`"):
        mnist(source="pkl")
    with pytest.raises(DatasetUnavailableError, match="no file"):
        mnist(path=path.with_name("missing.pkl.gz"))


def test_refuses_other_objects_without_running_them(tmp_path):
    marker = tmp_path / "ran"
    (train, validation, (x_test, _)) = make_splits()
    evil = (train, validation, (x_test, Shell(f"touch {shlex.quote(str(marker))}")))
    path = write(tmp_path / "mnist.pkl.gz", evil)
    message = assert_one_line_error(path, "system")
    assert "refusing" in message
    assert not marker.exists()


def test_corrupt_files(tmp_path, pkl):
    good, _ = pkl
    data = good.read_bytes()
    truncated = tmp_path / "truncated.pkl.gz"
    truncated.write_bytes(data[: len(data) // 2])
    assert_one_line_error(truncated, "end-of-stream")
    garbled = tmp_path / "garbled.pkl.gz"
    garbled.write_bytes(data[:10] + bytes(len(data) - 10))
    assert_one_line_error(garbled, "not a valid mnist.pkl.gz")
    text = tmp_path / "text.pkl.gz"
    with gzip.open(text, "wb") as f:
        f.write(b"images and labels\n")
    assert_one_line_error(text, "not a valid mnist.pkl.gz")


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda s: s[:2], "not a tuple of 3"),
        (lambda s: (s[0], s[1], (s[2][0].reshape(10, 28, 28), s[2][1])),
         r"test images are an array of shape \(10, 28, 28\)"),
        (lambda s: ((s[0][0], s[0][1][:19]), s[1], s[2]),
         r"train labels are an array of shape \(19,\)"),
        (lambda s: (s[0], (s[1][0].astype(np.uint8), s[1][1]), s[2]),
         "validation images .* dtype uint8"),
        (lambda s: (s[0], s[1], (s[2][0] * 255, s[2][1])), "expected \\[0, 1\\]"),
        (lambda s: (s[0], s[1], (s[2][0], s[2][1] + 10)), "expected digits"),
    ],
)
def test_wrong_contents(tmp_path, change, match):
    path = write(tmp_path / "mnist.pkl.gz", change(make_splits()))
    assert_one_line_error(path, match)
