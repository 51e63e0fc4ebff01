"""Chrono initialization of the gate biases of LSTM and GRU layers."""

import math
import numbers

import keras
from keras import ops

from keras_rnninit import _keras_compat
from keras_rnninit.api_export import keras_rnninit_export
from keras_rnninit.initializers import _float_dtype
from keras_rnninit.initializers import _validate_seed

LAYERS = ("lstm", "gru")
_ACCEPTED = (
    "an LSTM bias (4 * units,) or a GRU bias: (3 * units,) with "
    "reset_after=False, (2, 3 * units) with reset_after=True"
)


def _shape_error(shape, extra=""):
    return ValueError(
        f"Chrono accepts {_ACCEPTED}{extra}. "
        f"Received: shape={shape} of rank {len(shape)}."
    )


@keras_rnninit_export()
class Chrono(keras.initializers.Initializer):
    """Chrono initializer of the gate biases of `LSTM` and `GRU` layers.

    A unit whose gate keeps a fraction `sigma(b)` of its state each step
    forgets over about `1 / (1 - sigma(b))` steps. Chrono draws
    `U ~ Uniform(1, max_timesteps - 1)` for each unit and sets the bias of
    the gate that keeps the state to `log(U)`, so that
    `1 / (1 - sigma(log U)) = 1 + U`: the units' time constants spread
    uniformly over `[2, max_timesteps]`, the range of dependencies the task
    has. Every other bias is 0, except as below.

    Layouts, in Keras's own gate order:
    - `LSTM` bias `(4 * units,)`, gates `[i, f, c, o]`: `b_f = log(U)` and
      `b_i = -log(U)` (a unit that keeps long also writes little).
      Keras's default `unit_forget_bias=True` replaces the forget block
      with ones: use `LSTM(..., bias_initializer=Chrono(T),
      unit_forget_bias=False)`. Chrono refuses to run under
      `unit_forget_bias=True` rather than lose its forget bias silently.
    - `GRU` bias `(3 * units,)` (`reset_after=False`), gates `[z, r, h]`:
      Keras's update is `h = z * h_prev + (1 - z) * h_candidate`, so `z`
      is the gate that keeps the state and `b_z = +log(U)` (the paper writes
      the GRU with `1 - z` on the previous state, hence its minus sign).
    - `GRU` bias `(2, 3 * units)` (`reset_after=True`, Keras's default): the
      input row and the recurrent row both add into each gate, so the
      input row's `z` block takes `log(U)` and the recurrent row stays 0:
      their sum carries the value, not each row.

    Which layout applies: inside a layer's `build`, from the layer that
    creates the weight (`keras.layers.LSTMCell` or `GRUCell`, also within
    `LSTM`, `GRU`, `RNN(cell)` and `Bidirectional`); otherwise from `layer`,
    or from the shape alone when that is unambiguous: `(2, 3 * units)` is a
    GRU bias, `(n,)` an LSTM bias when only 4 divides `n` and a GRU bias
    when only 3 does. A length both divide (12, 24, ..., e.g. 384 = 4 * 96 =
    3 * 128) needs `layer`.

    Args:
        max_timesteps: The longest dependency the units should keep, in
            steps (the paper's `T_max`, e.g. the task's sequence length), a
            number at least 2.
        seed: A Python integer or a `keras.random.SeedGenerator`, as for
            Keras's random initializers. An integer (or `None`) gives the
            same biases on every call; a `SeedGenerator` gives new ones on
            each call.
        layer: `"lstm"`, `"gru"`, or `None` (default): found as above. Name
            it to use Chrono on a cell of your own whose bias has the gate
            layout of Keras's `LSTM` or `GRU`.

    Example:

    ```python
    lstm = keras.layers.LSTM(
        128, bias_initializer=Chrono(max_timesteps=500), unit_forget_bias=False
    )
    gru = keras.layers.GRU(128, bias_initializer=Chrono(max_timesteps=500))
    ```

    Reference:
    - [Tallec and Ollivier, 2018](https://arxiv.org/abs/1804.11188), "Can
      recurrent neural networks warp time?", ICLR 2018.
    """

    def __init__(self, max_timesteps, seed=None, layer=None):
        if (
            isinstance(max_timesteps, bool)
            or not isinstance(max_timesteps, numbers.Real)
            or not math.isfinite(max_timesteps)
            or not max_timesteps >= 2
        ):
            raise ValueError(
                "Argument `max_timesteps` must be a number at least 2 (the "
                "longest dependency, in steps). "
                f"Received: max_timesteps={max_timesteps!r}"
            )
        if layer not in LAYERS + (None,):
            raise ValueError(
                "Argument `layer` must be 'lstm', 'gru' or None. "
                f"Received: layer={layer!r}"
            )
        _validate_seed(seed)
        self.max_timesteps = max_timesteps
        self.layer = layer
        self._random = keras.initializers.RandomUniform(
            minval=1.0, maxval=float(max_timesteps) - 1.0, seed=seed
        )

    @property
    def seed(self):
        return self._random.seed

    def _layout(self, shape, owner):
        """`("lstm" | "gru", units)` of a bias of `shape`, else raises."""
        if isinstance(owner, keras.layers.LSTMCell):
            layer, units = "lstm", owner.units
            if owner.unit_forget_bias and shape in ((units,), (2 * units,)):
                raise ValueError(
                    "Chrono sets the LSTM forget-gate bias, which "
                    "unit_forget_bias=True (Keras's default) replaces with "
                    "ones: pass unit_forget_bias=False to the LSTM or "
                    "LSTMCell whose bias_initializer is Chrono."
                )
        elif isinstance(owner, keras.layers.GRUCell):
            layer, units = "gru", owner.units
        elif owner is not None and self.layer is None:
            raise ValueError(
                "Chrono initializes the bias of an LSTM or GRU; "
                f"{type(owner).__name__} is neither: pass layer='lstm' or "
                "layer='gru' if its bias has that gate layout. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        else:
            layer, units = self.layer, None
        if self.layer is not None and layer != self.layer:
            raise ValueError(
                f"Chrono(layer={self.layer!r}) is initializing the bias of a "
                f"{type(owner).__name__}: pass layer={layer!r} or None."
            )
        vector = len(shape) == 1 and shape[0] > 0
        if len(shape) == 2 and shape[0] == 2 and shape[1] % 3 == 0:
            layout = "gru", shape[1] // 3
        elif vector and shape[0] % 12 == 0 and layer is None:
            raise _shape_error(
                shape,
                f"; a vector of {shape[0]} could be either (4 x {shape[0] // 4}"
                f" or 3 x {shape[0] // 3}): pass layer='lstm' or layer='gru'",
            )
        elif vector and shape[0] % 4 == 0 and layer in ("lstm", None):
            layout = "lstm", shape[0] // 4
        elif vector and shape[0] % 3 == 0 and layer in ("gru", None):
            layout = "gru", shape[0] // 3
        else:
            layout = None
        if layout is None or layout[1] == 0 or layer not in (layout[0], None):
            raise _shape_error(shape)
        if units is not None and layout[1] != units:
            raise _shape_error(shape, f" for {units} units")
        return layout

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype, "Chrono")
        shape = tuple(shape)
        owner = _keras_compat.layer_creating_weight()
        layer, units = self._layout(shape, owner)
        keep = ops.log(self._random((units,), dtype))
        zeros = ops.zeros((units,), dtype)
        if layer == "lstm":
            return ops.concatenate([-keep, keep, zeros, zeros])
        bias = ops.concatenate([keep, zeros, zeros])
        if len(shape) == 2:
            bias = ops.stack([bias, ops.zeros_like(bias)])
        return bias

    def get_config(self):
        return {
            "max_timesteps": self.max_timesteps,
            "seed": self._random.get_config()["seed"],
            "layer": self.layer,
        }
