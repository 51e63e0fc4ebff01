"""The exact parallel scan: the composition rule, and
`IndRNN(scan="parallel")` against the generic cell loop and the sequential
fused loop, on each backend."""

import contextlib
import warnings

import keras
import numpy as np
import pytest
from fused_checks import assert_fused_equals_generic
from fused_checks import outputs_and_gradients
from fused_checks import randomize
from fused_checks import to_numpy
from helpers import assert_config_round_trip
from helpers import assert_reload_matches

from keras_rnninit.constraints import recurrent_bound
from keras_rnninit.layers import IndRNN
from keras_rnninit.layers import _parallel_scan

BACKEND = keras.backend.backend()
B, T, F, N = 3, 7, 2, 4
INF = np.inf
CLAMPED = ["relu", None, "relu6", "hard_tanh", "hard_sigmoid",
           "sparse_sigmoid"]


# The composition rule ---------------------------------------------------------


def _apply(a, b, lo, hi, h):
    return np.clip(a * h + b, lo, hi)


def _random_maps(rng, size):
    n = rng.integers(0, 4, size).astype("float32")
    b = rng.normal(size=size).astype("float32")
    ends = np.sort(rng.normal(size=(2, size)), axis=0).astype("float32")
    lo = np.where(rng.uniform(size=size) < 0.3, -INF, ends[0])
    hi = np.where(rng.uniform(size=size) < 0.3, INF, ends[1])
    return {"n": n, "b": b, "lo": lo.astype("float32"),
            "hi": hi.astype("float32")}


def test_compose_is_the_composition_of_the_maps(rng):
    size = 400
    base = rng.choice([-1.3, -1.0, -0.6, 0.0, 0.5, 1.0, 1.2],
                      size).astype("float32")
    first, second = _random_maps(rng, size), _random_maps(rng, size)
    composed = {k: to_numpy(v) for k, v in _parallel_scan.compose(
        {k: keras.ops.convert_to_tensor(v) for k, v in first.items()},
        {k: keras.ops.convert_to_tensor(v) for k, v in second.items()},
        keras.ops.convert_to_tensor(base)).items()}
    np.testing.assert_array_equal(composed["n"], first["n"] + second["n"])
    assert np.all(composed["lo"] <= composed["hi"])
    a1, a2 = base ** first["n"], base ** second["n"]
    for h in np.linspace(-4, 4, 33, dtype="float32"):
        expected = _apply(a2, second["b"], second["lo"], second["hi"],
                          _apply(a1, first["b"], first["lo"], first["hi"], h))
        got = _apply(base ** composed["n"], composed["b"], composed["lo"],
                     composed["hi"], h)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_linear_maps_compose_with_the_alive_factor(rng):
    size = 50
    base = rng.uniform(-1.2, 1.2, size).astype("float32")
    maps = [{"n": rng.integers(0, 3, size).astype("float32"),
             "k": rng.integers(0, 2, size).astype("float32"),
             "b": rng.normal(size=size).astype("float32")} for _ in range(2)]
    tensors = [{k: keras.ops.convert_to_tensor(v) for k, v in m.items()}
               for m in maps]
    composed = {k: to_numpy(v) for k, v in _parallel_scan.compose(
        *tensors, keras.ops.convert_to_tensor(base)).items()}
    assert set(composed) == {"n", "k", "b"}
    (f, g), h = maps, 0.7
    expected = g["k"] * base ** g["n"] * (
        f["k"] * base ** f["n"] * h + f["b"]) + g["b"]
    got = composed["k"] * base ** composed["n"] * h + composed["b"]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_slope_is_the_signed_power():
    base = keras.ops.convert_to_tensor(
        np.array([-1.5, -1.5, 0.0, 0.0, 2.0], "float32"))
    count = keras.ops.convert_to_tensor(
        np.array([3.0, 2.0, 0.0, 4.0, 5.0], "float32"))
    np.testing.assert_allclose(
        to_numpy(_parallel_scan.slope(base, count)),
        [-3.375, 2.25, 1.0, 0.0, 32.0], rtol=1e-6)


# Parallel scan == generic cell loop: every option -----------------------------


def _model(layer_fn, x_shape, extra_inputs=(), call=None):
    inputs = [keras.Input(x_shape[1:], batch_size=x_shape[0])]
    inputs += [keras.Input(shape[1:], batch_size=shape[0], dtype=dtype)
               for shape, dtype in extra_inputs]
    layer = layer_fn()
    out = layer(inputs[0]) if call is None else call(layer, *inputs)
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], out)


def _scan(use_fused):
    """`scan="parallel"` for the fused model, the generic loop else."""
    if use_fused is False:
        return {"use_fused": False}
    return {"use_fused": use_fused, "scan": "parallel"}


def _mask(batch=B, steps=T):
    mask = np.ones((batch, steps), bool)
    mask[0, steps - 3:] = False
    mask[1, 2:4] = False
    mask[2, :2] = False
    return mask


def inputs(rng, shape=(B, T, F)):
    return rng.uniform(-1, 1, shape).astype("float32")


@pytest.mark.parametrize("activation", CLAMPED)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_parallel_equals_generic(rng, activation, return_sequences):
    x = inputs(rng)
    h0 = rng.uniform(-1, 1, (B, N)).astype("float32")

    def build(use_fused):
        return _model(
            lambda: IndRNN(N, activation=activation, return_state=True,
                           return_sequences=return_sequences,
                           **_scan(use_fused)),
            x.shape, [((B, N), "float32")],
            call=lambda layer, x, h0: layer(x, initial_state=[h0]))

    assert_fused_equals_generic(build, [x, h0], rng)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [True, False])
def test_parallel_mask_equals_generic(rng, return_sequences, go_backwards,
                                      zero_output_for_mask):
    x = inputs(rng)
    h0 = rng.uniform(-1, 1, (B, N)).astype("float32")

    def build(use_fused):
        return _model(
            lambda: IndRNN(N, return_sequences=return_sequences,
                           return_state=True, go_backwards=go_backwards,
                           zero_output_for_mask=zero_output_for_mask,
                           **_scan(use_fused)),
            x.shape, [((B, T), "bool"), ((B, N), "float32")],
            call=lambda layer, x, m, h0: layer(x, mask=m, initial_state=[h0]))

    assert_fused_equals_generic(build, [x, _mask(), h0], rng)


def test_parallel_stack_with_masking_equals_generic(rng):
    x = inputs(rng, (B, 12, F))
    x[0, 8:] = 0.0

    def build(use_fused):
        inp = keras.Input((12, F), batch_size=B)
        h = keras.layers.Masking(0.0)(inp)
        h = IndRNN(N, return_sequences=True, **_scan(use_fused))(h)
        h = IndRNN(3, activation="hard_sigmoid", **_scan(use_fused))(h)
        return keras.Model(inp, h)

    assert_fused_equals_generic(build, [x], rng)


def test_parallel_bidirectional_equals_generic(rng):
    x = inputs(rng)

    def build(use_fused):
        return _model(
            lambda: keras.layers.Bidirectional(IndRNN(
                N, return_sequences=True, **_scan(use_fused))),
            x.shape, [((B, T), "bool")],
            call=lambda layer, x, m: layer(x, mask=m))

    assert build(True).layers[-1].backward_layer.scan == "parallel"
    assert_fused_equals_generic(build, [x, _mask()], rng)


def test_parallel_mixed_precision_equals_generic(rng):
    x = inputs(rng)

    def build(use_fused):
        return _model(lambda: IndRNN(N, return_sequences=True,
                                     dtype="mixed_float16",
                                     **_scan(use_fused)), x.shape)

    outs, _ = assert_fused_equals_generic(build, [x], rng, atol=1e-2,
                                          rtol=1e-2)
    assert outs[0].dtype == np.float16


def test_parallel_stateful_and_dropout_equal_generic(rng):
    x = inputs(rng, (B, 2 * T, F))
    results = []
    for use_fused in (True, False):
        layer = IndRNN(N, stateful=True, return_sequences=True, dropout=0.5,
                       seed=3, **_scan(use_fused))
        model = _model(lambda: layer, (B, T, F))
        if results:
            model.set_weights(weights)
        else:
            randomize(model, rng)
            weights = model.get_weights()
        chunks = [to_numpy(model(x[:, :T], training=True)),
                  to_numpy(model(x[:, T:], training=True))]
        results.append(chunks + [to_numpy(layer.states[0])])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-5)


# Parallel scan == sequential fused loop, long sequences, at the bound ----------


@pytest.mark.parametrize(
    "steps, recurrent",
    [(1, "inside"), (2, "at_bound"), (100, "inside"), (100, "at_bound"),
     (1000, "inside"), (5000, "at_bound")],
)
def test_parallel_equals_sequential_to_1e5(rng, steps, recurrent):
    """Outputs and gradients within 1e-5 of the largest magnitude. At the
    bound every |u| is gamma^(1/T): the scan's powers of u reach gamma."""
    batch, units = 2, 3
    x = inputs(rng, (batch, steps, F))
    bound = recurrent_bound(steps, 2.0)
    if recurrent == "at_bound":
        u = np.array([bound, -bound, bound], "float32")
    else:
        u = rng.uniform(-bound, bound, units).astype("float32")
    models = {}
    for scan in ("sequential", "parallel"):
        inp = keras.Input((steps, F), batch_size=batch)
        layer = IndRNN(units, timesteps=steps, return_sequences=True,
                       scan=scan, use_fused=True)
        models[scan] = keras.Model(inp, layer(inp))
    kernel = rng.uniform(-1, 1, (F, units)).astype("float32")
    bias = np.zeros(units, "float32")
    for model in models.values():
        model.set_weights([kernel, u, bias])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        seq = outputs_and_gradients(models["sequential"], [x])
        par = outputs_and_gradients(models["parallel"], [x])
    for i, (a, b) in enumerate(zip(seq[0] + seq[1], par[0] + par[1])):
        scale = np.abs(a).max()
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5 * scale,
                                   err_msg=f"array {i}")
    if steps >= 100:  # the states carry a long memory
        assert np.abs(seq[0][0]).max() > 1.0


@pytest.mark.parametrize(
    "steps, recurrent, go_backwards",
    [(1, "at_bound", True), (3, "inside", False), (100, "at_bound", True),
     (1000, "inside", True), (5000, "at_bound", False)],
)
def test_parallel_with_mask_and_state_equals_sequential_to_1e5(
        rng, steps, recurrent, go_backwards):
    """The same check with a mask (padding, a gap, masked leading steps),
    an initial state, `return_state` and `go_backwards`: the gradients of
    the inputs, the initial state and every weight."""
    batch, units = 3, 4
    x = inputs(rng, (batch, steps, F))
    h0 = rng.uniform(-2, 2, (batch, units)).astype("float32")
    mask = np.ones((batch, steps), bool)
    mask[0, steps - steps // 3:] = False
    mask[1, steps // 4: steps // 2] = False
    mask[2, : max(1, steps // 5)] = False
    bound = recurrent_bound(steps, 2.0)
    if recurrent == "at_bound":
        u = np.array([bound, -bound, bound, -bound], "float32")
    else:
        u = rng.uniform(-bound, bound, units).astype("float32")
    models = {}
    for scan in ("sequential", "parallel"):
        x_in = keras.Input((steps, F), batch_size=batch)
        m_in = keras.Input((steps,), batch_size=batch, dtype="bool")
        h_in = keras.Input((units,), batch_size=batch)
        layer = IndRNN(units, timesteps=steps, return_sequences=True,
                       return_state=True, go_backwards=go_backwards,
                       scan=scan, use_fused=True)
        models[scan] = keras.Model(
            [x_in, m_in, h_in], layer(x_in, mask=m_in, initial_state=[h_in]))
    weights = [rng.uniform(-1, 1, (F, units)).astype("float32"), u,
               rng.uniform(-0.5, 0.5, units).astype("float32")]
    for model in models.values():
        model.set_weights(weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        seq = outputs_and_gradients(models["sequential"], [x, mask, h0])
        par = outputs_and_gradients(models["parallel"], [x, mask, h0])
    assert len(seq[1]) == 5  # x, h0, kernel, u, bias
    for i, (a, b) in enumerate(zip(seq[0] + seq[1], par[0] + par[1])):
        scale = np.abs(a).max()
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5 * scale,
                                   err_msg=f"array {i}")
        if steps > 1:
            assert scale > 0, f"array {i} is zero"
    # A fully masked sequence keeps its initial state.
    if steps == 1:
        np.testing.assert_array_equal(par[0][1][2], h0[2])


def _float64():
    """JAX computes float64 only inside `jax.enable_x64`."""
    if BACKEND == "jax":
        import jax

        return jax.enable_x64(True)
    return contextlib.nullcontext()


def test_parallel_in_float64_has_float64_accuracy(rng):
    """A float64 layer: states within 1e-12 of a float64 NumPy reference,
    and every gradient within 1e-12 of the sequential loop's (a scan that
    rounds through float32 is off by about 1e-7)."""
    steps, batch, units = 100, 3, 4
    x = rng.uniform(-1, 1, (batch, steps, F))
    h0 = rng.uniform(-2, 2, (batch, units))
    mask = _mask(batch, steps)
    bound = recurrent_bound(steps, 2.0)
    weights = [rng.uniform(-1, 1, (F, units)),
               np.array([bound, -bound, 0.5, -0.9]),
               rng.uniform(-0.5, 0.5, units)]
    results = {}
    with _float64():
        for scan in ("sequential", "parallel"):
            x_in = keras.Input((steps, F), batch_size=batch, dtype="float64")
            m_in = keras.Input((steps,), batch_size=batch, dtype="bool")
            h_in = keras.Input((units,), batch_size=batch, dtype="float64")
            layer = IndRNN(units, timesteps=steps, return_sequences=True,
                           scan=scan, use_fused=True, dtype="float64")
            model = keras.Model([x_in, m_in, h_in],
                                layer(x_in, mask=m_in, initial_state=[h_in]))
            model.set_weights(weights)
            results[scan] = outputs_and_gradients(model, [x, mask, h0])
    seq, par = results["sequential"], results["parallel"]
    assert par[0][0].dtype == np.float64
    # h_t = relu(x_t W + b + u h_{t-1}); a masked step keeps the state.
    z = x @ weights[0] + weights[2]
    h, want = h0, np.zeros_like(z)
    for t in range(steps):
        h = np.where(mask[:, t, None], np.maximum(z[:, t] + weights[1] * h, 0),
                     h)
        want[:, t] = h
    assert np.abs(want).max() > 1.0  # a long memory
    for got in (par[0][0], seq[0][0]):
        np.testing.assert_allclose(got[mask], want[mask], rtol=0,
                                   atol=1e-12 * np.abs(want).max())
    for i, (a, b) in enumerate(zip(seq[1], par[1])):
        np.testing.assert_allclose(b, a, rtol=0,
                                   atol=1e-12 * np.abs(a).max(),
                                   err_msg=f"gradient {i}")


@pytest.mark.skipif(BACKEND == "torch",
                    reason="torch.compile of this step takes minutes on CPU")
def test_parallel_trains_under_jit_compile(rng):
    """One SGD step compiled by XLA: the same weights as the sequential
    loop's step."""
    x = inputs(rng, (4, T, F))
    y = rng.normal(size=(4, 1)).astype("float32")
    weights = []
    for scan in ("sequential", "parallel"):
        keras.utils.set_random_seed(5)
        model = keras.Sequential([
            keras.Input((T, F)),
            IndRNN(N, timesteps=T, return_sequences=True, scan=scan),
            IndRNN(N, timesteps=T, scan=scan),
            keras.layers.Dense(1),
        ])
        model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=True)
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# Choice of the scan, refusals, config -----------------------------------------


def test_auto_picks_the_measured_scan_or_sequential(monkeypatch):
    layer = IndRNN(N)
    assert layer.scan == "auto"
    expected = _parallel_scan.AUTO_SCAN.get((BACKEND, "cpu"), "sequential")
    monkeypatch.setattr(_parallel_scan, "device_kind", lambda x=None: "cpu")
    assert layer._scan_path() == expected
    for kind in ("gpu", "tpu"):  # not measured yet
        monkeypatch.setattr(_parallel_scan, "device_kind",
                            lambda x=None, kind=kind: kind)
        assert _parallel_scan.auto_scan() == "sequential"
        assert layer._scan_path() == "sequential"
    monkeypatch.setitem(_parallel_scan.AUTO_SCAN, (BACKEND, "tpu"),
                        "parallel")
    assert layer._scan_path() == "parallel"
    assert IndRNN(N, activation="tanh")._scan_path() == "sequential"


def test_device_kind_is_where_the_backend_runs():
    kind = _parallel_scan.device_kind(keras.ops.zeros((2,)))
    assert kind in ("cpu", "gpu", "tpu")


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softplus", "elu"])
def test_parallel_refuses_an_activation_it_cannot_compose(activation):
    with pytest.raises(ValueError, match=f"activation.*{activation}") as info:
        IndRNN(N, activation=activation, scan="parallel")
    message = str(info.value)
    assert "\n" not in message
    for name in ("relu", "relu6", "hard_tanh", "hard_sigmoid"):
        assert f"'{name}'" in message


def test_parallel_refuses_a_function_that_is_not_a_clamp():
    def leaky(x):
        return keras.ops.maximum(x, 0.1 * x)

    with pytest.raises(ValueError, match="clamped affine.*leaky"):
        IndRNN(N, activation=leaky, scan="parallel")
    # The Keras function itself is recognised, not only its name.
    assert IndRNN(N, activation=keras.activations.relu6,
                  scan="parallel").scan == "parallel"


def test_parallel_refuses_use_fused_false():
    with pytest.raises(ValueError, match="use_fused=False"):
        IndRNN(N, scan="parallel", use_fused=False)


@pytest.mark.parametrize("value", ["fast", True, None, 1])
def test_bad_scan(value):
    with pytest.raises(ValueError, match="`scan`"):
        IndRNN(N, scan=value)


def test_recurrent_dropout_in_training_falls_back_with_a_warning(rng):
    layer = IndRNN(N, recurrent_dropout=0.3, scan="parallel", use_fused=True)
    with pytest.warns(UserWarning, match="recurrent_dropout"):
        layer(inputs(rng), training=True)


def test_config_and_reload_keep_the_scan(rng, tmp_path):
    layer = IndRNN(N, activation="relu6", scan="parallel", timesteps=T)
    revived = assert_config_round_trip(layer)
    assert revived.scan == "parallel"
    model = keras.Sequential([keras.Input((T, F)), layer])
    reloaded, _ = assert_reload_matches(model, inputs(rng), tmp_path,
                                        atol=1e-6)
    assert reloaded.layers[-1].scan == "parallel"
