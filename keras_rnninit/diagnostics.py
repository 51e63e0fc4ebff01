"""Diagnostics that show why an initialization trains: gradient flow over
time, recurrent spectra, input-perturbation sensitivity, phase portraits.

Every function returns NumPy arrays; each has a `plot_*` companion that draws
them with matplotlib (imported only when a plot is asked for).
"""

import math
import numbers

import keras
import numpy as np
from keras import ops
from keras import tree

from keras_rnninit import _checks
from keras_rnninit import _keras_compat

# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def _as_sequences(x, name="x"):
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(
            f"`{name}` must be a batch of sequences of shape "
            f"(batch, timesteps, features). Received: {name}.shape={x.shape}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype("float32")
    return x


def _rnn_of_model(model, x, layer):
    """Builds `model` if needed and returns its RNN layer (no states returned)."""
    if not isinstance(model, keras.Model):
        raise ValueError(
            "`model` must be a `keras.Model` or a `keras.layers.RNN`. "
            f"Received: model={model!r}"
        )
    if not model.built:
        model(x[:1])
    rnn = _find_rnn_layer(model, layer)
    if rnn.return_state:
        raise ValueError(
            "The RNN layer must not return its states. Received: "
            f"layer={rnn.name!r} with return_state=True"
        )
    return rnn


def _find_rnn_layer(model, layer):
    """The `keras.layers.RNN` of `model` to inspect (by instance, name, index)."""
    if isinstance(layer, keras.layers.RNN):
        if layer not in model.layers:
            raise ValueError(
                f"`layer` must be one of the model's layers. Received: "
                f"layer={layer.name!r}, not in model {model.name!r}."
            )
        return layer
    if layer is None:
        for candidate in model.layers:
            if isinstance(candidate, keras.layers.RNN):
                return candidate
        raise ValueError(
            "The model has no `keras.layers.RNN` layer (SimpleRNN, LSTM, GRU "
            "or RNN with a cell) among its top-level layers. Pass it as "
            f"`layer=`. Received: model={model.name!r} with layers "
            f"{[lay.name for lay in model.layers]}"
        )
    if isinstance(layer, str):
        found = model.get_layer(name=layer)
    elif isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
        found = model.get_layer(index=int(layer))
    else:
        raise ValueError(
            "`layer` must be None, a layer name, an index or a "
            f"`keras.layers.RNN` instance. Received: layer={layer!r}"
        )
    if not isinstance(found, keras.layers.RNN):
        raise ValueError(
            "`layer` must designate a `keras.layers.RNN` (SimpleRNN, LSTM, GRU "
            f"or RNN with a cell). Received: layer={layer!r}, a "
            f"{type(found).__name__}"
        )
    return found


def _split_model(model, x, layer):
    """Returns `(rnn_layer, rnn_inputs, head)` for `model` around `layer`.

    `rnn_inputs` is the (NumPy) input the RNN layer receives for `x`, `head`
    maps the RNN layer's output to the model's output (identity if `model` is
    the RNN layer itself).
    """
    if isinstance(model, keras.layers.RNN):
        if layer is not None and layer is not model:
            raise ValueError(
                "When `model` is an RNN layer, `layer` must be None. "
                f"Received: layer={layer!r}"
            )
        if not model.built:
            model(x[:1])
        return model, x, lambda h: h
    rnn = _rnn_of_model(model, x, layer)
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    outputs = model.outputs[0] if len(model.outputs) == 1 else model.outputs
    if rnn.input is inputs:
        rnn_inputs = x
    else:
        rnn_inputs = _to_numpy(keras.Model(inputs, rnn.input)(x, training=False))
    head = keras.Model(rnn.output, outputs)
    return rnn, rnn_inputs, lambda h: head(h, training=False)


def _first_state_size(state_size):
    first = tree.flatten(state_size)[0] if tree.is_nested(state_size) else state_size
    return int(first)


def _value_gradient(fn, x):
    """Gradient of the scalar `fn(x)` with respect to the array `x`."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return _to_numpy(tape.gradient(value, x))
    if backend == "jax":
        import jax

        return _to_numpy(jax.grad(fn)(ops.convert_to_tensor(x)))
    if backend == "torch":
        import torch

        x = ops.convert_to_tensor(x).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(fn(x), x)
        return grad.detach().cpu().numpy()
    raise NotImplementedError(
        f"Gradients are not supported on the {backend!r} backend."
    )


class _ProbedCell(keras.layers.Layer):
    """Wraps a cell so that a probe `p_t` is added to its hidden state `h_t`.

    The probe arrives as the last `units` input features. It is added to the
    cell's output and to its first state, so `dL/dp_t = dL/dh_t` counts every
    path from `h_t` to the loss: the output at `t` and all later steps.
    """

    def __init__(self, cell, units, **kwargs):
        super().__init__(dtype=cell.dtype_policy, **kwargs)
        self.cell = cell
        self.units = units
        self.state_size = cell.state_size
        self.output_size = units
        self._cell_takes_training = _keras_compat.cell_takes_training(cell)

    def build(self, input_shape):
        self.built = True

    def get_initial_state(self, batch_size=None):
        if hasattr(self.cell, "get_initial_state"):
            return self.cell.get_initial_state(batch_size=batch_size)
        return [
            ops.zeros((batch_size, d), dtype=self.compute_dtype)
            for d in tree.flatten(self.state_size)
        ]

    def call(self, inputs, states, training=False):
        x, probe = inputs[..., : -self.units], inputs[..., -self.units :]
        kwargs = {"training": training} if self._cell_takes_training else {}
        output, new_states = self.cell(x, states, **kwargs)
        nested = tree.is_nested(new_states)
        new_states = list(new_states) if nested else [new_states]
        new_states[0] = new_states[0] + probe
        return output + probe, new_states if nested else new_states[0]


def _loss_function(model, loss, y):
    if y is None:
        return None
    if loss is None:
        loss = getattr(model, "loss", None) or "mean_squared_error"
    if isinstance(loss, (dict, list, tuple)):
        raise ValueError(
            "Pass a single loss as `loss=` for a model with several losses. "
            f"Received: loss={loss!r}"
        )
    if isinstance(loss, keras.losses.Loss):
        # The unreduced per-example values: summed below, so each example's
        # gradient does not depend on the batch size.
        return loss.call
    return keras.losses.get(loss)


# ---------------------------------------------------------------------------
# Gradient flow over time
# ---------------------------------------------------------------------------


def gradient_flow(model, x, y=None, loss=None, layer=None, per_example=False):
    """Norm of the gradient of the loss with respect to each hidden state.

    Computes `||dL/dh_t||` for `t = 1..T`, where `h_t` is the hidden state of
    an RNN layer at step `t`, on a batch. The gradient reaching `h_t` from
    step `T` is multiplied by the recurrent Jacobian `T - t` times, so with a
    recurrent matrix of spectral radius `rho` (linear activation) it scales
    like `rho ** (T - t)`: a curve falling to the left shows vanishing
    gradients, a curve rising to the left shows exploding ones.

    `h_t` is the cell's output at step `t`, which for Keras's cells and this
    package's cells is also its first state. The RNN layer is re-run with a
    zero probe added to `h_t` at every step (its weights are shared, not
    copied) and the gradient of the loss with respect to the probe is read;
    this works for `SimpleRNN`, `LSTM`, `GRU` and any `keras.layers.RNN` with a
    custom cell whose first state has the size of its output.

    Args:
        model: A `keras.Model` containing an RNN layer among its top-level
            layers, or a `keras.layers.RNN` itself.
        x: NumPy array `(batch, timesteps, features)`, the model's input.
        y: Optional targets. If `None`, the loss is the sum of the model's
            outputs, so `dL/dh_t` is the Jacobian of the output with respect
            to `h_t` summed over outputs.
        loss: The loss used when `y` is given: a name, a loss function or a
            `keras.losses.Loss`. Defaults to the model's compiled loss, or
            mean squared error. Losses are summed over the batch, so each
            example's gradient is that of its own loss.
        layer: The RNN layer of `model` to inspect: an instance, a name or an
            index. Defaults to the first `keras.layers.RNN` layer.
        per_example: If True, return one curve per example.

    Returns:
        A NumPy array of shape `(timesteps,)`: entry `t - 1` is the mean over
        the batch of `||dL/dh_t||` (indexed by input position). With
        `per_example=True`, shape `(batch, timesteps)`.

    Example:

    ```python
    model = keras.Sequential([
        keras.Input((100, 2)),
        keras.layers.SimpleRNN(64, activation="relu",
                               recurrent_initializer=NPInit(seed=0)),
        keras.layers.Dense(1),
    ])
    norms = gradient_flow(model, x, y, loss="mse")
    plot_gradient_flow(norms, label="np-RNN")
    ```

    Reference:
    - [Pascanu et al., 2013](https://arxiv.org/abs/1211.5063), "On the
      difficulty of training recurrent neural networks".
    """
    x = _as_sequences(x)
    rnn, rnn_inputs, head = _split_model(model, x, layer)
    cell = rnn.cell
    units = _first_state_size(cell.state_size)
    output_size = getattr(cell, "output_size", units)
    if output_size is not None and int(output_size) != units:
        raise ValueError(
            "gradient_flow needs a cell whose output is its first state. "
            f"Received: layer={rnn.name!r} with output_size={output_size} "
            f"and state_size={cell.state_size}"
        )
    probed = keras.layers.RNN(
        _ProbedCell(cell, units),
        return_sequences=rnn.return_sequences,
        go_backwards=rnn.go_backwards,
    )
    loss_fn = _loss_function(model, loss, y)
    dtype = cell.compute_dtype
    rnn_inputs = ops.convert_to_tensor(rnn_inputs, dtype=dtype)
    initial_state = list(rnn.states) if rnn.stateful else None
    y_tensor = None if y is None else ops.convert_to_tensor(np.asarray(y))

    def total_loss(probe):
        inputs = ops.concatenate([rnn_inputs, probe], axis=-1)
        outputs = head(probed(inputs, initial_state=initial_state))
        if loss_fn is None:
            return sum(ops.sum(o) for o in tree.flatten(outputs))
        return ops.sum(loss_fn(y_tensor, outputs))

    probe = np.zeros(x.shape[:2] + (units,), dtype=dtype)
    grads = _value_gradient(total_loss, probe)
    norms = np.linalg.norm(grads.astype("float64"), axis=-1)
    return norms if per_example else norms.mean(axis=0)


def plot_gradient_flow(norms, ax=None, label=None, log_scale=True):
    """Plots `gradient_flow`'s output against the time step.

    Args:
        norms: Array `(timesteps,)` or `(batch, timesteps)` (then the mean is
            drawn with the 10th-90th percentile band).
        ax: Optional matplotlib `Axes` to draw into, so that several models
            can share one plot.
        label: Optional legend label.
        log_scale: If True, a logarithmic y axis.

    Returns:
        The matplotlib `Figure`.
    """
    norms = np.asarray(norms, dtype="float64")
    if norms.ndim not in (1, 2):
        raise ValueError(
            "`norms` must have shape (timesteps,) or (batch, timesteps). "
            f"Received: norms.shape={norms.shape}"
        )
    fig, ax = _figure_and_axes(ax)
    steps = np.arange(1, norms.shape[-1] + 1)
    curve = norms if norms.ndim == 1 else norms.mean(axis=0)
    (line,) = ax.plot(steps, curve, label=label)
    if norms.ndim == 2:
        low, high = np.percentile(norms, [10, 90], axis=0)
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.set_title("Gradient flow over time")
    if label is not None:
        ax.legend()
    return fig


def _figure_and_axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
        return fig, ax
    return ax.figure, ax


# ---------------------------------------------------------------------------
# Recurrent spectrum
# ---------------------------------------------------------------------------

_GATES = {4: ("input", "forget", "cell", "output"), 3: ("update", "reset", "new")}


def _recurrent_weight(weights):
    if isinstance(weights, keras.layers.RNN):
        weights = weights.cell
    if isinstance(weights, keras.layers.Layer):
        if not weights.built:
            raise ValueError(
                "The layer must be built before its recurrent weights can be "
                f"read. Received: an unbuilt {type(weights).__name__} "
                f"{weights.name!r}"
            )
        kernel = getattr(weights, "recurrent_kernel", None)
        if kernel is None:
            raise ValueError(
                "The layer's cell has no `recurrent_kernel` weight. Received: "
                f"{type(weights).__name__} {weights.name!r}"
            )
        weights = kernel
    w = _to_numpy(weights).astype("float64")
    if w.ndim == 1 and w.size > 0:
        return w
    if w.ndim == 2 and w.shape[0] > 0 and w.shape[1] % w.shape[0] == 0:
        return w
    raise ValueError(
        "The recurrent weight must be a vector (N,) (IndRNN), a square matrix "
        "(N, N) or a stacked kernel (N, k * N) (LSTM, GRU). Received: "
        f"shape={w.shape}"
    )


def recurrent_spectrum(weights):
    """Eigenvalues of an RNN's recurrent weight.

    Args:
        weights: A built RNN layer (`SimpleRNN`, `LSTM`, `GRU`, a
            `keras.layers.RNN` whose cell has a `recurrent_kernel`), a cell,
            or the weight itself (array or variable).

    Returns:
        For a square recurrent matrix `(N, N)`: a complex array `(N,)` of its
        eigenvalues, sorted by decreasing modulus. For a stacked kernel
        `(N, k * N)` (LSTM k=4 in gate order input, forget, cell, output;
        GRU k=3: update, reset, new): a complex array `(k, N)`, one row per
        block. For a vector `u` of shape `(N,)` (IndRNN's recurrent weight,
        the diagonal of its recurrent matrix): `u` itself as a float array,
        the eigenvalues of `diag(u)`.

    Example:

    ```python
    layer = keras.layers.SimpleRNN(64, recurrent_initializer=NPInit(seed=0))
    layer.build((None, 10, 3))
    eigenvalues = recurrent_spectrum(layer)  # max is 1 for NPInit
    ```
    """
    w = _recurrent_weight(weights)
    if w.ndim == 1:
        return w.copy()
    n = w.shape[0]
    blocks = [w[:, k * n : (k + 1) * n] for k in range(w.shape[1] // n)]
    spectra = []
    for block in blocks:
        eigenvalues = np.linalg.eigvals(block)
        spectra.append(eigenvalues[np.argsort(-np.abs(eigenvalues), kind="stable")])
    spectra = np.stack(spectra)
    return spectra[0] if len(blocks) == 1 else spectra


def spectral_radius(weights):
    """Largest eigenvalue modulus of a recurrent weight (per block if stacked).

    Accepts what `recurrent_spectrum` accepts; returns a float, or an array
    `(k,)` for a stacked `(N, k * N)` kernel. For IndRNN's vector `u`, this
    is `max |u_n|`.
    """
    spectrum = np.abs(recurrent_spectrum(weights))
    radius = spectrum.max(axis=-1)
    return float(radius) if np.ndim(radius) == 0 else radius


def plot_spectrum(weights, timesteps=None, gamma=2.0, ax=None, label=None):
    """Draws a recurrent weight's spectrum.

    A square or stacked kernel: its eigenvalues in the complex plane with the
    unit circle (one colour per gate block). IndRNN's vector `u`: a histogram
    of `u` with the bound `+-gamma ** (1 / timesteps)` beyond which gradients
    may grow by more than `gamma` over `timesteps` steps, and the lower edge
    `(1 / gamma) ** (1 / timesteps)` used to keep long memory.

    Args:
        weights: What `recurrent_spectrum` accepts.
        timesteps: Sequence length `T` for IndRNN's bound (vector weights).
        gamma: The IndRNN bound's largest allowed gradient growth.
        ax: Optional matplotlib `Axes`.
        label: Optional legend label.

    Returns:
        The matplotlib `Figure`.

    Reference:
    - [Li et al., 2018](https://arxiv.org/abs/1803.04831), "Independently
      Recurrent Neural Network (IndRNN): Building A Longer and Deeper RNN".
    """
    spectrum = recurrent_spectrum(weights)
    fig, ax = _figure_and_axes(ax)
    if np.isrealobj(spectrum):
        ax.hist(spectrum, bins=min(50, max(10, spectrum.size // 4)), label=label)
        if timesteps is not None:
            timesteps = _checks.positive_int(timesteps, "timesteps")
            gamma = _checks.positive_number(gamma, "gamma")
            bound = gamma ** (1.0 / timesteps)
            for edge in (-bound, bound):
                ax.axvline(edge, color="red", linestyle="--")
            ax.axvline(
                (1.0 / gamma) ** (1.0 / timesteps), color="gray", linestyle=":"
            )
            ax.set_title(
                f"Recurrent weights u vs the bound {gamma:g}^(1/{timesteps}) "
                f"= {bound:.4f}"
            )
        else:
            ax.set_title("Recurrent weights u")
        ax.set_xlabel("u")
        ax.set_ylabel("count")
    else:
        theta = np.linspace(0, 2 * np.pi, 361)
        ax.plot(np.cos(theta), np.sin(theta), color="gray", linewidth=0.8)
        rows = spectrum if spectrum.ndim == 2 else spectrum[None]
        names = _GATES.get(len(rows), [f"block {k}" for k in range(len(rows))])
        for k, row in enumerate(rows):
            name = names[k] if len(rows) > 1 else None
            text = " ".join(s for s in (label, name) if s) or None
            ax.scatter(row.real, row.imag, s=10, label=text)
        ax.set_aspect("equal")
        ax.set_xlabel("Re")
        ax.set_ylabel("Im")
        ax.set_title("Recurrent eigenvalues")
        if label is not None or len(rows) > 1:
            ax.legend()
    return fig


# ---------------------------------------------------------------------------
# Input-perturbation sensitivity
# ---------------------------------------------------------------------------


def input_sensitivity(
    model,
    x,
    epsilon=1e-2,
    layer=None,
    perturbation=None,
    seed=None,
    per_example=False,
    max_batch_elements=2**22,
):
    """How far the last hidden state moves when one input step is perturbed.

    For each step `t`, adds a perturbation `delta` of norm `epsilon` to the
    input at `t` only and measures `||h_T(x + delta e_t) - h_T(x)||`. For a
    linear RNN `h_t = W h_{t-1} + U x_t` this is exactly `||W^k U delta||`
    with `k = T - t`. np-RNN's hypothesis is that the identity initialization
    keeps this large for every `k` (every perturbation persists), while a
    normalized positive-definite matrix lets it fade except along one
    direction, making training less sensitive to hyperparameters.

    Args:
        model: A `keras.Model` containing an RNN layer among its top-level
            layers, or a `keras.layers.RNN` itself. `x` is the model's input.
        x: NumPy array `(batch, timesteps, features)`.
        epsilon: Positive float, the norm of the random perturbation.
        layer: The RNN layer whose last hidden state is measured: instance,
            name or index. Defaults to the first `keras.layers.RNN`.
        perturbation: Optional array `(features,)` or `(batch, features)` used
            as `delta` as given (then `epsilon` and `seed` are ignored).
        seed: Seed of the random directions.
        per_example: If True, return one curve per example.
        max_batch_elements: Upper bound on the number of input values run
            through the model at once (perturbed copies are batched).

    Returns:
        A NumPy array of shape `(timesteps,)`: entry `k` is the mean over the
        batch of `||h_T(x + delta e_{T-k}) - h_T(x)||`, the effect of a
        perturbation `k` steps before the last one. With `per_example=True`,
        shape `(batch, timesteps)`.

    Reference:
    - [Talathi and Vartak, 2015](https://arxiv.org/abs/1511.03771),
      "Improving performance of recurrent neural network with relu
      nonlinearity".
    """
    x = _as_sequences(x)
    batch, timesteps, features = x.shape
    if perturbation is None:
        epsilon = _checks.positive_number(epsilon, "epsilon")
        directions = np.random.default_rng(seed).standard_normal((batch, features))
        norms = np.linalg.norm(directions, axis=-1, keepdims=True)
        perturbation = epsilon * directions / np.maximum(norms, 1e-12)
    else:
        perturbation = np.asarray(perturbation, dtype="float64")
        if perturbation.shape not in ((features,), (batch, features)):
            raise ValueError(
                "`perturbation` must have shape (features,) or (batch, "
                f"features) = ({features},) or ({batch}, {features}). "
                f"Received: perturbation.shape={perturbation.shape}"
            )
        perturbation = np.broadcast_to(perturbation, (batch, features))
    max_batch_elements = _checks.positive_int(max_batch_elements, "max_batch_elements")

    if isinstance(model, keras.layers.RNN):
        if not model.built:
            model(x[:1])
        rnn_model = model
    else:
        rnn = _rnn_of_model(model, x, layer)
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        rnn_model = keras.Model(inputs, rnn.output)

    def last_state(batch_x):
        h = _to_numpy(rnn_model(batch_x, training=False)).astype("float64")
        return h[:, -1] if h.ndim == 3 else h

    reference = last_state(x)
    # Copies of the batch, one per perturbed step, run in chunks.
    chunk = max(1, max_batch_elements // x.size)
    distances = np.empty((batch, timesteps))
    for start in range(0, timesteps, chunk):
        steps = np.arange(start, min(timesteps, start + chunk))
        copies = np.repeat(x[None], len(steps), axis=0)
        copies[np.arange(len(steps)), :, steps] += perturbation.astype(x.dtype)
        moved = last_state(copies.reshape((-1, timesteps, features)))
        moved = moved.reshape((len(steps), batch, -1))
        distances[:, steps] = np.linalg.norm(moved - reference[None], axis=-1).T
    by_distance = distances[:, ::-1]
    return by_distance if per_example else by_distance.mean(axis=0)


def plot_input_sensitivity(distances, ax=None, label=None, log_scale=True):
    """Plots `input_sensitivity`'s output against the distance `T - t`.

    Args:
        distances: Array `(timesteps,)` or `(batch, timesteps)`.
        ax: Optional matplotlib `Axes`.
        label: Optional legend label.
        log_scale: If True, a logarithmic y axis.

    Returns:
        The matplotlib `Figure`.
    """
    distances = np.asarray(distances, dtype="float64")
    if distances.ndim not in (1, 2):
        raise ValueError(
            "`distances` must have shape (timesteps,) or (batch, timesteps). "
            f"Received: distances.shape={distances.shape}"
        )
    fig, ax = _figure_and_axes(ax)
    curve = distances if distances.ndim == 1 else distances.mean(axis=0)
    ax.plot(np.arange(curve.shape[0]), curve, label=label)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("distance from the last step, T - t")
    ax.set_ylabel(r"$\|h_T(x + \delta e_t) - h_T(x)\|$")
    ax.set_title("Sensitivity of the last hidden state to input perturbations")
    if label is not None:
        ax.legend()
    return fig


# ---------------------------------------------------------------------------
# 2-unit ReLU phase portraits
# ---------------------------------------------------------------------------


def phase_matrix(eigenvalues, angle=math.pi / 6):
    """A symmetric 2 x 2 recurrent matrix with the given eigenvalues.

    `W = l1 v1 v1^T + l2 v2 v2^T` with `v1 = (cos a, sin a)` and
    `v2 = (-sin a, cos a)`. With `0 <= a <= pi / 2`, `v1` lies in the
    positive quadrant where ReLU hidden states live.

    Args:
        eigenvalues: Pair `(l1, l2)`.
        angle: The angle `a` of the first eigenvector, in radians.

    Returns:
        A float64 NumPy array `(2, 2)`.
    """
    values = np.asarray(eigenvalues, dtype="float64")
    if values.shape != (2,) or not np.all(np.isfinite(values)):
        raise ValueError(
            "`eigenvalues` must be a pair of finite numbers. Received: "
            f"eigenvalues={eigenvalues!r}"
        )
    if isinstance(angle, bool) or not isinstance(angle, numbers.Real):
        raise ValueError(f"`angle` must be a real number. Received: angle={angle!r}")
    c, s = math.cos(angle), math.sin(angle)
    v = np.array([[c, -s], [s, c]])
    return v @ np.diag(values) @ v.T


def phase_cases():
    """The four cases of np-RNN's phase-portrait figure, as recurrent matrices.

    Returns:
        A dict from a title to a `(2, 2)` matrix (see `phase_matrix`): both
        eigenvalues below 1 (every trajectory decays to 0), both equal to 1
        (IRNN: every state is a fixed point, every perturbation persists), one
        equal to 1 and one below (np-RNN: trajectories collapse onto a line of
        fixed points), and eigenvalues above 1 (trajectories explode).
    """
    return {
        "both < 1: (0.9, 0.6)": phase_matrix((0.9, 0.6)),
        "both = 1 (IRNN)": phase_matrix((1.0, 1.0)),
        "one = 1, one < 1 (np-RNN): (1, 0.6)": phase_matrix((1.0, 0.6)),
        "> 1: (1.1, 1.05)": phase_matrix((1.1, 1.05)),
    }


def phase_portrait(recurrent_matrix, initial_states=None, steps=30, grid=6):
    """Trajectories of a 2-unit ReLU RNN with zero input and zero bias.

    Iterates `h_{t+1} = relu(W h_t)` from each initial state.

    Args:
        recurrent_matrix: Array `(2, 2)`, the recurrent matrix `W`.
        initial_states: Optional array `(n, 2)`. Defaults to a `grid x grid`
            grid of points in `(0, 1]^2`.
        steps: Number of steps to iterate.
        grid: Points per axis of the default grid of initial states.

    Returns:
        A float64 NumPy array `(n, steps + 1, 2)`: the trajectories, starting
        with the initial states.

    Reference:
    - [Talathi and Vartak, 2015](https://arxiv.org/abs/1511.03771),
      "Improving performance of recurrent neural network with relu
      nonlinearity", the figure of hidden-node dynamics.
    """
    w = np.asarray(recurrent_matrix, dtype="float64")
    if w.shape != (2, 2):
        raise ValueError(
            "`recurrent_matrix` must have shape (2, 2). Received: "
            f"recurrent_matrix.shape={w.shape}"
        )
    steps = _checks.positive_int(steps, "steps")
    if initial_states is None:
        grid = _checks.positive_int(grid, "grid")
        axis = np.linspace(1.0 / grid, 1.0, grid)
        initial_states = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    h = np.asarray(initial_states, dtype="float64")
    if h.ndim != 2 or h.shape[1] != 2:
        raise ValueError(
            "`initial_states` must have shape (n, 2). Received: "
            f"initial_states.shape={h.shape}"
        )
    trajectory = [h]
    for _ in range(steps):
        h = np.maximum(h @ w.T, 0.0)
        trajectory.append(h)
    return np.stack(trajectory, axis=1)


def plot_phase_portraits(cases=None, steps=30, grid=6, axes=None, limit=1.6):
    """Draws the phase portraits of several 2-unit ReLU RNNs side by side.

    Each panel shows trajectories from a grid of initial states (dots mark the
    starts), the eigenvector directions of `W` (dashed), and, for eigenvalues
    equal to 1, the fixed points they carry.

    Args:
        cases: Dict from a title to a `(2, 2)` matrix. Defaults to
            `phase_cases()`, the four cases of np-RNN's figure.
        steps: Number of steps per trajectory.
        grid: Points per axis of the grid of initial states.
        axes: Optional sequence of matplotlib `Axes`, one per case.
        limit: Upper limit of both axes.

    Returns:
        The matplotlib `Figure`.

    Example:

    ```python
    fig = plot_phase_portraits()
    fig.savefig("phase_portrait.png")
    ```
    """
    import matplotlib.pyplot as plt

    cases = phase_cases() if cases is None else dict(cases)
    if not cases:
        raise ValueError(f"`cases` must not be empty. Received: cases={cases!r}")
    if axes is None:
        fig, axes = plt.subplots(
            1, len(cases), figsize=(3.6 * len(cases), 3.8), squeeze=False
        )
        axes = axes[0]
    else:
        axes = list(axes)
        if len(axes) != len(cases):
            raise ValueError(
                f"`axes` must hold one Axes per case ({len(cases)}). "
                f"Received: {len(axes)} axes"
            )
        fig = axes[0].figure
    for ax, (title, matrix) in zip(axes, cases.items()):
        paths = phase_portrait(matrix, steps=steps, grid=grid)
        for path in paths:
            ax.plot(path[:, 0], path[:, 1], color="tab:blue", linewidth=0.8)
        ax.scatter(paths[:, 0, 0], paths[:, 0, 1], s=8, color="tab:blue")
        ax.scatter(paths[:, -1, 0], paths[:, -1, 1], s=10, color="tab:red", zorder=3)
        values, vectors = np.linalg.eig(np.asarray(matrix, dtype="float64"))
        for value, vector in zip(values, vectors.T):
            if abs(value.imag) > 1e-12:
                continue
            vector = np.real(vector)
            ends = np.outer([-2 * limit, 2 * limit], vector)
            ax.plot(ends[:, 0], ends[:, 1], "k--", linewidth=0.6)
        ax.set_xlim(0, limit)
        ax.set_ylim(0, limit)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("$h_1$")
    axes[0].set_ylabel("$h_2$")
    fig.suptitle(
        r"2-unit ReLU RNN, zero input: $h_{t+1} = \mathrm{relu}(W h_t)$"
        " (blue: trajectories, red: after the last step)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
