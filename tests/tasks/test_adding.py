import numpy as np
import pytest

from keras_rnninit.tasks import adding
from keras_rnninit.tasks.adding import ADDING_BASELINE_MSE


def first_batch(ds):
    x, y = next(iter(ds))
    return np.asarray(x), np.asarray(y)


def all_examples(ds):
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def small(**kwargs):
    args = dict(length=30, num_train=96, num_validation=64, num_test=64,
                batch_size=32, seed=3)
    args.update(kwargs)
    return adding(**args)


def test_shapes_and_metadata():
    task = small()
    x, y = first_batch(task.train)
    assert x.shape == (32, 30, 2) and x.dtype == np.float32
    assert y.shape == (32, 1) and y.dtype == np.float32
    assert task.input_shape == (30, 2)
    assert task.output_size == 1
    assert (task.loss, task.metric, task.direction) == ("mse", "mse", "min")
    assert task.objective == "val_mse"
    assert task.objective_spec() == ("val_mse", "min")
    assert task.success_threshold == 0.01
    assert sum(1 for _ in task.train) == 3


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_values_markers_and_target(split):
    x, y = all_examples(getattr(small(), split))
    values, markers = x[..., 0], x[..., 1]
    assert values.min() >= 0.0 and values.max() < 1.0
    assert set(np.unique(markers)) == {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(axis=1), 2.0)
    # One marker in each half of the sequence.
    np.testing.assert_array_equal(markers[:, :15].sum(axis=1), 1.0)
    np.testing.assert_array_equal(markers[:, 15:].sum(axis=1), 1.0)
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=1), rtol=1e-6)


def test_baseline_is_mse_of_predicting_one():
    assert ADDING_BASELINE_MSE == pytest.approx(1 / 6)
    task = adding(length=10, num_train=1, num_validation=1, num_test=40000,
                  batch_size=5000, seed=0)
    assert task.baseline == pytest.approx(0.1667, abs=1e-4)
    _, y = all_examples(task.test)
    # 1 is the best constant (the mean) and its MSE is the baseline.
    assert y.mean() == pytest.approx(1.0, abs=0.01)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(task.baseline, rel=0.03)
    assert task.solved(0.009) and not task.solved(0.02)


def test_deterministic_under_seed():
    a, b, c = small(seed=5), small(seed=5), small(seed=6)
    for split in ("train", "validation", "test"):
        xa, _ = first_batch(getattr(a, split))
        xb, _ = first_batch(getattr(b, split))
        xc, _ = first_batch(getattr(c, split))
        np.testing.assert_array_equal(xa, xb)
        assert not np.array_equal(xa, xc)
    # The three splits are different data.
    assert not np.array_equal(first_batch(a.train)[0], first_batch(a.test)[0])


def test_fresh_training_data_each_epoch_fixed_validation():
    task = small(fresh=True)
    epoch1, epoch2 = all_examples(task.train), all_examples(task.train)
    assert not np.array_equal(epoch1[0], epoch2[0])
    np.testing.assert_array_equal(
        all_examples(task.validation)[0], all_examples(task.validation)[0]
    )


def test_fixed_training_set_is_reshuffled():
    task = small(fresh=False)
    (x1, y1), (x2, y2) = all_examples(task.train), all_examples(task.train)
    assert x1.shape == (96, 30, 2)
    np.testing.assert_array_equal(np.sort(y1[:, 0]), np.sort(y2[:, 0]))


@pytest.mark.parametrize(
    "kwargs, name",
    [({"length": 1}, "length"), ({"batch_size": 0}, "batch_size"),
     ({"num_train": 2.5}, "num_train"), ({"seed": -1}, "seed"),
     ({"fresh": "yes"}, "fresh")],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        adding(**kwargs)
