import keras
import numpy as np
import pytest
from helpers import assert_config_round_trip

from keras_rnninit.constraints import RecurrentBound
from keras_rnninit.constraints import recurrent_bound


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("timesteps,gamma", [(784, 5.0), (100, 2.0), (1, 3.0)])
def test_recurrent_bound_is_gamma_root(timesteps, gamma):
    assert recurrent_bound(timesteps, gamma) == pytest.approx(
        gamma ** (1.0 / timesteps)
    )


def test_projection_symmetric():
    w = np.array([-3.0, -1.05, -0.5, 0.0, 0.7, 1.01, 9.0], "float32")
    projected = to_numpy(RecurrentBound(1.01)(w))
    np.testing.assert_allclose(projected, np.clip(w, -1.01, 1.01))
    assert projected.max() <= 1.01 + 1e-7
    assert projected.min() >= -1.01 - 1e-7


def test_projection_nonnegative():
    w = np.array([-3.0, -0.1, 0.0, 0.4, 2.0], "float32")
    projected = to_numpy(RecurrentBound(1.5, nonnegative=True)(w))
    np.testing.assert_allclose(projected, [0.0, 0.0, 0.0, 0.4, 1.5])


def test_values_inside_are_unchanged():
    w = np.linspace(-0.99, 0.99, 11).astype("float32")
    np.testing.assert_array_equal(to_numpy(RecurrentBound(1.0)(w)), w)


def test_config_round_trip_and_alias():
    bound = RecurrentBound(1.2, nonnegative=True)
    revived = assert_config_round_trip(bound)
    assert revived.max_value == 1.2 and revived.nonnegative
    by_name = keras.constraints.get(
        {"class_name": "keras_rnninit>IndRNNBound",
         "config": {"max_value": 2.0, "nonnegative": False}}
    )
    assert isinstance(by_name, RecurrentBound)


def test_applied_after_optimizer_update():
    # The authors project u after each update; Keras optimizers apply a
    # variable's constraint right after its update.
    layer = keras.layers.Dense(
        3, use_bias=False, kernel_initializer="ones",
        kernel_constraint=RecurrentBound(1.1),
    )
    model = keras.Sequential([keras.Input((2,)), layer])
    model.compile(optimizer=keras.optimizers.SGD(10.0), loss="mse")
    model.train_on_batch(np.ones((4, 2)), -100 * np.ones((4, 3)))
    w = to_numpy(layer.kernel)
    assert np.all(np.abs(w) <= 1.1 + 1e-6)
    assert np.any(np.isclose(np.abs(w), 1.1))


@pytest.mark.parametrize(
    "kwargs,name",
    [({"timesteps": 0}, "timesteps"), ({"timesteps": -3}, "timesteps"),
     ({"timesteps": 2.5}, "timesteps"), ({"timesteps": 10, "gamma": 0.0}, "gamma"),
     ({"timesteps": 10, "gamma": -2.0}, "gamma")],
)
def test_recurrent_bound_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        recurrent_bound(**kwargs)


@pytest.mark.parametrize(
    "kwargs,name",
    [({"max_value": 0.0}, "max_value"), ({"max_value": -1.0}, "max_value"),
     ({"max_value": float("inf")}, "max_value"),
     ({"max_value": 1.0, "nonnegative": "yes"}, "nonnegative")],
)
def test_constraint_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        RecurrentBound(**kwargs)
