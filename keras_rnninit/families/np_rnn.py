"""np-RNN and its tanh variant: `SimpleRNN`s with the normalized
positive-definite recurrent matrix and random-walk inputs (Talathi and
Vartak, 2015, arXiv 1511.03771)."""

from keras_rnninit import catalog
from keras_rnninit.families.base import FamilySpec
from keras_rnninit.families.base import Hyperparameter
from keras_rnninit.families.base import simple_rnn
from keras_rnninit.initializers import NormalizedPositiveDefinite
from keras_rnninit.initializers import RandomWalkNormal

REFERENCE = "Talathi and Vartak, 2015, arXiv 1511.03771"
# np-RNN: 100 units, SGD (the paper does not give a clipping value).
PAPER_SETTINGS = {"units": 100, "layers": 1, "optimizer": "sgd"}

_INPUT_SCALE = Hyperparameter(
    "input_scale", 1.0, 0.1, 10.0, "log",
    "multiplier of the random-walk input initialization (RandomWalkNormal)",
)


def _np_input(hp, seed):
    return RandomWalkNormal(scale=hp["input_scale"], seed=seed)


def _np_recurrent(hp, seed):
    return NormalizedPositiveDefinite(seed=seed)


NP_RNN = FamilySpec(
    "np-rnn",
    catalog.FAMILIES["np-rnn"],
    (_INPUT_SCALE,),
    scale="input_scale",
    reference=REFERENCE,
    make_layer=simple_rnn("relu", _np_input, _np_recurrent),
    **PAPER_SETTINGS,
)

NP_TANH = FamilySpec(
    "np-tanh",
    catalog.FAMILIES["np-tanh"],
    (_INPUT_SCALE,),
    scale="input_scale",
    reference=REFERENCE,
    make_layer=simple_rnn("tanh", _np_input, _np_recurrent),
    **PAPER_SETTINGS,
)
