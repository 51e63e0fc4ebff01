import keras
import numpy as np
import pytest

from keras_rnninit.truncated_bptt import ResetStatesAtSequenceStart
from keras_rnninit.truncated_bptt import fit_truncated_bptt
from keras_rnninit.truncated_bptt import merge_windows
from keras_rnninit.truncated_bptt import reset_rnn_states
from keras_rnninit.truncated_bptt import stateful_windows
from keras_rnninit.truncated_bptt import window_sequences

UNITS = 4
FEATURES = 2


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def rnn_model(timesteps, batch_size=None, stateful=False):
    model = keras.Sequential([
        keras.Input((timesteps, FEATURES), batch_size=batch_size),
        keras.layers.SimpleRNN(
            UNITS, activation="tanh", stateful=stateful, return_sequences=True
        ),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def copy_weights(source, target):
    target.set_weights(source.get_weights())


# Window cutting -----------------------------------------------------------------


@pytest.mark.parametrize("window_size,shift", [(4, 4), (4, 3), (3, 1), (10, 5)])
def test_window_sequences_matches_slicing(rng, window_size, shift):
    x = rng.standard_normal((3, 10, 2))
    windows = window_sequences(x, window_size, shift)
    starts = list(range(0, 10 - window_size + 1, shift))
    assert windows.shape == (3, len(starts), window_size, 2)
    for w, start in enumerate(starts):
        np.testing.assert_array_equal(windows[:, w], x[:, start : start + window_size])


def test_window_sequences_documented_example():
    x = np.arange(10).reshape(1, 10, 1)
    windows = window_sequences(x, window_size=4, shift=3)[0, :, :, 0]
    np.testing.assert_array_equal(windows, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])


def test_stateful_windows_order(rng):
    x = rng.standard_normal((4, 9, 2))
    y = rng.standard_normal((4, 9, 1))
    xw, yw, per_sequence = stateful_windows(x, y, window_size=3, batch_size=2)
    assert per_sequence == 3
    assert xw.shape == (12, 3, 2) and yw.shape == (12, 3, 1)
    for group in range(2):
        for w in range(3):
            for slot in range(2):
                row = (group * 3 + w) * 2 + slot
                seq = group * 2 + slot
                np.testing.assert_array_equal(xw[row], x[seq, 3 * w : 3 * w + 3])
                np.testing.assert_array_equal(yw[row], y[seq, 3 * w : 3 * w + 3])
    np.testing.assert_array_equal(merge_windows(xw, 2, 3), x)


def test_window_bad_arguments(rng):
    x = rng.standard_normal((4, 6, 2))
    with pytest.raises(ValueError, match="window_size=0"):
        window_sequences(x, 0)
    with pytest.raises(ValueError, match="window_size=7"):
        window_sequences(x, 7)
    with pytest.raises(ValueError, match="shift=0"):
        window_sequences(x, 3, shift=0)
    with pytest.raises(ValueError, match="window_size=2.5"):
        window_sequences(x, 2.5)
    with pytest.raises(ValueError, match="sequences.shape"):
        window_sequences(np.ones(3), 1)
    with pytest.raises(ValueError, match="batch_size=3"):
        stateful_windows(x, window_size=3, batch_size=3)
    with pytest.raises(ValueError, match="shift=1"):
        stateful_windows(x, window_size=3, batch_size=2, shift=1)
    with pytest.raises(ValueError, match="y.shape"):
        stateful_windows(x, np.ones((4, 5, 1)), window_size=3, batch_size=2)
    with pytest.raises(ValueError, match="x.shape"):
        stateful_windows(x[0], window_size=3, batch_size=2)
    with pytest.raises(ValueError, match="windows.shape"):
        merge_windows(np.ones((5, 3, 2)), 2, 3)
    with pytest.raises(ValueError, match="windows_per_sequence=0"):
        ResetStatesAtSequenceStart(0)


# Training -------------------------------------------------------------------------


def test_one_window_equals_full_bptt(rng):
    timesteps, batch = 6, 3
    x = rng.uniform(-1, 1, (batch, timesteps, FEATURES)).astype("float32")
    y = rng.uniform(-1, 1, (batch, timesteps, 1)).astype("float32")
    full = rnn_model(timesteps)
    truncated = rnn_model(timesteps, batch_size=batch, stateful=True)
    copy_weights(full, truncated)
    initial = full.get_weights()
    full.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    fit_truncated_bptt(
        truncated, x, y, window_size=timesteps, batch_size=batch, verbose=0
    )
    after = truncated.get_weights()
    for a, b in zip(full.get_weights(), after):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The step changed every weight: the comparison is not vacuous.
    assert all(not np.allclose(a, b) for a, b in zip(initial, after))


def test_state_carries_across_windows_and_resets_between_sequences(rng):
    timesteps, window, batch = 9, 3, 2
    x = rng.uniform(-1, 1, (4, timesteps, FEATURES)).astype("float32")
    full = rnn_model(timesteps)
    stateful = rnn_model(window, batch_size=batch, stateful=True)
    copy_weights(full, stateful)
    xw, _, per_sequence = stateful_windows(x, window_size=window, batch_size=batch)
    # Dirty states first: the callback must clear them at sequence starts.
    stateful.predict(xw[:batch] + 1.0, batch_size=batch, verbose=0)
    outputs = stateful.predict(
        xw,
        batch_size=batch,
        verbose=0,
        callbacks=[ResetStatesAtSequenceStart(per_sequence)],
    )
    np.testing.assert_allclose(
        merge_windows(outputs, batch, per_sequence),
        full.predict(x, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


def test_gradients_stop_at_window_boundaries(rng):
    """Two windows: each step's gradient sees only its own window.

    Reference: a stateless model whose initial state is an input (so no
    gradient can reach an earlier window), trained window by window with the
    state carried by hand, computed before each update as a stateful RNN does.
    """
    window, batch = 3, 2
    x = rng.uniform(-1, 1, (batch, 2 * window, FEATURES)).astype("float32")
    y = rng.uniform(-1, 1, (batch, 2 * window, 1)).astype("float32")

    inputs = keras.Input((window, FEATURES))
    h0 = keras.Input((UNITS,))
    rnn = keras.layers.SimpleRNN(UNITS, return_sequences=True, return_state=True)
    sequence, last = rnn(inputs, initial_state=h0)
    outputs = keras.layers.Dense(1)(sequence)
    reference = keras.Model([inputs, h0], outputs)
    reference.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    state_model = keras.Model([inputs, h0], last)

    truncated = rnn_model(window, batch_size=batch, stateful=True)
    copy_weights(reference, truncated)

    state = np.zeros((batch, UNITS), "float32")
    for w in range(2):
        steps = slice(w * window, (w + 1) * window)
        xs, ys = x[:, steps], y[:, steps]
        next_state = to_numpy(state_model([xs, state]))
        reference.train_on_batch([xs, state], ys)
        state = next_state

    fit_truncated_bptt(truncated, x, y, window_size=window, batch_size=batch, verbose=0)
    for a, b in zip(reference.get_weights(), truncated.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fit_with_validation_and_reset_helper(rng):
    window, batch = 4, 2
    x = rng.uniform(-1, 1, (4, 8, FEATURES)).astype("float32")
    y = rng.uniform(-1, 1, (4, 8, 1)).astype("float32")
    model = rnn_model(window, batch_size=batch, stateful=True)
    history = fit_truncated_bptt(
        model,
        x,
        y,
        window_size=window,
        batch_size=batch,
        epochs=2,
        validation_data=(x[:2], y[:2]),
        verbose=0,
    )
    assert len(history.history["loss"]) == 2
    assert np.all(np.isfinite(history.history["val_loss"]))
    assert reset_rnn_states(model) == 1
    for state in model.layers[0].states:
        np.testing.assert_array_equal(to_numpy(state), 0.0)


def test_fit_bad_arguments(rng):
    x = rng.uniform(-1, 1, (2, 4, FEATURES)).astype("float32")
    y = rng.uniform(-1, 1, (2, 4, 1)).astype("float32")
    with pytest.raises(ValueError, match="no stateful RNN layer"):
        fit_truncated_bptt(rnn_model(2), x, y, window_size=2, batch_size=2)
    stateful = rnn_model(2, batch_size=2, stateful=True)
    with pytest.raises(ValueError, match="shuffle=True"):
        fit_truncated_bptt(stateful, x, y, window_size=2, batch_size=2, shuffle=True)
    with pytest.raises(ValueError, match="model="):
        fit_truncated_bptt("model", x, y, window_size=2, batch_size=2)


def test_callback_config_round_trip():
    callback = ResetStatesAtSequenceStart(5)
    assert callback.get_config() == {"windows_per_sequence": 5}
    clone = ResetStatesAtSequenceStart(**callback.get_config())
    assert clone.windows_per_sequence == 5
