import warnings

import keras
import numpy as np
import pytest
from helpers import assert_config_round_trip
from helpers import assert_reload_matches
from fused_checks import FUSED
from fused_checks import assert_fused_equals_generic
from fused_checks import outputs_and_gradients
from fused_checks import randomize
from helpers import run_layer_test

from keras_rnninit.constraints import RecurrentBound
from keras_rnninit.layers.indrnn import IndRNN
from keras_rnninit.layers.indrnn import IndRNNCell

BACKEND = keras.backend.backend()
B, T, F, N = 3, 6, 2, 4


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def np_act(name):
    return {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[name]


def reference(x, kernel, u, bias, h0=None, activation="relu", mask=None):
    """h_t = act(W x_t + u * h_{t-1} + b), from the paper; masked steps
    keep the previous state."""
    act = np_act(activation)
    h = np.zeros((x.shape[0], u.shape[0])) if h0 is None else h0.astype("f8")
    outputs = []
    for t in range(x.shape[1]):
        new = act(x[:, t] @ kernel + u * h + (0 if bias is None else bias))
        if mask is not None:
            new = np.where(mask[:, t : t + 1], new, h)
        h = new
        outputs.append(h)
    return np.stack(outputs, axis=1), h


def weights_of(cell):
    bias = to_numpy(cell.bias) if cell.use_bias else None
    return to_numpy(cell.kernel), to_numpy(cell.recurrent_kernel), bias


def inputs(rng, shape=(B, T, F)):
    return rng.uniform(-1, 1, shape).astype("float32")


def random_weights(layer, rng):
    layer.set_weights(
        [rng.uniform(-1, 1, w.shape).astype("float32") for w in layer.weights]
    )


# Correctness against the equation ---------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_cell_in_rnn_matches_reference(rng, activation, use_bias):
    cell = IndRNNCell(N, activation=activation, use_bias=use_bias)
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    x = inputs(rng)
    layer.build(x.shape)
    random_weights(layer, rng)
    seq, state = layer(x)
    expected_seq, expected_state = reference(x, *weights_of(cell), None, activation)
    np.testing.assert_allclose(to_numpy(seq), expected_seq, atol=1e-5)
    np.testing.assert_allclose(to_numpy(state), expected_state, atol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("use_fused", ["auto", False])
def test_layer_matches_reference(rng, activation, use_bias, use_fused):
    layer = IndRNN(N, activation=activation, use_bias=use_bias,
                   return_sequences=True, return_state=True, use_fused=use_fused)
    x = inputs(rng)
    h0 = rng.uniform(-1, 1, (B, N)).astype("float32")
    layer.build(x.shape)
    random_weights(layer, rng)
    seq, state = layer(x, initial_state=[h0])
    expected_seq, expected_state = reference(
        x, *weights_of(layer.cell), h0, activation
    )
    np.testing.assert_allclose(to_numpy(seq), expected_seq, atol=1e-5)
    np.testing.assert_allclose(to_numpy(state), expected_state, atol=1e-5)


def test_go_backwards_matches_reversed_reference(rng):
    layer = IndRNN(N, return_sequences=True, go_backwards=True)
    x = inputs(rng)
    out = to_numpy(layer(x))
    expected, _ = reference(x[:, ::-1], *weights_of(layer.cell))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_stacked_cells_match_reference(rng):
    cells = [IndRNNCell(N, activation="tanh"), IndRNNCell(3, activation="tanh")]
    layer = keras.layers.RNN(cells, return_sequences=True)
    x = inputs(rng)
    layer.build(x.shape)
    random_weights(layer, rng)
    first, _ = reference(x, *weights_of(cells[0]), None, "tanh")
    second, _ = reference(first, *weights_of(cells[1]), None, "tanh")
    np.testing.assert_allclose(to_numpy(layer(x)), second, atol=1e-5)


# Masking, Bidirectional, stateful ---------------------------------------------


@pytest.mark.parametrize("make", ["layer", "cell"])
def test_masked_steps_leave_state_unchanged(rng, make):
    x = inputs(rng)
    mask = np.ones((B, T), bool)
    mask[0, 2:4] = False  # a gap in the middle
    mask[1, 4:] = False  # right padding
    if make == "layer":
        layer = IndRNN(N, return_sequences=True, return_state=True)
    else:
        layer = keras.layers.RNN(IndRNNCell(N), return_sequences=True,
                                 return_state=True)
    layer.build(x.shape)
    random_weights(layer, rng)
    seq, state = layer(x, mask=mask)
    expected_seq, expected_state = reference(
        x, *weights_of(layer.cell), mask=mask
    )
    np.testing.assert_allclose(to_numpy(state), expected_state, atol=1e-5)
    np.testing.assert_allclose(to_numpy(seq), expected_seq, atol=1e-5)
    np.testing.assert_allclose(to_numpy(seq)[1, 4:], np.repeat(
        expected_seq[1, 3:4], 2, axis=0), atol=1e-5)


def test_masking_layer_in_model(rng):
    x = inputs(rng)
    x[2, 3:] = 0.0
    model = keras.Sequential([keras.Input((T, F)), keras.layers.Masking(0.0),
                              IndRNN(N)])
    layer = model.layers[-1]
    expected = reference(x[2:, :3], *weights_of(layer.cell))[1]
    np.testing.assert_allclose(to_numpy(model(x))[2:], expected, atol=1e-5)


def test_bidirectional_matches_reference(rng):
    layer = keras.layers.Bidirectional(IndRNN(N, return_sequences=True))
    x = inputs(rng)
    out = to_numpy(layer(x))
    forward, _ = reference(x, *weights_of(layer.forward_layer.cell))
    backward, _ = reference(x[:, ::-1], *weights_of(layer.backward_layer.cell))
    np.testing.assert_allclose(out[..., :N], forward, atol=1e-5)
    np.testing.assert_allclose(out[..., N:], backward[:, ::-1], atol=1e-5)


def test_stateful_continues_from_last_state(rng):
    x = inputs(rng, (B, 2 * T, F))
    layer = IndRNN(N, stateful=True, return_sequences=True)
    model = keras.Sequential([keras.Input((T, F), batch_size=B), layer])
    first = to_numpy(model(x[:, :T]))
    second = to_numpy(model(x[:, T:]))
    expected, _ = reference(x, *weights_of(layer.cell))
    np.testing.assert_allclose(np.concatenate([first, second], 1), expected,
                               atol=1e-5)
    layer.reset_state()
    np.testing.assert_allclose(to_numpy(model(x[:, :T])), first, atol=1e-6)


# Fused path == generic path ---------------------------------------------------


def _model(layers, x_shape, extra_inputs=(), call=None):
    """A functional model `x (+ extra inputs) -> layers`."""
    inputs = [keras.Input(x_shape[1:], batch_size=x_shape[0])]
    inputs += [keras.Input(shape[1:], batch_size=shape[0], dtype=dtype)
               for shape, dtype in extra_inputs]
    if call is None:
        out = inputs[0]
        for layer in layers:
            out = layer(out)
    else:
        out = call(layers, *inputs)
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], out)


def _mask(batch=B, steps=T):
    """Right padding, a gap in the middle, leading masked steps."""
    mask = np.ones((batch, steps), bool)
    mask[0, steps - 3:] = False
    mask[1, 2:4] = False
    mask[2, :2] = False
    return mask


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", None])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("features", [2, 12])  # broadcast products / matmul
def test_fused_equals_generic(rng, activation, return_sequences, features):
    x = inputs(rng, (B, T, features))
    h0 = rng.uniform(-1, 1, (B, N)).astype("float32")

    def build(use_fused):
        layer = IndRNN(N, activation=activation, use_fused=use_fused,
                       return_sequences=return_sequences, return_state=True)
        return _model([layer], x.shape, [((B, N), "float32")],
                      call=lambda ls, x, h0: ls[0](x, initial_state=[h0]))

    assert_fused_equals_generic(build, [x, h0], rng)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_fused_go_backwards_equals_generic(rng, return_sequences):
    x = inputs(rng)
    assert_fused_equals_generic(
        lambda use_fused: _model([IndRNN(
            N, go_backwards=True, return_sequences=return_sequences,
            use_fused=use_fused)], x.shape), [x], rng)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("zero_output_for_mask", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_fused_mask_equals_generic(rng, return_sequences, zero_output_for_mask,
                                   go_backwards):
    x = inputs(rng)
    h0 = rng.uniform(-1, 1, (B, N)).astype("float32")

    def build(use_fused):
        layer = IndRNN(N, return_sequences=return_sequences, return_state=True,
                       go_backwards=go_backwards, use_fused=use_fused,
                       zero_output_for_mask=zero_output_for_mask)
        return _model([layer], x.shape, [((B, T), "bool"), ((B, N), "float32")],
                      call=lambda ls, x, m, h0: ls[0](x, mask=m,
                                                      initial_state=[h0]))

    outs, _ = assert_fused_equals_generic(build, [x, _mask(), h0], rng)
    if return_sequences and zero_output_for_mask:
        assert np.all(outs[0][~_mask()[:, ::-1 if go_backwards else 1]] == 0)


def test_fused_stack_equals_generic(rng):
    """The second layer's input needs a gradient; the mask flows through."""
    x = inputs(rng, (B, 12, F))
    x[0, 8:] = 0.0

    def build(use_fused):
        return _model([keras.layers.Masking(0.0),
                       IndRNN(N, return_sequences=True, use_fused=use_fused),
                       IndRNN(3, activation="tanh", use_fused=use_fused)],
                      x.shape)

    assert_fused_equals_generic(build, [x], rng)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_fused_bidirectional_equals_generic(rng, return_sequences):
    x = inputs(rng)

    def build(use_fused):
        layer = keras.layers.Bidirectional(IndRNN(
            N, return_sequences=return_sequences, use_fused=use_fused))
        return _model([layer], x.shape, [((B, T), "bool")],
                      call=lambda ls, x, m: ls[0](x, mask=m))

    model = build(True)
    assert model.layers[-1].backward_layer.use_fused is True
    assert_fused_equals_generic(build, [x, _mask()], rng)


def test_fused_mixed_precision_equals_generic(rng):
    x = inputs(rng)

    def build(use_fused):
        return _model([IndRNN(N, return_sequences=True, use_fused=use_fused,
                              dtype="mixed_float16")], x.shape)

    assert_fused_equals_generic(build, [x], rng, atol=1e-2, rtol=1e-2)


def test_fused_stateful_equals_generic(rng):
    x = inputs(rng, (B, 2 * T, F))
    results = []
    for use_fused in (FUSED, False):
        layer = IndRNN(N, stateful=True, return_sequences=True,
                       use_fused=use_fused)
        model = _model([layer], (B, T, F))
        if results:
            model.set_weights(weights)
        else:
            randomize(model, rng)
            weights = model.get_weights()
        chunks = [to_numpy(model(x[:, :T])), to_numpy(model(x[:, T:]))]
        results.append((chunks, to_numpy(layer.states[0])))
    for a, b in zip(results[0][0] + [results[0][1]],
                    results[1][0] + [results[1][1]]):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert not np.allclose(results[0][0][0], results[0][0][1])


def test_fused_with_dropout_equals_generic(rng):
    x = inputs(rng)
    outs = []
    for use_fused in (True, False):
        layer = IndRNN(N, dropout=0.5, seed=3, use_fused=use_fused,
                       return_sequences=True)
        layer.build(x.shape)
        if outs:
            layer.set_weights(weights)
        weights = layer.get_weights()
        outs.append(to_numpy(layer(x, training=True)))
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-5)


def test_fused_dropout_gradients_equal_generic(rng):
    """Input dropout in training: the same mask on both paths, and the same
    gradients through it."""
    x = inputs(rng)

    def build(use_fused):
        return _model([IndRNN(N, dropout=0.5, seed=3, use_fused=use_fused,
                              return_sequences=True)], x.shape)

    outs, _ = assert_fused_equals_generic(build, [x], rng, training=True)
    assert np.any(outs[0] == 0)  # some inputs were dropped


def test_fused_with_recurrent_dropout_in_inference_equals_generic(rng):
    """Recurrent dropout is off in inference, where the fused path runs."""
    x = inputs(rng)

    def build(use_fused):
        return _model([IndRNN(N, dropout=0.3, recurrent_dropout=0.5, seed=2,
                              use_fused=use_fused, return_sequences=True)],
                      x.shape)

    assert_fused_equals_generic(build, [x], rng, training=False)


@pytest.mark.parametrize("steps", [6, 200])
def test_fused_at_the_recurrent_bound_equals_generic(rng, steps):
    """|u| at gamma^(1/T), both signs: the same outputs and gradients, and
    the same training step, after which u is still within the bound."""
    x = inputs(rng, (B, steps, F))
    y = rng.normal(size=(B, N)).astype("float32")
    bound = 2.0 ** (1 / steps)
    weights = [rng.uniform(-1, 1, (F, N)).astype("float32"),
               np.array([bound, -bound, bound, -bound], "float32"),
               np.full(N, 0.1, "float32")]
    results, trained = [], []
    for use_fused in (FUSED, False):
        model = keras.Sequential([
            keras.Input((steps, F), batch_size=B),
            IndRNN(N, timesteps=steps, gamma=2.0, use_fused=use_fused)])
        model.set_weights(weights)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            results.append(outputs_and_gradients(model, [x]))
            model.compile(keras.optimizers.SGD(1.0), "mse")
            model.train_on_batch(x, y)
        trained.append(model.get_weights())
    (outs_f, grads_f), (outs_g, grads_g) = results
    for a, b in zip(outs_f + grads_f, outs_g + grads_g):
        np.testing.assert_allclose(a, b, rtol=1e-4,
                                   atol=1e-5 * np.abs(b).max())
    assert np.abs(outs_f[0]).max() > 1.0
    for a, b in zip(*trained):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert not np.allclose(trained[0][0], weights[0])  # it trained
    assert np.all(np.abs(trained[0][1]) <= bound + 1e-6)


def test_use_fused_true_warns_with_the_reason(rng):
    x = inputs(rng)
    layer = IndRNN(N, activation="softplus", use_fused=True)
    with pytest.warns(UserWarning, match="use_fused=True.*softplus"):
        layer(x)
    layer = IndRNN(N, recurrent_dropout=0.2, use_fused=True)
    with pytest.warns(UserWarning, match="recurrent_dropout"):
        layer(x, training=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x, training=False)  # recurrent dropout is off in inference
        layer(x, mask=np.ones((B, T), bool))  # masks are fused


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute")
def test_fused_fit_under_default_strategy(rng):
    import tensorflow as tf

    x = inputs(rng, (8, T, F))
    with tf.distribute.get_strategy().scope():
        model = keras.Sequential([keras.Input((None, F)),
                                  IndRNN(N, use_fused=True), keras.layers.Dense(1)])
        model.compile("adam", "mse")
    history = model.fit(x, np.ones((8, 1)), batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


# Dropout ----------------------------------------------------------------------


@pytest.mark.parametrize("rates", [(0.5, 0.0), (0.0, 0.5)])
def test_dropout_only_in_training(rng, rates):
    x = inputs(rng)
    layer = IndRNN(N, dropout=rates[0], recurrent_dropout=rates[1], seed=1,
                   return_sequences=True)
    layer.build(x.shape)
    random_weights(layer, rng)
    plain, _ = reference(x, *weights_of(layer.cell))
    np.testing.assert_allclose(to_numpy(layer(x, training=False)), plain,
                               atol=1e-5)
    assert not np.allclose(to_numpy(layer(x, training=True)), plain, atol=1e-3)


def test_input_dropout_uses_one_mask_for_all_steps(rng):
    # With W = I-like columns and u = 0, h_t = relu(x_t * mask): a feature
    # dropped at one step is dropped at every step.
    x = np.abs(inputs(rng, (B, T, N))) + 0.1
    layer = IndRNN(N, dropout=0.5, seed=2, use_bias=False, return_sequences=True,
                   kernel_initializer="identity", recurrent_initializer="zeros")
    out = to_numpy(layer(x, training=True))
    dropped = out == 0
    assert dropped.any() and not dropped.all()
    assert np.all(dropped == dropped[:, :1])


# Bound and initialization -----------------------------------------------------


def test_timesteps_sets_bound_and_initializer():
    cell = IndRNNCell(64, timesteps=50, gamma=2.0)
    cell.build((None, 3))
    bound = 2.0 ** (1 / 50)
    assert isinstance(cell.recurrent_constraint, RecurrentBound)
    assert cell.recurrent_constraint.max_value == pytest.approx(bound)
    assert not cell.recurrent_constraint.nonnegative
    u = to_numpy(cell.recurrent_kernel)
    assert u.shape == (64,)
    assert u.min() >= 0 and u.max() <= bound
    assert u.max() > 0.9 * bound  # the whole range is used


def test_long_memory_initializer_range():
    cell = IndRNNCell(64, timesteps=20, gamma=5.0, long_memory=True,
                      nonnegative_recurrent=True)
    cell.build((None, 3))
    u = to_numpy(cell.recurrent_kernel)
    assert u.min() >= (1 / 5.0) ** (1 / 20) - 1e-6
    assert u.max() <= 5.0 ** (1 / 20) + 1e-6
    assert cell.recurrent_constraint.nonnegative


def test_unknown_timesteps_means_no_bound():
    cell = IndRNNCell(8)
    assert cell.recurrent_constraint is None
    cell.build((None, 3))
    u = to_numpy(cell.recurrent_kernel)
    assert u.min() >= 0 and u.max() <= 1


def test_explicit_recurrent_arguments_win():
    cell = IndRNNCell(8, timesteps=10, recurrent_initializer="ones",
                      recurrent_constraint=RecurrentBound(0.5))
    cell.build((None, 3))
    np.testing.assert_array_equal(to_numpy(cell.recurrent_kernel), np.ones(8))
    assert cell.recurrent_constraint.max_value == 0.5


def test_bound_holds_after_training(rng):
    x = inputs(rng, (8, T, F))
    layer = IndRNN(N, timesteps=T, gamma=2.0, recurrent_initializer="ones")
    model = keras.Sequential([keras.Input((T, F)), layer])
    model.compile(keras.optimizers.SGD(5.0), "mse")
    model.fit(x, 100 * np.ones((8, N)), epochs=2, verbose=0)
    u = to_numpy(layer.cell.recurrent_kernel)
    assert np.all(np.abs(u) <= 2.0 ** (1 / T) + 1e-6)


# Keras checks: config, fit, save/load, mixed precision -----------------------


def test_indrnn_layer_checks(tmp_path):
    layer = IndRNN(N, timesteps=T, return_sequences=True)
    run_layer_test(layer, (B, T, F), tmp_path, expected_output_shape=(B, T, N))


def test_rnn_of_cell_fit_and_reload(rng, tmp_path):
    cell = IndRNNCell(N, timesteps=T, long_memory=True)
    assert_config_round_trip(cell)
    model = keras.Sequential([keras.Input((None, F)), keras.layers.RNN(cell)])
    model.compile("sgd", "mse")
    x = inputs(rng)
    model.fit(x, np.ones((B, N)), epochs=1, verbose=0)
    reloaded, _ = assert_reload_matches(model, x, tmp_path, atol=1e-6)
    assert isinstance(reloaded.layers[-1].cell, IndRNNCell)


def test_config_round_trip_keeps_every_argument():
    layer = IndRNN(5, activation="tanh", use_bias=False, dropout=0.1,
                   recurrent_dropout=0.2, timesteps=30, gamma=3.0,
                   long_memory=True, nonnegative_recurrent=True,
                   recurrent_regularizer="l2", use_fused=False, seed=4,
                   go_backwards=True)
    revived = assert_config_round_trip(layer)
    for name in ("units", "use_bias", "dropout", "recurrent_dropout",
                 "timesteps", "gamma", "long_memory", "nonnegative_recurrent",
                 "use_fused", "seed", "go_backwards"):
        assert getattr(revived, name) == getattr(layer, name), name
    assert "cell" not in layer.get_config()
    cell = IndRNNCell(5, timesteps=30, gamma=3.0, long_memory=True)
    assert assert_config_round_trip(cell).long_memory


def test_mixed_precision(rng):
    x = inputs(rng)
    layer = IndRNN(N, dtype="mixed_float16", return_sequences=True)
    out = layer(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert layer.cell.recurrent_kernel.dtype == "float32"
    expected, _ = reference(x, *weights_of(layer.cell))
    np.testing.assert_allclose(to_numpy(out).astype("f4"), expected, atol=1e-2)


# Bad arguments ----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,name",
    [({"units": 0}, "units"), ({"units": -2}, "units"),
     ({"units": 2.5}, "units"),
     ({"units": 4, "timesteps": 0}, "timesteps"),
     ({"units": 4, "timesteps": -5}, "timesteps"),
     ({"units": 4, "gamma": 0.0}, "gamma"),
     ({"units": 4, "gamma": -1.0}, "gamma"),
     ({"units": 4, "activation": "no_such_activation"}, "activation"),
     ({"units": 4, "dropout": 1.5}, "dropout"),
     ({"units": 4, "recurrent_dropout": -0.1}, "recurrent_dropout"),
     ({"units": 4, "long_memory": True}, "timesteps"),
     ({"units": 4, "timesteps": 5, "gamma": 0.5, "long_memory": True},
      "gamma")],
)
@pytest.mark.parametrize("cls", [IndRNNCell, IndRNN])
def test_bad_arguments_raise_value_error(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


def test_bad_use_fused():
    with pytest.raises(ValueError, match="use_fused"):
        IndRNN(4, use_fused="sometimes")
