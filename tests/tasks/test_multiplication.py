import numpy as np
import pytest

from keras_rnninit.tasks import multiplication


def all_examples(ds):
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_target_is_product_of_marked_values():
    task = multiplication(length=16, num_train=64, num_validation=32,
                          num_test=32, batch_size=32, seed=1)
    x, y = all_examples(task.train)
    assert x.shape == (64, 16, 2) and y.shape == (64, 1)
    values, markers = x[..., 0], x[..., 1]
    marked = values[markers == 1].reshape(-1, 2)
    np.testing.assert_allclose(y[:, 0], marked[:, 0] * marked[:, 1], rtol=1e-6)
    assert y.min() >= 0.0 and y.max() < 1.0
    assert task.name == "multiplication" and task.objective == "val_mse"


def test_baseline_is_variance_of_product():
    # Var(ab) = E[a^2]E[b^2] - (E[a]E[b])^2 for a, b ~ U(0, 1).
    exact = (1 / 3) ** 2 - (1 / 4) ** 2
    task = multiplication(length=8, num_train=1, num_validation=1,
                          num_test=40000, batch_size=5000, seed=0)
    assert task.baseline == pytest.approx(exact)
    _, y = all_examples(task.test)
    assert y.mean() == pytest.approx(0.25, abs=0.005)
    assert np.mean((y - 0.25) ** 2) == pytest.approx(task.baseline, rel=0.03)
    assert task.success_threshold < task.baseline / 10


def test_deterministic_under_seed():
    a = multiplication(length=10, num_train=32, batch_size=32, seed=4)
    b = multiplication(length=10, num_train=32, batch_size=32, seed=4)
    np.testing.assert_array_equal(
        all_examples(a.test)[1], all_examples(b.test)[1]
    )
    np.testing.assert_array_equal(
        all_examples(a.train)[0], all_examples(b.train)[0]
    )


def test_bad_length():
    with pytest.raises(ValueError, match="length"):
        multiplication(length=0)
