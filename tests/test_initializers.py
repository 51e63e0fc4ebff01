import json
import math
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import assert_config_round_trip
from helpers import assert_reload_matches

from keras_rnninit import initializers
from keras_rnninit.initializers import NormalizedPositiveDefinite
from keras_rnninit.initializers import NPInit
from keras_rnninit.initializers import RandomWalkNormal
from keras_rnninit.initializers import ScaledIdentity


def float64_supported():
    if keras.backend.backend() != "jax":
        return True
    import jax

    return bool(jax.config.jax_enable_x64)


needs_float64 = pytest.mark.skipif(
    not float64_supported(), reason="JAX runs without x64 enabled"
)


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def np_rnn_reference(r):
    """np-RNN's W from R, written from the paper: (A + I) / lambda_max(A + I)."""
    n = r.shape[0]
    a = r.T @ r / n
    m = a + np.eye(n)
    return m / np.max(np.linalg.eigvalsh(m))


# ScaledIdentity ---------------------------------------------------------------


@pytest.mark.parametrize("gain", [1.0, 0.01, -0.5])
def test_scaled_identity_square(gain):
    w = to_numpy(ScaledIdentity(gain)((7, 7)))
    np.testing.assert_allclose(w, gain * np.eye(7), rtol=1e-7)


@pytest.mark.parametrize("blocks", [3, 4])
def test_scaled_identity_stacked_blocks(blocks):
    w = to_numpy(ScaledIdentity(0.3)((5, blocks * 5)))
    for k in range(blocks):
        np.testing.assert_allclose(w[:, 5 * k : 5 * (k + 1)], 0.3 * np.eye(5))


def test_scaled_identity_vector_is_gain_times_ones():
    w = to_numpy(ScaledIdentity(0.7)((6,)))
    np.testing.assert_allclose(w, np.full(6, 0.7, dtype="float32"))


@pytest.mark.parametrize(
    "dtype", ["float16", "float32", pytest.param("float64", marks=needs_float64)]
)
def test_scaled_identity_dtype(dtype):
    w = ScaledIdentity(2.0)((3, 3), dtype=dtype)
    assert keras.backend.standardize_dtype(w.dtype) == dtype


def test_scaled_identity_gain_survives_config_unlike_keras_identity():
    keras_identity = keras.initializers.Identity(gain=0.01)
    revived = keras.initializers.Identity.from_config(keras_identity.get_config())
    ours = assert_config_round_trip(ScaledIdentity(0.01))
    assert ours.gain == 0.01
    # The reason this class exists: Keras's own identity loses its gain.
    assert revived.gain == 1.0


def test_initializers_sit_in_keras_initializer_hierarchy():
    for init in (ScaledIdentity(), NPInit(seed=1), RandomWalkNormal(seed=1)):
        assert isinstance(init, keras.initializers.Initializer)


# NormalizedPositiveDefinite ----------------------------------------------------


@pytest.mark.parametrize("n", [2, 16, 100])
def test_np_init_matches_numpy_reference_with_same_r(n):
    seed = 17
    r = to_numpy(
        keras.initializers.RandomNormal(stddev=1.0, seed=seed)((1, n, n))
    )[0].astype(np.float64)
    w = to_numpy(NPInit(seed=seed)((n, n)))
    np.testing.assert_allclose(w, np_rnn_reference(r), rtol=2e-6, atol=2e-7)


@pytest.mark.parametrize("n", [100, 128, 256])
def test_np_init_spectrum(n):
    w = to_numpy(NormalizedPositiveDefinite(seed=n)((n, n))).astype(np.float64)
    np.testing.assert_array_equal(w, w.T)
    eig = np.linalg.eigvalsh(w)
    assert abs(eig[-1] - 1.0) < 1e-6
    assert eig[-2] < 1.0 - 1e-3
    assert eig[0] > 0.0
    # PAPERS.md: for N around 100..256 the spectrum lies roughly in [0.2, 1].
    assert 0.15 < eig[0] < 0.35


def test_np_init_same_int_seed_same_matrix_on_every_call():
    init = NPInit(seed=5)
    first, second = to_numpy(init((20, 20))), to_numpy(init((20, 20)))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, to_numpy(NPInit(seed=5)((20, 20))))
    assert not np.allclose(first, to_numpy(NPInit(seed=6)((20, 20))))


def test_np_init_seed_generator_draws_anew():
    init = NPInit(seed=keras.random.SeedGenerator(3))
    assert not np.allclose(to_numpy(init((10, 10))), to_numpy(init((10, 10))))


def test_np_init_unseeded_instance_is_stable_but_instances_differ():
    init = NPInit()
    np.testing.assert_array_equal(to_numpy(init((8, 8))), to_numpy(init((8, 8))))
    assert not np.allclose(to_numpy(init((8, 8))), to_numpy(NPInit()((8, 8))))


def test_np_init_same_seed_same_matrix_in_a_new_process(subprocess_env):
    code = (
        "import json, keras; from keras_rnninit import NPInit; "
        "print(json.dumps(keras.ops.convert_to_numpy(NPInit(seed=11)((6, 6))).tolist()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    child = np.array(json.loads(out.strip().splitlines()[-1]), dtype="float32")
    np.testing.assert_array_equal(child, to_numpy(NPInit(seed=11)((6, 6))))


@pytest.mark.parametrize("blocks", [3, 4])
def test_np_init_stacked_blocks_are_independent_np_matrices(blocks):
    w = to_numpy(NPInit(seed=2)((12, blocks * 12))).astype(np.float64)
    parts = [w[:, 12 * k : 12 * (k + 1)] for k in range(blocks)]
    for part in parts:
        np.testing.assert_allclose(part, part.T, atol=1e-7)
        assert abs(np.linalg.eigvalsh(part)[-1] - 1.0) < 1e-6
    for k in range(1, blocks):
        assert not np.allclose(parts[0], parts[k])
    # Each block is the formula applied to its own slice of one (k, N, N) draw.
    r = to_numpy(keras.initializers.RandomNormal(stddev=1.0, seed=2)((blocks, 12, 12)))
    for k in range(blocks):
        np.testing.assert_allclose(
            parts[k], np_rnn_reference(r[k].astype(np.float64)), atol=2e-7
        )


@pytest.mark.parametrize(
    "layer_cls, gates", [(keras.layers.LSTM, 4), (keras.layers.GRU, 3)]
)
def test_block_aware_on_lstm_and_gru_kernels(layer_cls, gates):
    units = 16
    for init in (NPInit(seed=4), ScaledIdentity(0.5)):
        layer = layer_cls(units, recurrent_initializer=init)
        layer.build((None, 5, 3))
        kernel = to_numpy(layer.cell.recurrent_kernel).astype(np.float64)
        assert kernel.shape == (units, gates * units)
        for k in range(gates):
            block = kernel[:, units * k : units * (k + 1)]
            if isinstance(init, ScaledIdentity):
                np.testing.assert_allclose(block, 0.5 * np.eye(units))
            else:
                assert abs(np.linalg.eigvalsh(block)[-1] - 1.0) < 1e-6


@needs_float64
def test_np_init_dtype():
    w = NPInit(seed=1)((4, 4), dtype="float64")
    assert keras.backend.standardize_dtype(w.dtype) == "float64"
    assert abs(np.linalg.eigvalsh(to_numpy(w))[-1] - 1.0) < 1e-12


# RandomWalkNormal ----------------------------------------------------------------


def test_random_walk_factor_formula():
    assert initializers.random_walk_factor(100) == pytest.approx(
        math.sqrt(2) * math.exp(1.2 / 97.6)
    )
    # N below 6 is clamped to 6.
    assert initializers.random_walk_factor(2) == initializers.random_walk_factor(6)


@pytest.mark.parametrize("mode, n", [("fan_out", 400), ("fan_in", 300)])
def test_random_walk_normal_std(mode, n):
    init = RandomWalkNormal(scale=0.5, mode=mode, seed=3)
    w = to_numpy(init((300, 400)))
    expected = 0.5 * initializers.random_walk_factor(n) / math.sqrt(n)
    assert init.stddev((300, 400)) == pytest.approx(expected)
    assert np.std(w) == pytest.approx(expected, rel=0.02)
    assert abs(np.mean(w)) < 0.01 * expected * 10
    np.testing.assert_array_equal(w, to_numpy(init((300, 400))))


# Configs, serialization, models -----------------------------------------------------


@pytest.mark.parametrize(
    "init",
    [
        ScaledIdentity(0.01),
        NPInit(seed=3),
        NPInit(),
        RandomWalkNormal(scale=2.0, mode="fan_in", seed=1),
    ],
)
def test_config_round_trip(init):
    revived = assert_config_round_trip(init)
    assert revived.get_config() == init.get_config()


def test_config_contains_every_constructor_argument():
    assert ScaledIdentity(0.1).get_config() == {"gain": 0.1}
    assert NPInit(seed=9).get_config() == {"seed": 9}
    assert RandomWalkNormal(1.5, "fan_in", 2).get_config() == {
        "scale": 1.5,
        "mode": "fan_in",
        "seed": 2,
    }


@pytest.mark.parametrize(
    "name, cls",
    [
        ("keras_rnninit>ScaledIdentity", ScaledIdentity),
        ("keras_rnninit>IRNN", ScaledIdentity),
        ("keras_rnninit>NormalizedPositiveDefinite", NormalizedPositiveDefinite),
        ("keras_rnninit>NPInit", NormalizedPositiveDefinite),
        ("keras_rnninit>RandomWalkNormal", RandomWalkNormal),
        ("keras_rnninit>NPInputInit", RandomWalkNormal),
    ],
)
def test_lookup_by_string(name, cls):
    assert isinstance(keras.initializers.get(name), cls)


def test_lookup_by_dict_config_and_serialized_name():
    cfg = {"class_name": "keras_rnninit>ScaledIdentity", "config": {"gain": 0.25}}
    init = keras.initializers.get(cfg)
    assert init.gain == 0.25
    serialized = keras.initializers.serialize(NPInit(seed=1))
    assert serialized["registered_name"] == "keras_rnninit>NormalizedPositiveDefinite"


def test_string_name_in_a_layer():
    layer = keras.layers.SimpleRNN(
        4, recurrent_initializer="keras_rnninit>NPInit", activation="relu"
    )
    layer.build((None, 3, 2))
    w = to_numpy(layer.cell.recurrent_kernel).astype(np.float64)
    assert abs(np.linalg.eigvalsh(w)[-1] - 1.0) < 1e-6


def _simple_rnn(init, kernel_init="glorot_uniform"):
    return keras.layers.SimpleRNN(
        8,
        activation="relu",
        kernel_initializer=kernel_init,
        recurrent_initializer=init,
    )


INIT_CASES = [
    ("identity", lambda: ScaledIdentity(0.01), "glorot_uniform"),
    ("np", lambda: NPInit(seed=1), lambda: RandomWalkNormal(seed=2)),
]


@pytest.mark.parametrize("case", INIT_CASES, ids=lambda c: c[0])
@pytest.mark.parametrize("style", ["sequential", "functional"])
def test_model_save_load_keeps_weights_and_initializer(case, style, tmp_path):
    _, make_init, kernel_init = case
    kernel_init = kernel_init() if callable(kernel_init) else kernel_init
    layer = _simple_rnn(make_init(), kernel_init)
    if style == "sequential":
        model = keras.Sequential([keras.Input((5, 2)), layer, keras.layers.Dense(1)])
    else:
        inputs = keras.Input((5, 2))
        model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).uniform(size=(4, 5, 2)).astype("float32")
    reloaded, _ = assert_reload_matches(model, x, tmp_path)
    rnn = [lay for lay in reloaded.layers if isinstance(lay, keras.layers.SimpleRNN)]
    revived_init = rnn[0].cell.recurrent_initializer
    assert type(revived_init) is type(layer.cell.recurrent_initializer)
    assert revived_init.get_config() == layer.cell.recurrent_initializer.get_config()


TRAIN_SAVE_SCRIPT = """
import sys, numpy as np, keras
from keras_rnninit import NPInit
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.uniform(size=(64, 10, 2)).astype("float32")
y = x[:, :, 0].sum(axis=1, keepdims=True)
model = keras.Sequential([
    keras.Input((10, 2)),
    keras.layers.SimpleRNN(100, activation="relu", recurrent_initializer=NPInit(seed=1)),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(1e-3, clipnorm=1.0), loss="mse")
model.fit(x, y, epochs=1, batch_size=16, verbose=0)
model.save(sys.argv[1])
np.save(sys.argv[2], model.predict(x, verbose=0))
"""

RELOAD_SCRIPT = """
import sys, numpy as np, keras
import keras_rnninit  # registers the initializers for deserialization
model = keras.models.load_model(sys.argv[1])
x = np.random.default_rng(0).uniform(size=(64, 10, 2)).astype("float32")
np.save(sys.argv[2], model.predict(x, verbose=0))
"""


def test_np_rnn_trains_saves_and_reloads_in_new_process(tmp_path, subprocess_env):
    path, before, after = tmp_path / "m.keras", tmp_path / "a.npy", tmp_path / "b.npy"
    for script, out in ((TRAIN_SAVE_SCRIPT, before), (RELOAD_SCRIPT, after)):
        subprocess.run(
            [sys.executable, "-c", script, str(path), str(out)],
            env=subprocess_env,
            check=True,
            capture_output=True,
        )
    np.testing.assert_array_equal(np.load(before), np.load(after))


# Errors -----------------------------------------------------------------------------


RECURRENT_INITS = [ScaledIdentity(0.5), NPInit(seed=1)]
INIT_IDS = ["identity", "np"]


@pytest.mark.parametrize("init", RECURRENT_INITS, ids=INIT_IDS)
@pytest.mark.parametrize(
    "shape", [(1, 1), (5, 5), (5, 15), (5, 20)], ids=["1x1", "square", "gru", "lstm"]
)
def test_recurrent_kernel_shapes_are_accepted(init, shape):
    assert tuple(to_numpy(init(shape)).shape) == shape


@pytest.mark.parametrize("init", RECURRENT_INITS, ids=INIT_IDS)
@pytest.mark.parametrize(
    "shape",
    [
        (2, 100),  # SimpleRNN(100)'s input kernel on 2 features
        (16, 1),  # Dense(1)'s kernel
        (5, 10),  # 2 blocks: no Keras layer stacks 2 gates
        (5, 25),
        (4, 2),
        (3, 4),
        (0, 0),
        (3, 4, 5),
        (),
    ],
)
def test_other_shapes_are_refused_naming_shape_and_input_initializer(init, shape):
    with pytest.raises(ValueError) as info:
        init(shape)
    message = str(info.value)
    assert message.endswith(f"Received: shape={tuple(shape)}.")
    assert "defined for square recurrent matrices" in message
    assert "(N, 3 * N) for GRU or (N, 4 * N) for LSTM" in message
    assert "For an input kernel (input_dim, units), use `RandomWalkNormal`" in message


def test_np_init_rejects_vector():
    with pytest.raises(ValueError, match=r"Received: shape=\(5,\)\.$"):
        NPInit(seed=1)((5,))


def test_an_input_kernel_fails_when_the_layer_is_built():
    layer = keras.layers.SimpleRNN(
        100, kernel_initializer=NPInit(seed=1), recurrent_initializer=NPInit(seed=2)
    )
    with pytest.raises(ValueError, match=r"Received: shape=\(2, 100\)\."):
        layer.build((None, 5, 2))


def test_random_walk_normal_rejects_non_matrix():
    with pytest.raises(ValueError, match=r"shape=\(5,\) of rank 1"):
        RandomWalkNormal(seed=1)((5,))


@pytest.mark.parametrize("gain", ["1", float("nan"), float("inf"), True, None])
def test_bad_gain(gain):
    with pytest.raises(ValueError, match="gain"):
        ScaledIdentity(gain)


@pytest.mark.parametrize("seed", ["1", 1.5, True, [1]])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        NPInit(seed=seed)
    with pytest.raises(ValueError, match="seed"):
        RandomWalkNormal(seed=seed)


@pytest.mark.parametrize("kwargs", [{"scale": 0}, {"scale": -1.0}, {"mode": "fan_avg"}])
def test_bad_random_walk_arguments(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        RandomWalkNormal(**kwargs)


@pytest.mark.parametrize("init", [ScaledIdentity(), NPInit(seed=1), RandomWalkNormal()])
def test_integer_dtype_is_rejected(init):
    with pytest.raises(ValueError, match="dtype='int32'"):
        init((3, 3), dtype="int32")
