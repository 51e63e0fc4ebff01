import keras
import numpy as np
import pytest
from helpers import assert_reload_matches

from keras_rnninit.layers.deep_indrnn import deep_indrnn
from keras_rnninit.layers.indrnn import IndRNN

T, F = 5, 1


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def indrnn_layers(model):
    return [layer for layer in model.layers if isinstance(layer, IndRNN)]


def test_paper_mnist_model_is_one_call():
    model = deep_indrnn((784, 1), num_classes=10)
    layers = indrnn_layers(model)
    assert len(layers) == 6 and all(layer.units == 128 for layer in layers)
    assert all(layer.timesteps == 784 and layer.gamma == 5.0 for layer in layers)
    assert [layer.long_memory for layer in layers] == [False] * 5 + [True]
    bns = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert len(bns) == 6
    assert model.output.shape == (None, 10)


@pytest.mark.parametrize("num_classes,shape", [(None, (None, 4)), (3, (None, 3))])
def test_shapes(num_classes, shape):
    model = deep_indrnn((T, F), units=4, num_layers=2, num_classes=num_classes)
    assert tuple(model.output.shape) == shape
    x = np.random.default_rng(0).uniform(size=(2, T, F)).astype("float32")
    assert model(x).shape == (2,) + shape[1:]
    seq = deep_indrnn((T, F), units=4, num_layers=2, return_sequences=True)
    assert tuple(seq.output.shape) == (None, T, 4)


def test_unknown_length_returns_last_step():
    model = deep_indrnn((None, F), units=4, num_layers=2, long_memory=False)
    assert tuple(model.output.shape) == (None, 4)


def test_residual_really_adds():
    model = deep_indrnn((T, F), units=4, num_layers=3, residual=True,
                        dropout=0.0, return_sequences=True, name="res")
    adds = [l for l in model.layers if isinstance(l, keras.layers.Add)]
    assert [a.name for a in adds] == ["res_add_1", "res_add_2"]
    probe = keras.Model(model.input, [
        model.get_layer("res_bn_0").output, model.get_layer("res_bn_1").output,
        model.get_layer("res_add_1").output])
    x = np.random.default_rng(1).uniform(size=(2, T, F)).astype("float32")
    block0, block1, added = [to_numpy(t) for t in probe(x)]
    np.testing.assert_allclose(added, block0 + block1, atol=1e-5)
    plain = deep_indrnn((T, F), units=4, num_layers=3, residual=False)
    assert not any(isinstance(l, keras.layers.Add) for l in plain.layers)


def test_last_layer_long_memory_init_range():
    model = deep_indrnn((T, F), units=64, num_layers=2, gamma=2.0)
    first, last = indrnn_layers(model)
    high = 2.0 ** (1 / T)
    u_last = to_numpy(last.cell.recurrent_kernel)
    assert u_last.min() >= 0.5 ** (1 / T) - 1e-6 and u_last.max() <= high + 1e-6
    u_first = to_numpy(first.cell.recurrent_kernel)
    assert u_first.min() < 0.5 ** (1 / T)  # the full [0, high] range


def test_fit_and_save_load(tmp_path):
    model = deep_indrnn((T, F), units=4, num_layers=2, residual=True,
                        num_classes=3)
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(6, T, F)).astype("float32")
    model.fit(x, rng.integers(0, 3, 6), epochs=1, verbose=0)
    reloaded, _ = assert_reload_matches(model, x, tmp_path, atol=1e-6)
    assert len(indrnn_layers(reloaded)) == 2


@pytest.mark.parametrize(
    "kwargs,name",
    [({"units": 0}, "units"), ({"num_layers": 0}, "num_layers"),
     ({"timesteps": 0}, "timesteps"), ({"dropout": 1.0}, "dropout"),
     ({"num_classes": 0}, "num_classes"), ({"gamma": -1.0}, "gamma"),
     ({"activation": "nope"}, "activation")],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        deep_indrnn((T, F), **kwargs)


def test_bad_input_shape():
    with pytest.raises(ValueError, match="input_shape"):
        deep_indrnn((T,))
    with pytest.raises(ValueError, match="input_shape"):
        deep_indrnn((None, F), residual=True, long_memory=False)
