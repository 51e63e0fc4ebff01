import json
import math
import os

import pytest

from keras_rnninit.tuning import report as report_lib
from keras_rnninit.tuning.search import CONFIG_FILE


def write_trial(project, trial_id, lr, value, status="COMPLETED", diverged=0.0):
    path = os.path.join(project, f"trial_{trial_id}")
    os.makedirs(path, exist_ok=True)
    metrics = {
        "val_mse": {"direction": "min",
                    "observations": [{"value": [value], "step": 0}]},
        "diverged": {"direction": "min",
                     "observations": [{"value": [diverged], "step": 0}]},
    }
    trial = {
        "trial_id": trial_id,
        "hyperparameters": {"space": [], "values": {"learning_rate": lr}},
        "metrics": {"metrics": metrics},
        "score": value if status == "COMPLETED" else None,
        "status": status,
    }
    with open(os.path.join(path, "trial.json"), "w") as f:
        json.dump(trial, f)


def write_search(directory, families, threshold=0.01, baseline=1 / 6):
    os.makedirs(directory, exist_ok=True)
    payload = {
        "config": {
            "families": families, "task": "adding", "task_kwargs": {"length": 20},
            "space": {"learning_rate": [1e-5, 1e-1]},
        },
        "objective": "val_mse", "direction": "min",
        "baseline": baseline, "threshold": threshold,
    }
    with open(os.path.join(directory, CONFIG_FILE), "w") as f:
        json.dump(payload, f)


@pytest.fixture
def search_dir(tmp_path):
    d = str(tmp_path / "search")
    write_search(d, ["irnn", "np-rnn"])
    # irnn: 2 of 5 succeed (lr 1e-4 and 1e-3), one diverged, one still running.
    write_trial(os.path.join(d, "irnn"), "00", 1e-5, 0.15)
    write_trial(os.path.join(d, "irnn"), "01", 1e-4, 0.005)
    write_trial(os.path.join(d, "irnn"), "02", 1e-3, 0.002)
    write_trial(os.path.join(d, "irnn"), "03", 1e-1, 1 / 6, diverged=1.0)
    write_trial(os.path.join(d, "irnn"), "04", 1e-2, 0.05)
    write_trial(os.path.join(d, "irnn"), "05", 3e-2, 0.0, status="RUNNING")
    # np-rnn: 3 of 3 succeed across 1e-5..1e-2.
    for i, (lr, v) in enumerate([(1e-5, 0.009), (1e-3, 0.001), (1e-2, 0.004)]):
        write_trial(os.path.join(d, "np-rnn"), f"{i:02d}", lr, v)
    return d


def test_report_numbers_from_hand_built_directory(search_dir):
    report = report_lib.build_report(search_dir)
    irnn = report["families"]["irnn"]
    assert irnn["trials"] == 5
    assert irnn["unfinished"] == 1
    assert irnn["diverged"] == 1
    assert irnn["successes"] == 2
    assert irnn["success_fraction"] == pytest.approx(0.4)
    assert irnn["best"] == pytest.approx(0.002)
    # Median and IQR over the 4 non-diverged finished trials.
    assert irnn["median"] == pytest.approx((0.005 + 0.05) / 2)
    assert irnn["lr_band"] == [1e-4, 1e-3]
    assert irnn["lr_band_decades"] == pytest.approx(1.0)
    np_rnn = report["families"]["np-rnn"]
    assert np_rnn["success_fraction"] == 1.0
    assert np_rnn["lr_band_decades"] == pytest.approx(3.0)
    assert np_rnn["best"] == pytest.approx(0.001)


def test_report_files_and_table(search_dir):
    report, paths = report_lib.write_report(search_dir)
    for path in paths.values():
        assert os.path.getsize(path) > 0
    with open(paths["json"]) as f:
        assert json.load(f)["families"]["irnn"]["successes"] == 2
    with open(paths["markdown"]) as f:
        md = f.read()
    assert "| irnn | 5 | 2 | 40% | 1 |" in md
    with open(paths["png"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    text = report_lib.terminal_table(report)
    assert "np-rnn" in text and "100%" in text


def test_threshold_changes_successes(tmp_path):
    d = str(tmp_path / "s")
    write_search(d, ["irnn"], threshold=0.1)
    for i, v in enumerate([0.05, 0.15, 0.08]):
        write_trial(os.path.join(d, "irnn"), f"{i:02d}", 10.0 ** -(i + 2), v)
    irnn = report_lib.build_report(d)["families"]["irnn"]
    assert irnn["successes"] == 2
    assert irnn["lr_band_decades"] == pytest.approx(2.0)


def test_family_without_trials_reports_none(tmp_path):
    d = str(tmp_path / "s")
    write_search(d, ["lstm"])
    lstm = report_lib.build_report(d)["families"]["lstm"]
    assert lstm["trials"] == 0 and lstm["success_fraction"] is None
    assert lstm["best"] is None and lstm["lr_band_decades"] is None


def test_nan_score_counts_as_diverged(tmp_path):
    d = str(tmp_path / "s")
    write_search(d, ["irnn"])
    write_trial(os.path.join(d, "irnn"), "00", 1e-2, float("nan"))
    irnn = report_lib.build_report(d)["families"]["irnn"]
    assert irnn["diverged"] == 1 and irnn["successes"] == 0
    assert math.isclose(irnn["success_fraction"], 0.0)


def test_not_a_search_directory(tmp_path):
    with pytest.raises(ValueError, match="search.json is missing"):
        report_lib.build_report(str(tmp_path))


def test_report_at_another_threshold_writes_its_own_files(search_dir):
    report, paths = report_lib.write_report(search_dir, threshold=0.1)
    irnn = report["families"]["irnn"]
    # 0.005, 0.002 and 0.05 are below 0.1; 0.15 and the diverged trial are not.
    assert irnn["successes"] == 3
    assert irnn["lr_band_decades"] == pytest.approx(2.0)
    assert paths["json"].endswith("sensitivity_0.1.json")
    assert not os.path.exists(os.path.join(search_dir, "sensitivity.json"))
