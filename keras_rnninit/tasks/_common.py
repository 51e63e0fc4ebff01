"""Argument checks and `tf.data` plumbing shared by the tasks."""

import numbers

import numpy as np


def check_positive_int(name, value, minimum=1):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}"
        )
    return int(value)


def check_seed(seed, name="seed"):
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise ValueError(
            f"`{name}` must be None or a non-negative integer. "
            f"Received: {name}={seed!r}"
        )
    return None if seed is None else int(seed)


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {list(choices)}. Received: {name}={value!r}"
        )
    return value


def seed_pairs(seed, count):
    """`count` independent `[2]` int64 seeds derived from `seed`."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**31 - 1, size=(count, 2), dtype=np.int64)


def from_arrays(arrays, batch_size, shuffle=False, seed=None, map_fn=None):
    """A batched dataset over in-memory arrays, optionally reshuffled per epoch."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle:
        ds = ds.shuffle(
            len(arrays[0]), seed=seed, reshuffle_each_iteration=True
        )
    ds = ds.batch(batch_size)
    if map_fn is not None:
        ds = ds.map(map_fn, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def generated(batch_fn, num_examples, batch_size, seed, fresh):
    """Batches of `batch_fn(seed_pair, batch_size)`.

    `fresh=True`: new examples every epoch (`ceil(num_examples / batch_size)`
    batches per epoch), deterministic given `seed`. `fresh=False`: the same
    `num_examples` examples every epoch, in a reshuffled order.
    """
    import tensorflow as tf

    if fresh:
        steps = -(-num_examples // batch_size)
        ds = tf.data.Dataset.random(
            seed=None if seed is None else int(seed_pairs(seed, 1)[0, 0]),
            rerandomize_each_iteration=True,
        )
        ds = ds.batch(2).take(steps)
        ds = ds.map(
            lambda pair: batch_fn(pair, batch_size),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return ds.prefetch(tf.data.AUTOTUNE)
    pair = seed_pairs(seed, 1)[0]
    x, y = batch_fn(tf.constant(pair), num_examples)
    return from_arrays((x, y), batch_size, shuffle=True, seed=seed)


def fixed(batch_fn, num_examples, batch_size, seed):
    """The same `num_examples` examples, in the same order, every epoch."""
    import tensorflow as tf

    pair = seed_pairs(seed, 1)[0]
    x, y = batch_fn(tf.constant(pair), num_examples)
    return from_arrays((x, y), batch_size)


def check_generated_split(num_train, num_validation, num_test, batch_size, seed,
                          fresh):
    """Validates the arguments every generated task takes; returns them."""
    sizes = [
        check_positive_int(name, value)
        for name, value in (("num_train", num_train),
                            ("num_validation", num_validation),
                            ("num_test", num_test), ("batch_size", batch_size))
    ]
    if not isinstance(fresh, bool):
        raise ValueError(f"`fresh` must be True or False. Received: fresh={fresh!r}")
    return (*sizes, check_seed(seed), fresh)
