"""The IndRNN recurrent bound."""

import keras
from keras import ops

from keras_rnninit import _checks
from keras_rnninit.api_export import keras_rnninit_export


def recurrent_bound(timesteps, gamma=2.0):
    """The IndRNN bound `gamma ** (1 / timesteps)` on `|u|`.

    With ReLU, the gradient reaching step `t` from step `T` is scaled by
    `u ** (T - t)`; keeping `|u| <= gamma ** (1 / T)` keeps that factor below
    `gamma` over the whole sequence.

    Args:
        timesteps: Positive integer, the sequence length `T`.
        gamma: Positive float, the largest gradient growth allowed over `T`
            steps.

    Returns:
        A Python float.
    """
    timesteps = _checks.positive_int(timesteps, "timesteps")
    gamma = _checks.positive_number(gamma, "gamma")
    return float(gamma ** (1.0 / timesteps))


@keras_rnninit_export("IndRNNBound")
class RecurrentBound(keras.constraints.Constraint):
    """Projects IndRNN's recurrent weights into `[-max_value, max_value]`.

    IndRNN keeps every neuron's recurrent weight `u_n` bounded so that the
    gradient through time neither vanishes nor explodes: the authors project
    the stored `u` back into the allowed range after each update, which is
    what a Keras constraint does (the optimizer applies it after every step).
    With `nonnegative=True` the range is `[0, max_value]`.

    For a sequence of length `T`, the paper's bound is
    `max_value = gamma ** (1 / T)` (`recurrent_bound(T, gamma)`), with
    `gamma = 2` in the adding problem and `5` on MNIST.

    Args:
        max_value: Positive float, the largest allowed `|u_n|`.
        nonnegative: Boolean. If `True`, negative values are projected to 0,
            so the range is `[0, max_value]`. Default: `False`.

    Example:

    ```python
    bound = RecurrentBound(recurrent_bound(timesteps=784, gamma=5.0))
    cell = IndRNNCell(128, recurrent_constraint=bound)
    ```

    Reference:
    - [Li et al., 2018, Independently Recurrent Neural Network (IndRNN):
      Building A Longer and Deeper RNN](https://arxiv.org/abs/1803.04831)
    """

    def __init__(self, max_value, nonnegative=False):
        self.max_value = _checks.positive_number(max_value, "max_value")
        self.nonnegative = _checks.boolean(nonnegative, "nonnegative")

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        low = 0.0 if self.nonnegative else -self.max_value
        return ops.clip(w, low, self.max_value)

    def get_config(self):
        return {"max_value": self.max_value, "nonnegative": self.nonnegative}
