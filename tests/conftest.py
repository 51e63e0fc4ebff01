import os

import keras
import numpy as np
import pytest


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend: {keras.backend.backend()}"


@pytest.fixture(autouse=True)
def _clean_keras_state():
    # Fresh layer names and global state for every test. Without a garbage
    # collection each time (a quarter of a second with TensorFlow and JAX
    # loaded): Python frees the old models as usual.
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def subprocess_env():
    """Environment for child Python processes: same backend, quiet TF."""
    env = dict(os.environ)
    env["KERAS_BACKEND"] = keras.backend.backend()
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env
