"""Sequential and permuted MNIST: classify a digit read one pixel at a time."""

import os

import numpy as np

from keras_rnninit.tasks import _common
from keras_rnninit.tasks.base import DatasetUnavailableError
from keras_rnninit.tasks.base import Task

SOURCES = ("auto", "npz", "keras-cache", "tfds")
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


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
        "where keras.datasets.mnist.load_data() ran;\n"
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
    """MNIST as `(x_train, y_train, x_test, y_test)` uint8 / int arrays.

    Args:
        source: `"auto"` (default): `path` if given, else Keras's cache file
            if present, else tensorflow_datasets' data if already prepared in
            `data_dir`; it never downloads. `"npz"`: the file at `path`.
            `"keras-cache"`: Keras's cache file. `"tfds"`: `tfds.load`,
            downloading into `data_dir` if needed (needs the internet).
        path: an `mnist.npz` in Keras's format.
        data_dir: tensorflow_datasets' data directory (`None`: its default,
            `$TFDS_DATA_DIR` or `~/tensorflow_datasets`).

    Raises:
        DatasetUnavailableError: no source has the data; the message lists
            the options.
    """
    _common.check_choice("source", source, SOURCES)
    if source == "npz" or (source == "auto" and path is not None):
        if path is None:
            raise ValueError(
                "source='npz' needs `path`, an mnist.npz file. Received: path=None"
            )
        return _load_npz(os.fspath(path))
    if source == "keras-cache":
        return _load_npz(keras_cache_path())
    if source == "tfds":
        return _load_tfds(data_dir, download=True)
    if os.path.isfile(keras_cache_path()):
        return _load_npz(keras_cache_path())
    if _tfds_prepared(data_dir):
        return _load_tfds(data_dir, download=False)
    raise _unavailable(
        "no path was given, Keras's cache file is absent and "
        "tensorflow_datasets has no prepared copy in "
        f"data_dir={data_dir!r}"
    )


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
    num_validation = _common.check_positive_int("num_validation", num_validation)
    batch_size = _common.check_positive_int("batch_size", batch_size)
    seed = _common.check_seed(seed)
    permutation_seed = _common.check_seed(permutation_seed, "permutation_seed")
    _common.check_choice("source", source, SOURCES)
    x_train, y_train, x_test, y_test = load_mnist(source, path, data_dir)
    available = len(x_train) - num_validation
    if num_train is None:
        num_train = available
    num_train = _common.check_positive_int("num_train", num_train)
    if num_train > available:
        raise ValueError(
            f"`num_train` + `num_validation` must be at most {len(x_train)}, "
            "the size of MNIST's training split. Received: "
            f"num_train={num_train}, num_validation={num_validation}"
        )
    if num_test is None:
        num_test = len(x_test)
    num_test = _common.check_positive_int("num_test", num_test)
    if num_test > len(x_test):
        raise ValueError(
            f"`num_test` must be at most {len(x_test)}, the size of MNIST's "
            f"test split. Received: num_test={num_test}"
        )
    # Validation: the last `num_validation` training images, before shuffling.
    start = len(x_train) - num_validation
    splits = (
        (x_train[:num_train], y_train[:num_train]),
        (x_train[start:], y_train[start:]),
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
        255.0,
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
    num_validation=5000,
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
    indices. The validation split is the last `num_validation` images of
    MNIST's training split, the training set the first `num_train`. The
    baseline is the accuracy of always predicting the most frequent class
    (about 0.11); the task counts as solved at 0.95 accuracy (IRNN's 5%
    error in the IRNN paper).

    The data comes from a local `mnist.npz` (Keras's format), Keras's cache
    file, or tensorflow_datasets; see `load_mnist` for `source`, `path` and
    `data_dir`. With `source="auto"` nothing is downloaded; offline, the
    `"digits"` task is a small stand-in.

    Args:
        rows: read a row per step instead of a pixel per step.
        num_train: training images (`None`: all but the validation ones).
        num_validation: validation images taken from the training split.
        num_test: test images (`None`: all 10000).
        batch_size: examples per batch.
        seed: seed of the training order, or `None`.
        source: `"auto"`, `"npz"`, `"keras-cache"` or `"tfds"`.
        path: an `mnist.npz` in Keras's format.
        data_dir: tensorflow_datasets' data directory.

    Returns:
        A `Task`.

    Raises:
        DatasetUnavailableError: no source has the data (the message lists
            the options).

    Example:

    ```python
    task = keras_rnninit.tasks.get("mnist", path="mnist.npz", rows=True)
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
    num_validation=5000,
    num_test=None,
    batch_size=64,
    seed=None,
    source="auto",
    path=None,
    data_dir=None,
    permutation_seed=0,
):
    """Permuted sequential MNIST: one fixed random order of the 784 pixels.

    As `mnist`, but the pixels of every image are reordered by the same
    permutation, `numpy.random.default_rng(permutation_seed).permutation(784)`,
    before being read, which spreads the dependencies over the whole
    sequence. The permutation depends only on `permutation_seed`, not on
    `seed`, so that runs with different seeds solve the same problem. Solved
    at 0.82 accuracy (IRNN's 18% error).

    Args:
        rows: after permuting, read 28 pixels per step.
        num_train: training images (`None`: all but the validation ones).
        num_validation: validation images taken from the training split.
        num_test: test images (`None`: all 10000).
        batch_size: examples per batch.
        seed: seed of the training order, or `None`.
        source: `"auto"`, `"npz"`, `"keras-cache"` or `"tfds"`.
        path: an `mnist.npz` in Keras's format.
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
