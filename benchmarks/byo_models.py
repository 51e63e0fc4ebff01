"""A user's own models and data, for the bring-your-own-model sensitivity study.

The study rebuilds each model's recurrent layer with every initializer it
compares; these functions are what a user would write:

    rnninit-tune --model benchmarks/byo_models.py:lstm \\
        --data benchmarks/byo_models.py:adding_data \\
        --initializers 'glorot_uniform,orthogonal,identity,keras_rnninit>NPInit' \\
        --threshold 0.01 --baseline 0.1667
"""

import keras

from keras_rnninit import tasks

LENGTH = 50
UNITS = 64


def _compiled(layer):
    model = keras.Sequential([
        keras.Input((LENGTH, 2)),
        layer,
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0), loss="mse",
                  metrics=["mse"])
    return model


def lstm():
    """An LSTM(64) regressor for the adding problem."""
    return _compiled(keras.layers.LSTM(UNITS))


def gru():
    """A GRU(64) regressor for the adding problem."""
    return _compiled(keras.layers.GRU(UNITS))


def adding_data(seed=0):
    """The package's adding problem at T=50: (train, validation) datasets."""
    task = tasks.get("adding", length=LENGTH, seed=seed, batch_size=32)
    return task.train, task.validation
