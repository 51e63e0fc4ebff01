"""The copy-memory task: recall a short sequence after a long blank."""

import math

from keras_rnninit.tasks import _common
from keras_rnninit.tasks.adding import split_seeds
from keras_rnninit.tasks.base import Task


def copy_batch(seed_pair, batch_size, length, copy_length, num_symbols):
    """One batch of the copy-memory task from a `[2]` seed.

    Token ids: 0 is the blank, `1..num_symbols` the symbols, and
    `num_symbols + 1` the delimiter. The input is
    `[s_1..s_K, blank * (length - 1), delimiter, blank * K]`, one-hot
    (`num_symbols + 2` features); the target is
    `[blank * (length + K), s_1..s_K]` as int32 ids.
    """
    import tensorflow as tf

    k = copy_length
    symbols = tf.random.stateless_uniform(
        [batch_size, k],
        tf.cast(seed_pair, tf.int64),
        minval=1,
        maxval=num_symbols + 1,
        dtype=tf.int32,
    )
    blanks = tf.zeros([batch_size, length - 1], tf.int32)
    delimiter = tf.fill([batch_size, 1], num_symbols + 1)
    tail = tf.zeros([batch_size, k], tf.int32)
    tokens = tf.concat([symbols, blanks, delimiter, tail], axis=1)
    x = tf.one_hot(tokens, num_symbols + 2)
    y = tf.concat([tf.zeros([batch_size, length + k], tf.int32), symbols], axis=1)
    return x, y


def copy_baselines(length, copy_length, num_symbols):
    """`(accuracy, crossentropy)` of the best model without memory.

    Such a model can count steps but cannot remember the symbols: it outputs
    the blank for the first `length + K` steps and a uniform guess over the
    symbols for the last `K`, scoring `(length + K + K / num_symbols) /
    (length + 2K)` accuracy and `K log(num_symbols) / (length + 2K)`
    cross-entropy per step.
    """
    total = length + 2 * copy_length
    accuracy = (length + copy_length + copy_length / num_symbols) / total
    crossentropy = copy_length * math.log(num_symbols) / total
    return accuracy, crossentropy


def copy_memory(
    length=100,
    copy_length=10,
    num_symbols=8,
    num_train=10000,
    num_validation=1000,
    num_test=1000,
    batch_size=50,
    seed=None,
    fresh=True,
):
    """The copy-memory task (Hochreiter and Schmidhuber; Arjovsky et al.).

    The model reads `copy_length` random symbols, `length - 1` blanks, a
    delimiter and `copy_length` more blanks, and must output the blank at
    every step except the last `copy_length`, where it repeats the symbols
    in order. The sequences have `length + 2 * copy_length` steps and one
    target per step (`sequence_output=True`). The metric is the per-step
    accuracy; its baseline is that of a model without memory (blanks, then
    guesses), see `copy_baselines`. The task counts as solved when 99% of the
    recalled symbols are right, i.e. at accuracy
    `(length + K + 0.99 K) / (length + 2K)`.

    Args:
        length: `T`, the delay between the symbols and the delimiter.
        copy_length: `K`, how many symbols to recall.
        num_symbols: size of the alphabet (the paper's 8).
        num_train: training examples per epoch.
        num_validation: validation examples (fixed).
        num_test: test examples (fixed).
        batch_size: examples per batch.
        seed: integer seed of all three splits, or `None`.
        fresh: if `True`, new training examples every epoch; if `False`,
            the same `num_train` examples reshuffled.

    Returns:
        A `Task`; `loss_baseline` is the memoryless cross-entropy.

    Example:

    ```python
    task = keras_rnninit.tasks.get("copy", length=50, seed=0)
    x, y = next(iter(task.train))  # (50, 70, 10), (50, 70)
    ```

    Reference:
    - [Arjovsky et al., 2016](https://arxiv.org/abs/1511.06464), "Unitary
      Evolution Recurrent Neural Networks".
    """
    length = _common.check_positive_int("length", length)
    copy_length = _common.check_positive_int("copy_length", copy_length)
    num_symbols = _common.check_positive_int("num_symbols", num_symbols, minimum=2)
    num_train, num_validation, num_test, batch_size, seed, fresh = (
        _common.check_generated_split(
            num_train, num_validation, num_test, batch_size, seed, fresh
        )
    )

    def batch_fn(pair, n):
        return copy_batch(pair, n, length, copy_length, num_symbols)

    accuracy, crossentropy = copy_baselines(length, copy_length, num_symbols)
    total = length + 2 * copy_length
    train_seed, val_seed, test_seed = split_seeds(seed)
    return Task(
        name="copy",
        train=_common.generated(batch_fn, num_train, batch_size, train_seed, fresh),
        validation=_common.fixed(batch_fn, num_validation, batch_size, val_seed),
        test=_common.fixed(batch_fn, num_test, batch_size, test_seed),
        input_shape=(total, num_symbols + 2),
        output_size=num_symbols + 1,
        head_activation="softmax",
        loss="sparse_categorical_crossentropy",
        metric="accuracy",
        direction="max",
        baseline=accuracy,
        success_threshold=(length + copy_length + 0.99 * copy_length) / total,
        sequence_output=True,
        loss_baseline=crossentropy,
        description="recall K symbols after a delay of T blanks",
        config={
            "length": length,
            "copy_length": copy_length,
            "num_symbols": num_symbols,
            "num_train": num_train,
            "num_validation": num_validation,
            "num_test": num_test,
            "batch_size": batch_size,
            "seed": seed,
            "fresh": fresh,
        },
    )
