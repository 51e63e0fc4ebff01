"""`rnninit-tune --help` and `rnninit-train --help` answer without importing
Keras or a backend, and list exactly what the registries hold."""

import json
import subprocess
import sys

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
