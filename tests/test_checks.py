"""One wording for every bad argument: the argument's name, what it must
be, and the value received shown with repr (a string in quotes)."""

import numpy as np
import pytest

import keras_rnninit
from keras_rnninit import diagnostics
from keras_rnninit import truncated_bptt

CASES = {
    "IndRNN units": (lambda: keras_rnninit.IndRNN("16"), "units", "'16'",
                     "a positive integer"),
    "Clockwork units": (lambda: keras_rnninit.Clockwork(0, periods=[1, 2]), "units",
                        "0", "a positive integer"),
    "IndRNN dropout": (lambda: keras_rnninit.IndRNN(4, dropout=1.5), "dropout",
                       "1.5", "a float in [0, 1)"),
    "bound": (lambda: keras_rnninit.RecurrentBound(float("inf")), "max_value",
              "inf", "a positive number"),
    "bound flag": (lambda: keras_rnninit.RecurrentBound(1.0, nonnegative="yes"),
                   "nonnegative", "'yes'", "a boolean"),
    "bound timesteps": (lambda: keras_rnninit.recurrent_bound("100"), "timesteps",
                        "'100'", "a positive integer"),
    "identity gain": (lambda: keras_rnninit.ScaledIdentity(gain=float("nan")),
                      "gain", "nan", "a finite number"),
    "windows": (lambda: truncated_bptt.window_sequences(np.zeros((2, 8, 1)), 2.5),
                "window_size", "2.5", "a positive integer"),
    "phase portrait": (lambda: diagnostics.phase_portrait(np.eye(2), steps=-1),
                       "steps", "-1", "a positive integer"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_bad_argument_reads_the_same(case):
    make, name, shown, what = CASES[case]
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == (
        f"Argument `{name}` must be {what}. Received: {name}={shown}")
