"""Clockwork RNN: modules updating at periods 1, 2, 4, ... (Koutnik et al.,
2014, arXiv 1402.3511)."""

import keras

from keras_rnninit import catalog
from keras_rnninit.families.base import FamilySpec
from keras_rnninit.families.base import Hyperparameter
from keras_rnninit.families.base import layer_seed


def _clockwork(units, hp, task, index, num_layers, return_sequences, seed):
    from keras_rnninit.layers.clockwork import Clockwork

    return Clockwork(
        units,
        num_modules=hp["num_modules"],
        activation=hp["activation"],
        kernel_initializer=keras.initializers.GlorotUniform(
            seed=layer_seed(seed, index, 1)
        ),
        recurrent_initializer=keras.initializers.Orthogonal(
            seed=layer_seed(seed, index, 2)
        ),
        return_sequences=return_sequences,
        seed=layer_seed(seed, index, 3),
        name=f"clockwork_{index}",
    )


CLOCKWORK = FamilySpec(
    "clockwork",
    catalog.FAMILIES["clockwork"],
    (
        Hyperparameter(
            "num_modules", 8, 2, 16, "linear",
            "number of modules (periods 1, 2, ..., 2^(num_modules - 1)); "
            "must divide units",
        ),
        Hyperparameter("activation", "tanh", description="hidden activation"),
    ),
    scale=None,
    reference="Koutnik et al., 2014, arXiv 1402.3511",
    make_layer=_clockwork,
    units=128,
    optimizer="sgd",
)
