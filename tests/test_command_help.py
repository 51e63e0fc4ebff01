"""`rnninit-tune --help` and `rnninit-train --help` answer without importing
Keras or a backend, and list exactly what the registries hold; every usage
error comes within a second, before any backend is imported."""

import json
import subprocess
import sys
import time

import pytest

HEAVY = ("keras", "tensorflow", "jax", "torch", "numpy")

PROBE = """
import json, sys, keras_rnninit_cli
sys.argv = [{prog!r}] + {args!r}
try:
    keras_rnninit_cli.{entry}()
    code = None
except SystemExit as e:
    code = e.code
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print(json.dumps({{"code": code, "loaded": loaded}}), file=sys.stderr)
"""


@pytest.mark.parametrize("entry, args", [
    ("tune", ["--help"]), ("tune", ["report", "--help"]),
    ("tune", ["--families", "lstm", "-h"]), ("train", ["--help"]),
])
def test_help_imports_no_backend(entry, args, subprocess_env):
    code = PROBE.format(prog=f"rnninit-{entry}", args=args, entry=entry, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], env=subprocess_env,
                         capture_output=True, text=True, timeout=120)
    probe = json.loads(out.stderr.strip().splitlines()[-1])
    assert probe == {"code": 0, "loaded": []}, out.stderr[-2000:]
    assert out.stdout.startswith(f"usage: rnninit-{entry}")


def test_help_lists_exactly_the_registered_names(subprocess_env):
    code = """
from keras_rnninit import catalog, models, tasks
from keras_rnninit.tuning import protocols, strategy
assert list(catalog.FAMILIES) == models.family_names(), models.family_names()
assert all(models.FAMILIES[n].description == d for n, d in catalog.FAMILIES.items())
assert list(catalog.TASKS) == tasks.names(), tasks.names()
assert catalog.OPTIMIZERS == models.OPTIMIZERS
assert catalog.PROTOCOLS == protocols.PROTOCOLS
assert catalog.STRATEGIES == strategy.STRATEGIES
"""
    out = subprocess.run([sys.executable, "-c", code], env=subprocess_env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


CASES = [
    ("tune", ["--threshold", "-1"],
     "--threshold: The threshold -1 can never be reached: val_mse is never below "
     "0. Choose a reachable threshold (or keep it with --force)."),
    ("tune", ["--task", "copy", "--threshold", "1.5"],
     "--threshold: The threshold 1.5 can never be reached: val_accuracy is never "
     "above 1. Choose a reachable threshold (or keep it with --force)."),
    ("tune", ["--model", "nomodule:make_model", "--data", "nomodule:data",
              "--threshold", "0.1"],
     "--model: no module named 'nomodule' in the current directory or on the "
     "Python path."),
    ("tune", ["--model", "missing.py:make_model", "--data", "missing.py:data",
              "--threshold", "0.1"], "--model: no file 'missing.py'."),
    ("tune", ["--lerning-rates", "3"],
     "unrecognized arguments: --lerning-rates 3 (did you mean --learning-rates?)"),
    ("tune", ["--seeds", "0"], "argument --seeds: expected an integer >= 1, got '0'"),
    ("tune", ["--families", "irnn,lstn"],
     "--families: unknown family 'lstn': did you mean 'lstm'?"),
    ("train", ["--task", "adding", "--famly", "irnn"],
     "the following arguments are required: --family (--famly: did you mean "
     "--family?)"),
    ("train", ["--task", "adding", "--family", "irnn", "--epochs", "-1"],
     "argument --epochs: expected an integer >= 0, got '-1'"),
]


@pytest.mark.parametrize("entry, args, message", CASES)
def test_a_usage_error_is_one_line_within_a_second(entry, args, message, tmp_path,
                                                   subprocess_env):
    # Every usage error: one line and the --help pointer, exit 2, before any
    # backend is imported; a misspelled flag gets the closest one, and a
    # hint names the flag it means.
    code = PROBE.format(prog=f"rnninit-{entry}", args=args, entry=entry, heavy=HEAVY)
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], env=subprocess_env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - start
    *lines, probe = out.stderr.strip().splitlines()
    assert json.loads(probe) == {"code": 2, "loaded": []}, out.stderr
    assert lines[0].startswith(f"rnninit-{entry}: error: {message}"), lines
    assert lines[1:] == [f"Try 'rnninit-{entry} --help' for the flags."], lines
    assert took < 1.0, f"{took:.2f} s"


@pytest.mark.parametrize("args, env, message", [
    (["--steps", "1000"], {},
     "holds a different study: the setting steps changed: 2000 -> 1000. Rerun "
     "with --overwrite to start over, or choose another --directory."),
    (["--families", "irnn,np-rnn"], {},
     'the setting candidates changed: ["irnn", "irnn-scaled", "np-rnn"] -> '
     '["irnn", "np-rnn"]'),
    ([], {"KERAS_BACKEND": "other"},
     "is a study on the recorded backend and this run is on other: its trials "
     "must all run on one backend. Resume it with: cd "),
])
def test_a_rerun_that_differs_from_its_study_is_refused_within_a_second(
        args, env, message, tmp_path, subprocess_env):
    # What the command line fixes (settings, backend) is compared with the
    # study's record before any backend loads; the models and the data once
    # they are built.
    study = tmp_path / "study"
    study.mkdir()
    (study / "study.json").write_text(json.dumps({"backend": "recorded", "settings": {
        "candidates": ["irnn", "irnn-scaled", "np-rnn"], "protocol": "sweep",
        "learning_rates": 5, "learning_rate_range": [1e-4, 0.1], "seeds": 3,
        "steps": 2000, "eval_every": 200, "optimizer": "adam", "clipnorm": None,
        "seed": 0, "threshold": 0.01}}))
    argv = args + ["--directory", str(study)]
    code = PROBE.format(prog="rnninit-tune", args=argv, entry="tune", heavy=HEAVY)
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                         env={**subprocess_env, "KERAS_BACKEND": "recorded", **env},
                         capture_output=True, text=True, timeout=120)
    took = time.monotonic() - start
    *lines, probe = out.stderr.strip().splitlines()
    assert json.loads(probe) == {"code": 2, "loaded": []}, out.stderr
    assert message in lines[0], lines
    assert took < 1.0, f"{took:.2f} s"
