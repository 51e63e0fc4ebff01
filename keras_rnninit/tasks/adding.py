"""The adding problem: sum the two marked values of a long sequence."""

import numpy as np

from keras_rnninit.tasks import _common
from keras_rnninit.tasks.base import Task

# Var(a + b) for a, b ~ U(0, 1) independent: the MSE of always predicting the
# mean E[a + b] = 1, the best constant.
ADDING_BASELINE_MSE = 2.0 / 12.0


def split_seeds(seed, count=3):
    """Independent integer seeds for the train / validation / test splits."""
    if seed is None:
        return [None] * count
    rng = np.random.default_rng(seed)
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=count)]


def marked_batch(seed_pair, batch_size, length, combine):
    """One batch of a two-marker problem, generated from a `[2]` seed.

    Each sequence has `length` steps of two features: a value drawn from
    U(0, 1) and a marker that is 1 at two steps and 0 elsewhere. The first
    marked step is uniform in `[0, length // 2)`, the second in
    `[length // 2, length)`. The target is `combine(a, b)` of the two marked
    values, shape `(batch_size, 1)`.
    """
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(
        tf.cast(seed_pair, tf.int64), 3
    )
    values = tf.random.stateless_uniform([batch_size, length], seeds[0])
    half = length // 2
    first = tf.random.stateless_uniform(
        [batch_size], seeds[1], minval=0, maxval=half, dtype=tf.int32
    )
    second = tf.random.stateless_uniform(
        [batch_size], seeds[2], minval=half, maxval=length, dtype=tf.int32
    )
    markers = tf.one_hot(first, length) + tf.one_hot(second, length)
    x = tf.stack([values, markers], axis=-1)
    a = tf.gather(values, first, batch_dims=1)
    b = tf.gather(values, second, batch_dims=1)
    y = combine(a, b)[:, None]
    return x, y


def marked_task(
    name,
    combine,
    baseline,
    success_threshold,
    description,
    length,
    num_train,
    num_validation,
    num_test,
    batch_size,
    seed,
    fresh,
):
    length = _common.check_positive_int("length", length, minimum=2)
    num_train, num_validation, num_test, batch_size, seed, fresh = (
        _common.check_generated_split(
            num_train, num_validation, num_test, batch_size, seed, fresh
        )
    )

    def batch_fn(pair, n):
        return marked_batch(pair, n, length, combine)

    train_seed, val_seed, test_seed = split_seeds(seed)
    return Task(
        name=name,
        train=_common.generated(batch_fn, num_train, batch_size, train_seed, fresh),
        validation=_common.fixed(batch_fn, num_validation, batch_size, val_seed),
        test=_common.fixed(batch_fn, num_test, batch_size, test_seed),
        input_shape=(length, 2),
        output_size=1,
        head_activation="linear",
        loss="mse",
        metric="mse",
        direction="min",
        baseline=baseline,
        success_threshold=success_threshold,
        description=description,
        config={
            "length": length,
            "num_train": num_train,
            "num_validation": num_validation,
            "num_test": num_test,
            "batch_size": batch_size,
            "seed": seed,
            "fresh": fresh,
        },
    )


def adding(
    length=100,
    num_train=10000,
    num_validation=1000,
    num_test=1000,
    batch_size=50,
    seed=None,
    fresh=True,
):
    """The adding problem of Hochreiter and Schmidhuber, as in IRNN and IndRNN.

    Inputs are `length` steps of `(value, marker)`: values are i.i.d.
    U(0, 1), the marker is 1 at two steps (one in the first half of the
    sequence, one in the second) and 0 elsewhere. The target is the sum of
    the two marked values. Predicting the mean, 1, gives the baseline MSE
    `Var(a + b) = 1/6 ~ 0.167`; the task counts as solved below MSE 0.01.

    Args:
        length: `T`, steps per sequence (>= 2).
        num_train: training examples per epoch.
        num_validation: validation examples (fixed).
        num_test: test examples (fixed).
        batch_size: examples per batch.
        seed: integer seed of all three splits, or `None`.
        fresh: if `True`, the training set is generated anew every epoch
            (deterministically given `seed`); if `False`, the same
            `num_train` examples are reshuffled every epoch.

    Returns:
        A `Task`.

    Example:

    ```python
    task = keras_rnninit.tasks.get("adding", length=200, seed=0)
    x, y = next(iter(task.train))  # (50, 200, 2), (50, 1)
    ```

    Reference:
    - [Le et al., 2015](https://arxiv.org/abs/1504.00941).
    - [Li et al., 2018](https://arxiv.org/abs/1803.04831), IndRNN.
    """
    return marked_task(
        "adding",
        lambda a, b: a + b,
        ADDING_BASELINE_MSE,
        0.01,
        "sum of the two marked values of a sequence of U(0, 1) values",
        length,
        num_train,
        num_validation,
        num_test,
        batch_size,
        seed,
        fresh,
    )
