"""Sequential digits: scikit-learn's 8x8 digits read one pixel per step."""

import numpy as np

from keras_rnninit.tasks import _common
from keras_rnninit.tasks.mnist import image_task
from keras_rnninit.tasks.mnist import pixel_permutation

NUM_EXAMPLES = 1797  # sklearn.datasets.load_digits()


def digits(
    rows=False,
    permuted=False,
    num_train=None,
    num_validation=270,
    num_test=270,
    batch_size=32,
    seed=None,
    split_seed=0,
    permutation_seed=0,
):
    """A small, offline stand-in for sequential MNIST.

    scikit-learn's 1797 handwritten 8x8 digits (bundled with scikit-learn,
    no download), read one pixel per step (64 steps of 1 feature) or, with
    `rows=True`, one row per step (8 steps of 8 features); pixels are scaled
    from 0..16 to [0, 1]. It has the structure of sequential MNIST (classify
    a digit from a sequence of pixels, the evidence spread over the whole
    sequence) at a length and size that train in minutes on a CPU, so it
    suits quick comparisons and tests; its numbers are not comparable with
    MNIST's. The split into train / validation / test is drawn once with
    `split_seed`, so runs with different `seed`s share the same test set.
    The baseline is the accuracy of always predicting the most frequent
    training class (about 0.1); solved at 0.9 accuracy.

    Args:
        rows: read a row per step instead of a pixel per step.
        permuted: reorder the 64 pixels by a fixed permutation, as in
            permuted MNIST.
        num_train: training examples (`None`: all that are left, 1257 by
            default).
        num_validation: validation examples.
        num_test: test examples.
        batch_size: examples per batch.
        seed: seed of the training order, or `None`.
        split_seed: seed of the train / validation / test split.
        permutation_seed: seed of the permutation, when `permuted=True`.

    Returns:
        A `Task`.

    Example:

    ```python
    task = keras_rnninit.tasks.get("digits", seed=0)
    x, y = next(iter(task.train))  # (32, 64, 1), (32,)
    ```

    Reference:
    - [Le et al., 2015](https://arxiv.org/abs/1504.00941), for sequential
      MNIST, which this task scales down.
    """
    from sklearn.datasets import load_digits

    for flag, value in (("rows", rows), ("permuted", permuted)):
        if not isinstance(value, bool):
            raise ValueError(
                f"`{flag}` must be True or False. Received: {flag}={value!r}"
            )
    num_validation = _common.check_positive_int("num_validation", num_validation)
    num_test = _common.check_positive_int("num_test", num_test)
    batch_size = _common.check_positive_int("batch_size", batch_size)
    seed = _common.check_seed(seed)
    split_seed = _common.check_seed(split_seed, "split_seed")
    permutation_seed = _common.check_seed(permutation_seed, "permutation_seed")
    available = NUM_EXAMPLES - num_validation - num_test
    if num_train is None:
        num_train = available
    num_train = _common.check_positive_int("num_train", num_train)
    if num_train > available:
        raise ValueError(
            "`num_train` + `num_validation` + `num_test` must be at most "
            f"{NUM_EXAMPLES}. Received: num_train={num_train}, "
            f"num_validation={num_validation}, num_test={num_test}"
        )
    data = load_digits()
    x = data.images.astype(np.float32)
    y = data.target.astype(np.int32)
    order = np.random.default_rng(split_seed).permutation(len(x))
    test_idx = order[:num_test]
    val_idx = order[num_test : num_test + num_validation]
    train_idx = order[num_test + num_validation :][:num_train]
    config = {
        "rows": rows,
        "permuted": permuted,
        "num_train": num_train,
        "num_validation": num_validation,
        "num_test": num_test,
        "batch_size": batch_size,
        "seed": seed,
        "split_seed": split_seed,
        "permutation_seed": permutation_seed,
    }
    return image_task(
        "digits",
        ((x[train_idx], y[train_idx]), (x[val_idx], y[val_idx]),
         (x[test_idx], y[test_idx])),
        16.0,
        (8, 8),
        rows,
        pixel_permutation(64, permutation_seed) if permuted else None,
        batch_size,
        seed,
        0.9,
        "scikit-learn's 8x8 digits, "
        + ("one row per step" if rows else "one pixel per step"),
        config,
    )
