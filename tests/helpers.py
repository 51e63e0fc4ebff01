"""Checks that Keras runs on its own layers, for ours."""

import os

import keras
import numpy as np


def assert_config_round_trip(obj):
    """`from_config(get_config())` and Keras (de)serialization keep the config."""
    config = obj.get_config()
    clone = obj.__class__.from_config(config)
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(obj)
    )
    assert type(revived) is type(obj)
    assert revived.get_config() == config
    return revived


def save_and_reload(model, directory, name="model.keras"):
    path = os.path.join(str(directory), name)
    model.save(path)
    return keras.models.load_model(path), path


def assert_reload_matches(model, x, directory, atol=0.0):
    """Saves a model, reloads it, and checks weights and predictions match."""
    reloaded, path = save_and_reload(model, directory)
    for before, after in zip(model.weights, reloaded.weights):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(before), keras.ops.convert_to_numpy(after)
        )
    np.testing.assert_allclose(
        model.predict(x, verbose=0), reloaded.predict(x, verbose=0), atol=atol
    )
    return reloaded, path


def run_layer_test(layer, input_shape, directory, expected_output_shape=None):
    """Symbolic and eager call, one `fit` step, config round trip, save/load.

    `input_shape` includes the batch dimension. Returns the reloaded model.
    """
    x = np.random.default_rng(0).uniform(-1, 1, input_shape).astype("float32")
    assert_config_round_trip(layer)
    inputs = keras.Input(input_shape[1:], batch_size=None)
    symbolic = layer(inputs)
    eager = layer(x)
    if expected_output_shape is not None:
        assert tuple(eager.shape) == tuple(expected_output_shape)
        assert tuple(symbolic.shape)[1:] == tuple(expected_output_shape)[1:]
    model = keras.Model(inputs, symbolic)
    model.compile(optimizer="sgd", loss="mse")
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    model.fit(x, np.zeros_like(keras.ops.convert_to_numpy(eager)), epochs=1, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))
    reloaded, _ = assert_reload_matches(model, x, directory, atol=1e-6)
    return reloaded


def make_mnist_npz(path, num_train=40, num_test=12, seed=0):
    """A small random `mnist.npz` in Keras's format; returns its arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (num_train, 28, 28), dtype=np.uint8),
        "y_train": np.concatenate(
            [np.full(num_train // 2, 7),
             rng.integers(0, 10, num_train - num_train // 2)]
        ).astype(np.uint8),
        "x_test": rng.integers(0, 256, (num_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, num_test).astype(np.uint8),
    }
    np.savez(path, **arrays)
    return arrays
