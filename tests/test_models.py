import keras
import numpy as np
import pytest

from keras_rnninit import tasks
from keras_rnninit.constraints import RecurrentBound
from keras_rnninit.initializers import random_walk_factor
from keras_rnninit.models import FAMILIES
from keras_rnninit.models import build_model
from keras_rnninit.models import parameter_count
from keras_rnninit.models import units_for_parameters

T = 6


@pytest.fixture(scope="module")
def task():
    return tasks.get("adding", length=T, num_train=16, num_validation=8,
                     num_test=8, batch_size=8, seed=0)


def weights(layer, name):
    for w in layer.weights:
        if w.path.split("/")[-1] == name:
            return keras.ops.convert_to_numpy(w)
    raise AssertionError(f"{layer.name} has no weight {name}")


def rnn_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_builds_and_trains_one_step(family, task):
    model = build_model(family, task, units=8, seed=1)
    assert model.output_shape == (None, 1)
    # Each family at its paper's depth unless told otherwise (IndRNN: 2).
    assert len(rnn_layers(model)) == FAMILIES[family].layers
    assert model.loss == "mse"
    rnn, head = rnn_layers(model)[-1], model.get_layer("head")
    before = [weights(rnn, "kernel"), weights(head, "kernel")]
    logs = model.fit(task.train.take(1), verbose=0, shuffle=False).history
    assert np.isfinite(logs["loss"][0]) and "mse" in logs
    # (The recurrent kernel may get an exactly zero gradient in one step: with
    # IRNN's tiny inputs, few ReLU units are active at consecutive steps.)
    after = [weights(rnn, "kernel"), weights(head, "kernel")]
    assert all(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))


@pytest.mark.parametrize("family", ["lstm", "np-rnn", "clockwork"])
def test_layers_are_stacked(family, task):
    model = build_model(family, task, units=8, layers=3)
    layers = rnn_layers(model)
    assert len(layers) == 3
    assert [layer.return_sequences for layer in layers] == [True, True, False]


def test_spec_declares_scale_hyperparameters():
    expected = {"irnn": "input_stddev", "irnn-scaled": "gain",
                "np-rnn": "input_scale", "np-tanh": "input_scale",
                "tanh-rnn": "recurrent_gain", "lstm": None, "lstm-chrono": None,
                "indrnn": "gamma",
                "clockwork": None}
    assert {n: s.scale for n, s in FAMILIES.items()} == expected
    for spec in FAMILIES.values():
        hp = spec.scale_hyperparameter
        if hp is not None:
            assert hp.min_value < hp.default < hp.max_value
            assert hp.sampling in ("log", "linear")


def test_irnn_identity_and_small_inputs(task):
    layer = rnn_layers(build_model("irnn", task, units=16, seed=0))[0]
    assert layer.cell.activation is keras.activations.relu
    np.testing.assert_array_equal(weights(layer, "recurrent_kernel"), np.eye(16))
    kernel = weights(layer, "kernel")
    assert 0.0 < kernel.std() < 0.003
    np.testing.assert_array_equal(weights(layer, "bias"), 0.0)


def test_irnn_scaled_gain(task):
    model = build_model("irnn-scaled", task, units=8)
    np.testing.assert_allclose(
        weights(rnn_layers(model)[0], "recurrent_kernel"), 0.01 * np.eye(8)
    )
    model = build_model("irnn-scaled", task, units=8, gain=0.3)
    np.testing.assert_allclose(
        weights(rnn_layers(model)[0], "recurrent_kernel"), 0.3 * np.eye(8), rtol=1e-6
    )


@pytest.mark.parametrize(
    "family, activation", [("np-rnn", "relu"), ("np-tanh", "tanh")]
)
def test_np_families_use_npinit_and_random_walk_inputs(family, activation, task):
    units = 64
    model = build_model(family, task, units=units, seed=3, input_scale=2.0)
    layer = rnn_layers(model)[0]
    assert layer.cell.activation is getattr(keras.activations, activation)
    w = weights(layer, "recurrent_kernel").astype(np.float64)
    np.testing.assert_allclose(w, w.T, atol=1e-6)
    eig = np.linalg.eigvalsh(w)
    assert eig[-1] == pytest.approx(1.0, abs=1e-5)
    assert eig[0] > 0.0 and eig[-2] < 1.0
    expected_std = 2.0 * random_walk_factor(units) / np.sqrt(units)
    assert weights(layer, "kernel").std() == pytest.approx(expected_std, rel=0.2)


def test_tanh_rnn_orthogonal(task):
    layer = rnn_layers(build_model("tanh-rnn", task, units=8, recurrent_gain=1.5))[0]
    assert layer.cell.activation is keras.activations.tanh
    w = weights(layer, "recurrent_kernel")
    np.testing.assert_allclose(w @ w.T, 2.25 * np.eye(8), atol=1e-5)


def test_lstm_forget_bias_one(task):
    layer = rnn_layers(build_model("lstm", task, units=8))[0]
    assert isinstance(layer, keras.layers.LSTM)
    bias = weights(layer, "bias")
    np.testing.assert_array_equal(bias[8:16], 1.0)  # gates i, f, c, o
    np.testing.assert_array_equal(bias[:8], 0.0)


@pytest.mark.parametrize("max_timesteps, expected", [(None, T), (40, 40)])
def test_lstm_chrono_biases_span_the_task_length(max_timesteps, expected, task):
    # b_f = log(U), U ~ Uniform(1, T_max - 1), b_i = -b_f: every forget gate's
    # time constant 1 / (1 - sigmoid(b_f)) = 1 + U lies in [2, T_max].
    units = 200
    layer = rnn_layers(build_model("lstm-chrono", task, units=units, seed=0,
                                   max_timesteps=max_timesteps))[0]
    assert layer.cell.unit_forget_bias is False
    bias = weights(layer, "bias").astype(np.float64)
    forget = bias[units:2 * units]
    tau = 1.0 + np.exp(forget)
    assert tau.min() >= 2.0 - 1e-5 and tau.max() <= expected + 1e-4
    assert tau.max() > expected - 0.1 * expected
    np.testing.assert_allclose(bias[:units], -forget)
    np.testing.assert_array_equal(bias[2 * units:], 0.0)
    plain = rnn_layers(build_model("lstm", task, units=units, seed=0))[0]
    for name in ("kernel", "recurrent_kernel"):
        np.testing.assert_array_equal(weights(layer, name), weights(plain, name))


def test_indrnn_paper_range_and_bound(task):
    gamma = 3.0
    first, last = rnn_layers(build_model("indrnn", task, units=64, layers=2,
                                         gamma=gamma, seed=0))
    high = gamma ** (1 / T)
    low = (1 / gamma) ** (1 / T)
    u0, u1 = weights(first, "recurrent_kernel"), weights(last, "recurrent_kernel")
    assert u0.shape == (64,)
    assert u0.min() >= 0.0 and u0.max() <= high and u0.min() < low
    assert u1.min() >= low and u1.max() <= high
    constraint = last.cell.recurrent_constraint
    assert isinstance(constraint, RecurrentBound)
    assert constraint.max_value == pytest.approx(high)
    assert last.cell.timesteps == T and last.cell.gamma == gamma


def test_clockwork_modules(task):
    layer = rnn_layers(build_model("clockwork", task, units=8, num_modules=4))[0]
    assert type(layer).__name__ == "Clockwork"
    assert list(layer.periods) == [1, 2, 4, 8]


def test_same_seed_same_weights(task):
    a = build_model("np-rnn", task, units=8, seed=7)
    b = build_model("np-rnn", task, units=8, seed=7)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(wa), keras.ops.convert_to_numpy(wb)
        )


def test_classification_and_sequence_heads():
    copy = tasks.get("copy", length=4, copy_length=2, num_symbols=3,
                     num_train=8, batch_size=8)
    model = build_model("tanh-rnn", copy, units=4)
    assert model.output_shape == (None, 8, 4)
    assert model.layers[-1].activation is keras.activations.softmax
    assert model.fit(copy.train, verbose=0, shuffle=False).history["accuracy"]


def test_optimizer_settings(task):
    model = build_model("irnn", task, units=4, optimizer="sgd", momentum=0.9,
                        learning_rate=0.1, clipnorm=1.0, lr_decay=(0.5, 10))
    opt = model.optimizer
    assert isinstance(opt, keras.optimizers.SGD) and opt.momentum == 0.9
    assert opt.clipnorm == 1.0
    schedule = opt._learning_rate
    assert float(schedule(9)) == pytest.approx(0.1)
    assert float(schedule(10)) == pytest.approx(0.05)
    model = build_model("irnn", task, units=4, optimizer="rmsprop", clipvalue=0.5)
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert model.optimizer.clipvalue == 0.5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"family": "gru"}, "gru.*irnn"),
        ({"family": "irnn", "gain": 0.1}, "gain.*input_stddev"),
        ({"family": "lstm", "gamma": 2.0}, "gamma"),
        ({"family": "irnn", "momentum": 0.9}, "momentum"),
        ({"family": "irnn", "optimizer": "adagrad"}, "adagrad"),
        ({"family": "irnn-scaled", "gain": -1.0}, "gain"),
        ({"family": "irnn", "units": 0}, "units"),
        ({"family": "irnn", "lr_decay": 0.1}, "lr_decay"),
        ({"family": "irnn", "clipnorm": -1.0}, "clipnorm"),
    ],
)
def test_bad_family_and_hyperparameters(kwargs, match, task):
    with pytest.raises(ValueError, match=match):
        build_model(task=task, **kwargs)


def test_indrnn_inputs_follow_the_authors_kaiming_uniform(task):
    layer = rnn_layers(build_model("indrnn", task, units=64, layers=2, seed=0))[1]
    kernel = weights(layer, "kernel")  # fan_in 64
    limit = np.sqrt(3 * (2 / 65) / 64)
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.9 * limit


def test_families_declare_their_papers_settings(task):
    assert FAMILIES["indrnn"].paper_settings() == {
        "units": 128, "layers": 2, "optimizer": "adam", "clipnorm": None,
        "clipvalue": 10.0}
    assert FAMILIES["irnn"].paper_settings()["optimizer"] == "sgd"
    assert FAMILIES["irnn"].paper_settings()["clipnorm"] == 1.0
    model = build_model("indrnn", task)
    assert [layer.units for layer in rnn_layers(model)] == [128, 128]
    assert len(rnn_layers(build_model("np-rnn", task))) == 1
    assert rnn_layers(build_model("np-rnn", task))[0].units == 100


def test_register_family_adds_a_buildable_family(task):
    from keras_rnninit.models import FamilySpec
    from keras_rnninit.models import register_family

    def make_layer(units, hp, task, index, num_layers, return_sequences, seed):
        return keras.layers.GRU(units, return_sequences=return_sequences)

    spec = FamilySpec("test-gru", "GRU", (), make_layer=make_layer, units=6)
    register_family(spec)
    try:
        assert rnn_layers(build_model("test-gru", task))[0].units == 6
        with pytest.raises(ValueError, match="already registered"):
            register_family(spec)
        with pytest.raises(ValueError, match="make_layer"):
            register_family(FamilySpec("x", "x", ()), overwrite=True)
    finally:
        FAMILIES.pop("test-gru")


def recurrent_zeros(model):
    """Entries of Clockwork's recurrent kernel held at zero by its mask."""
    for layer in rnn_layers(model):
        mask = getattr(layer.cell, "recurrent_mask", None)
        if mask is not None:
            return int(mask.size - mask.sum())
    return 0


@pytest.mark.parametrize(
    "family, num_modules",
    [("tanh-rnn", None), ("lstm", None), ("clockwork", None), ("clockwork", 4),
     ("indrnn", None)],
)
def test_parameter_count_matches_count_params(family, num_modules):
    task = tasks.get("waveform", length=4)
    extra = {} if num_modules is None else {"num_modules": num_modules}
    step = num_modules or (8 if family == "clockwork" else 1)
    for units in (step, 3 * step):
        model = build_model(family, task, units=units, layers=1, seed=0, **extra)
        stored = parameter_count(family, units, count="stored", **extra)
        effective = parameter_count(family, units, **extra)
        assert stored == model.count_params()
        assert effective == model.count_params() - recurrent_zeros(model)
        if family != "clockwork":
            assert effective == stored


@pytest.mark.parametrize("family", ["tanh-rnn", "simple_rnn", "lstm", "clockwork"])
@pytest.mark.parametrize("parameters", [100, 250, 500, 1000])
def test_units_for_parameters_is_the_closest_size(family, parameters):
    step = 8 if family == "clockwork" else 1
    units = units_for_parameters(family, parameters)
    assert units % step == 0

    def gap(n):
        return abs(parameter_count(family, n) - parameters)

    assert gap(units) <= gap(units + step)
    # The count grows with the units: closer than both neighbours is closest.
    if units > step:
        assert gap(units) < gap(units - step)


def test_units_for_parameters_known_sizes():
    assert units_for_parameters("lstm", 1000) == 15
    assert parameter_count("lstm", 15) == 1036
    assert units_for_parameters("clockwork", 1000) == 40
    assert parameter_count("clockwork", 40) == 1021
    assert parameter_count("clockwork", 40, count="stored") == 1721
    assert units_for_parameters("clockwork", 100, num_modules=4) == 12
    assert units_for_parameters("tanh-rnn", 5) == 1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: parameter_count("gru", 8), "family"),
        (lambda: parameter_count("clockwork", 12), "multiple"),
        (lambda: parameter_count("lstm", 8, num_modules=4), "num_modules"),
        (lambda: parameter_count("lstm", 8, count="all"), "count"),
        (lambda: parameter_count("lstm", 0), "units"),
        (lambda: units_for_parameters("lstm", 0), "parameters"),
    ],
)
def test_parameter_count_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
