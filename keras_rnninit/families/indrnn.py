"""IndRNN: stacked ReLU `IndRNN` layers with the paper's recurrent range
and bound (Li et al., 2018, arXiv 1803.04831)."""

import keras

from keras_rnninit import catalog
from keras_rnninit.families.base import FamilySpec
from keras_rnninit.families.base import Hyperparameter
from keras_rnninit.families.base import layer_seed


def indrnn_recurrent_range(timesteps, gamma, last_layer):
    """`(low, high)` of IndRNN's uniform recurrent initialization.

    Every layer draws `u ~ U(0, gamma^(1/T))`; the last layer, to keep long
    memory, draws `u ~ U((1/gamma)^(1/T), gamma^(1/T))` (the authors' code,
    `eps = 1/gamma`).
    """
    high = gamma ** (1.0 / timesteps)
    low = (1.0 / gamma) ** (1.0 / timesteps) if last_layer else 0.0
    return low, high


def _indrnn(units, hp, task, index, num_layers, return_sequences, seed):
    from keras_rnninit.layers.indrnn import IndRNN

    timesteps = task.input_shape[0]
    gamma = hp["gamma"]
    last = index == num_layers - 1
    low, high = indrnn_recurrent_range(timesteps, gamma, last)
    # The layer's own defaults give the same range and the bound
    # (`RecurrentBound(gamma ** (1 / T))`); the explicit initializer only
    # adds the seed. Input weights as in the authors' code:
    # kaiming_uniform(a=8), i.e. U(+-sqrt(3 * (2 / 65) / fan_in)), small
    # enough that u near 1 does not make h_T grow with T at the start.
    return IndRNN(
        units,
        activation="relu",
        kernel_initializer=keras.initializers.VarianceScaling(
            scale=2.0 / 65.0,
            mode="fan_in",
            distribution="uniform",
            seed=layer_seed(seed, index, 1),
        ),
        recurrent_initializer=keras.initializers.RandomUniform(
            minval=low, maxval=high, seed=layer_seed(seed, index, 2)
        ),
        timesteps=timesteps,
        gamma=gamma,
        long_memory=last,
        return_sequences=return_sequences,
        seed=layer_seed(seed, index, 3),
        name=f"indrnn_{index}",
    )


INDRNN = FamilySpec(
    "indrnn",
    catalog.FAMILIES["indrnn"],
    (
        Hyperparameter(
            "gamma", 2.0, 1.1, 10.0, "log",
            "largest gradient growth over T steps: |u| <= gamma^(1/T) "
            "(2 for the adding problem, 5 for MNIST)",
        ),
    ),
    scale="gamma",
    reference="Li et al., 2018, arXiv 1803.04831",
    make_layer=_indrnn,
    # The adding model of the paper: 2 x 128, Adam; the authors' code
    # clips each gradient element at 10.
    units=128,
    layers=2,
    optimizer="adam",
    clipvalue=10.0,
)
