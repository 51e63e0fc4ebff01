"""The plan oracle's bookkeeping when processes die: a trial whose
result.json exists is finished, whatever keras-tuner's files say; the trial
of a worker that is gone goes to the next worker; nothing is served twice."""

import json
import os

import keras_tuner

from keras_rnninit.tuning.oracle import PlanOracle
from keras_rnninit.tuning.oracle import reported_objective

OBJECTIVE = keras_tuner.Objective("val_mse", "min")


def plan_oracle(directory, seeds=3, baseline=0.5):
    entries = [{"candidate": "a", "config": 0, "seed": s, "learning_rate": 1e-3}
               for s in range(seeds)]
    oracle = PlanOracle(entries, OBJECTIVE, baseline=baseline)
    oracle._set_project_dir(str(directory), "trials")
    oracle.verbose = 0
    return oracle


def trial_dir(directory, trial):
    return os.path.join(str(directory), "trials", f"trial_{trial.trial_id}")


def write_result(directory, trial, value):
    """What a trial writes last: its result.json."""
    with open(os.path.join(trial_dir(directory, trial), "result.json"), "w") as f:
        json.dump({"hyperparameters": trial.hyperparameters.values, "value": value,
                   "initial": 0.9, "diverged": value is None}, f)


def stored_trial(directory, trial):
    with open(os.path.join(trial_dir(directory, trial), "trial.json")) as f:
        return json.load(f)


def end(oracle, trial, value):
    oracle.update_trial(trial.trial_id, {"val_mse": value})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def test_a_trial_killed_after_its_result_is_completed_from_it_on_reload(tmp_path):
    first = plan_oracle(tmp_path)
    trial = first.create_trial("tuner0")
    write_result(tmp_path, trial, 0.125)  # then killed: keras-tuner never heard
    assert stored_trial(tmp_path, trial)["status"] == "RUNNING"
    second = plan_oracle(tmp_path)
    second.reload()
    again = second.trials[trial.trial_id]
    assert again.status == "COMPLETED" and again.score == 0.125
    assert stored_trial(tmp_path, trial)["score"] == 0.125
    # It is neither retried nor planned again.
    served = [second.create_trial(f"tuner{i}") for i in range(2)]
    assert [t.hyperparameters.values["seed"] for t in served] == [1, 2]
    for t in served:
        end(second, t, 0.1)
    assert second.create_trial("tuner0").status == "STOPPED"


def test_a_diverged_trial_is_completed_with_the_objective_it_reports(tmp_path):
    first = plan_oracle(tmp_path, baseline=0.5)
    trial = first.create_trial("tuner0")
    write_result(tmp_path, trial, None)
    second = plan_oracle(tmp_path, baseline=0.5)
    second.reload()
    assert second.trials[trial.trial_id].score == 0.5
    assert reported_objective({"value": None, "initial": 0.9}, None, "min") == 0.9
    assert reported_objective({"value": None}, None, "max") == -1e30


def test_a_trial_json_that_disagrees_with_result_json_is_corrected(tmp_path):
    first = plan_oracle(tmp_path)
    trial = first.create_trial("tuner0")
    end(first, trial, 0.3)  # a score that is not the result's
    write_result(tmp_path, trial, 0.125)
    second = plan_oracle(tmp_path)
    second.reload()
    assert stored_trial(tmp_path, trial)["score"] == 0.125


def test_a_torn_trial_json_beside_a_result_is_rebuilt_as_completed(tmp_path):
    first = plan_oracle(tmp_path, seeds=2)
    trial = first.create_trial("tuner0")
    write_result(tmp_path, trial, 0.25)
    path = os.path.join(trial_dir(tmp_path, trial), "trial.json")
    with open(path, "w") as f:
        f.write('{"trial_id": ')
    second = plan_oracle(tmp_path, seeds=2)
    second.reload()
    assert second.trials[trial.trial_id].status == "COMPLETED"
    assert stored_trial(tmp_path, trial)["score"] == 0.25
    assert second.create_trial("tuner0").hyperparameters.values["seed"] == 1


def test_the_trial_of_a_gone_worker_goes_to_the_next_worker(tmp_path):
    oracle = plan_oracle(tmp_path, seeds=2)
    orphan = oracle.create_trial("tuner1")
    other = oracle.create_trial("tuner0")
    end(oracle, other, 0.1)
    # Only tuner1's trial is left: tuner0 waits instead of stopping.
    assert oracle.create_trial("tuner0").status == "IDLE"
    assert oracle.release("tuner1") == (orphan, False)
    assert oracle.workers() == {"tuner0"}
    again = oracle.create_trial("tuner0")
    assert again.trial_id == orphan.trial_id
    end(oracle, again, 0.2)
    assert oracle.outstanding() == 0
    assert oracle.create_trial("tuner0").status == "STOPPED"


def test_a_gone_worker_whose_trial_finished_is_completed_not_rerun(tmp_path):
    oracle = plan_oracle(tmp_path, seeds=2)
    trial = oracle.create_trial("tuner1")
    write_result(tmp_path, trial, 0.05)
    assert oracle.release("tuner1") == (trial, True)
    assert oracle.trials[trial.trial_id].score == 0.05
    assert oracle.create_trial("tuner0").hyperparameters.values["seed"] == 1


def test_an_end_repeated_after_a_lost_answer_is_recorded_once(tmp_path):
    oracle = plan_oracle(tmp_path, seeds=2)
    trial = oracle.create_trial("tuner0")
    end(oracle, trial, 0.1)
    end(oracle, trial, 0.1)
    assert oracle.end_order == [trial.trial_id]
