import json

import keras
import numpy as np
import pytest

from keras_rnninit import catalog
from keras_rnninit import schemes
from keras_rnninit.initializers import random_walk_factor
from keras_rnninit.schemes import Scheme
from keras_rnninit.schemes import apply_scheme

T = 12


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def mixed_model(unit_forget_bias=True, length=T):
    """SimpleRNN, Bidirectional(LSTM), GRU (both bias layouts), RNN(cell)."""
    inputs = keras.Input((length, 3))
    x = keras.layers.SimpleRNN(5, return_sequences=True, name="simple")(inputs)
    x = keras.layers.Bidirectional(
        keras.layers.LSTM(6, return_sequences=True,
                          unit_forget_bias=unit_forget_bias), name="bi")(x)
    x = keras.layers.GRU(7, return_sequences=True, name="gru")(x)
    x = keras.layers.GRU(8, return_sequences=True, reset_after=False,
                         name="gru_v1")(x)
    x = keras.layers.RNN(keras.layers.LSTMCell(9), return_sequences=True,
                         name="cell")(x)
    outputs = keras.layers.Dense(1, name="head")(keras.layers.Flatten()(x))
    return keras.Model(inputs, outputs)


def cells(model):
    bi = model.get_layer("bi")
    return {
        "simple": model.get_layer("simple").cell,
        "bi_forward": bi.forward_layer.cell,
        "bi_backward": bi.backward_layer.cell,
        "gru": model.get_layer("gru").cell,
        "gru_v1": model.get_layer("gru_v1").cell,
        "cell": model.get_layer("cell").cell,
    }


def keep_time_constants(cell):
    """1 / (1 - sigma(b)) of the gate that keeps the state: LSTM's f,
    GRU's z (Keras keeps z * h_prev; input and recurrent rows add up)."""
    bias = to_numpy(cell.bias).astype(np.float64)
    if bias.ndim == 2:
        bias = bias.sum(axis=0)
    n = cell.units
    keep = bias[n:2 * n] if isinstance(cell, keras.layers.LSTMCell) else bias[:n]
    return 1.0 + np.exp(keep)  # 1 / (1 - sigmoid(b)) = 1 + e^b


# The registry and names ------------------------------------------------------------


def test_built_in_schemes_have_one_line_each_and_no_keras_name():
    assert schemes.scheme_names()[:3] == ["chrono", "npinit", "irnn"]
    for name, scheme in schemes.SCHEMES.items():
        assert scheme.description and "\n" not in scheme.description
        assert not schemes.is_keras_initializer(name), name


def test_the_catalog_lists_the_registry_for_help_without_keras():
    assert catalog.SCHEMES == {
        name: scheme.description for name, scheme in schemes.SCHEMES.items()
        if name in catalog.SCHEMES}
    assert list(catalog.schemes()) == schemes.scheme_names()


@pytest.mark.parametrize(
    "identifier, label, recurrent_only",
    [
        ("chrono", "chrono", False),
        ("scheme:chrono", "chrono", False),
        ("chrono(max_timesteps=500)", "chrono(max_timesteps=500)", False),
        ("scheme:chrono(max_timesteps=500)", "chrono(max_timesteps=500)", False),
        ("npinit", "npinit", False),
        ("orthogonal", "orthogonal", True),
        ("identity", "identity", True),
        ("keras_rnninit>NPInit", "NPInit", True),
        ('{"class_name": "Orthogonal", "config": {"gain": 0.5}}', "Orthogonal", True),
        ({"class_name": "Identity", "config": {"gain": 2.0}}, "Identity", True),
    ],
)
def test_names_resolve_to_schemes_or_recurrent_only_schemes(
        identifier, label, recurrent_only):
    scheme = schemes.get(identifier)
    assert scheme.label == label
    assert scheme.recurrent_only is recurrent_only
    if recurrent_only:
        assert list(scheme.layers) == ["*"] and list(scheme.layers["*"]) == [
            "recurrent"]


def test_a_scheme_config_as_json_text_a_file_or_a_dict(tmp_path):
    config = {"name": "mine", "description": "identity recurrent, GRU only",
              "layers": {"gru": {"recurrent": "identity"}}}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(config))
    for identifier in (config, "scheme:" + json.dumps(config), f"scheme:{path}",
                       json.dumps(config)):
        scheme = schemes.get(identifier)
        assert scheme.get_config() == {**config, "max_timesteps": None}
    revived = Scheme.from_config(json.loads(json.dumps(
        schemes.get("chrono(max_timesteps=80)").get_config())))
    assert revived.label == "chrono(max_timesteps=80)"
    assert revived == schemes.get("chrono(max_timesteps=80)")


@pytest.mark.parametrize(
    "identifier, match",
    [
        ("no_such_thing", "neither a scheme .*chrono.* nor a Keras initializer"),
        ("scheme:no_such_scheme", "Unknown scheme"),
        ("chrono(T=500)", "takes one argument, max_timesteps=T"),
        ("chrono(max_timesteps=many)", "must be a number"),
        ("chrono(max_timesteps=1)", "max_timesteps` must be a number at least 2"),
        ("npinit(max_timesteps=10)", "sets no Chrono"),
        ("scheme:{not json", "not valid JSON"),
        ("scheme:missing.json", "No scheme file"),
    ],
)
def test_bad_names_are_one_clear_error(identifier, match):
    with pytest.raises(ValueError, match=match):
        schemes.get(identifier)


def test_a_registered_scheme_is_found_by_its_bare_name():
    scheme = Scheme("test-ortho-gru", "orthogonal recurrent in GRUs",
                    {"gru": {"recurrent": "orthogonal"}})
    schemes.register_scheme(scheme)
    try:
        assert schemes.get("test-ortho-gru") is scheme
        with pytest.raises(ValueError, match="already registered"):
            schemes.register_scheme(scheme)
    finally:
        schemes.SCHEMES.pop("test-ortho-gru")


@pytest.mark.parametrize("name", ["orthogonal", "identity", "glorot_uniform",
                                  "Orthogonal", "zeros"])
def test_a_scheme_named_like_a_keras_initializer_is_refused(name):
    with pytest.raises(ValueError, match="Keras initializer identifier"):
        schemes.register_scheme(Scheme(name, "x", {"*": {"recurrent": "zeros"}}))


@pytest.mark.parametrize(
    "layers, match",
    [
        ({"transformer": {"recurrent": "zeros"}}, "unknown layer kind"),
        ({"lstm": {"gates": "zeros"}}, "a dict of weights"),
        ({"lstm": {}}, "a dict of weights"),
        ({"lstm": {"recurrent": "no_such_init"}}, "Unknown initializer"),
        ({"lstm": {"recurrent": 3}}, "must be a Keras initializer"),
        ({}, "needs `layers`"),
    ],
)
def test_a_bad_scheme_is_one_clear_error(layers, match):
    with pytest.raises(ValueError, match=match):
        Scheme("bad", "x", layers)


def test_a_bad_scheme_name_is_refused():
    with pytest.raises(ValueError, match="name must be"):
        Scheme("two words", "x", {"*": {"recurrent": "zeros"}})


# Applying a scheme -------------------------------------------------------------------


def test_chrono_sets_lstm_and_gru_biases_in_every_layout_and_nothing_else():
    model = mixed_model()
    copy, applied = apply_scheme(model, "chrono")
    new = cells(copy)
    for name in ("bi_forward", "bi_backward", "gru", "gru_v1", "cell"):
        cell = new[name]
        tau = keep_time_constants(cell)
        assert tau.min() >= 2.0 - 1e-5 and tau.max() <= T + 1e-4, name
        assert not np.allclose(tau, tau[0]), name
        kernel = to_numpy(cell.recurrent_kernel)
        np.testing.assert_allclose(kernel @ kernel.T, np.eye(cell.units),
                                   atol=1e-5, err_msg=name)
    for name in ("bi_forward", "bi_backward", "cell"):
        # The user's unit_forget_bias=True would have replaced the forget
        # bias with ones: the scheme turns it off.
        assert new[name].unit_forget_bias is False
        bias = to_numpy(new[name].bias)
        n = new[name].units
        np.testing.assert_allclose(bias[:n], -bias[n:2 * n])
    # SimpleRNN is no LSTM or GRU: rebuilt as it was.
    old_simple, new_simple = model.get_layer("simple"), copy.get_layer("simple")
    a, b = old_simple.get_config(), new_simple.get_config()
    assert a == b
    assert [a["layer"] for a in applied] == [
        "bi.layer", "bi.backward_layer", "gru", "gru_v1", "cell.cell"]
    assert all("Chrono(max_timesteps=12" in a["set"]["bias_initializer"]
               for a in applied)
    assert applied[0]["set"]["unit_forget_bias"] is False
    assert "unit_forget_bias" not in applied[2]["set"]


def test_chrono_takes_an_explicit_max_timesteps_for_every_layer():
    copy, applied = apply_scheme(mixed_model(), "chrono(max_timesteps=400)")
    tau = np.concatenate([keep_time_constants(c) for name, c in cells(copy).items()
                          if name != "simple"])
    assert tau.max() > T and tau.max() <= 400
    assert all("max_timesteps=400" in a["set"]["bias_initializer"] for a in applied)


def test_chrono_needs_a_length_when_the_input_has_none():
    model = keras.Sequential([keras.Input((None, 2)), keras.layers.LSTM(4),
                              keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"chrono\(max_timesteps=500\)"):
        apply_scheme(model, "chrono")
    copy, _ = apply_scheme(model, "chrono(max_timesteps=30)")
    assert keep_time_constants(copy.layers[0].cell).max() <= 30


def test_a_scheme_that_sets_nothing_in_the_model_is_refused():
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.SimpleRNN(3),
                              keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="no recurrent layer that scheme 'chrono'"):
        apply_scheme(model, "chrono")


def test_npinit_sets_both_kernels_of_every_recurrent_layer():
    units = 32
    model = keras.Sequential([keras.Input((T, 20)),
                              keras.layers.SimpleRNN(units, return_sequences=True),
                              keras.layers.GRU(units), keras.layers.Dense(1)])
    copy, applied = apply_scheme(model, "npinit")
    for layer in copy.layers[:2]:
        recurrent = to_numpy(layer.cell.recurrent_kernel).astype(np.float64)
        for block in np.split(recurrent, recurrent.shape[1] // units, axis=1):
            np.testing.assert_allclose(block, block.T, atol=1e-6)
            assert np.linalg.eigvalsh(block).max() == pytest.approx(1.0, abs=1e-5)
        kernel = to_numpy(layer.cell.kernel)
        n = kernel.shape[1]  # RandomWalkNormal's fan_out
        assert kernel.std() == pytest.approx(
            random_walk_factor(n) / np.sqrt(n), rel=0.15)
    assert [sorted(a["set"]) for a in applied] == [
        ["kernel_initializer", "recurrent_initializer"]] * 2


def test_irnn_sets_identity_blocks_and_small_inputs():
    model = keras.Sequential([keras.Input((T, 3)), keras.layers.LSTM(6),
                              keras.layers.Dense(1)])
    copy, _ = apply_scheme(model, "irnn")
    cell = copy.layers[0].cell
    np.testing.assert_array_equal(to_numpy(cell.recurrent_kernel),
                                  np.tile(np.eye(6), (1, 4)))
    assert 0.0 < to_numpy(cell.kernel).std() < 0.003
    # irnn names no bias: the LSTM keeps Keras's forget bias of 1.
    assert cell.unit_forget_bias is True
    np.testing.assert_array_equal(to_numpy(cell.bias)[6:12], 1.0)


def test_a_kind_named_in_a_scheme_overrides_its_wildcard():
    scheme = Scheme("mixed", "zeros everywhere, ones in GRUs",
                    {"*": {"recurrent": "zeros"}, "gru": {"recurrent": "ones"}})
    model = keras.Sequential([keras.Input((T, 3)),
                              keras.layers.SimpleRNN(4, return_sequences=True),
                              keras.layers.GRU(4), keras.layers.Dense(1)])
    copy, _ = apply_scheme(model, scheme)
    np.testing.assert_array_equal(to_numpy(copy.layers[0].cell.recurrent_kernel), 0)
    np.testing.assert_array_equal(to_numpy(copy.layers[1].cell.recurrent_kernel), 1)


def test_the_scheme_description_names_each_layer_and_initializer():
    _, applied = apply_scheme(mixed_model(), "chrono")
    text = schemes.describe_applied(applied)
    assert text.startswith("bi.layer (LSTM): recurrent_initializer Orthogonal(")
    assert "gru_v1 (GRU): recurrent_initializer Orthogonal(" in text
    assert "cell.cell (LSTMCell): " in text and "unit_forget_bias False" in text


def test_a_chrono_copy_saves_and_reloads(tmp_path):
    copy, _ = apply_scheme(mixed_model(), "chrono")
    path = str(tmp_path / "chrono.keras")
    copy.save(path)
    reloaded = keras.models.load_model(path)
    x = np.random.default_rng(0).normal(size=(2, T, 3)).astype("float32")
    np.testing.assert_allclose(copy.predict(x, verbose=0),
                               reloaded.predict(x, verbose=0), atol=1e-6)
