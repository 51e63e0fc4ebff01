"""Clockwork RNN: hidden modules that update at their own periods."""

import math
import warnings

import keras
import numpy as np
from keras import activations
from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers

from keras_rnninit import _checks
from keras_rnninit import _keras_compat
from keras_rnninit._keras_compat import DropoutRNNCell
from keras_rnninit.api_export import keras_rnninit_export
from keras_rnninit.layers._fused import FusedRNN
from keras_rnninit.layers._fused import backend_module

# The step counter is a float32 state, exact up to 2**24.
MAX_CYCLE = 2**24


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _resolve_periods(units, periods, num_modules):
    if num_modules is not None and (not _is_int(num_modules) or num_modules <= 0):
        raise ValueError(
            "Argument `num_modules` must be a positive integer. "
            f"Received: num_modules={num_modules!r}"
        )
    if periods is None:
        if num_modules is None:
            raise ValueError(
                "Pass `periods` (a list of module periods) or `num_modules` "
                "(periods 1, 2, 4, ...). Received: periods=None, "
                "num_modules=None"
            )
        periods = [2**i for i in range(num_modules)]
    else:
        if (
            not isinstance(periods, (list, tuple))
            or len(periods) == 0
            or not all(_is_int(p) and p > 0 for p in periods)
        ):
            raise ValueError(
                "Argument `periods` must be a non-empty list of positive "
                f"integers. Received: periods={periods!r}"
            )
        periods = [int(p) for p in periods]
        if any(a > b for a, b in zip(periods, periods[1:])):
            raise ValueError(
                "Argument `periods` must be sorted in ascending order (the "
                "fastest module first). Received: "
                f"periods={periods!r}"
            )
        if num_modules is not None and num_modules != len(periods):
            raise ValueError(
                "Argument `num_modules` must equal `len(periods)`. Received: "
                f"num_modules={num_modules!r}, periods={periods!r}"
            )
    if not _is_int(units) or units <= 0:
        raise ValueError(
            "Argument `units` must be a positive integer. "
            f"Received: units={units!r}"
        )
    if units % len(periods):
        raise ValueError(
            "Argument `units` must be divisible by the number of modules "
            f"({len(periods)}), so that every module has the same size. "
            f"Received: units={units!r}, periods={periods!r}"
        )
    cycle = math.lcm(*periods)
    if cycle > MAX_CYCLE:
        raise ValueError(
            "The least common multiple of `periods` must be at most 2**24, "
            "so that the float32 step counter counts exactly. Received: "
            f"periods={periods!r} (least common multiple {cycle})"
        )
    return periods


def advance_clock(clock, mask, steps, cycle):
    """The step counter `(batch, 1)` float32 after `steps` steps from `clock`;
    masked steps (`mask` `(batch, steps)`, 0 or False) do not count."""
    start = ops.cast(ops.round(ops.stop_gradient(clock)), "int32")
    if mask is None:
        advanced = ops.cast(steps, "int32")
    else:
        advanced = ops.sum(ops.cast(mask, "int32"), axis=1, keepdims=True)
    return ops.cast(ops.mod(start + advanced, cycle), "float32")


def connectivity_mask(periods, module_size):
    """Allowed entries of the recurrent kernel, as a 0/1 NumPy array.

    Keras kernels multiply from the right (`h @ W`), so entry `[j, i]`
    connects unit `j` (source) to unit `i` (target). Module `j` feeds module
    `i` only if `T_j >= T_i`: with ascending periods the mask is
    block-lower-triangular here, which is the paper's block-upper-triangular
    `W_H` (target, source) transposed.
    """
    module_period = np.repeat(np.asarray(periods), module_size)
    return (module_period[:, None] >= module_period[None, :]).astype("float32")


def prefix_lengths(active):
    """`(steps,)` int32: how many modules, from the fastest, each step
    computes so as to cover every active one of `active`
    `(batch, steps, modules)` (booleans), in any sample of the batch.

    With periods that each divide the next (1, 2, 4, ...), the active
    modules at a step are exactly the first `k`: nothing idle is computed.
    """
    position = ops.arange(1, active.shape[-1] + 1, dtype="int32")
    return ops.max(ops.where(active, position, 0), axis=(0, 2))


class _MaskedInitializer:
    """Draws the wrapped initializer's matrix, then zeroes forbidden blocks."""

    def __init__(self, initializer, mask):
        self.initializer = initializer
        self.mask = mask

    def __call__(self, shape, dtype=None):
        return self.initializer(shape, dtype=dtype) * ops.cast(self.mask, dtype)


class _MaskedConstraint(keras.constraints.Constraint):
    """Applies the user's constraint, then keeps forbidden blocks at zero."""

    def __init__(self, constraint, mask):
        self.constraint = constraint
        self.mask = mask

    def __call__(self, w):
        if self.constraint is not None:
            w = self.constraint(w)
        return w * ops.cast(self.mask, w.dtype)


@keras_rnninit_export("ClockworkRNNCell")
class ClockworkCell(keras.layers.Layer, DropoutRNNCell):
    """Cell class for the Clockwork RNN.

    The `units` hidden units are split into `g` modules of equal size; module
    `i` has a period `T_i`. At step `t` (`t = 0` for the first input), module
    `i` is active iff `t mod T_i == 0`: it computes
    `h_i = activation(x_t @ W_I[:, i] + h_{t-1} @ W_H[:, i] + b_i)`.
    An idle module keeps its previous state. Module `j` feeds module `i` only
    if `T_j >= T_i` (slow modules feed fast ones): the forbidden blocks of the
    recurrent kernel are held at zero by its initializer, by the forward pass
    (so they never receive a gradient) and by a constraint (so they stay zero
    after any update and in saved models).

    The step counter travels in the cell state as a second state tensor of
    shape `(batch, 1)`, kept modulo the least common multiple of the periods
    (at most 2**24), so that a `stateful=True` layer continues the clock
    across batches and a masked step leaves it unchanged. It is float32
    under any dtype policy (bfloat16 stops counting at 256): the cell's
    `compute_dtype`, to which Keras's RNN casts the states, is float32 at
    least, while its arithmetic runs in the policy's compute dtype.

    Args:
        units: Positive integer, total number of hidden units; must be
            divisible by the number of modules.
        periods: List of positive integers sorted in ascending order, one
            period per module. Default: `1, 2, 4, ..., 2**(num_modules - 1)`.
        num_modules: Positive integer, number of modules, used when `periods`
            is not given (must equal `len(periods)` when both are given).
        activation: Activation function. Default: `"tanh"`.
        use_bias: Boolean, whether the cell uses a bias vector.
        kernel_initializer: Initializer for the input `kernel`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer for the `recurrent_kernel`; its
            forbidden blocks are zeroed after drawing. Default: `"orthogonal"`.
        bias_initializer: Initializer for the bias vector. Default: `"zeros"`.
        kernel_regularizer: Regularizer for the `kernel`.
        recurrent_regularizer: Regularizer for the `recurrent_kernel`.
        bias_regularizer: Regularizer for the bias vector.
        kernel_constraint: Constraint for the `kernel`.
        recurrent_constraint: Constraint for the `recurrent_kernel` (applied
            before the forbidden blocks are zeroed).
        bias_constraint: Constraint for the bias vector.
        dropout: Float between 0 and 1, fraction of the inputs to drop.
        recurrent_dropout: Float between 0 and 1, fraction of the recurrent
            state to drop in the recurrent product.
        seed: Random seed for dropout.

    Call arguments:
        sequence: A 2D tensor of shape `(batch, features)`.
        states: List `[h, clock]` of the previous hidden state
            `(batch, units)` and step counter `(batch, 1)`.
        training: Python boolean, whether dropout is applied.

    Example:

    ```python
    cell = ClockworkCell(64, periods=[1, 2, 4, 8])
    rnn = keras.layers.RNN(cell, return_state=True)
    output, h, clock = rnn(np.random.random((8, 20, 3)))
    ```

    Reference:
        - [Koutnik et al., 2014](https://arxiv.org/abs/1402.3511),
          "A Clockwork RNN".
    """

    def __init__(
        self,
        units,
        periods=None,
        num_modules=None,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        periods = _resolve_periods(units, periods, num_modules)
        super().__init__(**kwargs)
        self.units = int(units)
        self.periods = tuple(periods)
        self.num_modules = len(periods)
        self.module_size = self.units // self.num_modules
        self.cycle = math.lcm(*self.periods)
        self.activation = _checks.activation(activation)
        self.use_bias = use_bias

        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

        self.dropout = _checks.rate(dropout, "dropout")
        self.recurrent_dropout = _checks.rate(
            recurrent_dropout, "recurrent_dropout"
        )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.recurrent_mask = connectivity_mask(self.periods, self.module_size)
        self.state_size = [self.units, 1]
        self.output_size = self.units

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="recurrent_kernel",
            initializer=_MaskedInitializer(
                self.recurrent_initializer, self.recurrent_mask
            ),
            regularizer=self.recurrent_regularizer,
            constraint=_MaskedConstraint(
                self.recurrent_constraint, self.recurrent_mask
            ),
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None

    @property
    def compute_dtype(self):
        # Keras's RNN casts every state to its cell's `compute_dtype`, and
        # bfloat16 counts steps exactly only up to 256 (float16: 2048): the
        # states are float32 (at least), the arithmetic is in the policy's
        # compute dtype.
        return keras.backend.result_type(
            self.dtype_policy.compute_dtype, "float32"
        )

    def masked_recurrent_kernel(self, dtype=None):
        """The recurrent kernel with its forbidden blocks multiplied by 0."""
        dtype = dtype or self.dtype_policy.compute_dtype
        kernel = ops.cast(self.recurrent_kernel, dtype)
        return kernel * ops.cast(self.recurrent_mask, dtype)

    def active_units(self, clock):
        """`(batch, units)` booleans: which units update at `clock`."""
        periods = ops.convert_to_tensor(self.periods, dtype=clock.dtype)
        active = ops.cast(ops.equal(ops.mod(clock, periods), 0), clock.dtype)
        return ops.repeat(active, self.module_size, axis=1) > 0.5

    def call(self, sequence, states, training=False):
        dtype = self.dtype_policy.compute_dtype
        h_prev = ops.cast(states[0], dtype)
        clock = ops.stop_gradient(states[1])
        sequence = ops.cast(sequence, dtype)
        dp_mask = self.get_dropout_mask(sequence)
        rec_dp_mask = self.get_recurrent_dropout_mask(h_prev)

        if training and dp_mask is not None:
            sequence = sequence * ops.cast(dp_mask, dtype)
        pre = ops.matmul(sequence, ops.cast(self.kernel, dtype))
        if self.bias is not None:
            pre = ops.add(pre, ops.cast(self.bias, dtype))
        h_in = h_prev
        if training and rec_dp_mask is not None:
            h_in = h_prev * ops.cast(rec_dp_mask, dtype)
        pre = pre + ops.matmul(h_in, self.masked_recurrent_kernel(dtype))
        if self.activation is not None:
            pre = self.activation(pre)
        # Computing every module and keeping the idle ones' previous values
        # is the paper's update: idle rows never reach the state or gradient.
        h = ops.where(self.active_units(clock), pre, h_prev)
        h = ops.cast(h, states[0].dtype)
        new_clock = ops.mod(clock + 1, self.cycle)
        return h, [h, new_clock]

    def get_initial_state(self, batch_size=None):
        return [
            ops.zeros((batch_size, self.units), dtype=self.compute_dtype),
            ops.zeros((batch_size, 1), dtype=self.compute_dtype),
        ]

    def save_own_variables(self, store):
        all_vars = _keras_compat.own_variables(self)
        for i, v in enumerate(all_vars):
            if v is getattr(self, "recurrent_kernel", None):
                v = ops.convert_to_numpy(v) * self.recurrent_mask.astype(
                    ops.convert_to_numpy(v).dtype
                )
            store[f"{i}"] = v

    def load_own_variables(self, store):
        super().load_own_variables(store)
        if self.built:
            self.recurrent_kernel.assign(
                self.masked_recurrent_kernel(self.recurrent_kernel.dtype)
            )

    def get_config(self):
        config = {
            "units": self.units,
            "periods": list(self.periods),
            "num_modules": self.num_modules,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(
                self.kernel_initializer
            ),
            "recurrent_initializer": initializers.serialize(
                self.recurrent_initializer
            ),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(
                self.kernel_regularizer
            ),
            "recurrent_regularizer": regularizers.serialize(
                self.recurrent_regularizer
            ),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(
                self.recurrent_constraint
            ),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        base_config = super().get_config()
        return {**base_config, **config}


def _fast_path_alias(fast_path, use_fused):
    """`fast_path`, the old name of `use_fused`, still read from configs."""
    if fast_path not in ("auto", True, False) or (
        isinstance(fast_path, (int, float)) and not isinstance(fast_path, bool)
    ):
        raise ValueError(
            "Argument `fast_path` must be 'auto', True or False. "
            f"Received: fast_path={fast_path!r}"
        )
    if use_fused != "auto" and use_fused != fast_path:
        raise ValueError(
            "Pass `use_fused` only (`fast_path` is its deprecated name). "
            f"Received: use_fused={use_fused!r}, fast_path={fast_path!r}"
        )
    warnings.warn(
        "Clockwork's `fast_path` argument is deprecated: use `use_fused` "
        f"(use_fused={fast_path!r}).",
        DeprecationWarning,
        stacklevel=3,
    )
    return fast_path


@keras_rnninit_export("ClockworkRNN")
class Clockwork(FusedRNN):
    """Clockwork RNN layer (Koutnik et al., 2014).

    The hidden units are split into modules of equal size that update at
    their own periods (by default 1, 2, 4, ...): a module is active at step
    `t` iff `t mod T_i == 0`, an idle module keeps its state, and module `j`
    feeds module `i` only if `T_j >= T_i`. See `ClockworkCell` for the
    equations; the step counter is the layer's second state.

    When the activation is `tanh`, `relu`, `sigmoid` or linear and there is
    no recurrent dropout in training, the layer runs a fused loop: the input
    projection `W_I x + b` for all steps in one matmul, then a loop (XLA on
    TensorFlow and JAX, eager torch ops on PyTorch) with a hand-written
    backward pass that computes only the modules that update: step `t`
    computes the first `k_t` modules, `k_t` the fewest, counted from the
    fastest, that cover every active module in the batch. With periods that
    each divide the next (1, 2, 4, ...) that is exactly the active modules;
    with others, idle modules below the slowest active one are computed and
    discarded. The fused loop covers stacked layers, `return_sequences`,
    `go_backwards`, `Bidirectional`, initial states, `stateful`, mixed
    precision and masks. Otherwise it runs the cell in `keras.layers.RNN`'s
    generic loop; both give the same results.

    Args:
        units: Positive integer, total number of hidden units; must be
            divisible by the number of modules.
        periods: List of positive integers sorted in ascending order, one
            period per module. Default: `1, 2, 4, ..., 2**(num_modules - 1)`.
        num_modules: Positive integer, number of modules, used when `periods`
            is not given.
        activation: Activation function. Default: `"tanh"`.
        use_bias: Boolean, whether the layer uses a bias vector.
        kernel_initializer: Initializer for the input `kernel`.
        recurrent_initializer: Initializer for the `recurrent_kernel` (its
            forbidden blocks are zeroed).
        bias_initializer: Initializer for the bias vector.
        kernel_regularizer: Regularizer for the `kernel`.
        recurrent_regularizer: Regularizer for the `recurrent_kernel`.
        bias_regularizer: Regularizer for the bias vector.
        activity_regularizer: Regularizer for the layer's output.
        kernel_constraint: Constraint for the `kernel`.
        recurrent_constraint: Constraint for the `recurrent_kernel`.
        bias_constraint: Constraint for the bias vector.
        dropout: Float between 0 and 1, fraction of the inputs to drop.
        recurrent_dropout: Float between 0 and 1, fraction of the recurrent
            state to drop.
        return_sequences: Boolean, whether to return the full sequence.
        return_state: Boolean, whether to return the last states
            (`h` and the step counter, float32) in addition to the output.
        go_backwards: Boolean, whether to process the sequence backwards.
        stateful: Boolean, whether the last states of a batch are the
            initial states of the next one (the clock continues).
        unroll: Boolean, whether to unroll the generic loop (the fused
            loop ignores it).
        use_fused: `"auto"` (default) uses the fused loop where the backend
            and options allow it; `True` too, and warns, naming the reason,
            when a call has to run the generic loop; `False` always uses
            the generic loop.
        seed: Random seed for dropout.
        fast_path: Deprecated name of `use_fused`, still accepted (with a
            `DeprecationWarning`) so that saved configs load.

    Call arguments:
        sequences: A 3D tensor of shape `(batch, timesteps, features)`.
        initial_state: List `[h, clock]` of initial states.
        mask: Boolean tensor of shape `(batch, timesteps)`; masked steps leave
            the state and the clock unchanged.
        training: Python boolean, whether dropout is applied.

    Example:

    ```python
    inputs = np.random.random((32, 100, 1)).astype("float32")
    layer = Clockwork(128, num_modules=8)  # periods 1, 2, ..., 128
    outputs = layer(inputs)  # (32, 128)
    ```

    Reference:
        - [Koutnik et al., 2014](https://arxiv.org/abs/1402.3511),
          "A Clockwork RNN".
    """

    def __init__(
        self,
        units,
        periods=None,
        num_modules=None,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        use_fused="auto",
        seed=None,
        fast_path=None,
        **kwargs,
    ):
        if fast_path is not None:
            use_fused = _fast_path_alias(fast_path, use_fused)
        cell = ClockworkCell(
            units,
            periods=periods,
            num_modules=num_modules,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype", None),
            trainable=kwargs.get("trainable", True),
            name="clockwork_cell",
        )
        super().__init__(
            cell,
            use_fused=use_fused,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = [keras.layers.InputSpec(ndim=3)]

    def call(self, sequences, initial_state=None, mask=None, training=False):
        # Every variable this layer reads itself is cast explicitly; the
        # stateful states are read and written as float32.
        with _keras_compat.no_autocast():
            if initial_state is not None:
                start = initial_state[1]
            elif self.stateful:  # a copy: the call moves the state
                stored = keras.backend.standardize_dtype(
                    self.states[1].value.dtype
                )
                if stored not in ("float32", "float64"):
                    raise ValueError(
                        "A stateful Clockwork keeps its step counter in a "
                        "variable of the layer's variable dtype, which "
                        "must be float32 or float64 to count exactly: use "
                        "a mixed policy (e.g. 'mixed_bfloat16'). Received: "
                        f"dtype={self.dtype_policy.name!r}"
                    )
                start = ops.copy(self.states[1].value)
            else:
                start = ops.zeros((ops.shape(sequences)[0], 1), "float32")
            outputs = super().call(sequences, mask=mask, training=training,
                                   initial_state=initial_state)
        # Keras's RNN returns and stores the new states in the compute dtype,
        # which may not count far (bfloat16: 256): the step counter stays
        # float32.
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        clock = advance_clock(
            start, mask, ops.shape(sequences)[1], self.cell.cycle
        )
        if self.stateful:
            with _keras_compat.no_autocast():
                self.states[1].assign(clock)
        if self.return_state:
            return (*outputs[:-1], clock)
        return outputs

    def compute_output_spec(self, *args, **kwargs):
        spec = super().compute_output_spec(*args, **kwargs)
        if not self.return_state:
            return spec
        *outputs, clock = spec
        return (*outputs, keras.KerasTensor(clock.shape, dtype="float32"))

    def _fused_recurrence(self, x, states, mask, activation, training):
        cell = self.cell
        z = self._input_projection(x)
        h0 = ops.cast(states[0], z.dtype)
        clock0 = states[1]
        # The step counter before each step, per sample; masked steps do not
        # advance it.
        steps = ops.shape(z)[1]
        if mask is None:
            ticks = ops.expand_dims(ops.arange(steps, dtype="int32"), 0)
        else:
            int_mask = ops.cast(mask, "int32")
            ticks = ops.cumsum(int_mask, axis=1) - int_mask
        start = ops.cast(ops.round(ops.stop_gradient(clock0)), "int32")
        clock = ops.expand_dims(start + ticks, -1)
        periods = ops.convert_to_tensor(cell.periods, dtype="int32")
        active = ops.equal(ops.mod(clock, periods), 0)
        if mask is not None:
            active = ops.logical_and(active, ops.expand_dims(mask > 0, -1))
        result = backend_module("clockwork").clockwork(
            z,
            cell.masked_recurrent_kernel(z.dtype),
            h0,
            ops.cast(active, z.dtype),
            prefix_lengths(active),
            activation,
            self.return_sequences,
            training,
        )
        h_last = result[:, -1] if self.return_sequences else result
        return result, [h_last, advance_clock(clock0, mask, steps, cell.cycle)]

    @property
    def units(self):
        return self.cell.units

    @property
    def periods(self):
        return self.cell.periods

    @property
    def num_modules(self):
        return self.cell.num_modules

    @property
    def module_size(self):
        return self.cell.module_size

    @property
    def activation(self):
        return self.cell.activation

    @property
    def use_bias(self):
        return self.cell.use_bias

    @property
    def kernel_initializer(self):
        return self.cell.kernel_initializer

    @property
    def recurrent_initializer(self):
        return self.cell.recurrent_initializer

    @property
    def bias_initializer(self):
        return self.cell.bias_initializer

    @property
    def kernel_regularizer(self):
        return self.cell.kernel_regularizer

    @property
    def recurrent_regularizer(self):
        return self.cell.recurrent_regularizer

    @property
    def bias_regularizer(self):
        return self.cell.bias_regularizer

    @property
    def kernel_constraint(self):
        return self.cell.kernel_constraint

    @property
    def recurrent_constraint(self):
        return self.cell.recurrent_constraint

    @property
    def bias_constraint(self):
        return self.cell.bias_constraint

    @property
    def dropout(self):
        return self.cell.dropout

    @property
    def recurrent_dropout(self):
        return self.cell.recurrent_dropout

    def get_config(self):
        config = {
            "units": self.units,
            "periods": list(self.periods),
            "num_modules": self.num_modules,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(
                self.kernel_initializer
            ),
            "recurrent_initializer": initializers.serialize(
                self.recurrent_initializer
            ),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(
                self.kernel_regularizer
            ),
            "recurrent_regularizer": regularizers.serialize(
                self.recurrent_regularizer
            ),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(
                self.activity_regularizer
            ),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(
                self.recurrent_constraint
            ),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.cell.seed,
        }
        base_config = super().get_config()
        del base_config["cell"]
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
