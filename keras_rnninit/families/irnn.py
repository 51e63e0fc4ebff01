"""IRNN and iRNN: ReLU `SimpleRNN`s with a (scaled) identity recurrent
matrix and small Gaussian inputs (Le et al., 2015, arXiv 1504.00941)."""

import keras

from keras_rnninit import catalog
from keras_rnninit.families.base import FamilySpec
from keras_rnninit.families.base import Hyperparameter
from keras_rnninit.families.base import simple_rnn
from keras_rnninit.initializers import ScaledIdentity

REFERENCE = "Le et al., 2015, arXiv 1504.00941"
# The IRNN paper's setting, which its tanh-RNN and LSTM baselines share:
# 100 units, plain SGD, gradients clipped at norm 1.
PAPER_SETTINGS = {"units": 100, "layers": 1, "optimizer": "sgd", "clipnorm": 1.0}

_INPUT_STDDEV = Hyperparameter(
    "input_stddev", 0.001, 1e-4, 1e-1, "log",
    "standard deviation of the N(0, s^2) input weights (the IRNN paper's 0.001)",
)


def _irnn_input(hp, seed):
    return keras.initializers.RandomNormal(stddev=hp["input_stddev"], seed=seed)


IRNN = FamilySpec(
    "irnn",
    catalog.FAMILIES["irnn"],
    (_INPUT_STDDEV,),
    scale="input_stddev",
    reference=REFERENCE,
    make_layer=simple_rnn(
        "relu", _irnn_input, lambda hp, seed: ScaledIdentity(1.0)
    ),
    **PAPER_SETTINGS,
)

IRNN_SCALED = FamilySpec(
    "irnn-scaled",
    catalog.FAMILIES["irnn-scaled"],
    (
        Hyperparameter(
            "gain", 0.01, 1e-3, 1.0, "log", "multiplier of the identity"
        ),
        _INPUT_STDDEV,
    ),
    scale="gain",
    reference=REFERENCE,
    make_layer=simple_rnn(
        "relu", _irnn_input, lambda hp, seed: ScaledIdentity(hp["gain"])
    ),
    **PAPER_SETTINGS,
)
