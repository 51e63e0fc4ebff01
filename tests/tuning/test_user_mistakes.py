"""The mistakes a tired user makes: each is one line and exit 2, at once.

A usage error is answered before any backend is imported; a bad user
module (wrong shapes, functions that raise, non-finite data, wrong return
types, a slow import) stops the study before its first trial, one line
each; a full disk stops it with every finished trial kept, and the next run
resumes.
"""

import errno
import glob
import os
import subprocess
import sys
import textwrap

import keras
import pytest

from keras_rnninit import catalog
from keras_rnninit.tuning import cli
from keras_rnninit.tuning import study as study_lib

BACKEND = keras.backend.backend()
once = pytest.mark.skipif(
    BACKEND != "jax", reason="argument checks do not depend on the backend")


# -- usage errors come before any backend ---------------------------------

PROBE = textwrap.dedent("""
    import sys
    import keras_rnninit_cli
    sys.argv = ["rnninit-tune"] + sys.argv[1:]
    try:
        keras_rnninit_cli.tune()
    except SystemExit as e:
        loaded = [m for m in ("keras", "tensorflow", "jax", "torch")
                  if m in sys.modules]
        print("loaded:", ",".join(loaded))
        raise
""")


@once
@pytest.mark.parametrize("argv", [
    ["--families", "irn"],
    ["--optimizer", "adm"],
    ["--steps", "10", "--eval-every", "20"],
    ["--model", "json:dumps", "--data", "json:loads", "--initializers", "identiy"],
    ["--directory", __file__],
    ["--initializers", "identiy"],
])
def test_a_usage_error_is_one_line_before_any_backend_loads(argv, subprocess_env):
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], env=subprocess_env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stdout.strip() == "loaded:", out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("rnninit-tune: error: ")
    assert lines[1] == "Try 'rnninit-tune --help' for the flags."


# -- names ------------------------------------------------------------------

@once
@pytest.mark.parametrize("flag, value", [
    ("--initializers", "identity"), ("--objective", "val_accuracy"),
    ("--direction", "max"), ("--baseline", "0.2"), ("--data", "json:loads"),
])
def test_a_flag_of_your_own_model_without_model_is_refused(flag, value, capsys,
                                                           tmp_path):
    """A flag that only `--model` reads would be silently ignored by a
    study of the built-in families (a whole study run for nothing)."""
    directory = ["--directory", str(tmp_path / "study")]
    parser = cli.search_parser()
    with pytest.raises(SystemExit):
        cli.check_arguments(parser.parse_args([flag, value, *directory]), parser)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == (f"rnninit-tune: error: {flag} goes with --model; the "
                        "built-in families each have their paper's "
                        "initialization and objective (choose them with "
                        "--families).")
    with_model = ["--model", "json:dumps", "--data", "json:loads", flag, value,
                  *directory]
    cli.check_arguments(parser.parse_args(with_model), parser)  # accepted


@pytest.mark.parametrize("item, hint", [
    ("identiy", "did you mean 'identity'?"),
    ("keras_rnninit>NPinit", "did you mean 'keras_rnninit>NPInit'?"),
    ("chrno", "did you mean 'chrono'?"),
    ("scheme:npinti", "did you mean 'npinit'?"),
    ('{"class_name": "Orthgonal"}', "did you mean 'Orthogonal'?"),
    ("{bad json", "is not valid JSON"),
    ("scheme:missing.json", "no scheme file 'missing.json'"),
])
def test_a_misspelt_initializer_or_scheme_gets_the_closest_name(item, hint):
    problem = cli.initializer_problem(item)
    assert problem is not None and hint in problem


@once
@pytest.mark.parametrize("item", [
    "orthogonal", "glorot_uniform", "keras_rnninit>NPInit", "chrono",
    "chrono(max_timesteps=500)", "scheme:irnn", '{"class_name": "Orthogonal"}',
    '{"class_name": "Orthogonal", "config": {"gain": 2.0}}',
    "mypackage>MyInit",  # registered by the user's module on import
])
def test_valid_initializers_and_schemes_pass(item):
    assert cli.initializer_problem(item) is None


def test_the_catalog_lists_exactly_what_keras_and_the_package_resolve():
    import keras_rnninit  # noqa: F401  registers the package's classes
    from keras.src import initializers as keras_initializers

    assert set(catalog.KERAS_INITIALIZERS) == set(keras_initializers.ALL_OBJECTS_DICT)
    for name in catalog.PACKAGE_INITIALIZERS:
        assert keras.saving.get_registered_object(name) is not None, name


# -- bad user modules: one line each, before any trial ---------------------

BAD_MODULE = '''
import time

import keras
import numpy as np
import tensorflow as tf

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 6, 2)).astype("float32")
Y = X[:, :, :1].sum(1)


def make_model():
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.SimpleRNN(4),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def make_classifier():
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.GRU(4),
                              keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def raises():
    raise RuntimeError("the GPU is busy")


def returns_none():
    return None


def returns_a_layer():
    return keras.layers.GRU(4)


def load():
    return (X[:48], Y[:48]), (X[48:], Y[48:])


def wide_targets():
    return (X, np.zeros((64, 5), "float32")), (X, np.zeros((64, 5), "float32"))


def three_features():
    x = np.zeros((64, 6, 3), "float32")
    return (x, Y), (x, Y)


def four_steps():
    return (X[:, :4], Y), (X[:, :4], Y)


def nan_inputs():
    x = X.copy()
    x[5, 2, 1] = np.nan
    return (x, Y), (X, Y)


def inf_targets():
    y = Y.copy()
    y[3] = np.inf
    return (X, Y), (X, y)


def nan_in_a_dataset():
    x = X.copy()
    x[0, 0, 0] = np.nan
    return tf.data.Dataset.from_tensor_slices((x, Y)).batch(8), (X, Y)


def empty_training():
    return (X[:0], Y[:0]), (X, Y)


def empty_dataset():
    return tf.data.Dataset.from_tensor_slices((X, Y)).take(0).batch(8), (X, Y)


def fewer_than_a_batch():
    return (X[:5], Y[:5]), (X, Y)


def mismatched_lengths():
    return (X, Y[:10]), (X, Y)


def one_split():
    return (X, Y)


def three_splits():
    return (X, Y), (X, Y), (X, Y)


def a_string():
    return "data.npz"


def dataset_of_inputs_only():
    return tf.data.Dataset.from_tensor_slices(X).batch(8), (X, Y)


def labels_out_of_range():
    return (X, np.full(64, 7)), (X, np.full(64, 1))


def fractional_labels():
    return (X, np.full(64, 0.5, "float32")), (X, np.zeros(64))


def one_hot_for_sparse_loss():
    return (X, np.eye(3)[np.zeros(64, int)]), (X, np.eye(3)[np.zeros(64, int)])


def load_raises():
    raise FileNotFoundError("data/train.npz")
'''

SLOW_BROKEN = "import time\ntime.sleep(1.5)\nraise ImportError('no module named foo')\n"

CASES = [
    # (model, data, what the one line must say)
    ("bad:raises", "bad:load", "raised RuntimeError: the GPU is busy"),
    ("bad:returns_none", "bad:load", "must return a compiled keras.Model"),
    ("bad:returns_a_layer", "bad:load", "must return a compiled keras.Model"),
    ("bad:missing", "bad:load", "has no function 'missing'"),
    ("slow_broken:make_model", "bad:load", "does not import"),
    ("bad:make_model", "slow_broken:load", "does not import"),
    ("bad:make_model", "bad:load_raises", "raised FileNotFoundError"),
    ("bad:make_model", "bad:wide_targets",
     "targets y have shape (n, 5) and the model's output is (n, 1)"),
    ("bad:make_model", "bad:three_features",
     "inputs x have shape (n, 6, 3) and the model takes (n, 6, 2)"),
    ("bad:make_model", "bad:four_steps",
     "inputs x have shape (n, 4, 2) and the model takes (n, 6, 2)"),
    ("bad:make_model", "bad:nan_inputs", "NaN or inf"),
    ("bad:make_model", "bad:inf_targets", "NaN or inf"),
    ("bad:make_model", "bad:nan_in_a_dataset", "hold NaN or inf"),
    ("bad:make_model", "bad:empty_training", "non-empty"),
    ("bad:make_model", "bad:empty_dataset", "the training dataset is empty"),
    ("bad:make_model", "bad:fewer_than_a_batch", "fewer than the batch size 32"),
    ("bad:make_model", "bad:mismatched_lengths", "of the same length"),
    ("bad:make_model", "bad:one_split", "must be a tf.data.Dataset or an (x, y) pair"),
    ("bad:make_model", "bad:three_splits", "must return (train, validation)"),
    ("bad:make_model", "bad:a_string", "must return (train, validation)"),
    ("bad:make_model", "bad:dataset_of_inputs_only", "must give (x, y) batches"),
    ("bad:make_classifier", "bad:labels_out_of_range", "class 7"),
    ("bad:make_classifier", "bad:fractional_labels", "must be class indices"),
    ("bad:make_classifier", "bad:one_hot_for_sparse_loss", "class indices of shape"),
]


@pytest.fixture
def bad_modules(tmp_path, monkeypatch):
    (tmp_path / "bad.py").write_text(BAD_MODULE)
    (tmp_path / "slow_broken.py").write_text(SLOW_BROKEN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.skipif(BACKEND == "torch", reason="the checks run before any "
                    "training and do not depend on the backend: JAX and TF")
@pytest.mark.parametrize("model, data, message", CASES)
def test_a_bad_user_module_is_one_line_and_exit_2(model, data, message, tmp_path,
                                                  bad_modules, capsys):
    objective = "val_accuracy" if "classifier" in model else "val_loss"
    argv = ["--model", model, "--data", data, "--initializers", "orthogonal",
            "--objective", objective, "--threshold", "0.9" if "acc" in objective
            else "0.01", "--learning-rates", "1", "--seeds", "1", "--steps",
            "10", "--eval-every", "10", "--verbose", "0",
            "--directory", str(tmp_path / "study")]
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rnninit-tune: error: ") and message in lines[0], err
    assert not glob.glob(str(tmp_path / "study" / "trials" / "trial_*" / "result.json"))


def test_the_fuzz_covers_every_kind_of_mistake():
    kinds = {"shape": 0, "raise": 0, "finite": 0, "return": 0, "import": 0}
    for model, data, message in CASES:
        kinds["shape"] += "shape" in message
        kinds["raise"] += "raised" in message
        kinds["finite"] += "NaN" in message
        kinds["return"] += "must return" in message or "must give" in message
        kinds["import"] += "does not import" in message
    assert all(kinds.values()), kinds
    assert len(CASES) >= 20


# -- the file system --------------------------------------------------------

TINY = ["--task", "adding", "--length", "6", "--num-train", "64",
        "--num-validation", "32", "--units", "4", "--families", "irnn",
        "--learning-rates", "3", "--seeds", "1", "--steps", "20",
        "--eval-every", "10", "--verbose", "0"]


def _results(directory):
    return {r["hyperparameters"]["learning_rate"]: r["curve"]
            for r in study_lib.finished_results(directory)}


@pytest.mark.skipif(BACKEND == "torch", reason="writing does not depend on the "
                    "backend: JAX and TF")
def test_a_full_disk_stops_the_study_with_one_line_and_loses_nothing(
        tmp_path, capsys, monkeypatch):
    reference = str(tmp_path / "reference")
    assert cli.main(TINY + ["--directory", reference]) == 0
    expected = _results(reference)
    d = str(tmp_path / "study")
    real = study_lib._write_json
    writes = []

    def disk_fills(path, value):
        if path.endswith("result.json"):
            writes.append(path)
            if len(writes) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", path)
        real(path, value)

    monkeypatch.setattr(study_lib, "_write_json", disk_fills)
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        cli.main(TINY + ["--directory", d])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left on device" in err
    assert "1 of 3 trials saved" in err and "rerun the same command" in err
    kept = _results(d)
    assert len(kept) == 1
    for lr, curve in kept.items():
        assert curve == expected[lr]
    assert not glob.glob(os.path.join(d, "**", "*.tmp*"), recursive=True)
    monkeypatch.setattr(study_lib, "_write_json", real)
    assert cli.main(TINY + ["--directory", d]) == 0
    assert _results(d) == expected
