import numpy as np
import pytest
from sklearn.datasets import load_digits

from keras_rnninit.tasks import digits


def all_examples(ds):
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_shapes_ranges_and_split_sizes():
    task = digits(seed=0)
    assert task.input_shape == (64, 1) and task.output_size == 10
    assert task.head_activation == "softmax" and task.objective == "val_accuracy"
    sizes = []
    for split in (task.train, task.validation, task.test):
        x, y = all_examples(split)
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert x.min() >= 0.0 and x.max() <= 1.0
        sizes.append(len(x))
    assert sizes == [1797 - 540, 270, 270]


def test_pixels_match_sklearn_scaled():
    data = load_digits()
    order = np.random.default_rng(0).permutation(1797)
    task = digits(split_seed=0, rows=True)
    x, y = all_examples(task.test)
    assert x.shape == (270, 8, 8)
    np.testing.assert_allclose(x, data.images[order[:270]] / 16.0, rtol=1e-6)
    np.testing.assert_array_equal(y, data.target[order[:270]])


def test_baseline_is_majority_class_accuracy():
    task = digits()
    _, y_train = all_examples(task.train)
    _, y_test = all_examples(task.test)
    majority = np.bincount(y_train).argmax()
    assert task.baseline == pytest.approx(np.mean(y_test == majority))
    assert 0.05 < task.baseline < 0.2 < task.success_threshold


def test_seed_shuffles_training_order_only():
    a, b, c = digits(seed=1), digits(seed=1), digits(seed=2)
    np.testing.assert_array_equal(all_examples(a.train)[1], all_examples(b.train)[1])
    assert not np.array_equal(all_examples(a.train)[1], all_examples(c.train)[1])
    np.testing.assert_array_equal(all_examples(a.test)[0], all_examples(c.test)[0])


def test_permuted_pixels():
    plain = all_examples(digits().test)[0][..., 0]
    permuted = all_examples(digits(permuted=True).test)[0][..., 0]
    perm = np.random.default_rng(0).permutation(64)
    np.testing.assert_array_equal(permuted, plain[:, perm])


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_train"):
        digits(num_train=1500)
    with pytest.raises(ValueError, match="rows"):
        digits(rows="yes")
