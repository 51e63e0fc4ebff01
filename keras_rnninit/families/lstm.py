"""LSTM families: Keras's LSTM with the forget-gate bias at 1, and with
chrono gate biases (Tallec and Ollivier, 2018, arXiv 1804.11188)."""

import keras

from keras_rnninit import catalog
from keras_rnninit.chrono import Chrono
from keras_rnninit.families.base import FamilySpec
from keras_rnninit.families.base import Hyperparameter
from keras_rnninit.families.base import layer_seed
from keras_rnninit.families.irnn import PAPER_SETTINGS


def _lstm(units, hp, task, index, num_layers, return_sequences, seed):
    return keras.layers.LSTM(
        units,
        kernel_initializer=keras.initializers.GlorotUniform(
            seed=layer_seed(seed, index, 1)
        ),
        recurrent_initializer=keras.initializers.Orthogonal(
            seed=layer_seed(seed, index, 2)
        ),
        unit_forget_bias=True,
        return_sequences=return_sequences,
        seed=layer_seed(seed, index, 3),
        name=f"lstm_{index}",
    )


def chrono_max_timesteps(hp, task):
    """Chrono's `T_max`: the `max_timesteps` hyperparameter, else the
    task's sequence length."""
    value = hp.get("max_timesteps")
    return task.input_shape[0] if value is None else value


def _lstm_chrono(units, hp, task, index, num_layers, return_sequences, seed):
    # As "lstm" but for the bias: unit_forget_bias=False, or Keras would
    # replace the chrono forget bias with ones.
    return keras.layers.LSTM(
        units,
        kernel_initializer=keras.initializers.GlorotUniform(
            seed=layer_seed(seed, index, 1)
        ),
        recurrent_initializer=keras.initializers.Orthogonal(
            seed=layer_seed(seed, index, 2)
        ),
        bias_initializer=Chrono(chrono_max_timesteps(hp, task),
                                seed=layer_seed(seed, index, 4)),
        unit_forget_bias=False,
        return_sequences=return_sequences,
        seed=layer_seed(seed, index, 3),
        name=f"lstm_{index}",
    )


LSTM = FamilySpec(
    "lstm",
    catalog.FAMILIES["lstm"],
    (),
    scale=None,
    reference="Hochreiter and Schmidhuber, 1997",
    make_layer=_lstm,
    **PAPER_SETTINGS,
)

# The same setting as "lstm", so that a study of the two compares the
# biases alone.
LSTM_CHRONO = FamilySpec(
    "lstm-chrono",
    catalog.FAMILIES["lstm-chrono"],
    (
        Hyperparameter(
            "max_timesteps", None,
            description="Chrono's T_max, the longest dependency in steps "
            "(default: the task's sequence length)",
        ),
    ),
    scale=None,
    reference="Tallec and Ollivier, 2018, arXiv 1804.11188",
    make_layer=_lstm_chrono,
    **PAPER_SETTINGS,
)
