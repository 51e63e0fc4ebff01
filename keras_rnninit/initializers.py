"""Recurrent-weight initializers for ReLU RNNs: IRNN, iRNN and np-RNN.

The gate biases of LSTM and GRU (chrono initialization) are in
`keras_rnninit.chrono`.
"""

import math
import numbers

import keras
import numpy as np
from keras import ops

from keras_rnninit import _checks
from keras_rnninit.api_export import keras_rnninit_export

# The stacked recurrent kernels of Keras's layers: SimpleRNN (N, N), GRU
# (N, 3 * N), LSTM (N, 4 * N). Any other multiple of N is refused: an input
# kernel (input_dim, units) such as (2, 100) would otherwise read as 50
# stacked 2 x 2 blocks.
_GATE_BLOCKS = (1, 3, 4)


def _recurrent_blocks(shape, name, input_kernel_hint, vector=""):
    """Returns `(N, k)` for a kernel of shape `(N, k * N)`, k in 1, 3, 4."""
    shape = tuple(shape)
    if len(shape) == 2:
        rows, cols = shape
        if rows > 0 and cols % rows == 0 and cols // rows in _GATE_BLOCKS:
            return rows, cols // rows
    raise ValueError(
        f"{name} is defined for square recurrent matrices: a recurrent "
        "kernel (N, N), or a stacked recurrent kernel in Keras's gate "
        f"layouts, (N, 3 * N) for GRU or (N, 4 * N) for LSTM{vector}. "
        f"For an input kernel (input_dim, units), use {input_kernel_hint}. "
        f"Received: shape={shape}."
    )


def _float_dtype(dtype, name):
    dtype = keras.backend.standardize_dtype(dtype)
    if "float" not in dtype:
        raise ValueError(
            f"{name} only produces floating-point values. Received: dtype={dtype!r}"
        )
    return dtype


def _validate_seed(seed):
    valid = seed is None or isinstance(
        seed, (int, dict, keras.random.SeedGenerator)
    )
    if not valid or isinstance(seed, bool):
        raise ValueError(
            "`seed` argument should be an instance of "
            "`keras.random.SeedGenerator()` or an integer. "
            f"Received: seed={seed!r}"
        )


@keras_rnninit_export("IRNN")
class ScaledIdentity(keras.initializers.Initializer):
    """Identity (IRNN) or scaled identity (iRNN) recurrent initializer.

    Returns `gain * I`. With `gain=1.0` this is the IRNN initialization; with a
    small gain such as `0.01` it is the iRNN variant. Unlike
    `keras.initializers.Identity`, `gain` is part of the config, so it survives
    `get_config()` and `.keras` save/load.

    It understands the recurrent kernels of Keras's layers:
    - `(N, N)`: `gain * I` (`SimpleRNN`);
    - `(N, 3 * N)`, `(N, 4 * N)`: one identity block per gate, side by side
      (`GRU`, `LSTM`);
    - `(N,)`: `gain * ones(N)`, the diagonal of `gain * I`, for recurrent
      weights that are a vector (`IndRNNCell`).

    Any other shape, such as an input kernel `(input_dim, units)`, raises a
    `ValueError`.

    Args:
        gain: Python float, the multiplier of the identity.

    Example:

    ```python
    irnn = keras.layers.SimpleRNN(
        100, activation="relu", recurrent_initializer=ScaledIdentity(1.0)
    )
    ```

    Reference:
    - [Le et al., 2015](https://arxiv.org/abs/1504.00941), "A Simple Way to
      Initialize Recurrent Networks of Rectified Linear Units".
    """

    def __init__(self, gain=1.0):
        self.gain = _checks.finite_number(gain, "gain")

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype, "ScaledIdentity")
        shape = tuple(shape)
        if len(shape) == 1 and shape[0] > 0:
            return ops.full(shape, self.gain, dtype=dtype)
        units, blocks = _recurrent_blocks(
            shape,
            "ScaledIdentity",
            "`RandomWalkNormal` or, as IRNN does, "
            "`keras.initializers.RandomNormal(stddev=0.001)`",
            vector=", or a vector (N,) such as IndRNN's recurrent weights",
        )
        eye = ops.eye(units, dtype=dtype) * ops.cast(self.gain, dtype)
        return ops.tile(eye, (1, blocks))

    def get_config(self):
        return {"gain": self.gain}


@keras_rnninit_export("NPInit")
class NormalizedPositiveDefinite(keras.initializers.Initializer):
    """Normalized positive-definite recurrent initializer of np-RNN.

    Draws `R`, an `N x N` matrix of i.i.d. `N(0, 1)` entries, forms
    `A = R^T R / N` and returns `W = (A + I) / lambda_max(A + I)`. `W` is
    symmetric positive definite; its largest eigenvalue is exactly 1 and all
    others are below 1 (for `N` around 100 to 256 they lie roughly in
    [0.2, 1.0]), so that a ReLU RNN's hidden dynamics with zero input collapse
    onto one direction instead of keeping every perturbation as the identity
    does.

    It is defined for square recurrent matrices: a recurrent kernel
    `(N, N)`, or a stacked one in Keras's gate layouts, `(N, 3 * N)` (`GRU`)
    or `(N, 4 * N)` (`LSTM`), where each `N x N` block is an independent draw.
    Any other shape, such as an input kernel `(input_dim, units)`, raises a
    `ValueError`: np-RNN's input kernel is `RandomWalkNormal`'s.

    The matrix is computed in float64 and cast to `dtype` at the end, so its
    largest eigenvalue is 1 to the precision of `dtype`.

    Args:
        seed: A Python integer or a `keras.random.SeedGenerator`, as for
            Keras's random initializers. An integer (or `None`) gives the
            same matrix on every call; a `SeedGenerator` gives a new matrix
            on each call.

    Example:

    ```python
    np_rnn = keras.layers.SimpleRNN(
        100, activation="relu", recurrent_initializer=NPInit(seed=1)
    )
    ```

    Reference:
    - [Talathi and Vartak, 2015](https://arxiv.org/abs/1511.03771),
      "Improving performance of recurrent neural network with relu
      nonlinearity".
    """

    def __init__(self, seed=None):
        _validate_seed(seed)
        self._random = keras.initializers.RandomNormal(
            mean=0.0, stddev=1.0, seed=seed
        )

    @property
    def seed(self):
        return self._random.seed

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype, "NormalizedPositiveDefinite")
        units, blocks = _recurrent_blocks(
            shape,
            "NormalizedPositiveDefinite",
            "`RandomWalkNormal` (np-RNN's input initializer)",
        )
        r = ops.convert_to_numpy(self._random((blocks, units, units), "float32"))
        r = r.astype(np.float64)
        m = np.matmul(np.transpose(r, (0, 2, 1)), r)  # R^T R
        m /= units
        diagonal = np.arange(units)
        m[:, diagonal, diagonal] += 1.0  # A + I
        m /= np.linalg.eigvalsh(m)[:, -1, None, None]
        w = m[0] if blocks == 1 else np.concatenate(m, axis=1)
        if dtype == "float32":
            w = w.astype(np.float32)
        return ops.convert_to_tensor(w, dtype=dtype)

    def get_config(self):
        return {"seed": self._random.get_config()["seed"]}


def random_walk_factor(n):
    """Sussillo and Abbott's random-walk factor for ReLU units.

    `alpha(n) = sqrt(2) * exp(1.2 / (max(n, 6) - 2.4))`.
    """
    return math.sqrt(2.0) * math.exp(1.2 / (max(n, 6) - 2.4))


@keras_rnninit_export("NPInputInit")
class RandomWalkNormal(keras.initializers.Initializer):
    """np-RNN's input-weight initializer (random-walk scaling).

    Draws from `N(0, std^2)` with
    `std = scale * alpha(N) / sqrt(N)` and
    `alpha(N) = sqrt(2) * exp(1.2 / (max(N, 6) - 2.4))`.

    The np-RNN paper draws the input weights from `N(0, 1/N)` and scales them
    by a factor `alpha` following the random-walk initialization of Sussillo
    and Abbott (2014); the formula of `alpha` above is that initialization's
    factor for ReLU units. Which `N` the paper uses, and that its `alpha` is
    exactly this one, could not be confirmed from the paper's text: `N` is the
    number of hidden units by default (`mode="fan_out"`, the last dimension of
    a Keras kernel `(input_dim, units)`), and `mode="fan_in"` uses the input
    dimension as the random-walk scheme does.

    Args:
        scale: Python float, an extra multiplier (1.0: the formula as is).
        mode: `"fan_out"` (default) or `"fan_in"`: which dimension is `N`.
        seed: A Python integer or a `keras.random.SeedGenerator`.

    Example:

    ```python
    layer = keras.layers.SimpleRNN(
        100,
        activation="relu",
        kernel_initializer=RandomWalkNormal(seed=1),
        recurrent_initializer=NPInit(seed=2),
    )
    ```

    Reference:
    - [Talathi and Vartak, 2015](https://arxiv.org/abs/1511.03771).
    - [Sussillo and Abbott, 2014](https://arxiv.org/abs/1412.6558), "Random
      Walk Initialization for Training Very Deep Feedforward Networks".
    """

    def __init__(self, scale=1.0, mode="fan_out", seed=None):
        if (
            isinstance(scale, bool)
            or not isinstance(scale, numbers.Real)
            or not scale > 0
            or not math.isfinite(scale)
        ):
            raise ValueError(
                f"`scale` must be a positive finite number. Received: scale={scale!r}"
            )
        if mode not in ("fan_in", "fan_out"):
            raise ValueError(
                f"`mode` must be 'fan_in' or 'fan_out'. Received: mode={mode!r}"
            )
        _validate_seed(seed)
        self.scale = float(scale)
        self.mode = mode
        self._random = keras.initializers.RandomNormal(stddev=1.0, seed=seed)

    @property
    def seed(self):
        return self._random.seed

    def stddev(self, shape):
        """The standard deviation used for a kernel of this shape."""
        shape = tuple(shape)
        if len(shape) != 2 or min(shape) <= 0:
            raise ValueError(
                "RandomWalkNormal accepts an input kernel (input_dim, units). "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        n = shape[0] if self.mode == "fan_in" else shape[1]
        return self.scale * random_walk_factor(n) / math.sqrt(n)

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype, "RandomWalkNormal")
        return self._random(shape, dtype) * ops.cast(self.stddev(shape), dtype)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "seed": self._random.get_config()["seed"],
        }


NPInit = NormalizedPositiveDefinite
IRNN = ScaledIdentity
NPInputInit = RandomWalkNormal
