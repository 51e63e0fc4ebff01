import re

import keras
import numpy as np
import pytest
from helpers import assert_config_round_trip
from helpers import assert_reload_matches

from keras_rnninit import Chrono

T = 50


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def chrono_reference(u, layer, reset_after=True):
    """The paper's biases for per-unit draws `u`, in Keras's gate layouts.

    LSTM `[i, f, c, o]`: `b_f = log(u)`, `b_i = -b_f`. GRU `[z, r, h]`:
    Keras keeps `z * h_prev`, so `b_z = log(u)`; with `reset_after=True`
    the input row carries it and the recurrent row is 0 (their sum is what
    the gate sees).
    """
    zeros = np.zeros_like(u)
    if layer == "lstm":
        return np.concatenate([-np.log(u), np.log(u), zeros, zeros])
    bias = np.concatenate([np.log(u), zeros, zeros])
    if reset_after:
        return np.stack([bias, np.zeros_like(bias)])
    return bias


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def keep_bias(bias, layer):
    """The bias of the gate that keeps the state: LSTM's f, GRU's z (sum
    of the rows with reset_after=True)."""
    bias = np.asarray(bias, np.float64)
    if bias.ndim == 2:
        bias = bias.sum(axis=0)
    units = bias.shape[0] // (4 if layer == "lstm" else 3)
    return bias[units:2 * units] if layer == "lstm" else bias[:units]


def built_layer(layer, units, max_timesteps=T, seed=3, **kwargs):
    """An LSTM or GRU with Chrono biases and zero recurrent weights, built
    for 2 input features."""
    options = {"unit_forget_bias": False} if layer == "lstm" else {}
    cls = keras.layers.LSTM if layer == "lstm" else keras.layers.GRU
    rnn = cls(units, bias_initializer=Chrono(max_timesteps, seed=seed),
              recurrent_initializer="zeros", **options, **kwargs)
    rnn.build((None, None, 2))
    return rnn


# The formula -------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, layer, reset_after",
    [((4 * 7,), "lstm", True), ((3 * 7,), "gru", False), ((2, 3 * 7), "gru", True)],
)
def test_biases_follow_the_papers_formula_in_each_layout(shape, layer, reset_after):
    seed = 11
    u = to_numpy(keras.initializers.RandomUniform(1.0, T - 1.0, seed=seed)((7,)))
    bias = to_numpy(Chrono(T, seed=seed)(shape))
    np.testing.assert_allclose(bias, chrono_reference(u, layer, reset_after),
                               rtol=1e-6, atol=1e-6)
    assert bias.shape == shape


def test_the_kept_fraction_is_uniform_over_1_to_t_minus_1():
    # exp(b_f) = U ~ Uniform(1, T - 1): a Kolmogorov-Smirnov distance small
    # for 4000 draws (the 1% critical value is 1.63 / sqrt(4000) = 0.026).
    units = 4000
    u = np.exp(keep_bias(to_numpy(Chrono(T, seed=0)((4 * units,))), "lstm"))
    assert u.min() >= 1.0 - 1e-5 and u.max() <= T - 1.0 + 1e-4
    cdf = (np.sort(u) - 1.0) / (T - 2.0)
    steps = np.arange(1, units + 1) / units
    assert max(np.abs(cdf - steps).max(), np.abs(cdf - steps + 1 / units).max()) < 0.026


def test_max_timesteps_2_keeps_every_unit_half_its_state():
    np.testing.assert_allclose(to_numpy(Chrono(2, seed=1)((8,))), 0.0, atol=1e-7)


# Built layers: time constants and zero-input decay --------------------------------


@pytest.mark.parametrize(
    "layer, kwargs",
    [("lstm", {}), ("gru", {"reset_after": True}), ("gru", {"reset_after": False})],
)
def test_time_constants_of_a_built_layer_span_2_to_max_timesteps(layer, kwargs):
    units = 400
    rnn = built_layer(layer, units, **kwargs)
    kept = sigmoid(keep_bias(to_numpy(rnn.cell.bias), layer))
    tau = 1.0 / (1.0 - kept)
    # 1 / (1 - sigma(log U)) = 1 + U, U ~ Uniform(1, T - 1).
    assert tau.min() >= 2.0 - 1e-4 and tau.max() <= T + 1e-3
    assert tau.min() < 2.0 + 0.05 * T and tau.max() > T - 0.05 * T
    if layer == "lstm":
        # The input gate closes as the forget gate opens: b_i = -b_f.
        bias = to_numpy(rnn.cell.bias)
        np.testing.assert_allclose(bias[:units], -bias[units:2 * units])
        np.testing.assert_array_equal(bias[2 * units:], 0.0)


@pytest.mark.parametrize(
    "layer, kwargs",
    [("lstm", {}), ("gru", {"reset_after": True}), ("gru", {"reset_after": False})],
)
def test_with_zero_input_the_kept_state_decays_as_sigma_of_the_bias(layer, kwargs):
    # Zero inputs and zero recurrent weights: the candidate is tanh(0) = 0,
    # so the kept state is multiplied by sigma(b_keep) each step (LSTM's
    # cell state c, GRU's h). A unit with time constant tau keeps e^-1 of
    # its state after about tau steps.
    units, steps = 256, 2 * T
    rnn = built_layer(layer, units, return_sequences=True, return_state=True,
                      **kwargs)
    kept = sigmoid(keep_bias(to_numpy(rnn.cell.bias), layer))
    x = np.zeros((1, steps, 2), "float32")
    ones, zeros = np.ones((1, units), "float32"), np.zeros((1, units), "float32")
    if layer == "lstm":
        _, _, c_last = rnn(x, initial_state=[zeros, ones])
        trajectory = None
        last = to_numpy(c_last)[0]
    else:
        sequence, _ = rnn(x, initial_state=[ones])
        trajectory = to_numpy(sequence)[0]
        last = trajectory[-1]
    np.testing.assert_allclose(last, kept ** steps, rtol=1e-3, atol=1e-7)
    if trajectory is not None:
        expected = kept[None, :] ** np.arange(1, steps + 1)[:, None]
        np.testing.assert_allclose(trajectory, expected, rtol=1e-3, atol=1e-7)
        # Steps until the state falls below 1/e: -1 / log(sigma) in
        # [tau - 1, tau], tau = 1 / (1 - sigma) in [2, T].
        crossing = (trajectory > np.exp(-1)).sum(axis=0) + 1
        tau = 1.0 / (1.0 - kept)
        assert np.all(crossing >= np.floor(tau - 1))
        assert np.all(crossing <= np.ceil(tau))
        assert crossing.min() <= 2 + 0.05 * T and crossing.max() >= 0.9 * T


# Keras's unit_forget_bias -------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda init: keras.layers.LSTM(4, bias_initializer=init),
        lambda init: keras.layers.RNN(keras.layers.LSTMCell(4, bias_initializer=init)),
        lambda init: keras.layers.Bidirectional(
            keras.layers.LSTM(4, bias_initializer=init)),
    ],
    ids=["LSTM", "RNN(LSTMCell)", "Bidirectional"],
)
def test_unit_forget_bias_true_is_refused_with_the_fix(make):
    # Keras's default unit_forget_bias=True calls the initializer per block
    # and fills the forget block with ones: the chrono bias would be lost.
    with pytest.raises(ValueError, match="pass unit_forget_bias=False"):
        make(Chrono(T))(np.zeros((1, 3, 2), "float32"))


def test_unit_forget_bias_false_keeps_the_chrono_forget_bias():
    rnn = keras.layers.LSTM(5, bias_initializer=Chrono(T, seed=2),
                            unit_forget_bias=False)
    rnn(np.zeros((1, 3, 2), "float32"))
    expected = to_numpy(Chrono(T, seed=2)((20,)))
    np.testing.assert_array_equal(to_numpy(rnn.cell.bias), expected)
    assert not np.allclose(expected[5:10], 1.0)


# Which layout ---------------------------------------------------------------------


def test_a_length_both_layouts_fit_follows_the_layer_that_builds_it():
    # 12 = 4 x 3 (LSTM) = 3 x 4 (GRU, reset_after=False).
    x = np.zeros((1, 3, 2), "float32")
    lstm = keras.layers.LSTM(3, bias_initializer=Chrono(T, seed=4),
                             unit_forget_bias=False)
    gru = keras.layers.GRU(4, bias_initializer=Chrono(T, seed=4), reset_after=False)
    lstm(x), gru(x)
    np.testing.assert_array_equal(to_numpy(lstm.cell.bias),
                                  to_numpy(Chrono(T, seed=4, layer="lstm")((12,))))
    np.testing.assert_array_equal(to_numpy(gru.cell.bias),
                                  to_numpy(Chrono(T, seed=4, layer="gru")((12,))))
    assert not np.allclose(to_numpy(lstm.cell.bias), to_numpy(gru.cell.bias))
    with pytest.raises(ValueError, match="pass layer='lstm' or layer='gru'"):
        Chrono(T)((12,))


def test_a_layer_that_is_neither_is_refused_unless_named():
    with pytest.raises(ValueError, match="SimpleRNNCell is neither"):
        keras.layers.SimpleRNN(8, bias_initializer=Chrono(T))(
            np.zeros((1, 3, 2), "float32"))


def test_a_named_layer_that_contradicts_the_builder_is_refused():
    with pytest.raises(ValueError, match="layer='gru'.*LSTMCell"):
        keras.layers.LSTM(4, bias_initializer=Chrono(T, layer="gru"),
                          unit_forget_bias=False)(np.zeros((1, 3, 2), "float32"))


@pytest.mark.parametrize(
    "shape, layer",
    [((3, 4, 5), None), ((7,), None), ((0,), None), ((2, 12), "lstm"),
     ((4, 12), None), ((9,), "lstm"), ((8,), "gru")],
)
def test_a_shape_that_is_no_lstm_or_gru_bias_is_one_clear_error(shape, layer):
    with pytest.raises(ValueError, match=r"Chrono accepts an LSTM bias .*"
                       rf"Received: shape={re.escape(str(shape))} of rank"):
        Chrono(T, layer=layer)(shape)


@pytest.mark.parametrize("value", [1, 1.99, 0, -5, float("nan"), float("inf"),
                                   True, "500", None])
def test_max_timesteps_below_2_or_not_a_number_is_refused(value):
    with pytest.raises(ValueError, match="`max_timesteps` must be a number at least 2"):
        Chrono(value)


@pytest.mark.parametrize("kwargs", [{"layer": "LSTM"}, {"layer": "rnn"},
                                    {"seed": 1.5}, {"seed": True}])
def test_bad_layer_or_seed_is_refused(kwargs):
    with pytest.raises(ValueError, match="layer|seed"):
        Chrono(T, **kwargs)


def test_integer_dtype_is_refused():
    with pytest.raises(ValueError, match="floating-point"):
        Chrono(T)((8,), dtype="int32")


def test_float16():
    bias = Chrono(T, seed=0)((8,), dtype="float16")
    assert keras.backend.standardize_dtype(bias.dtype) == "float16"


# Seeds --------------------------------------------------------------------------


def test_an_int_seed_gives_the_same_biases_on_every_call():
    init = Chrono(T, seed=5)
    first = to_numpy(init((40,)))
    np.testing.assert_array_equal(first, to_numpy(init((40,))))
    np.testing.assert_array_equal(first, to_numpy(Chrono(T, seed=5)((40,))))
    assert not np.allclose(first, to_numpy(Chrono(T, seed=6)((40,))))


def test_a_seed_generator_draws_anew_on_each_call():
    init = Chrono(T, seed=keras.random.SeedGenerator(3))
    assert not np.allclose(to_numpy(init((40,))), to_numpy(init((40,))))


def test_an_unseeded_instance_is_stable_but_instances_differ():
    init = Chrono(T)
    np.testing.assert_array_equal(to_numpy(init((40,))), to_numpy(init((40,))))
    assert not np.allclose(to_numpy(init((40,))), to_numpy(Chrono(T)((40,))))


# Serialization --------------------------------------------------------------------


@pytest.mark.parametrize("init", [Chrono(T), Chrono(500, seed=3, layer="gru"),
                                  Chrono(7.5, seed=keras.random.SeedGenerator(1))])
def test_config_round_trip(init):
    revived = assert_config_round_trip(init)
    assert revived.max_timesteps == init.max_timesteps
    assert revived.layer == init.layer


def test_lookup_by_dict_config():
    init = keras.initializers.get(
        {"class_name": "keras_rnninit>Chrono", "config": {"max_timesteps": 100}})
    assert isinstance(init, Chrono) and init.max_timesteps == 100


@pytest.mark.parametrize("layer", ["lstm", "gru"])
def test_a_saved_model_reloads_with_equal_outputs(layer, tmp_path):
    rnn = (keras.layers.LSTM(6, bias_initializer=Chrono(T, seed=1),
                             unit_forget_bias=False)
           if layer == "lstm"
           else keras.layers.GRU(6, bias_initializer=Chrono(T, seed=1)))
    inputs = keras.Input((5, 2))
    model = keras.Model(inputs, keras.layers.Dense(1)(rnn(inputs)))
    x = np.random.default_rng(0).normal(size=(3, 5, 2)).astype("float32")
    reloaded, _ = assert_reload_matches(model, x, tmp_path, atol=1e-6)
    revived = reloaded.layers[1].bias_initializer
    assert isinstance(revived, Chrono) and revived.get_config() == (
        rnn.bias_initializer.get_config())
