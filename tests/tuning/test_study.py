import glob
import json
import os

import keras
import pytest

from keras_rnninit.tuning import cli
from keras_rnninit.tuning import report as report_lib
from keras_rnninit.tuning import study_initializers
from keras_rnninit.tuning.candidates import StudyError

TINY = dict(learning_rates=2, learning_rate_range=(1e-3, 1e-2), seeds=2,
            steps=20, eval_every=10)

USER_MODULE = '''
import keras
import numpy as np


def make_model():
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.SimpleRNN(4),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0), loss="mse",
                  metrics=["mse"])
    return model


def arrays(n=48, steps=6, features=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, features)).astype("float32")
    return x, x[:, :, :1].sum(1)


def load():
    x, y = arrays()
    return (x[:32], y[:32]), (x[32:], y[32:])


def not_a_model():
    return 3


def uncompiled():
    return keras.Sequential([keras.Input((6, 2)), keras.layers.SimpleRNN(4)])


def dense_only():
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def wrong_shape():
    x, y = arrays(features=3)
    return (x, y), (x, y)


def with_nan():
    x, y = arrays()
    x[3, 2, 1] = np.nan
    return (x, y), (x, y)


def one_split():
    return arrays()[0]
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "mymodels.py").write_text(USER_MODULE)
    (tmp_path / "broken.py").write_text("def make_model(:\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    import mymodels

    return importlib.reload(mymodels)


def results(directory):
    out = {}
    for path in glob.glob(os.path.join(directory, "trials", "trial_*", "result.json")):
        with open(path) as f:
            r = json.load(f)
        out[(r["candidate"], r["config"], r["seed"])] = r
    return out


def test_every_configuration_and_seed_is_stored_on_its_own(tmp_path, user_module):
    d = str(tmp_path / "study")
    study_initializers(d, user_module.make_model, user_module.load,
                       ["orthogonal", "identity"], objective="val_mse",
                       threshold=1e-9, log=lambda *a: None, **TINY)
    stored = results(d)
    assert sorted(stored) == [(c, i, s) for c in ("identity", "orthogonal")
                              for i in (0, 1) for s in (0, 1)]
    for (candidate, config, seed), r in stored.items():
        assert r["hyperparameters"]["learning_rate"] == [1e-3, 1e-2][config]
        assert r["steps_run"] == 20 and len(r["curve"]) == 2
        assert r["steps_to_threshold"] is None and not r["diverged"]
        assert r["value"] == min(point[2] for point in r["curve"])
        assert r["initial"] is not None  # no baseline given: loss at init
    # Seeds differ in initialization and data order, so their results do.
    assert stored[("orthogonal", 0, 0)]["value"] != stored[("orthogonal", 0, 1)]["value"]
    # The seed-th training seed is shared by every candidate and rate.
    assert (stored[("orthogonal", 0, 1)]["training_seed"]
            == stored[("identity", 1, 1)]["training_seed"])
    # One compiled model serves every trial after the first (the candidates
    # differ only in initializer) where there is compiling to save.
    reused = [r["reused_compiled_model"] for r in stored.values()]
    compiling = keras.backend.backend() in ("jax", "tensorflow")
    assert reused.count(True) == (7 if compiling else 0)
    report, paths = report_lib.write_report(d)
    assert report["timing"]["reused_trials"] == reused.count(True)
    summary = report["candidates"]["orthogonal"]
    assert summary["trials"] == 4 and summary["successes"] == 0
    assert summary["success_interval"][1] == pytest.approx(0.4899, abs=1e-3)
    assert len(report["trials"]["identity"]) == 4
    assert all(os.path.getsize(p) > 0 for p in paths.values())


def test_a_trial_stops_once_it_reaches_the_threshold(tmp_path, user_module):
    d = str(tmp_path / "study")
    study_initializers(d, user_module.make_model, user_module.load, ["orthogonal"],
                       objective="val_mse", threshold=1e9, baseline=1e10,
                       force=True, log=lambda *a: None, **TINY)
    for r in results(d).values():
        assert r["steps_to_threshold"] == 10 and r["steps_run"] == 10
    report = report_lib.build_report(d)
    assert report["candidates"]["orthogonal"]["success_fraction"] == 1.0
    assert report["candidates"]["orthogonal"]["median_steps_to_threshold"] == 10
    assert report["candidates"]["orthogonal"]["band_decades"] == pytest.approx(1.0)


def test_a_diverging_trial_is_recorded_as_diverged(tmp_path, user_module):
    d = str(tmp_path / "study")
    study_initializers(d, user_module.make_model, user_module.load, ["orthogonal"],
                       objective="val_mse", threshold=0.01, baseline=5.0,
                       optimizer="sgd", clipnorm=0.0, log=lambda *a: None,
                       **dict(TINY, learning_rate_range=(1e8, 1e9), seeds=1))
    stored = results(d)
    assert all(r["diverged"] and r["value"] is None for r in stored.values())
    summary = report_lib.build_report(d)["candidates"]["orthogonal"]
    assert summary["diverged"] == 2 and summary["diverged_fraction"] == 1.0
    # Every rate diverged: the candidate never learned, and gets no
    # sensitivity that would read as robust (all rates equally bad gives 0).
    assert summary["never_learned"] and summary["lr_sensitivity"] is None


def test_a_candidates_results_do_not_depend_on_the_others(tmp_path, user_module):
    both, alone = str(tmp_path / "both"), str(tmp_path / "alone")
    common = dict(objective="val_mse", threshold=1e-9, log=lambda *a: None,
                  **dict(TINY, seeds=1))
    study_initializers(both, user_module.make_model, user_module.load,
                       ["orthogonal", "identity"], **common)
    study_initializers(alone, user_module.make_model, user_module.load,
                       ["identity"], **common)
    a, b = results(both), results(alone)
    for key, r in b.items():
        assert a[key]["value"] == pytest.approx(r["value"], rel=1e-5)


def test_an_interrupted_study_resumes_to_the_same_answer(tmp_path, user_module):
    common = dict(objective="val_mse", threshold=1e-9, log=lambda *a: None, **TINY)
    reference = str(tmp_path / "reference")
    study_initializers(reference, user_module.make_model, user_module.load,
                       ["orthogonal"], **common)
    calls = []

    def interrupted():
        calls.append(1)
        if len(calls) == 5:  # the preflight, the identity, the third trial
            raise KeyboardInterrupt
        return user_module.make_model()

    interrupted.__name__ = "make_model"
    d = str(tmp_path / "resumed")
    with pytest.raises(KeyboardInterrupt):
        study_initializers(d, interrupted, user_module.load, ["orthogonal"], **common)
    assert len(results(d)) == 2
    study_initializers(d, user_module.make_model, user_module.load, ["orthogonal"],
                       **common)
    resumed, expected = results(d), results(reference)
    assert sorted(resumed) == sorted(expected)
    for key, r in expected.items():
        assert resumed[key]["hyperparameters"] == r["hyperparameters"]
        assert resumed[key]["value"] == pytest.approx(r["value"], rel=1e-5)
    assert (report_lib.build_report(d)["candidates"]
            == report_lib.build_report(reference)["candidates"])


def test_a_different_study_in_the_same_directory_is_refused(tmp_path, user_module):
    d = str(tmp_path / "study")
    common = dict(objective="val_mse", threshold=1e-9, log=lambda *a: None)
    study_initializers(d, user_module.make_model, user_module.load, ["orthogonal"],
                       **dict(TINY, seeds=1), **common)
    with pytest.raises(StudyError, match="the setting seeds changed: 1 -> 2.*--overwrite"):
        study_initializers(d, user_module.make_model, user_module.load,
                           ["orthogonal"], **TINY, **common)


BYO = ["--model", "mymodels:make_model", "--data", "mymodels:load",
       "--initializers", "orthogonal,keras_rnninit>NPInit", "--objective", "val_mse",
       "--threshold", "1e-9", "--learning-rates", "2", "--seeds", "1",
       "--steps", "20", "--eval-every", "10", "--verbose", "0"]


def test_cli_compares_a_users_initializers(tmp_path, user_module, capsys):
    assert cli.main(BYO + ["--directory", "byo"]) == 0
    out = capsys.readouterr().out
    assert "NPInit" in out and "orthogonal" in out and "sensitivity.png" in out
    with open(os.path.join("byo", "sensitivity.json")) as f:
        report = json.load(f)
    assert list(report["candidates"]) == ["orthogonal", "NPInit"]
    assert report["candidates"]["NPInit"]["trials"] == 2
    # --verbose 0: no per-trial lines.
    assert "[1/" not in out


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--model": "broken:make_model"}, "module 'broken' does not import"),
        ({"--model": "nowhere:make_model"}, "no module named 'nowhere'"),
        ({"--model": "mymodels:missing"}, "has no function 'missing'"),
        ({"--model": "mymodels"}, "needs MODULE:FUNCTION"),
        ({"--model": "mymodels:not_a_model"}, "must return a compiled keras.Model"),
        ({"--model": "mymodels:uncompiled"}, "not compiled"),
        ({"--model": "mymodels:dense_only"}, "no recurrent layer"),
        ({"--data": "mymodels:wrong_shape"},
         "the training inputs x have shape (n, 6, 3) and the model takes (n, 6, 2)"),
        ({"--data": "mymodels:with_nan"}, "NaN or inf"),
        ({"--data": "mymodels:one_split"}, "must return (train, validation)"),
        ({"--threshold": None}, "needs a success threshold"),
        ({"--initializers": "orthogonal,no_such_thing"}, "no_such_thing"),
        ({"--objective": "val_accuracy"}, "not among the model's metrics"),
        ({"--threshold": "10", "--baseline": "1"}, "wrong side of the trivial"),
    ],
)
def test_bad_user_input_is_one_line_and_exit_2(change, message, tmp_path,
                                               user_module, capsys):
    args = list(BYO)
    for flag, value in change.items():
        if flag not in args:
            args += [flag, value]
            continue
        i = args.index(flag)
        if value is None:
            del args[i:i + 2]
        else:
            args[i + 1] = value
    with pytest.raises(SystemExit) as info:
        cli.main(args + ["--directory", "bad"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()[-1]) < 400


def test_failed_trials_are_reported_and_run_again_on_resume(tmp_path, user_module):
    common = dict(objective="val_mse", threshold=1e-9, log=lambda *a: None,
                  **dict(TINY, seeds=1))
    d = str(tmp_path / "study")
    calls = []

    def broken_once():
        calls.append(1)
        if len(calls) == 4:  # the preflight, the identity, a trial, this one
            raise RuntimeError("out of memory")
        return user_module.make_model()

    broken_once.__name__ = "make_model"
    study_initializers(d, broken_once, user_module.load, ["orthogonal"], **common)
    report = report_lib.build_report(d)
    summary = report["candidates"]["orthogonal"]
    assert summary["trials"] == 2 and summary["failed"] == 1
    assert "out of memory" in summary["errors"][0]
    assert "failed with an error" in report["verdict"]
    assert "errors" in report_lib.markdown(report)
    study_initializers(d, user_module.make_model, user_module.load, ["orthogonal"],
                       **common)
    summary = report_lib.build_report(d)["candidates"]["orthogonal"]
    assert summary["trials"] == 2 and summary["failed"] == 0
    assert len(results(d)) == 2


def test_a_study_where_every_trial_failed_still_writes_its_report(tmp_path, user_module):
    calls = []

    def always_broken():
        calls.append(1)
        if len(calls) > 2:  # the preflight and identity pass, every trial fails
            raise RuntimeError("out of memory")
        return user_module.make_model()

    always_broken.__name__ = "make_model"
    d = str(tmp_path / "study")
    study_initializers(d, always_broken, user_module.load, ["orthogonal"],
                       objective="val_mse", threshold=1e-9, log=lambda *a: None,
                       **dict(TINY, seeds=1))
    report, paths = report_lib.write_report(d)
    assert report["candidates"]["orthogonal"]["failed"] == 2
    assert os.path.getsize(paths["png"]) > 0


def _plan_oracle(tmp_path, seeds):
    """A PlanOracle over one candidate's `seeds`, in `tmp_path/trials`."""
    import keras_tuner

    from keras_rnninit.tuning.oracle import PlanOracle

    entries = [{"candidate": "a", "config": 0, "seed": s, "learning_rate": 1e-3}
               for s in range(seeds)]
    oracle = PlanOracle(entries, keras_tuner.Objective("val_mse", "min"))
    oracle._set_project_dir(str(tmp_path), "trials")
    return oracle


def _complete_one_trial(oracle):
    """Serves the next planned trial to tuner0 and records it as completed."""
    trial = oracle.create_trial("tuner0")
    oracle.update_trial(trial.trial_id, {"val_mse": 0.1})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    return trial


def test_a_trial_orphaned_by_a_dead_worker_is_served_again(tmp_path):
    first = _plan_oracle(tmp_path, seeds=3)
    finished = _complete_one_trial(first)
    orphan = first.create_trial("tuner1")  # its worker dies: never ended
    assert orphan.hyperparameters.values["seed"] == 1
    # While tuner1 runs it, nobody else gets it.
    assert first.create_trial("tuner2").hyperparameters.values["seed"] == 2
    # The chief's saved state no longer lists it as running or to retry.
    first.ongoing_trials.pop("tuner1")
    first.ongoing_trials.pop("tuner2")
    first.save()
    second = _plan_oracle(tmp_path, seeds=len(first.entries))
    second.reload()
    again = second.create_trial("tuner3")
    assert again.hyperparameters.values == orphan.hyperparameters.values
    assert again.trial_id != orphan.trial_id


def test_a_trial_file_torn_by_a_kill_is_planned_again(tmp_path):
    first = _plan_oracle(tmp_path, seeds=2)
    finished = _complete_one_trial(first)
    torn = first.create_trial("tuner0")  # killed while its file is written
    path = os.path.join(str(tmp_path), "trials", f"trial_{torn.trial_id}", "trial.json")
    with open(path, "w") as f:
        f.write('{"trial_id": ')
    second = _plan_oracle(tmp_path, seeds=len(first.entries))
    second.reload()
    again = second.create_trial("tuner0")
    assert again.hyperparameters.values == torn.hyperparameters.values
    assert os.path.exists(path + ".torn")


def test_an_oracle_file_torn_by_a_kill_is_rebuilt_from_the_trials(tmp_path):
    first = _plan_oracle(tmp_path, seeds=3)
    finished = _complete_one_trial(first)
    first.save()
    path = os.path.join(str(tmp_path), "trials", "oracle.json")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text[: len(text) // 2])  # killed while the oracle saved
    second = _plan_oracle(tmp_path, seeds=len(first.entries))
    second.reload()
    assert os.path.exists(path + ".torn")
    assert second.get_best_trials(1)[0].trial_id == finished.trial_id
    served = [second.create_trial(f"tuner{i}").hyperparameters.values for i in range(2)]
    assert [v["seed"] for v in served] == [1, 2]


def test_progress_times_under_a_minute_are_in_seconds():
    from keras_rnninit.tuning.study import _minutes

    assert [_minutes(s) for s in (0.4, 40, 59.4, 60, 90)] == [
        "0 s", "40 s", "59 s", "1.0 min", "1.5 min"]
