"""keras-rnninit: initializations and layers that make ReLU RNNs train."""

# First: checks the Keras version before anything uses Keras.
from keras_rnninit import _keras_compat  # noqa: F401  isort: skip
from keras_rnninit import chrono
from keras_rnninit import constraints
from keras_rnninit import diagnostics
from keras_rnninit import families
from keras_rnninit import initializers
from keras_rnninit import layers
from keras_rnninit import metrics
from keras_rnninit import models
from keras_rnninit import schemes
from keras_rnninit import truncated_bptt
from keras_rnninit.chrono import Chrono
from keras_rnninit.constraints import RecurrentBound
from keras_rnninit.constraints import recurrent_bound
from keras_rnninit.initializers import IRNN
from keras_rnninit.initializers import NormalizedPositiveDefinite
from keras_rnninit.initializers import NPInit
from keras_rnninit.initializers import NPInputInit
from keras_rnninit.initializers import RandomWalkNormal
from keras_rnninit.initializers import ScaledIdentity
from keras_rnninit.layers import Clockwork
from keras_rnninit.layers import ClockworkCell
from keras_rnninit.layers import IndRNN
from keras_rnninit.layers import IndRNNCell
from keras_rnninit.layers import deep_indrnn
from keras_rnninit.models import build_model
from keras_rnninit.truncated_bptt import ResetStatesAtSequenceStart
from keras_rnninit.truncated_bptt import fit_truncated_bptt
from keras_rnninit.version import __version__


def __getattr__(name):
    # The tasks load TensorFlow (tf.data): imported on first use, so that
    # the layers and initializers do not pay for it on JAX or PyTorch.
    if name == "tasks":
        import importlib

        return importlib.import_module("keras_rnninit.tasks")
    raise AttributeError(f"module 'keras_rnninit' has no attribute {name!r}")
