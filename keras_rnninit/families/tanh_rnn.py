"""The tanh RNN baseline: `SimpleRNN` with an orthogonal recurrent matrix
and Glorot inputs, in the IRNN paper's setting."""

import keras

from keras_rnninit import catalog
from keras_rnninit.families.base import FamilySpec
from keras_rnninit.families.base import Hyperparameter
from keras_rnninit.families.base import simple_rnn
from keras_rnninit.families.irnn import PAPER_SETTINGS

_RECURRENT_GAIN = Hyperparameter(
    "recurrent_gain", 1.0, 0.5, 2.0, "linear",
    "gain of the orthogonal recurrent initialization",
)


def _glorot_input(hp, seed):
    return keras.initializers.GlorotUniform(seed=seed)


def _orthogonal_recurrent(hp, seed):
    return keras.initializers.Orthogonal(gain=hp["recurrent_gain"], seed=seed)


TANH_RNN = FamilySpec(
    "tanh-rnn",
    catalog.FAMILIES["tanh-rnn"],
    (_RECURRENT_GAIN,),
    scale="recurrent_gain",
    reference="Elman, 1990",
    make_layer=simple_rnn("tanh", _glorot_input, _orthogonal_recurrent),
    **PAPER_SETTINGS,
)
