"""The package without TensorFlow: layers and initializers work on JAX and
PyTorch; the tasks say which extra brings it."""

import subprocess
import sys

import keras
import pytest

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
