import keras
import numpy as np
import pytest

from keras_rnninit import metrics
from keras_rnninit.metrics import NMSE
from keras_rnninit.metrics import NormalizedMSE


def reference_nmse(y_true, y_pred, weight=None):
    weight = np.ones_like(y_true) if weight is None else weight
    mean = np.sum(weight * y_true) / np.sum(weight)
    mse = np.sum(weight * (y_true - y_pred) ** 2) / np.sum(weight)
    return mse / (np.sum(weight * (y_true - mean) ** 2) / np.sum(weight))


def test_matches_numpy_over_several_batches(rng):
    y_true = rng.normal(1.0, 2.0, size=(3, 4, 7, 1)).astype("float32")
    y_pred = rng.normal(1.0, 2.0, size=(3, 4, 7, 1)).astype("float32")
    metric = NormalizedMSE()
    for a, b in zip(y_true, y_pred):
        metric.update_state(a, b)
    # The sums run over every batch: not a mean of per-batch ratios.
    expected = reference_nmse(y_true.astype("float64"), y_pred.astype("float64"))
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    metric.reset_state()
    metric.update_state(y_true[0], y_pred[0])
    assert float(metric.result()) == pytest.approx(
        reference_nmse(y_true[0].astype("float64"), y_pred[0]), rel=1e-5)


def test_sample_weight_and_target_without_feature_axis(rng):
    y_true = rng.normal(size=(5, 6)).astype("float32")
    y_pred = rng.normal(size=(5, 6, 1)).astype("float32")
    weight = rng.uniform(0.1, 1.0, size=(5,)).astype("float32")
    metric = NormalizedMSE()
    metric.update_state(y_true, y_pred, sample_weight=weight)
    expected = reference_nmse(y_true.astype("float64"),
                              y_pred[..., 0].astype("float64"),
                              np.broadcast_to(weight[:, None], y_true.shape))
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)


def test_mean_predictor_scores_one_and_perfect_zero(rng):
    y_true = rng.normal(3.0, 0.5, size=(4, 20, 1)).astype("float32")
    metric = NormalizedMSE()
    metric.update_state(y_true, np.full_like(y_true, y_true.mean()))
    assert float(metric.result()) == pytest.approx(1.0, rel=1e-4)
    metric.reset_state()
    metric.update_state(y_true, y_true)
    assert float(metric.result()) == 0.0


def test_in_compile_by_name_and_serialized(tmp_path):
    model = keras.Sequential([keras.Input((5, 1)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=[metrics.get("nmse")])
    x = np.ones((2, 5, 1), "float32")
    y = np.arange(10, dtype="float32").reshape(2, 5, 1)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    prediction = model.predict_on_batch(x)
    assert logs["nmse"] == pytest.approx(reference_nmse(y, prediction), rel=1e-5)
    assert metrics.get("mse") == "mse"
    restored = keras.metrics.deserialize(keras.metrics.serialize(NormalizedMSE()))
    assert isinstance(restored, NormalizedMSE) and restored.name == "nmse"
    assert NMSE is NormalizedMSE
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True)["nmse"] == (
        pytest.approx(logs["nmse"], rel=1e-6))


def test_stable_when_the_targets_mean_is_large_against_their_spread(rng):
    # Running sums of y and y^2 in float32 cancel here (E[y^2] - mean^2
    # came out negative); the merged deviations do not.
    y_true = (3000 + rng.normal(size=(40, 100, 1))).astype("float32")
    y_pred = (y_true + rng.normal(0, 0.1, size=y_true.shape)).astype("float32")
    expected = reference_nmse(y_true.astype("float64"), y_pred.astype("float64"))
    assert expected == pytest.approx(0.0102, rel=0.05)
    metric = NormalizedMSE()
    for a, b in zip(y_true, y_pred):
        metric.update_state(a, b)
    assert float(metric.result()) == pytest.approx(expected, rel=0.02)
    metric.reset_state()
    metric.update_state(y_true.reshape(-1, 1), y_pred.reshape(-1, 1))
    assert float(metric.result()) == pytest.approx(expected, rel=0.02)


def test_zero_weight_batch_changes_nothing(rng):
    y_true = rng.normal(5.0, 1.0, size=(2, 8, 1)).astype("float32")
    y_pred = rng.normal(5.0, 1.0, size=(2, 8, 1)).astype("float32")
    metric = NormalizedMSE()
    metric.update_state(y_true[0], y_pred[0])
    before = float(metric.result())
    metric.update_state(y_true[1], y_pred[1], sample_weight=np.zeros(8, "float32"))
    assert float(metric.result()) == pytest.approx(before, rel=1e-6)
