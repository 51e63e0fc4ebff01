import keras
import numpy as np
import pytest

from keras_rnninit.initializers import NPInit
from keras_rnninit.tuning.compiled_models import CompiledModels
from keras_rnninit.tuning.compiled_models import signature


def make_model(seed, learning_rate=1e-2, recurrent_initializer="orthogonal",
               units=8, clipnorm=1.0):
    keras.utils.set_random_seed(seed)
    if callable(recurrent_initializer):  # drawn under the seed, as in a study
        recurrent_initializer = recurrent_initializer()
    inputs = keras.Input((5, 3))
    x = keras.layers.SimpleRNN(units, activation="relu", return_sequences=True,
                               recurrent_initializer=recurrent_initializer)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.2)(x)
    x = keras.layers.GRU(units)(x)
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(learning_rate, clipnorm=clipnorm),
                  loss="mse", metrics=["mae"])
    return model


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5, 3)).astype("float32")
    return x, x.sum(axis=(1, 2))[:, None]


def train(model, seed):
    keras.utils.set_random_seed(seed)
    x, y = data()
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    return np.array(history.history["loss"]), model.predict_on_batch(x)


compiling = pytest.mark.skipif(
    keras.backend.backend() not in ("jax", "tensorflow"),
    reason="models are reused on the backends that compile")


@compiling
def test_a_kept_model_trains_exactly_as_the_fresh_one_would():
    fresh_loss, fresh_out = train(make_model(1, 3e-3, NPInit), 1)

    models = CompiledModels()
    first = make_model(0)
    assert models.take(first) is first
    train(first, 0)  # leaves trained weights, optimizer slots, seed state
    second = make_model(1, 3e-3, NPInit)
    kept = models.take(second)
    assert kept is first
    loss, out = train(kept, 1)
    np.testing.assert_allclose(loss, fresh_loss, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out, fresh_out, rtol=1e-5, atol=1e-6)
    assert float(kept.optimizer.learning_rate) == pytest.approx(3e-3)


@compiling
@pytest.mark.parametrize("change", [
    dict(units=6), dict(clipnorm=10.0),
])
def test_a_different_architecture_or_optimizer_gets_its_own_model(change):
    models = CompiledModels()
    first = make_model(0)
    models.take(first)
    other = make_model(0, **change)
    assert models.take(other) is other
    assert signature(first) != signature(other)


def test_names_initializers_and_learning_rate_do_not_change_the_signature():
    a = make_model(0, 1e-2, "orthogonal")
    b = make_model(1, 1e-4, NPInit)
    assert a.name != b.name
    assert signature(a) == signature(b)


@compiling
def test_the_oldest_architecture_is_dropped_beyond_capacity():
    models = CompiledModels(capacity=1)
    first = make_model(0, units=4)
    models.take(first)
    models.take(make_model(0, units=5))
    again = make_model(0, units=4)
    assert models.take(again) is again
