"""Truncated back-propagation through time with stateful Keras RNNs.

A long sequence is cut into windows of `window_size` steps. A stateful RNN
reads the windows of a sequence one after the other, carrying its hidden state
from each window to the next, while gradients flow only inside a window.
States are reset when a new sequence starts.
"""


import keras
import numpy as np

from keras_rnninit import _checks
from keras_rnninit import _keras_compat
from keras_rnninit.api_export import keras_rnninit_export


def window_sequences(sequences, window_size, shift=None):
    """Cuts each sequence into windows of `window_size` steps, `shift` apart.

    Window `w` of a sequence covers steps `[w * shift, w * shift + window_size)`.
    Steps after the last full window are dropped. With `shift < window_size`
    the windows overlap, which suits stateless training on windows; a stateful
    RNN needs `shift == window_size` (see `stateful_windows`).

    Args:
        sequences: Array `(num_sequences, timesteps, ...)`.
        window_size: Positive integer, the number of steps per window (the
            truncation length of back-propagation through time).
        shift: Positive integer, the steps between the starts of consecutive
            windows. Defaults to `window_size` (non-overlapping windows).

    Returns:
        Array `(num_sequences, num_windows, window_size, ...)` with
        `num_windows = 1 + (timesteps - window_size) // shift`.

    Example:

    ```python
    x = np.arange(10).reshape(1, 10, 1)
    window_sequences(x, window_size=4, shift=3)[0, :, :, 0]
    # [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    ```
    """
    sequences = np.asarray(sequences)
    if sequences.ndim < 2:
        raise ValueError(
            "`sequences` must have shape (num_sequences, timesteps, ...). "
            f"Received: sequences.shape={sequences.shape}"
        )
    window_size = _checks.positive_int(window_size, "window_size")
    shift = window_size if shift is None else _checks.positive_int(shift, "shift")
    timesteps = sequences.shape[1]
    if window_size > timesteps:
        raise ValueError(
            "`window_size` must not exceed the sequence length "
            f"({timesteps}). Received: window_size={window_size!r}"
        )
    starts = np.arange(0, timesteps - window_size + 1, shift)
    index = starts[:, None] + np.arange(window_size)[None, :]
    return sequences[:, index]


def stateful_windows(x, y=None, window_size=None, batch_size=None, shift=None):
    """Windows of long sequences, ordered for a stateful RNN.

    Sequences are taken in groups of `batch_size`. For each group, the batches
    are its first windows, then its second windows, and so on, so that slot
    `b` of consecutive batches holds consecutive windows of the same
    sequence. Feed the result to `fit` (or `evaluate`, `predict`) with this
    `batch_size`, `shuffle=False`, and a `ResetStatesAtSequenceStart` callback
    (`fit_truncated_bptt` does all of it).

    Args:
        x: Array `(num_sequences, timesteps, features)`.
        y: Optional per-step targets `(num_sequences, timesteps, ...)`,
            windowed the same way.
        window_size: Positive integer, steps per window.
        batch_size: Positive integer dividing `num_sequences`: the stateful
            RNN's fixed batch size.
        shift: Must equal `window_size` (the default): a stateful RNN carries
            the state from the end of one window to the start of the next.

    Returns:
        A tuple `(x_windows, y_windows, windows_per_sequence)`: `x_windows` of
        shape `(num_sequences * num_windows, window_size, features)`,
        `y_windows` likewise (or `None`), and the number of windows per
        sequence.
    """
    x = np.asarray(x)
    if x.ndim < 3:
        raise ValueError(
            "`x` must have shape (num_sequences, timesteps, features). "
            f"Received: x.shape={x.shape}"
        )
    window_size = _checks.positive_int(window_size, "window_size")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    if shift is not None and shift != window_size:
        raise ValueError(
            "A stateful RNN carries its state from the end of one window to "
            "the start of the next, so `shift` must equal `window_size` "
            f"({window_size}). For overlapping windows use `window_sequences` "
            f"with a stateless RNN. Received: shift={shift!r}"
        )
    num_sequences = x.shape[0]
    if num_sequences % batch_size:
        raise ValueError(
            f"`batch_size` must divide the number of sequences "
            f"({num_sequences}). Received: batch_size={batch_size!r}"
        )
    if y is not None:
        y = np.asarray(y)
        if y.ndim < 2 or y.shape[:2] != x.shape[:2]:
            raise ValueError(
                "`y` must hold per-step targets of shape (num_sequences, "
                f"timesteps, ...) = {x.shape[:2]} + (...). "
                f"Received: y.shape={y.shape}"
            )
    x_windows = _stateful_order(window_sequences(x, window_size), batch_size)
    y_windows = (
        None
        if y is None
        else _stateful_order(window_sequences(y, window_size), batch_size)
    )
    windows_per_sequence = (x.shape[1] - window_size) // window_size + 1
    return x_windows, y_windows, windows_per_sequence


def _stateful_order(windows, batch_size):
    # (S, W, ...) -> (groups, B, W, ...) -> (groups, W, B, ...) -> flat.
    num_sequences, num_windows = windows.shape[:2]
    rest = windows.shape[2:]
    grouped = windows.reshape(
        (num_sequences // batch_size, batch_size, num_windows) + rest
    )
    return np.swapaxes(grouped, 1, 2).reshape((-1,) + rest)


def merge_windows(windows, batch_size, windows_per_sequence):
    """Inverse of `stateful_windows`' ordering: back to whole sequences.

    Useful for the per-step outputs of `model.predict` on the windows.

    Args:
        windows: Array `(num_sequences * windows_per_sequence, window_size,
            ...)` in the order of `stateful_windows`.
        batch_size: The batch size used to order the windows.
        windows_per_sequence: Windows per sequence.

    Returns:
        Array `(num_sequences, windows_per_sequence * window_size, ...)`.
    """
    windows = np.asarray(windows)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    windows_per_sequence = _checks.positive_int(windows_per_sequence, "windows_per_sequence")
    per_group = batch_size * windows_per_sequence
    if windows.ndim < 2 or windows.shape[0] % per_group:
        raise ValueError(
            "`windows` must have shape (num_sequences * windows_per_sequence, "
            f"window_size, ...) with a first dimension divisible by "
            f"batch_size * windows_per_sequence = {per_group}. "
            f"Received: windows.shape={windows.shape}"
        )
    rest = windows.shape[1:]
    grouped = windows.reshape((-1, windows_per_sequence, batch_size) + rest)
    grouped = np.swapaxes(grouped, 1, 2)
    return grouped.reshape((-1, windows_per_sequence * rest[0]) + rest[1:])


def _stateful_layers(layer):
    found = []
    if getattr(layer, "stateful", False) and hasattr(layer, "reset_state"):
        found.append(layer)
    for child in getattr(layer, "layers", []) or []:
        found.extend(_stateful_layers(child))
    for name in ("forward_layer", "backward_layer", "layer"):
        child = getattr(layer, name, None)
        if isinstance(child, keras.layers.Layer) and child not in found:
            found.extend(
                lay for lay in _stateful_layers(child) if lay not in found
            )
    return found


def reset_rnn_states(model):
    """Resets the states of every stateful RNN layer of `model` to zeros.

    Returns:
        The number of layers reset.
    """
    if keras.backend.backend() == "jax" and hasattr(model, "jax_state_sync"):
        # During `fit` the JAX trainer holds variable values outside the
        # variables; write them back first so that the reset is not lost.
        model.jax_state_sync()
    layers = _stateful_layers(model)
    for layer in layers:
        layer.reset_state()
    return len(layers)


def _set_state_tracking(model, track):
    """Lists (or unlists) stateful RNN states among the model's variables.

    Keras's RNN keeps its `states` variables out of the layer's tracked
    variables. The JAX trainer runs steps statelessly on the tracked
    variables only, so without this the states would read as zeros in every
    batch and never carry from one window to the next.
    """
    for layer in _stateful_layers(model):
        for variable in keras.tree.flatten(layer.states or []):
            _keras_compat.set_variable_tracked(layer, variable, track)


@keras_rnninit_export()
class ResetStatesAtSequenceStart(keras.callbacks.Callback):
    """Resets stateful RNN states whenever a new group of sequences starts.

    With the windows of `stateful_windows`, batch `i` starts new sequences
    when `i % windows_per_sequence == 0`. The callback resets every stateful
    RNN layer of the model then (in `fit`, `evaluate` and `predict`), and at
    the start of each epoch. Use it with `shuffle=False` and
    `steps_per_execution=1`.

    Args:
        windows_per_sequence: Positive integer, the windows per sequence.

    Example:

    ```python
    xw, yw, n = stateful_windows(x, y, window_size=50, batch_size=16)
    model.fit(xw, yw, batch_size=16, shuffle=False,
              callbacks=[ResetStatesAtSequenceStart(n)])
    ```

    Reference:
    - [Williams and Peng, 1990](https://doi.org/10.1162/neco.1990.2.4.490),
      "An Efficient Gradient-Based Algorithm for On-Line Training of
      Recurrent Network Trajectories".
    """

    def __init__(self, windows_per_sequence):
        super().__init__()
        self.windows_per_sequence = _checks.positive_int(
            windows_per_sequence, "windows_per_sequence"
        )

    _depth = 0

    def _begin(self, logs=None):
        if keras.backend.backend() == "jax":
            if self._depth == 0:
                _set_state_tracking(self.model, True)
            self._depth += 1

    def _end(self, logs=None):
        if keras.backend.backend() == "jax":
            self._depth -= 1
            if self._depth == 0:
                _set_state_tracking(self.model, False)

    on_train_begin = on_test_begin = on_predict_begin = _begin
    on_train_end = on_test_end = on_predict_end = _end

    def _maybe_reset(self, batch):
        if batch % self.windows_per_sequence == 0:
            reset_rnn_states(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        reset_rnn_states(self.model)

    def on_train_batch_begin(self, batch, logs=None):
        self._maybe_reset(batch)

    def on_test_batch_begin(self, batch, logs=None):
        self._maybe_reset(batch)

    def on_predict_batch_begin(self, batch, logs=None):
        self._maybe_reset(batch)

    def get_config(self):
        return {"windows_per_sequence": self.windows_per_sequence}


def fit_truncated_bptt(
    model,
    x,
    y,
    window_size,
    batch_size,
    epochs=1,
    callbacks=None,
    validation_data=None,
    **fit_kwargs,
):
    """Trains a stateful RNN model with truncated back-propagation through time.

    Cuts `x` and `y` into windows of `window_size` steps (`stateful_windows`)
    and calls `model.fit` on them in order, resetting the RNN states at the
    start of every group of sequences. Back-propagation runs inside each
    window only; the hidden state still flows forward across windows.

    Args:
        model: A compiled `keras.Model` with at least one RNN layer built with
            `stateful=True` and a fixed batch size `batch_size`, and
            per-step outputs (`return_sequences=True`).
        x: Array `(num_sequences, timesteps, features)`.
        y: Per-step targets `(num_sequences, timesteps, ...)`.
        window_size: Positive integer, the truncation length.
        batch_size: Positive integer dividing `num_sequences`.
        epochs: Number of passes over the data.
        callbacks: Extra Keras callbacks.
        validation_data: Optional `(x_val, y_val)` whole sequences, windowed
            the same way.
        **fit_kwargs: Passed to `model.fit` (`shuffle` is always False).

    Returns:
        The `History` of `model.fit`.

    Example:

    ```python
    model = keras.Sequential([
        keras.Input((50, 1), batch_size=8),
        keras.layers.SimpleRNN(32, stateful=True, return_sequences=True),
        keras.layers.Dense(1),
    ])
    model.compile("adam", "mse")
    fit_truncated_bptt(model, x, y, window_size=50, batch_size=8, epochs=3)
    ```
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a `keras.Model`. Received: model={model!r}")
    if not _stateful_layers(model):
        raise ValueError(
            "`model` has no stateful RNN layer: build its RNN layers with "
            "`stateful=True`, or the state would not carry across windows. "
            f"Received: model={model.name!r}"
        )
    if "shuffle" in fit_kwargs and fit_kwargs.pop("shuffle"):
        raise ValueError(
            "Windows must be fed in order: `shuffle` must be False. "
            "Received: shuffle=True"
        )
    x_windows, y_windows, per_sequence = stateful_windows(
        x, y, window_size=window_size, batch_size=batch_size
    )
    reset = ResetStatesAtSequenceStart(per_sequence)
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError(
                "`validation_data` must be a pair (x_val, y_val). "
                f"Received: {len(validation_data)} items"
            )
        x_val, y_val, val_per_sequence = stateful_windows(
            *validation_data, window_size=window_size, batch_size=batch_size
        )
        if val_per_sequence != per_sequence:
            raise ValueError(
                "Validation sequences must have as many windows as training "
                f"sequences ({per_sequence}). Received: {val_per_sequence}"
            )
        validation_data = (x_val, y_val)
    return model.fit(
        x_windows,
        y_windows,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=False,
        callbacks=[reset] + list(callbacks or []),
        validation_data=validation_data,
        **fit_kwargs,
    )
