import json
import math
import os

import numpy as np
import pytest

from keras_rnninit.tuning import report as report_lib
from keras_rnninit.tuning.space import SearchSpace
from keras_rnninit.tuning.study import STUDY_FILE
from keras_rnninit.tuning.study import StudySettings

pytest.importorskip("optuna")


def write_study(directory, objective_of):
    """A random-protocol study directory whose objective is `objective_of(hp)`."""
    settings = StudySettings(
        directory=str(directory), candidates=["a"], objective="val_mse",
        direction="min", threshold=0.01, baseline=1.0, protocol="random",
        trials=40, seeds=1, space=SearchSpace(learning_rate=(1e-5, 1e-1)),
        learning_rate_range=(1e-5, 1e-1),
    )
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, STUDY_FILE), "w") as f:
        json.dump({"settings": settings.to_dict()}, f)
    rng = np.random.default_rng(0)
    for i in range(40):
        hp = {
            "candidate": "a", "config": i, "seed": 0,
            "learning_rate": float(10 ** rng.uniform(-5, -1)),
            "optimizer": str(rng.choice(["adam", "sgd"])),
            "clipnorm": float(rng.choice([0.0, 1.0, 10.0])),
            "gain": float(rng.uniform(0.1, 1.0)),
        }
        trial_dir = os.path.join(directory, "trials", f"trial_{i:02d}")
        os.makedirs(trial_dir)
        with open(os.path.join(trial_dir, "trial.json"), "w") as f:
            json.dump({"trial_id": f"{i:02d}", "status": "COMPLETED",
                       "hyperparameters": {"values": hp}}, f)
        with open(os.path.join(trial_dir, "result.json"), "w") as f:
            json.dump({"candidate": "a", "config": i, "seed": 0,
                       "hyperparameters": hp, "value": objective_of(hp),
                       "diverged": False, "steps_run": 100,
                       "steps_to_threshold": None, "curve": []}, f)


def test_importance_finds_the_only_hyperparameter_that_matters(tmp_path):
    # The objective depends on the learning rate alone (best at 1e-3).
    write_study(tmp_path, lambda hp: (math.log10(hp["learning_rate"]) + 3) ** 2 / 4)
    importance = report_lib.build_report(str(tmp_path))["importance"]["a"]
    assert set(importance) == {"learning_rate", "optimizer", "clipnorm", "gain"}
    assert max(importance, key=importance.get) == "learning_rate"
    assert importance["learning_rate"] > 0.6
    assert sum(importance.values()) == pytest.approx(1.0)


def test_importance_follows_a_categorical_hyperparameter(tmp_path):
    write_study(tmp_path, lambda hp: 0.05 if hp["optimizer"] == "adam" else 0.9)
    importance = report_lib.build_report(str(tmp_path))["importance"]["a"]
    assert max(importance, key=importance.get) == "optimizer"
    md = report_lib.markdown(report_lib.build_report(str(tmp_path)))
    assert "Hyperparameter importance" in md and "optimizer" in md
