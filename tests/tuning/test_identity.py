"""A study is what decides its trials: a rerun that differs is refused."""

import json
import os

import keras
import pytest

from keras_rnninit.tuning import cli
from keras_rnninit.tuning import identity
from keras_rnninit.tuning import study_families
from keras_rnninit.tuning import study_initializers
from keras_rnninit.tuning.identity import StudyMismatch

BUDGET = dict(learning_rates=1, learning_rate_range=(1e-3, 1e-3), seeds=1,
              steps=10, eval_every=10)

USER_MODULE = '''
import os

import keras
import numpy as np

UNITS = int(os.environ.get("TEST_UNITS", "4"))
LOSS = os.environ.get("TEST_LOSS", "mse")


def make_model():
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.GRU(UNITS),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss=LOSS)
    return model


def load():
    rng = np.random.default_rng(int(os.environ.get("TEST_DATA_SEED", "0")))
    x = rng.normal(size=(48, 6, 2)).astype("float32")
    y = x[:, :, :1].sum(1)
    return (x[:32], y[:32]), (x[32:], y[32:])
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "idmodels.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("TEST_UNITS", "TEST_LOSS", "TEST_DATA_SEED"):
        monkeypatch.delenv(name, raising=False)

    def fresh():
        import importlib

        import idmodels

        return importlib.reload(idmodels)

    return fresh


def run_user(directory, module, log=lambda *a: None, **extra):
    settings = dict(BUDGET, threshold=0.01, log=log)
    settings.update(extra)
    return study_initializers(directory, module.make_model, module.load,
                              ["orthogonal"], **settings)


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("TEST_UNITS", "8", "the model changed: layer 'gru' units 4 -> 8"),
        ("TEST_LOSS", "mae", "the compile config changed: loss 'mse' -> 'mae'"),
        ("TEST_DATA_SEED", "1", "the training data changed (its content)"),
    ],
)
def test_a_changed_model_or_data_is_refused_with_what_changed(
        variable, value, message, tmp_path, user_module, monkeypatch):
    d = str(tmp_path / "study")
    run_user(d, user_module())
    monkeypatch.setenv(variable, value)
    with pytest.raises(StudyMismatch) as info:
        run_user(d, user_module())
    text = str(info.value)
    assert message in text and "--overwrite" in text and "--directory" in text
    assert len(text.splitlines()) == 1
    # --overwrite starts the changed study over.
    run_user(d, user_module(), overwrite=True)


def test_the_same_study_resumes_and_says_what_it_kept(tmp_path, user_module):
    d = str(tmp_path / "study")
    run_user(d, user_module(), seeds=2)
    lines = []
    run_user(d, user_module(), seeds=2, log=lines.append)
    assert f"{d}: all 2 trials finished; nothing to run." in lines


def test_a_changed_task_argument_is_refused(tmp_path):
    d = str(tmp_path / "study")
    common = dict(task="adding", families=["irnn"], units=4, log=lambda *a: None,
                  **BUDGET)
    study_families(d, task_kwargs={"length": 5}, **common)
    with pytest.raises(StudyMismatch, match="task_arguments.length changed: 5 -> 6"):
        study_families(d, task_kwargs={"length": 6}, **common)


def test_another_backend_is_refused_with_the_command_that_resumes(
        tmp_path, user_module, capsys):
    user_module()
    argv = ["--model", "idmodels:make_model", "--data", "idmodels:load",
            "--initializers", "orthogonal", "--threshold", "0.01", "--verbose",
            "0", "--learning-rates", "1", "--seeds", "1", "--steps", "10",
            "--eval-every", "10"]
    assert cli.main(argv) == 0
    capsys.readouterr()
    # The default directory names the module and the function.
    path = os.path.join("rnninit_runs", "idmodels.make_model", "study.json")
    with open(path) as f:
        stored = json.load(f)
    other = "torch" if keras.backend.backend() != "torch" else "jax"
    stored["identity"]["backend"] = other
    with open(path, "w") as f:
        json.dump(stored, f)
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"a study on the {other} backend" in err
    command = err.split("Resume it with: ", 1)[1]
    assert f"KERAS_BACKEND={other} " in command
    assert command.startswith(f"cd {os.getcwd()} && ")
    assert command.endswith("--directory rnninit_runs/idmodels.make_model")


def _versions(changes):
    real = identity.versions()
    return lambda: {**real, **changes}


def test_a_patch_release_is_a_warning_and_a_minor_one_is_refused(
        tmp_path, user_module, monkeypatch):
    d = str(tmp_path / "study")
    run_user(d, user_module(), seeds=2)
    major, minor, patch = (keras.__version__.split(".") + ["0", "0"])[:3]
    lines = []
    monkeypatch.setattr(identity, "versions",
                        _versions({"keras": f"{major}.{minor}.{int(patch) + 1}"}))
    run_user(d, user_module(), seeds=2, log=lines.append)
    assert any(line.startswith("note:") and "keras" in line for line in lines)
    monkeypatch.setattr(identity, "versions",
                        _versions({"keras": f"{major}.{int(minor) + 1}.0"}))
    with pytest.raises(StudyMismatch, match=r"made with keras .* can change"):
        run_user(d, user_module(), seeds=2)


def test_a_study_recorded_before_identities_resumes_and_records_one(
        tmp_path, user_module):
    d = str(tmp_path / "study")
    run_user(d, user_module(), seeds=2)
    path = os.path.join(d, "study.json")
    with open(path) as f:
        stored = json.load(f)
    del stored["identity"]
    with open(path, "w") as f:
        json.dump(stored, f)
    lines = []
    run_user(d, user_module(), seeds=2, log=lines.append)
    assert any("made before studies recorded" in line for line in lines)
    with open(path) as f:
        assert "identity" in json.load(f)


def test_names_are_made_as_a_fresh_process_makes_them():
    configs = [{"name": "gru_7", "layers": [{"name": "gru_7"}, {"name": "gru_9"},
                                            {"name": "encoder"}]}]
    mapping = identity.stable_names(*configs)
    assert mapping == {"gru_7": "gru", "gru_9": "gru_1", "encoder": "encoder"}
