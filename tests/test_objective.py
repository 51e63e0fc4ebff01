import math

import pytest

from keras_rnninit import objective
from keras_rnninit import tasks
from keras_rnninit.tuning.report import candidate_summary


def test_the_threshold_itself_counts_as_reached():
    assert objective.reached(0.01, 0.01, "min")
    assert not objective.reached(0.0100001, 0.01, "min")
    assert objective.reached(0.95, 0.95, "max")
    assert not objective.reached(0.9499, 0.95, "max")


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), "x"])
def test_non_finite_never_reaches_and_is_never_better(value):
    assert not objective.reached(value, 1.0, "min")
    assert not objective.better(value, 5.0, "min")
    assert objective.better(5.0, value, "min")


def test_better_is_strict_in_both_directions():
    assert objective.better(0.1, 0.2, "min") and not objective.better(0.2, 0.2, "min")
    assert objective.better(0.9, 0.8, "max") and not objective.better(0.8, 0.8, "max")


def test_bad_direction_names_it():
    with pytest.raises(ValueError, match="direction='up'"):
        objective.reached(1.0, 1.0, "up")


def test_task_training_and_report_agree_at_the_boundary():
    task = tasks.get("adding", length=8, num_train=32, num_validation=32,
                     num_test=32, seed=0)
    threshold = task.success_threshold
    assert task.solved(threshold)

    class Settings:
        direction = "min"
        protocol = "sweep"

    record = {"status": "COMPLETED", "value": threshold, "diverged": False,
              "steps_to_threshold": 100, "seed": 0,
              "hyperparameters": {"learning_rate": 1e-3}}
    summary = candidate_summary([record], Settings, threshold, 0.1667, 1)
    assert summary["successes"] == 1
    assert "<=" in task.summary()


def test_worst_of_caps_on_the_worse_side():
    assert objective.worst_of(0.5, 0.2, "min") == 0.2
    assert objective.worst_of(0.1, 0.2, "min") == 0.1
    assert objective.worst_of(0.05, 0.1, "max") == 0.1
    assert objective.worst_of(math.nan, 0.1, "max") == 0.1


@pytest.mark.parametrize("name, best", [
    ("val_mse", 0.0), ("val_loss", 0.0), ("val_nmse", 0.0),
    ("val_sparse_categorical_crossentropy", 0.0), ("val_accuracy", 1.0),
    ("val_sparse_categorical_accuracy", 1.0), ("val_r2_score", None),
])
def test_best_possible_value_from_the_metric_name(name, best):
    assert objective.best_possible(name) == best
