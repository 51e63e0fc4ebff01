import keras
import numpy as np
import pytest

from keras_rnninit import IndRNN
from keras_rnninit import IndRNNCell
from keras_rnninit import NPInit
from keras_rnninit.tuning.candidates import StudyError
from keras_rnninit.tuning.candidates import initializer_candidates
from keras_rnninit.tuning.candidates import recompile
from keras_rnninit.tuning.candidates import resolve_initializer
from keras_rnninit.tuning.candidates import with_recurrent_initializer


def functional_model(indrnn=True):
    inputs = keras.Input((5, 3))
    x = keras.layers.SimpleRNN(4, return_sequences=True, name="simple")(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True),
                                   name="bi")(x)
    x = keras.layers.GRU(4, return_sequences=True, name="gru")(x)
    if indrnn:
        x = keras.layers.RNN(IndRNNCell(4), return_sequences=True, name="cell")(x)
        x = IndRNN(4, return_sequences=True, name="indrnn")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(2, name="head")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-2, clipnorm=2.0),
                  loss="mse", metrics=["mae"])
    return model


def recurrent_kernels(model):
    return {
        "simple": model.get_layer("simple").cell.recurrent_kernel,
        "bi_forward": model.get_layer("bi").forward_layer.cell.recurrent_kernel,
        "bi_backward": model.get_layer("bi").backward_layer.cell.recurrent_kernel,
        "gru": model.get_layer("gru").cell.recurrent_kernel,
        "cell": model.get_layer("cell").cell.recurrent_kernel,
        "indrnn": model.get_layer("indrnn").cell.recurrent_kernel,
    }


def test_every_recurrent_layer_gets_the_initializer_and_nothing_else_changes():
    model = functional_model()
    copy = with_recurrent_initializer(model, keras.initializers.Constant(0.25))
    for name, kernel in recurrent_kernels(copy).items():
        np.testing.assert_allclose(keras.ops.convert_to_numpy(kernel), 0.25,
                                   err_msg=name)
    for old, new in zip(model.layers, copy.layers, strict=True):
        a, b = old.get_config(), new.get_config()
        for config in (a, b):
            config.pop("name", None)
        if old.name == "head":
            assert a == b
        assert [w.shape for w in old.weights] == [w.shape for w in new.weights]


def test_identity_on_a_simple_rnn_and_npinit_on_an_lstm_by_block():
    model = keras.Sequential([
        keras.Input((4, 2)), keras.layers.SimpleRNN(3), keras.layers.Dense(1)])
    copy = with_recurrent_initializer(model, resolve_initializer("identity"))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(copy.layers[0].cell.recurrent_kernel), np.eye(3))
    lstm = keras.Sequential([
        keras.Input((4, 2)), keras.layers.LSTM(6), keras.layers.Dense(1)])
    copy = with_recurrent_initializer(lstm, resolve_initializer("keras_rnninit>NPInit"))
    kernel = keras.ops.convert_to_numpy(copy.layers[0].cell.recurrent_kernel)
    for block in np.split(kernel, 4, axis=1):
        eigenvalues = np.linalg.eigvalsh((block + block.T) / 2)
        np.testing.assert_allclose(block, block.T, atol=1e-6)
        assert eigenvalues.max() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("orthogonal", keras.initializers.Orthogonal),
        ("keras_rnninit>NPInit", NPInit),
        ('{"class_name": "Orthogonal", "config": {"gain": 0.5}}',
         keras.initializers.Orthogonal),
        ({"class_name": "Identity", "config": {"gain": 2.0}},
         keras.initializers.Identity),
    ],
)
def test_initializer_identifiers(identifier, cls):
    assert isinstance(resolve_initializer(identifier), cls)


@pytest.mark.parametrize("identifier", ["no_such_init", "{not json"])
def test_bad_initializer_is_one_clear_error(identifier):
    with pytest.raises(StudyError, match="(?i)initializer"):
        resolve_initializer(identifier)


def test_a_model_without_recurrent_layers_is_refused():
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    with pytest.raises(StudyError, match="no recurrent layer"):
        with_recurrent_initializer(model, keras.initializers.Zeros())


def test_a_subclassed_model_is_refused_with_a_reason():
    class Mine(keras.Model):
        def __init__(self):
            super().__init__()
            self.rnn = keras.layers.SimpleRNN(3)

        def call(self, x):
            return self.rnn(x)

    model = Mine()
    model(np.zeros((1, 4, 2), "float32"))
    with pytest.raises(StudyError, match="subclassed"):
        with_recurrent_initializer(model, keras.initializers.Zeros())


def test_an_initializer_that_does_not_fit_a_layer_names_it():
    with pytest.raises(StudyError, match="Orthogonal failed"):
        with_recurrent_initializer(functional_model(),
                                   resolve_initializer("orthogonal"))


def test_recompile_keeps_loss_metrics_and_takes_the_new_optimizer():
    model = functional_model(indrnn=False)
    copy = with_recurrent_initializer(model, keras.initializers.Orthogonal())
    recompile(copy, model, keras.optimizers.Adam(3e-3))
    assert isinstance(copy.optimizer, keras.optimizers.Adam)
    assert copy.get_compile_config()["loss"] == "mse"
    logs = copy.evaluate(np.zeros((2, 5, 3)), np.zeros((2, 2)), return_dict=True,
                         verbose=0)
    assert "mae" in logs


def test_initializer_candidates_keep_the_users_optimizer_with_the_trial_rate():
    candidates = initializer_candidates(lambda: functional_model(indrnn=False),
                                        ["orthogonal", "identity"])
    assert [c.name for c in candidates] == ["orthogonal", "identity"]
    model = candidates[1].build({"learning_rate": 0.05, "optimizer": None}, 0)
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == (
        pytest.approx(0.05))
    assert model.optimizer.clipnorm == 2.0
    model = candidates[0].build(
        {"learning_rate": 0.01, "optimizer": "sgd", "clipnorm": 1.0}, 0)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.optimizer.clipnorm == 1.0


def test_an_initializer_listed_twice_is_refused():
    with pytest.raises(StudyError, match="twice"):
        initializer_candidates(functional_model, ["orthogonal", "Orthogonal"][:1] * 2)


def lstm_gru_model():
    inputs = keras.Input((7, 2))
    x = keras.layers.LSTM(4, return_sequences=True, name="lstm")(inputs)
    x = keras.layers.GRU(5, name="gru")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(x))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model


def test_schemes_and_initializers_are_candidates_side_by_side():
    candidates = initializer_candidates(
        lstm_gru_model, ["orthogonal", "chrono", "scheme:npinit",
                         "chrono(max_timesteps=300)"])
    assert [c.name for c in candidates] == [
        "orthogonal", "chrono", "npinit", "chrono(max_timesteps=300)"]
    # Each description names what went into which weight of which layer.
    assert "Set: lstm (LSTM): recurrent_initializer Orthogonal(" in (
        candidates[0].description)
    assert "bias" not in candidates[0].description.split("Set:")[1]
    chrono = candidates[1].description
    assert "lstm (LSTM): recurrent_initializer Orthogonal(" in chrono
    assert "bias_initializer Chrono(max_timesteps=7," in chrono
    assert "unit_forget_bias False; gru (GRU): " in chrono
    assert "max_timesteps=300" in candidates[3].description
    model = candidates[1].build({"learning_rate": 0.01, "optimizer": None}, 0)
    lstm = model.get_layer("lstm").cell
    forget = keras.ops.convert_to_numpy(lstm.bias)[4:8]
    assert lstm.unit_forget_bias is False
    assert np.all(1 + np.exp(forget) <= 7 + 1e-4) and not np.allclose(forget, 1.0)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == (
        pytest.approx(0.01))


def test_a_scheme_listed_twice_is_refused():
    with pytest.raises(StudyError, match="twice"):
        initializer_candidates(lstm_gru_model, ["chrono", "scheme:chrono"])


def test_a_scheme_that_does_not_apply_is_refused_before_any_trial():
    def simple():
        model = keras.Sequential([keras.Input((4, 2)), keras.layers.SimpleRNN(3),
                                  keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model

    with pytest.raises(StudyError, match="no recurrent layer that scheme 'chrono'"):
        initializer_candidates(simple, ["orthogonal", "chrono"])


@pytest.mark.parametrize("identifier", ["chrono(T=5)", "nothing_known"])
def test_a_bad_scheme_name_is_one_study_error(identifier):
    with pytest.raises(StudyError, match="(?i)scheme"):
        initializer_candidates(lstm_gru_model, [identifier])
