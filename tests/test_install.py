"""The package without TensorFlow: layers and initializers work on JAX and
PyTorch; the tasks say which extra brings it. The README's set-up commands
install what setup.py declares. (The built wheel is installed and checked
by .ci/release.)"""

import pathlib
import re
import subprocess
import sys

import keras
import pytest
import setup_metadata
from packaging.requirements import Requirement

WITHOUT_TENSORFLOW = """
import sys
sys.modules["tensorflow"] = None  # as if it were not installed
import keras
import numpy as np
import keras_rnninit
from keras_rnninit import IndRNN, NPInit
model = keras.Sequential([keras.Input((5, 2)), IndRNN(4), keras.layers.Dense(1)])
model.compile("adam", "mse")
model.fit(np.ones((4, 5, 2)), np.ones((4, 1)), verbose=0)
init = NPInit()((4, 4))
print("layers ok")
try:
    from keras_rnninit import tasks
except ImportError as e:
    print("tasks:", e)
"""


@pytest.mark.skipif(keras.backend.backend() == "tensorflow",
                    reason="the TensorFlow backend needs TensorFlow")
def test_layers_work_without_tensorflow_and_tasks_name_the_extra(subprocess_env):
    out = subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW],
                         env=subprocess_env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert "layers ok" in lines
    assert lines[-1] == (
        "tasks: keras_rnninit.tasks needs TensorFlow (its datasets are tf.data, "
        "on every backend): pip install 'keras-rnninit[tasks]'")


README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _readme_commands():
    """The README's one-line set-up commands, by what they end with."""
    lines = [line for line in README.read_text().splitlines()
             if line.startswith("python3 -m venv .venv && ")]
    return {line.rsplit("&& ", 1)[-1]: line for line in lines}


def test_readme_keeps_its_two_commands_and_they_install_what_exists():
    commands = _readme_commands()
    main, tests = (commands.get("KERAS_BACKEND=jax rnninit-tune"),
                   commands.get("KERAS_BACKEND=torch python -m pytest"))
    assert main and tests, f"README.md set-up commands: {sorted(commands)}"
    arguments = setup_metadata.setup_arguments()
    scripts = {e.split("=")[0] for e in arguments["entry_points"]["console_scripts"]}
    assert "rnninit-tune" in scripts
    for command in (main, tests):
        extras = re.search(r"-e '\.\[([\w,]+)\]'", command).group(1).split(",")
        assert set(extras) <= set(arguments["extras_require"]), command
    assert [b for b in re.findall(r"KERAS_BACKEND=(\w+) python -m pytest", tests)] == [
        "tensorflow", "jax", "torch"]
    # The pinned torch is one the torch extra allows.
    pin = Requirement(re.search(r"pip install (torch==[\d.]+)", tests).group(1))
    allowed = setup_metadata.requirements(["torch"], arguments)["torch"].specifier
    assert allowed.contains(next(iter(pin.specifier)).version), (pin, allowed)
