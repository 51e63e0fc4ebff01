"""The fused-RNN base shared by `IndRNN` and `Clockwork`.

A fused layer splits the step `h_t = act(x_t W + b + R(h_{t-1}))` as the
IndRNN authors do: `z = x W + b` for all steps is one ordinary matmul, left
to Keras's autodiff (so the input and kernel gradients, stacked layers and
`return_sequences` come for free), and only the recurrence
`h_t = act(z_t + R(h_{t-1}))` runs in a compiled loop with a hand-written
backward pass. IndRNN's loops live in one module per backend
(`_fused_tensorflow`, `_fused_jax`, `_fused_torch`), Clockwork's in
`_clockwork_<backend>`, behind the same functions:

- `indrnn(z, u, h0, mask, activation, return_sequences, training,
  kernel=None, bias=None)`
- `clockwork(z, w, h0, active, prefix, activation, return_sequences,
  training)`

`z` is batch-major `(batch, steps, units)`; they return all states
`(batch, steps, units)` when `return_sequences`, else the last state.
Masked steps keep the previous state. The backward pass stores one
`(batch, steps, units)` tensor, the states, which are also the outputs.
With few input features, `indrnn` takes `x`, `kernel` and `bias` and
computes `z_t` in the loop, so that no `(batch, steps, units)` `z` is stored
(a module with `PROJECTS_INPUTS = True` takes them at any width). For
`clockwork`, `w` is the recurrent kernel with its forbidden blocks zeroed,
`active` `(batch, steps, modules)` is 1 where a module updates (0 at masked
steps), and `prefix` `(steps,)` int32 counts the modules computed at each
step, which must cover every active one. IndRNN's
other path, the exact parallel scan, is backend-agnostic (`_parallel_scan`).
"""

import importlib
import warnings

import keras
from keras import activations
from keras import ops

from keras_rnninit import _checks

# Activations whose derivative the backward pass writes from the output.
FUSED_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
FUSED_BACKENDS = ("tensorflow", "jax", "torch")
# With this many input features or fewer, `x W` is cheaper to compute
# where it is used than to store for all steps.
FEW_FEATURES = 4


def activation_name(activation):
    """The `FUSED_ACTIVATIONS` name of a Keras activation, or `None`."""
    name = getattr(activation, "__name__", None)
    if name in FUSED_ACTIVATIONS and activations.get(name) is activation:
        return name
    return None


def activate(name, z):
    if name == "linear":
        return z
    return getattr(ops, name)(z)


def derivative_from_output(name, h):
    """`act'(z)` written in terms of `h = act(z)`."""
    if name == "relu":
        return ops.cast(h > 0, h.dtype)
    if name == "tanh":
        return 1 - h * h
    if name == "sigmoid":
        return h * (1 - h)
    return ops.ones_like(h)


def backend_module(family="fused"):
    """This backend's kernel module of `family` (`_<family>_<backend>`)."""
    backend = keras.backend.backend()
    return importlib.import_module(f"keras_rnninit.layers._{family}_{backend}")


def _project(x, kernel):
    """`x @ kernel` over all steps."""
    features = kernel.shape[0]
    if keras.backend.backend() == "torch":
        # Keras 3.15's torch `ops.matmul` computes float64 in float32.
        return x @ kernel
    if keras.backend.backend() == "jax" and features <= FEW_FEATURES:
        # XLA's CPU dot is slow for a contraction over a few features (e.g.
        # pixel MNIST's one): broadcast products fuse with their consumer.
        z = x[..., :1] * kernel[0]
        for f in range(1, features):
            z = z + x[..., f : f + 1] * kernel[f]
        return z
    return ops.matmul(x, kernel)


class FusedRNN(keras.layers.RNN):
    """`keras.layers.RNN` with a fused loop for cells `act(x W + b + R(h))`.

    The cell must have `kernel`, `bias` (or `None`), `activation`, `dropout`
    and `recurrent_dropout`. Subclasses write `_fused_recurrence`.

    `use_fused="auto"` runs the fused loop whenever it can (like Keras's
    `use_cudnn="auto"`), `False` never, and `True` warns, naming the
    reason, when a call has to fall back to the generic cell loop.
    """

    def __init__(self, cell, use_fused="auto", **kwargs):
        super().__init__(cell, **kwargs)
        self.use_fused = _checks.use_fused(use_fused)

    def fused_unavailable_reason(self, training=False):
        """Why a call cannot run the fused loop, or `None` if it can."""
        if self.use_fused is False:
            return "use_fused=False"
        backend = keras.backend.backend()
        if backend not in FUSED_BACKENDS:
            return f"the {backend} backend has no fused loop"
        if activation_name(self.cell.activation) is None:
            return (
                f"the activation {self.cell.activation!r} is not one of "
                f"{FUSED_ACTIVATIONS}"
            )
        if training and self.cell.recurrent_dropout:
            return "recurrent_dropout is used in training"
        return None

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        reason = self.fused_unavailable_reason(training)
        if reason is None:
            return self._fused_loop(sequences, initial_state, mask, training)
        if self.use_fused is True:
            warnings.warn(
                f"{self.__class__.__name__} '{self.name}' got use_fused=True "
                f"but runs the generic cell loop: {reason}.",
                stacklevel=2,
            )
        return super().inner_loop(
            sequences, initial_state, mask=mask, training=training
        )

    def _fused_loop(self, sequences, initial_state, mask, training):
        cell = self.cell
        dtype = cell.dtype_policy.compute_dtype
        x = ops.cast(sequences, dtype)
        if training and cell.dropout:
            x = x * ops.expand_dims(cell.get_dropout_mask(x[:, 0, :]), 1)
        if mask is not None:
            mask = ops.cast(mask, dtype)
        if self.go_backwards:
            x = ops.flip(x, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
        # Keras's RNN has cast the states to the cell's `compute_dtype`.
        states = keras.tree.flatten(initial_state)
        result, new_states = self._fused_recurrence(
            x,
            states,
            mask,
            activation=activation_name(cell.activation),
            training=bool(training),
        )
        # The output is the state, except at masked steps, where Keras's
        # loop outputs zeros (`zero_output_for_mask`) or the last output.
        output_mask = None if mask is None else self._output_mask(mask)
        if self.return_sequences:
            outputs = result
            if output_mask is not None:
                outputs = outputs * output_mask[..., None]
            last_output = outputs[:, -1]
        else:
            last_output = result
            if output_mask is not None:
                last_output = last_output * output_mask[:, -1:]
            outputs = ops.expand_dims(last_output, 1)
        return last_output, outputs, new_states

    def _output_mask(self, mask):
        """Which outputs are the state (1) and which are zeros (0)."""
        if self.zero_output_for_mask:
            return mask
        if keras.backend.backend() in ("tensorflow", "torch"):
            # TensorFlow's and torch's loops start from a zero "last
            # output": steps before the first unmasked one output zeros.
            return ops.cast(ops.cumsum(mask, axis=1) > 0, mask.dtype)
        return None

    def _fused_recurrence(self, x, states, mask, activation, training):
        """Runs the recurrence over the (dropped-out, time-ordered) inputs.

        Returns all states `(batch, steps, units)` when `return_sequences`,
        else the last one, and the list of new layer states.
        """
        raise NotImplementedError

    def _input_projection(self, x):
        """`z = x W + b` for all steps, in the compute dtype."""
        dtype = self.cell.dtype_policy.compute_dtype
        z = _project(x, ops.cast(self.cell.kernel, dtype))
        if self.cell.bias is not None:
            z = z + ops.cast(self.cell.bias, dtype)
        return z

    def get_config(self):
        config = super().get_config()
        config["use_fused"] = self.use_fused
        return config
