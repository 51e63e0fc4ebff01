"""Every usage error of the command lines comes within a second, in one
line (and the --help pointer), exit 2, before any backend is imported; a
misspelled flag is answered with the closest one, and a hint names the
flag it means."""

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
