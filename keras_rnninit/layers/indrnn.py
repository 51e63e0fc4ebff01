"""Independently Recurrent Neural Network (IndRNN): cell and layer."""

import keras
from keras import activations
from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers
from keras.layers import InputSpec

from keras_rnninit import _checks
from keras_rnninit._keras_compat import DropoutRNNCell
from keras_rnninit.api_export import keras_rnninit_export
from keras_rnninit.constraints import RecurrentBound
from keras_rnninit.constraints import recurrent_bound
from keras_rnninit.layers import _parallel_scan
from keras_rnninit.layers._fused import FEW_FEATURES
from keras_rnninit.layers._fused import FusedRNN
from keras_rnninit.layers._fused import backend_module


@keras_rnninit_export()
class IndRNNCell(keras.layers.Layer, DropoutRNNCell):
    """Cell class for the IndRNN layer.

    An IndRNN neuron sees only its own past: the recurrent weight is a
    vector `u` (one weight per unit) applied elementwise,

    `h_t = activation(W x_t + u * h_{t-1} + b)`,

    so the gradient through time of unit `n` is scaled by `u_n ** (T - t)`
    and is controlled directly by bounding `|u_n|`. Units interact only
    through the next layer's `W`, which is why IndRNNs are stacked.

    With `timesteps=T` the cell applies the paper's settings:
    - `u` is kept in `[-gamma ** (1 / T), gamma ** (1 / T)]` (or
      `[0, gamma ** (1 / T)]` with `nonnegative_recurrent=True`) by a
      `RecurrentBound` constraint, applied after each update;
    - `u` is initialized in `U[0, gamma ** (1 / T)]`, or, with
      `long_memory=True` (the last layer of a deep IndRNN), in
      `U[(1 / gamma) ** (1 / T), gamma ** (1 / T)]`.

    When `timesteps` is `None`, the sequence length is unknown: the cell
    then has **no bound** on `u` (pass `recurrent_constraint` yourself if you
    want one) and initializes `u` in `U[0, 1]`, the limit of the paper's
    range for long sequences. An explicit `recurrent_initializer` or
    `recurrent_constraint` always takes precedence over these defaults.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function to use. Default: `"relu"`, as in the
            paper. If you pass `None`, no activation is applied.
        use_bias: Boolean (default `True`), whether the layer uses a bias.
        kernel_initializer: Initializer for the input `kernel` `W`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer for the recurrent vector `u`
            (`recurrent_kernel`, shape `(units,)`). Default: `None`, the
            paper's uniform range described above.
        bias_initializer: Initializer for the bias vector. Default: `"zeros"`.
        kernel_regularizer: Regularizer function applied to `kernel`.
        recurrent_regularizer: Regularizer function applied to `u`.
        bias_regularizer: Regularizer function applied to the bias.
        kernel_constraint: Constraint function applied to `kernel`.
        recurrent_constraint: Constraint function applied to `u`. Default:
            `None`, the paper's `RecurrentBound` when `timesteps` is given.
        bias_constraint: Constraint function applied to the bias.
        dropout: Float in [0, 1). Fraction of the input features to drop
            (one mask for all steps of a sequence). Default: 0.
        recurrent_dropout: Float in [0, 1). Fraction of the recurrent state
            to drop (one mask for all steps). Default: 0.
        seed: Random seed for dropout.
        timesteps: Positive integer or `None`, the sequence length `T` that
            sets the bound and the initialization of `u`. Default: `None`.
        gamma: Positive float, the largest gradient growth allowed over `T`
            steps: the bound is `gamma ** (1 / T)`. The authors use 2 for
            the adding problem and 5 for MNIST. Default: 2.0.
        long_memory: Boolean. If `True`, initialize `u` in
            `[(1 / gamma) ** (1 / T), gamma ** (1 / T)]`, so that every unit
            starts with a long memory (the paper's last layer). Needs
            `timesteps` and `gamma > 1`. Default: `False`.
        nonnegative_recurrent: Boolean. If `True`, the bound projects `u`
            into `[0, gamma ** (1 / T)]` instead of the symmetric range.
            Default: `False`.

    Call arguments:
        sequence: A 2D tensor, with shape `(batch, features)`.
        states: A 2D tensor with shape `(batch, units)`, the state from the
            previous time step.
        training: Python boolean indicating whether the layer should behave
            in training mode or in inference mode. Only relevant when
            `dropout` or `recurrent_dropout` is used.

    Example:

    ```python
    inputs = np.random.random((32, 784, 1)).astype("float32")
    rnn = keras.layers.RNN(IndRNNCell(128, timesteps=784))
    output = rnn(inputs)  # The output has shape `(32, 128)`.
    ```

    Reference:
    - [Li et al., 2018, Independently Recurrent Neural Network (IndRNN):
      Building A Longer and Deeper RNN](https://arxiv.org/abs/1803.04831)
    """

    def __init__(
        self,
        units,
        activation="relu",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer=None,
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
        timesteps=None,
        gamma=2.0,
        long_memory=False,
        nonnegative_recurrent=False,
        **kwargs,
    ):
        units = _checks.positive_int(units, "units")
        timesteps = _checks.positive_int(timesteps, "timesteps", allow_none=True)
        gamma = _checks.positive_number(gamma, "gamma")
        _checks.boolean(use_bias, "use_bias")
        _checks.boolean(long_memory, "long_memory")
        _checks.boolean(nonnegative_recurrent, "nonnegative_recurrent")
        if long_memory and timesteps is None:
            raise ValueError(
                "`long_memory=True` needs the sequence length: pass "
                "`timesteps`. Received: timesteps=None"
            )
        if long_memory and gamma <= 1:
            raise ValueError(
                "`long_memory=True` initializes u in "
                "[(1/gamma)^(1/T), gamma^(1/T)], which needs `gamma > 1`. "
                f"Received: gamma={gamma!r}"
            )
        activation = _checks.activation(activation)
        dropout = _checks.rate(dropout, "dropout")
        recurrent_dropout = _checks.rate(recurrent_dropout, "recurrent_dropout")
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

        self.units = units
        self.activation = activation
        self.use_bias = use_bias
        self.timesteps = timesteps
        self.gamma = float(gamma)
        self.long_memory = long_memory
        self.nonnegative_recurrent = nonnegative_recurrent

        if recurrent_initializer is None:
            recurrent_initializer = self._default_recurrent_initializer()
        if recurrent_constraint is None and timesteps is not None:
            recurrent_constraint = RecurrentBound(
                recurrent_bound(timesteps, gamma),
                nonnegative=nonnegative_recurrent,
            )

        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.state_size = self.units
        self.output_size = self.units

    def _default_recurrent_initializer(self):
        if self.timesteps is None:
            return initializers.RandomUniform(0.0, 1.0)
        high = recurrent_bound(self.timesteps, self.gamma)
        low = 0.0
        if self.long_memory:
            low = recurrent_bound(self.timesteps, 1.0 / self.gamma)
        return initializers.RandomUniform(low, high)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units,),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
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

    def call(self, sequence, states, training=False):
        prev_output = states[0] if isinstance(states, (list, tuple)) else states
        dp_mask = self.get_dropout_mask(sequence)
        rec_dp_mask = self.get_recurrent_dropout_mask(prev_output)

        if training and dp_mask is not None:
            sequence = sequence * dp_mask
        h = ops.matmul(sequence, self.kernel)
        if self.bias is not None:
            h = ops.add(h, self.bias)

        if training and rec_dp_mask is not None:
            prev_output = prev_output * rec_dp_mask
        output = self.activation(h + prev_output * self.recurrent_kernel)

        new_state = [output] if isinstance(states, (list, tuple)) else output
        return output, new_state

    def get_initial_state(self, batch_size=None):
        return [
            ops.zeros((batch_size, self.state_size), dtype=self.compute_dtype)
        ]

    def get_config(self):
        config = {
            "units": self.units,
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
            "timesteps": self.timesteps,
            "gamma": self.gamma,
            "long_memory": self.long_memory,
            "nonnegative_recurrent": self.nonnegative_recurrent,
        }
        base_config = super().get_config()
        return {**base_config, **config}


@keras_rnninit_export()
class IndRNN(FusedRNN):
    """Independently Recurrent Neural Network layer, with a fused fast path.

    Runs `IndRNNCell` over a sequence:
    `h_t = activation(W x_t + u * h_{t-1} + b)`, with `u` a vector. See
    `IndRNNCell` for the recurrent bound and initialization that
    `timesteps`, `gamma` and `long_memory` set up.

    Because the recurrence is elementwise, the layer computes `W x_t + b`
    for all steps in one matmul and runs only the elementwise loop
    `h_t = activation(z_t + u * h_{t-1})` step by step, compiled, with a
    hand-written backward pass, as the authors' CUDA kernel does. This fused
    path covers stacked layers, `return_sequences`, `go_backwards`,
    `Bidirectional`, initial states, `stateful`, mixed precision and masks.
    It is chosen automatically (as `keras.layers.LSTM` picks cuDNN) on the
    TensorFlow, JAX and torch backends when `activation` is `"relu"`,
    `"tanh"`, `"sigmoid"` or `None` and there is no recurrent dropout in
    training. Otherwise the layer runs the generic cell loop of
    `keras.layers.RNN`. Both give the same outputs and gradients.

    With `scan="parallel"` the recurrence runs instead as an exact
    associative scan (`keras.ops.associative_scan`, depth `O(log T)`): with
    ReLU, each step `h -> relu(z_t + u * h)` is a clamped affine map, and
    clamped affine maps compose into clamped affine maps. This holds for the
    activations that are a clamp of an affine function: `"relu"`, `None`
    (linear), `"relu6"`, `"hard_tanh"`, `"hard_sigmoid"` and
    `"sparse_sigmoid"`; other activations are refused. It is numerically
    safe under the recurrent bound (`timesteps`): every product of `u` over
    the sequence is then at most `gamma` in magnitude. It covers the same
    options as the sequential loop (masks, `go_backwards`, initial states,
    either sign of `u`), with a hand-written gradient. `scan="auto"` picks,
    per backend and device kind, the scan measured faster; where nothing
    was measured (GPUs and TPUs for now) it picks the sequential loop.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function to use. Default: `"relu"`.
        use_bias: Boolean (default `True`), whether the layer uses a bias.
        kernel_initializer: Initializer for the input `kernel`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer for the recurrent vector `u`.
            Default: `None`, the paper's range (see `IndRNNCell`).
        bias_initializer: Initializer for the bias. Default: `"zeros"`.
        kernel_regularizer: Regularizer function applied to `kernel`.
        recurrent_regularizer: Regularizer function applied to `u`.
        bias_regularizer: Regularizer function applied to the bias.
        activity_regularizer: Regularizer function applied to the output.
        kernel_constraint: Constraint function applied to `kernel`.
        recurrent_constraint: Constraint function applied to `u`. Default:
            `None`, the paper's `RecurrentBound` when `timesteps` is given.
        bias_constraint: Constraint function applied to the bias.
        dropout: Float in [0, 1). Fraction of the input features to drop.
        recurrent_dropout: Float in [0, 1). Fraction of the recurrent state
            to drop. Disables the fused path in training.
        timesteps: Positive integer or `None`, the sequence length `T` used
            for the bound `gamma ** (1 / T)` and the initialization of `u`.
            With `None` there is no bound.
        gamma: Positive float, see `IndRNNCell`. Default: 2.0.
        long_memory: Boolean, initialize `u` for a long memory (the last
            layer of a deep IndRNN). Default: `False`.
        nonnegative_recurrent: Boolean, bound `u` in `[0, b]` instead of
            `[-b, b]`. Default: `False`.
        return_sequences: Boolean. Whether to return the last output in the
            output sequence, or the full sequence. Default: `False`.
        return_state: Boolean. Whether to return the last state in addition
            to the output. Default: `False`.
        go_backwards: Boolean (default `False`). If `True`, process the input
            sequence backwards and return the reversed sequence.
        stateful: Boolean (default `False`). If `True`, the last state for
            each sample at index i in a batch is used as the initial state
            for the sample of index i in the following batch.
        unroll: Boolean (default `False`). Unrolls the generic cell loop;
            the fused path ignores it.
        seed: Random seed for dropout.
        use_fused: `"auto"` (default), `True` or `False`. `"auto"` uses the
            fused path when the options allow it; `True` too, and warns,
            naming the reason, when a call has to run the generic cell loop;
            `False` always runs the generic cell loop.
        scan: `"auto"` (default), `"sequential"` or `"parallel"`: how the
            fused path runs the recurrence, a loop over the steps or the
            exact associative scan described above. `"parallel"` needs a
            clamped affine activation and `use_fused` other than `False`.

    Call arguments:
        sequences: A 3D tensor, with shape `(batch, timesteps, features)`.
        mask: Binary tensor of shape `(batch, timesteps)`; a masked step
            leaves the state unchanged.
        training: Python boolean, training or inference mode (dropout).
        initial_state: List of initial state tensors for the first step.

    Example:

    ```python
    inputs = np.random.random((32, 784, 1)).astype("float32")
    layer = IndRNN(128, timesteps=784, return_sequences=True)
    outputs = layer(inputs)  # Shape `(32, 784, 128)`.
    ```

    Reference:
    - [Li et al., 2018, Independently Recurrent Neural Network (IndRNN):
      Building A Longer and Deeper RNN](https://arxiv.org/abs/1803.04831)
    """

    def __init__(
        self,
        units,
        activation="relu",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer=None,
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
        timesteps=None,
        gamma=2.0,
        long_memory=False,
        nonnegative_recurrent=False,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        seed=None,
        use_fused="auto",
        scan="auto",
        **kwargs,
    ):
        scan = _checks.scan(scan)
        if scan == "parallel":
            _require_parallel_scan(activation, use_fused)
        cell = IndRNNCell(
            units,
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
            timesteps=timesteps,
            gamma=gamma,
            long_memory=long_memory,
            nonnegative_recurrent=nonnegative_recurrent,
            dtype=kwargs.get("dtype", None),
            trainable=kwargs.get("trainable", True),
            name="indrnn_cell",
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
        self.input_spec = [InputSpec(ndim=3)]
        self.scan = scan

    def _scan_path(self, x=None):
        """`"parallel"` or `"sequential"`: the scan a fused call runs."""
        if self.scan != "auto":
            return self.scan
        if _parallel_scan.clamp_name(self.cell.activation) is None:
            return "sequential"
        return _parallel_scan.auto_scan(x)

    def fused_unavailable_reason(self, training=False):
        if self._scan_path() == "sequential":
            return super().fused_unavailable_reason(training)
        if self.use_fused is False:
            return "use_fused=False"
        if training and self.cell.recurrent_dropout:
            return "recurrent_dropout is used in training"
        return None

    def _fused_recurrence(self, x, states, mask, activation, training):
        cell = self.cell
        dtype = cell.compute_dtype
        u = ops.cast(cell.recurrent_kernel, dtype)
        if self._scan_path(x) == "parallel":
            result = _parallel_scan.indrnn(
                self._input_projection(x), u, states[0], mask,
                _parallel_scan.clamp_name(cell.activation),
                self.return_sequences,
            )
            h_last = result[:, -1] if self.return_sequences else result
            return result, [h_last]
        projection = {}
        module = backend_module()
        few = x.shape[-1] is not None and x.shape[-1] <= FEW_FEATURES
        if few or getattr(module, "PROJECTS_INPUTS", False):
            # Few features (pixel MNIST, the adding problem): the loop
            # computes `x_t W + b` itself and stores no `(B, T, units)` z.
            # (The torch module always projects, to lay z out time-major.)
            bias = ops.zeros_like(u) if cell.bias is None else cell.bias
            projection = {"kernel": ops.cast(cell.kernel, dtype),
                          "bias": ops.cast(bias, dtype)}
        else:
            x = self._input_projection(x)
        result = module.indrnn(
            x, u, states[0], mask, activation, self.return_sequences, training,
            **projection,
        )
        h_last = result[:, -1] if self.return_sequences else result
        return result, [h_last]

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(
            sequences, mask=mask, training=training, initial_state=initial_state
        )

    @property
    def units(self):
        return self.cell.units

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

    @property
    def timesteps(self):
        return self.cell.timesteps

    @property
    def gamma(self):
        return self.cell.gamma

    @property
    def long_memory(self):
        return self.cell.long_memory

    @property
    def nonnegative_recurrent(self):
        return self.cell.nonnegative_recurrent

    @property
    def seed(self):
        return self.cell.seed

    def get_config(self):
        cell_config = self.cell.get_config()
        config = {
            key: cell_config[key]
            for key in (
                "units",
                "activation",
                "use_bias",
                "kernel_initializer",
                "recurrent_initializer",
                "bias_initializer",
                "kernel_regularizer",
                "recurrent_regularizer",
                "bias_regularizer",
                "kernel_constraint",
                "recurrent_constraint",
                "bias_constraint",
                "dropout",
                "recurrent_dropout",
                "seed",
                "timesteps",
                "gamma",
                "long_memory",
                "nonnegative_recurrent",
            )
        }
        config["activity_regularizer"] = regularizers.serialize(
            self.activity_regularizer
        )
        config["scan"] = self.scan
        base_config = super().get_config()
        del base_config["cell"]
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _require_parallel_scan(activation, use_fused):
    """Refuses `scan="parallel"` where it cannot run, in one line."""
    if use_fused is False:
        raise ValueError(
            "`scan='parallel'` is a fused path and `use_fused=False` turns "
            "fused paths off: pass one of them. Received: use_fused=False, "
            "scan='parallel'"
        )
    if _parallel_scan.clamp_name(_checks.activation(activation)) is None:
        names = ", ".join(f"'{n}'" for n in _parallel_scan.CLAMPED_AFFINE)
        raise ValueError(
            "`scan='parallel'` is exact only for an activation that is a "
            f"clamped affine map ({names} or None). Received: "
            f"activation={activation!r}"
        )
