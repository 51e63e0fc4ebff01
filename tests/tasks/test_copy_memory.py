import math

import keras
import numpy as np
import pytest

from keras_rnninit.tasks import copy_memory
from keras_rnninit.tasks.copy_memory import copy_baselines


def all_examples(ds):
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def small(**kwargs):
    args = dict(length=12, copy_length=4, num_symbols=5, num_train=64,
                num_validation=32, num_test=32, batch_size=32, seed=2)
    args.update(kwargs)
    return copy_memory(**args)


def test_layout_of_inputs_and_targets():
    task = small()
    x, y = all_examples(task.train)
    total = 12 + 2 * 4
    assert x.shape == (64, total, 7) and x.dtype == np.float32
    assert y.shape == (64, total) and y.dtype == np.int32
    assert task.input_shape == (total, 7) and task.output_size == 6
    assert task.sequence_output and task.head_activation == "softmax"
    np.testing.assert_array_equal(x.sum(axis=-1), 1.0)  # one-hot
    tokens = x.argmax(axis=-1)
    symbols = tokens[:, :4]
    assert symbols.min() >= 1 and symbols.max() <= 5
    np.testing.assert_array_equal(tokens[:, 4 : 4 + 11], 0)
    np.testing.assert_array_equal(tokens[:, 4 + 11], 6)  # the delimiter
    np.testing.assert_array_equal(tokens[:, 16:], 0)
    np.testing.assert_array_equal(y[:, :16], 0)
    np.testing.assert_array_equal(y[:, 16:], symbols)


def test_baselines_match_memoryless_guess():
    task = small(num_test=2000, batch_size=500)
    _, y = all_examples(task.test)
    accuracy, crossentropy = copy_baselines(12, 4, 5)
    assert task.baseline == pytest.approx(accuracy)
    assert task.loss_baseline == pytest.approx(crossentropy)
    # Blank with certainty, then uniform over the symbols.
    probs = np.zeros(y.shape + (6,), np.float32)
    probs[:, :16, 0] = 1.0
    probs[:, 16:, 1:] = 1.0 / 5
    loss = keras.losses.sparse_categorical_crossentropy(y, probs)
    assert float(np.mean(keras.ops.convert_to_numpy(loss))) == pytest.approx(
        crossentropy, rel=1e-3
    )
    assert crossentropy == pytest.approx(4 * math.log(5) / 20)
    guesses = np.random.default_rng(0).integers(1, 6, size=(len(y), 4))
    guessed = np.concatenate([np.zeros((len(y), 16), int), guesses], axis=1)
    assert np.mean(guessed == y) == pytest.approx(accuracy, abs=0.01)
    assert task.baseline < task.success_threshold < 1.0


def test_deterministic_under_seed():
    a, b, c = small(seed=9), small(seed=9), small(seed=10)
    np.testing.assert_array_equal(all_examples(a.test)[1], all_examples(b.test)[1])
    assert not np.array_equal(all_examples(a.test)[1], all_examples(c.test)[1])


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_symbols"):
        copy_memory(num_symbols=1)
    with pytest.raises(ValueError, match="copy_length"):
        copy_memory(copy_length=0)
