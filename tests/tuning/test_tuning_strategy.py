import glob
import os
import subprocess
import sys

import keras
import pytest

from keras_rnninit.tuning import strategy as strategy_lib
from keras_rnninit.tuning.strategy import StrategyError

BACKEND = keras.backend.backend()


def test_unknown_strategy():
    with pytest.raises(StrategyError, match="Unknown strategy 'gpu'"):
        strategy_lib.select_strategy("gpu")


def test_tpu_without_tpu_is_an_error_not_a_fallback():
    with pytest.raises(StrategyError, match="tpu"):
        strategy_lib.select_strategy("tpu")


def test_default_is_no_strategy():
    assert strategy_lib.select_strategy("default") == (None, None)


def test_auto_on_one_cpu_is_default():
    tf_strategy, distribution = strategy_lib.select_strategy("auto")
    assert tf_strategy is None and distribution is None


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TF_CONFIG is TensorFlow's")
def test_multiworker_without_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(StrategyError, match="TF_CONFIG"):
        strategy_lib.select_strategy("multiworker")


@pytest.mark.skipif(BACKEND != "torch", reason="torch has no distribution here")
def test_torch_rejects_mirrored():
    with pytest.raises(StrategyError, match="torch"):
        strategy_lib.select_strategy("mirrored")


MIRRORED_SCRIPT = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from keras_rnninit.tuning.strategy import select_strategy
from keras_rnninit import NPInit
strategy, _ = select_strategy("mirrored")
print("replicas", strategy.num_replicas_in_sync)
with strategy.scope():
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.SimpleRNN(
        4, activation="relu", recurrent_initializer=NPInit(seed=1)),
        keras.layers.Dense(1)])
    model.compile("sgd", "mse")
import numpy as np
model.fit(np.ones((8, 5, 2), "float32"), np.ones((8, 1), "float32"), verbose=0)
print("variable", type(model.weights[0].value).__name__)
"""


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute")
def test_mirrored_on_two_logical_cpus_builds_mirrored_variables(subprocess_env):
    out = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], env=subprocess_env,
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "replicas 2" in out.stdout
    assert "variable MirroredVariable" in out.stdout


JAX_SCRIPT = """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
import keras
from keras_rnninit.tuning.strategy import select_strategy
_, distribution = select_strategy("mirrored")
print("devices", len(distribution.device_mesh.devices.flatten()))
print(type(distribution).__name__)
"""


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution on JAX")
def test_jax_mirrored_is_data_parallel_over_all_devices(subprocess_env):
    out = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT], env=subprocess_env,
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "devices 2" in out.stdout and "DataParallel" in out.stdout


@pytest.mark.skipif(BACKEND == "torch", reason="refused on torch: test_distributed.py")
def test_cpu_replicas_split_the_cpu_before_the_backend_starts(tmp_path, subprocess_env):
    d = str(tmp_path / "study")
    out = subprocess.run(
        [sys.executable, "-m", "keras_rnninit.tuning", "--task", "adding",
         "--length", "8", "--num-train", "64", "--num-validation", "32",
         "--batch-size", "32", "--units", "8", "--families", "irnn",
         "--learning-rates", "1", "--learning-rate", "1e-3,1e-3", "--seeds", "1",
         "--steps", "20", "--eval-every", "10", "--cpu-replicas", "2",
         "--strategy", "mirrored", "--directory", d, "--timeout", "280"],
        env=subprocess_env, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    expected = {"tensorflow": "MirroredStrategy over 2 replica(s)",
                "jax": "DataParallel over 2 device(s)"}[BACKEND]
    assert f"each trial trains with {expected}" in out.stdout
    # The trial trained (a failed one writes no result).
    assert glob.glob(os.path.join(d, "trials", "trial_*", "result.json"))
