import math
import os
import zipfile

import h5py
import keras
import numpy as np
import pytest

from keras_rnninit.layers.clockwork import Clockwork
from keras_rnninit.layers.clockwork import ClockworkCell
from keras_rnninit.layers.clockwork import prefix_lengths
from fused_checks import FUSED
from fused_checks import assert_fused_equals_generic
from helpers import assert_config_round_trip
from helpers import assert_reload_matches
from helpers import run_layer_test

BACKEND = keras.backend.backend()
PATHS = ["auto", False]


# ----------------------------------------------------------------------------
# NumPy reference, written from the paper (Koutnik et al. 2014, section 3):
# y_H^t = f(W_H y_H^{t-1} + W_I x^t) for the active modules (t mod T_i == 0),
# idle modules keep y_H^{t-1}; W_H[i-block, j-block] != 0 only if T_j >= T_i.
# Matrices here are in the paper's (target, source) orientation.
# ----------------------------------------------------------------------------


def paper_allowed(periods, k):
    """allowed[i, j]: unit j (source) may feed unit i (target)."""
    g = len(periods)
    allowed = np.zeros((g * k, g * k), bool)
    for i in range(g):
        for j in range(g):
            if periods[j] >= periods[i]:
                allowed[i * k:(i + 1) * k, j * k:(j + 1) * k] = True
    return allowed


def reference(x, w_in, w_h, bias, periods, h0=None, t0=None, mask=None,
              act=np.tanh):
    """`w_in`: (units, features), `w_h`: (units, units), paper orientation.

    Returns outputs (batch, steps, units), final h, final step counters.
    """
    batch, steps, _ = x.shape
    units = w_h.shape[0]
    k = units // len(periods)
    w_h = np.where(paper_allowed(periods, k), w_h, 0.0)
    h = np.zeros((batch, units)) if h0 is None else np.array(h0, float)
    t = np.zeros(batch, int) if t0 is None else np.array(t0, int)
    outputs = np.zeros((batch, steps, units))
    for s in range(steps):
        for b in range(batch):
            if mask is not None and not mask[b, s]:
                outputs[b, s] = h[b]
                continue
            new = h[b].copy()
            for i, period in enumerate(periods):
                if t[b] % period == 0:
                    rows = slice(i * k, (i + 1) * k)
                    new[rows] = act(
                        w_h[rows] @ h[b] + w_in[rows] @ x[b, s] + bias[rows]
                    )
            h[b] = new
            t[b] += 1
            outputs[b, s] = h[b]
    return outputs, h, t


def paper_weights(cell):
    """Cell weights in the paper's orientation (Keras multiplies from the right)."""
    kernel = keras.ops.convert_to_numpy(cell.kernel)
    rec = keras.ops.convert_to_numpy(cell.recurrent_kernel)
    bias = (keras.ops.convert_to_numpy(cell.bias) if cell.use_bias
            else np.zeros(cell.units))
    return kernel.T, rec.T, bias


def to_np(x):
    return keras.ops.convert_to_numpy(x)


def randomize(layer, rng, scale=0.6):
    """Random weights, with non-zero bias so that idle modules show."""
    layer.set_weights([rng.uniform(-scale, scale, w.shape).astype("float32")
                       for w in layer.get_weights()])


def gradients(model, x, seed=0):
    """Gradients of a fixed random projection of the output, per backend."""
    out_shape = tuple(model.output.shape[1:])
    proj = np.random.default_rng(seed).normal(size=(x.shape[0],) + out_shape)
    proj = proj.astype("float32")
    weights = model.trainable_weights
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x, training=True) * proj)
        return [to_np(g) for g in tape.gradient(loss, weights)]
    if BACKEND == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def loss_fn(tv):
            out, _ = model.stateless_call(tv, non_trainable, x, training=True)
            return (out * proj).sum()

        return [to_np(g) for g in jax.grad(loss_fn)(trainable)]
    import torch

    for v in weights:
        v.value.grad = None
    loss = (model(x, training=True) * torch.as_tensor(proj)).sum()
    loss.backward()
    return [v.value.grad.detach().cpu().numpy() for v in weights]


@pytest.mark.parametrize(
    "periods, use_fused",
    [([1, 2, 4], "auto"), ([1, 3, 5], "auto"), ([2, 3], "auto"),
     ([1, 1, 2], "auto"), ([1, 3, 5], False), ([2, 3], False)],
)
def test_matches_paper_reference(periods, use_fused, rng):
    units = 2 * len(periods)
    x = rng.normal(size=(3, 11, 2)).astype("float32")
    layer = Clockwork(units, periods=periods, return_sequences=True,
                      return_state=True, use_fused=use_fused)
    layer.build(x.shape)
    randomize(layer, rng)
    out, h, clock = layer(x)
    ref_out, ref_h, ref_t = reference(x, *paper_weights(layer.cell), periods)
    np.testing.assert_allclose(to_np(out), ref_out, atol=1e-5)
    np.testing.assert_allclose(to_np(h), ref_h, atol=1e-5)
    cycle = math.lcm(*periods)
    np.testing.assert_array_equal(to_np(clock)[:, 0], ref_t % cycle)
    # Idle modules really stay put: with T_0 > 1 the first step after t=0
    # leaves module 0 unchanged.
    if periods[0] > 1:
        np.testing.assert_array_equal(to_np(out)[:, 1, :2], to_np(out)[:, 0, :2])


@pytest.mark.parametrize("use_fused", PATHS)
def test_stateful_clock_continues_across_batches(use_fused, rng):
    periods = [1, 2, 4]
    x = rng.normal(size=(2, 15, 3)).astype("float32")
    layer = Clockwork(6, periods=periods, stateful=True, return_sequences=True,
                      return_state=True, use_fused=use_fused)
    layer.build((2, 5, 3))
    randomize(layer, rng)
    chunks = [layer(x[:, i:i + 5]) for i in (0, 5, 10)]
    ref_out, ref_h, _ = reference(x, *paper_weights(layer.cell), periods)
    np.testing.assert_allclose(
        np.concatenate([to_np(c[0]) for c in chunks], axis=1), ref_out, atol=1e-5)
    for i, chunk in enumerate(chunks):
        np.testing.assert_array_equal(to_np(chunk[2])[:, 0], (5 * (i + 1)) % 4)
    np.testing.assert_allclose(to_np(layer.states[0]), ref_h, atol=1e-5)
    layer.reset_state()
    out, _, clock = layer(x[:, :5])
    np.testing.assert_allclose(to_np(out), ref_out[:, :5], atol=1e-5)


@pytest.mark.parametrize("use_fused", PATHS)
def test_initial_state_with_per_sample_clocks(use_fused, rng):
    periods = [1, 2, 4]
    x = rng.normal(size=(3, 7, 2)).astype("float32")
    h0 = rng.normal(size=(3, 6)).astype("float32") * 0.5
    t0 = np.array([0, 1, 3])
    layer = Clockwork(6, periods=periods, return_sequences=True,
                      return_state=True, use_fused=use_fused)
    layer.build(x.shape)
    randomize(layer, rng)
    out, h, clock = layer(x, initial_state=[h0, t0[:, None].astype("float32")])
    ref_out, ref_h, ref_t = reference(x, *paper_weights(layer.cell), periods,
                                      h0=h0, t0=t0)
    np.testing.assert_allclose(to_np(out), ref_out, atol=1e-5)
    np.testing.assert_array_equal(to_np(clock)[:, 0], ref_t % 4)


def test_masked_steps_leave_state_and_clock_unchanged(rng):
    periods = [1, 2, 3]
    x = rng.normal(size=(3, 9, 2)).astype("float32")
    mask = np.ones((3, 9), bool)
    mask[0, [2, 3]] = False
    mask[1, :4] = False
    mask[2, 8] = False
    layer = Clockwork(6, periods=periods, return_sequences=True,
                      return_state=True)
    layer.build(x.shape)
    randomize(layer, rng)
    out, h, clock = layer(x, mask=mask)
    ref_out, ref_h, ref_t = reference(x, *paper_weights(layer.cell), periods,
                                      mask=mask)
    np.testing.assert_allclose(to_np(h), ref_h, atol=1e-5)
    np.testing.assert_array_equal(to_np(clock)[:, 0], ref_t % 6)
    np.testing.assert_array_equal(ref_t, mask.sum(axis=1))
    outs = to_np(out)
    np.testing.assert_allclose(outs[0, 3], outs[0, 1], atol=0)  # masked: kept
    np.testing.assert_allclose(outs[mask], ref_out[mask], atol=1e-5)


def test_mask_from_masking_layer(rng):
    x = rng.normal(size=(2, 6, 2)).astype("float32")
    x[0, 4:] = 0.0
    inputs = keras.Input((6, 2))
    masked = keras.layers.Masking(0.0)(inputs)
    layer = Clockwork(4, periods=[1, 2], return_state=True)
    model = keras.Model(inputs, layer(masked))
    randomize(layer, rng)
    h, _, clock = model(x)
    ref_out, ref_h, ref_t = reference(x, *paper_weights(layer.cell), [1, 2],
                                      mask=np.any(x != 0, axis=-1))
    np.testing.assert_allclose(to_np(h), ref_h, atol=1e-5)
    np.testing.assert_array_equal(to_np(clock)[:, 0], ref_t % 2)


def test_connectivity_slow_feeds_fast():
    cell = ClockworkCell(3, periods=[1, 2, 4])
    # Keras kernels are (source, target); the paper's W_H is (target, source).
    np.testing.assert_array_equal(cell.recurrent_mask.T.astype(bool),
                                  paper_allowed([1, 2, 4], 1))
    # Module 0 (fastest) receives from all; module 2 (slowest) only itself.
    np.testing.assert_array_equal(cell.recurrent_mask[:, 0], [1, 1, 1])
    np.testing.assert_array_equal(cell.recurrent_mask[:, 2], [0, 0, 1])


@pytest.mark.parametrize("use_fused", PATHS)
def test_forbidden_blocks_get_no_gradient_and_stay_zero(use_fused, rng, tmp_path):
    periods = [1, 2, 4]
    units, k = 6, 2
    forbidden = ~paper_allowed(periods, k).T  # Keras (source, target)
    x = rng.normal(size=(4, 9, 3)).astype("float32")
    inputs = keras.Input((9, 3), batch_size=4)
    layer = Clockwork(units, periods=periods, return_sequences=True,
                      recurrent_regularizer=keras.regularizers.L2(0.1),
                      use_fused=use_fused)
    model = keras.Model(inputs, layer(inputs))
    rec = to_np(layer.cell.recurrent_kernel)
    assert np.all(rec[forbidden] == 0) and np.all(rec[~forbidden] != 0)
    clean_out = to_np(model(x))

    # Even non-zero values written into forbidden blocks neither change the
    # output nor receive a gradient.
    polluted = rec + forbidden * rng.uniform(1, 2, rec.shape)
    layer.cell.recurrent_kernel.assign(polluted.astype("float32"))
    np.testing.assert_allclose(to_np(model(x)), clean_out, atol=1e-6)
    index = [id(w) for w in model.trainable_weights].index(
        id(layer.cell.recurrent_kernel))
    grad = gradients(model, x)[index]
    assert np.all(grad[forbidden] == 0)
    assert np.count_nonzero(grad[~forbidden]) > 0.9 * np.sum(~forbidden)

    # Saving never writes them.
    path = os.path.join(str(tmp_path), "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        archive.extract("model.weights.h5", str(tmp_path))
    found = []
    with h5py.File(os.path.join(str(tmp_path), "model.weights.h5")) as f:
        f.visititems(lambda name, obj: found.append(obj[()])
                     if isinstance(obj, h5py.Dataset)
                     and obj.shape == (units, units) else None)
    assert len(found) == 1 and np.all(found[0][forbidden] == 0)

    # Training (Adam, L2 on the kernel) keeps them at zero.
    layer.cell.recurrent_kernel.assign(rec)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    model.fit(x, rng.normal(size=(4, 9, units)), epochs=3, verbose=0)
    trained = to_np(layer.cell.recurrent_kernel)
    assert np.all(trained[forbidden] == 0)
    assert np.all(trained[~forbidden] != rec[~forbidden])


@pytest.mark.parametrize(
    "activation, go_backwards",
    [("tanh", False), ("relu", True), ("sigmoid", False), (None, True)],
)
def test_fused_path_equals_generic_path(go_backwards, activation, rng):
    x = rng.normal(size=(3, 10, 2)).astype("float32")
    models = []
    for use_fused in (True, False):
        inputs = keras.Input((10, 2))
        layer = Clockwork(6, periods=[1, 2, 3], activation=activation,
                          return_sequences=True, go_backwards=go_backwards,
                          use_fused=use_fused)
        models.append(keras.Model(inputs, layer(inputs)))
    randomize(models[0], rng)
    models[1].set_weights(models[0].get_weights())
    np.testing.assert_allclose(to_np(models[0](x)), to_np(models[1](x)),
                               atol=1e-5)
    for a, b in zip(gradients(models[0], x), gradients(models[1], x)):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_fused_path_equals_generic_path_with_dropout_and_state(rng):
    x = rng.normal(size=(3, 8, 4)).astype("float32")
    h0 = rng.normal(size=(3, 6)).astype("float32")
    t0 = np.array([[0.0], [2.0], [5.0]], "float32")
    outs = []
    for use_fused in (True, False):
        layer = Clockwork(6, periods=[1, 2, 3], dropout=0.5, seed=7,
                          return_state=True, use_fused=use_fused)
        layer.build(x.shape)
        keras.utils.set_random_seed(3)
        randomize(layer, np.random.default_rng(5))
        outs.append([to_np(o) for o in layer(x, initial_state=[h0, t0],
                                             training=True)])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_use_fused_true_warns_when_unusable(rng):
    x = rng.normal(size=(2, 4, 2)).astype("float32")
    layer = Clockwork(4, periods=[1, 2], recurrent_dropout=0.5,
                      use_fused=True)
    with pytest.warns(UserWarning, match="use_fused=True.*recurrent_dropout"):
        layer(x, training=True)


def test_fast_path_is_a_deprecated_alias(rng):
    with pytest.warns(DeprecationWarning, match="use_fused"):
        layer = Clockwork(4, periods=[1, 2], fast_path=False)
    assert layer.use_fused is False
    config = layer.get_config()
    assert "fast_path" not in config and config["use_fused"] is False
    old_config = {**config, "fast_path": False}
    del old_config["use_fused"]
    with pytest.warns(DeprecationWarning):
        assert Clockwork.from_config(old_config).use_fused is False
    with pytest.raises(ValueError, match="fast_path"):
        Clockwork(4, periods=[1, 2], fast_path=True, use_fused=False)


def test_recurrent_dropout_trains(rng):
    layer = Clockwork(4, num_modules=2, dropout=0.2, recurrent_dropout=0.3,
                      seed=1)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(to_np(layer(x)), to_np(layer(x)))
    assert not np.allclose(to_np(layer(x, training=True)), to_np(layer(x)))


def test_bidirectional(rng, tmp_path):
    periods = [1, 2]
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    inputs = keras.Input((7, 3))
    bi = keras.layers.Bidirectional(
        Clockwork(4, periods=periods, return_sequences=True))
    model = keras.Model(inputs, bi(inputs))
    randomize(model, rng)
    out = to_np(model(x))
    fwd, _, _ = reference(x, *paper_weights(bi.forward_layer.cell), periods)
    bwd, _, _ = reference(x[:, ::-1], *paper_weights(bi.backward_layer.cell),
                          periods)
    np.testing.assert_allclose(out[..., :4], fwd, atol=1e-5)
    np.testing.assert_allclose(out[..., 4:], bwd[:, ::-1], atol=1e-5)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros_like(out), epochs=1, verbose=0)
    assert_reload_matches(model, x, tmp_path, atol=1e-6)


def test_stacked_cells(rng, tmp_path):
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    cells = [ClockworkCell(4, periods=[1, 2]), ClockworkCell(6, periods=[1, 3, 3])]
    inputs = keras.Input((6, 3))
    rnn = keras.layers.RNN(cells, return_sequences=True, return_state=True)
    out, states1, states2 = rnn(inputs)
    model = keras.Model(inputs, [out, states1[1], states2[1]])
    randomize(model, rng)
    got, clock1, clock2 = [to_np(o) for o in model(x)]
    first, _, _ = reference(x, *paper_weights(cells[0]), [1, 2])
    second, _, t = reference(first, *paper_weights(cells[1]), [1, 3, 3])
    np.testing.assert_allclose(got, second, atol=1e-5)
    np.testing.assert_array_equal(clock1[:, 0], 6 % 2)
    np.testing.assert_array_equal(clock2[:, 0], t % 3)
    seq_model = keras.Model(inputs, out)
    seq_model.compile(optimizer="sgd", loss="mse")
    seq_model.fit(x, np.zeros_like(got), epochs=1, verbose=0)  # constraints
    assert_reload_matches(seq_model, x, tmp_path, atol=1e-6)


def test_layer_checks_and_save_load(tmp_path):
    run_layer_test(Clockwork(6, periods=[1, 2, 4], return_sequences=True),
                   (2, 5, 3), tmp_path, expected_output_shape=(2, 5, 6))


def test_cell_in_rnn_save_load(tmp_path, rng):
    cell = ClockworkCell(4, num_modules=2, activation="relu", use_bias=False)
    assert_config_round_trip(cell)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    inputs = keras.Input((5, 3))
    model = keras.Model(inputs, keras.layers.RNN(cell)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.ones((2, 4)), epochs=1, verbose=0)
    assert_reload_matches(model, x, tmp_path, atol=1e-6)


def test_config_round_trip():
    layer = Clockwork(8, periods=[1, 3], activation="relu", dropout=0.1,
                      recurrent_dropout=0.2, use_fused=False, seed=4,
                      kernel_regularizer="l2", recurrent_constraint="max_norm")
    revived = assert_config_round_trip(layer)
    assert revived.periods == (1, 3) and revived.use_fused is False
    config = layer.get_config()
    assert "cell" not in config and config["num_modules"] == 2
    cell = ClockworkCell(6, num_modules=3, seed=2)
    assert assert_config_round_trip(cell).periods == (1, 2, 4)
    assert keras.layers.deserialize(
        {"class_name": "keras_rnninit>ClockworkRNN", "config": config}
    ).get_config() == config


def test_default_periods_and_state_sizes():
    cell = ClockworkCell(16, num_modules=4)
    assert cell.periods == (1, 2, 4, 8) and cell.module_size == 4
    assert cell.state_size == [16, 1] and cell.output_size == 16
    assert cell.cycle == 8


def test_mixed_precision(rng):
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    layer = Clockwork(4, periods=[1, 2], return_sequences=True,
                      return_state=True, dtype="mixed_float16")
    out, h, clock = layer(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert keras.backend.standardize_dtype(layer.cell.kernel.dtype) == "float32"
    ref, _, t = reference(x, *paper_weights(layer.cell), [1, 2])
    np.testing.assert_allclose(to_np(out).astype("float32"), ref, atol=1e-2)
    np.testing.assert_array_equal(to_np(clock)[:, 0], t % 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"units": 10, "num_modules": 3}, "divisible"),
        ({"units": 6, "periods": [2, 1, 4]}, "ascending"),
        ({"units": 6, "periods": [1, 0, 4]}, "positive"),
        ({"units": 6, "periods": [1, -2, 4]}, "positive"),
        ({"units": 4, "periods": [1, 2.5]}, "positive"),
        ({"units": 4, "periods": []}, "periods"),
        ({"units": 4, "periods": "12"}, "periods"),
        ({"units": 4, "periods": [1, True]}, "periods"),
        ({"units": 4, "periods": [1, 2], "num_modules": 3}, "num_modules"),
        ({"units": 4}, "num_modules"),
        ({"units": 4, "num_modules": 0}, "num_modules"),
        ({"units": 4, "num_modules": 2.0}, "num_modules"),
        ({"units": 0, "num_modules": 1}, "units"),
        ({"units": 4.0, "num_modules": 1}, "units"),
        ({"units": 4, "num_modules": 2, "dropout": 1.5}, "dropout"),
        ({"units": 4, "num_modules": 2, "recurrent_dropout": -0.1},
         "recurrent_dropout"),
    ],
)
@pytest.mark.parametrize("cls", [ClockworkCell, Clockwork])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        cls(**kwargs)
    assert "Received" in str(info.value)


def test_bad_fast_path():
    with pytest.raises(ValueError, match="fast_path"):
        Clockwork(4, num_modules=2, fast_path="yes")


@pytest.mark.parametrize("layer_cls", ["clockwork", "stacked"])
def test_fit_with_unknown_sequence_length(layer_cls):
    inputs = keras.Input((None, 3))
    hidden = inputs
    if layer_cls == "stacked":
        hidden = keras.layers.RNN(
            ClockworkCell(8, num_modules=2), return_sequences=True
        )(hidden)
    hidden = Clockwork(8, num_modules=4)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile("adam", "mse")
    x = np.random.default_rng(0).uniform(size=(4, 10, 3)).astype("float32")
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    model.fit(x, np.ones((4, 1), "float32"), epochs=1, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))
    assert model.predict(x, verbose=0).shape == (4, 1)


# Fused == generic: outputs and every gradient, for each case the fused loop
# covers (on torch both run the generic loop).


def _mask():
    mask = np.ones((3, 9), bool)
    mask[0, 6:] = False  # right padding
    mask[1, 2:4] = False  # a gap
    mask[2, :2] = False  # leading masked steps
    return mask


@pytest.mark.parametrize(
    "case",
    ["sequences", "last", "go_backwards", "mask", "mask_backwards",
     "zero_output_mask", "initial_state"],
)
def test_fused_equals_generic_cases(case, rng):
    x = rng.normal(size=(3, 9, 2)).astype("float32")
    h0 = rng.normal(size=(3, 6)).astype("float32")
    clock0 = np.array([[0.0], [1.0], [5.0]], "float32")
    mask = _mask()

    def build(use_fused):
        layer = Clockwork(
            6, periods=[1, 2, 3], return_sequences=case != "last",
            go_backwards=case in ("go_backwards", "mask_backwards"),
            zero_output_for_mask=case == "zero_output_mask",
            return_state=case == "initial_state", use_fused=use_fused)
        x_in = keras.Input((9, 2), batch_size=3)
        if case == "initial_state":
            h_in = keras.Input((6,), batch_size=3)
            c_in = keras.Input((1,), batch_size=3)
            out = layer(x_in, initial_state=[h_in, c_in])
            return keras.Model([x_in, h_in, c_in], out[:2])
        if "mask" in case:
            m_in = keras.Input((9,), batch_size=3, dtype="bool")
            return keras.Model([x_in, m_in], layer(x_in, mask=m_in))
        return keras.Model(x_in, layer(x_in))

    inputs = [x]
    if case == "initial_state":
        inputs = [x, h0, clock0]
    elif "mask" in case:
        inputs = [x, mask]
    outs, _ = assert_fused_equals_generic(build, inputs, rng)
    if case == "zero_output_mask":
        assert np.all(outs[0][~mask] == 0)


def test_fused_stack_and_bidirectional_equal_generic(rng):
    """A stacked Bidirectional Clockwork with a mask: the upper layer's
    input needs a gradient, the backward copy runs go_backwards."""
    x = rng.normal(size=(3, 9, 2)).astype("float32")
    x[0, 6:] = 0.0

    def build(use_fused):
        inputs = keras.Input((9, 2), batch_size=3)
        h = keras.layers.Masking(0.0)(inputs)
        h = keras.layers.Bidirectional(Clockwork(
            4, periods=[1, 2], return_sequences=True, use_fused=use_fused))(h)
        h = Clockwork(6, periods=[1, 2, 4], activation="relu",
                      use_fused=use_fused)(h)
        return keras.Model(inputs, h)

    assert build(FUSED).layers[2].backward_layer.use_fused == FUSED
    assert_fused_equals_generic(build, [x], rng)


def test_fused_mixed_precision_equals_generic(rng):
    x = rng.normal(size=(2, 8, 3)).astype("float32")

    def build(use_fused):
        inputs = keras.Input((8, 3), batch_size=2)
        layer = Clockwork(4, periods=[1, 2], return_sequences=True,
                          dtype="mixed_float16", use_fused=use_fused)
        return keras.Model(inputs, layer(inputs))

    assert_fused_equals_generic(build, [x], rng, atol=1e-2, rtol=1e-2)


# The step counter under 16-bit policies: bfloat16 counts exactly only up
# to 256, float16 up to 2048; the counter must not stop there.

LONG_PERIODS = [1, 2, 3, 5, 7, 11]  # cycle 2310


@pytest.fixture
def mixed_bfloat16():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy(previous)


def test_counter_counts_past_256_in_keras_rnn(mixed_bfloat16):
    rnn = keras.layers.RNN(ClockworkCell(12, periods=LONG_PERIODS),
                           return_state=True)
    _, _, clock = rnn(np.zeros((2, 300, 1), "float32"))
    np.testing.assert_array_equal(to_np(clock).astype("float32"), 300)


@pytest.mark.parametrize("use_fused", PATHS)
def test_long_sequence_under_bfloat16_follows_float64_reference(
        use_fused, mixed_bfloat16, rng):
    # Past one cycle (2310) on the fused path; the generic loop is slow.
    steps = 2600 if use_fused else 600
    x = rng.normal(size=(2, steps, 1)).astype("float32")
    layer = Clockwork(12, periods=LONG_PERIODS, return_sequences=True,
                      return_state=True, use_fused=use_fused)
    layer.build(x.shape)
    randomize(layer, rng, scale=0.3)
    out, _, clock = layer(x)
    ref, _, t = reference(x, *paper_weights(layer.cell), LONG_PERIODS)
    # Rounding to bfloat16 stays small; a counter stuck at 256 freezes the
    # slow modules (errors near 1 from step 257 on).
    np.testing.assert_allclose(to_np(out).astype("float32"), ref, atol=0.05)
    np.testing.assert_array_equal(to_np(clock)[:, 0], t % 2310)


@pytest.mark.parametrize("use_fused", PATHS)
def test_stateful_chunks_past_256_equal_one_call(use_fused, mixed_bfloat16,
                                                 rng):
    x = rng.normal(size=(2, 514, 1)).astype("float32")
    layers = [Clockwork(12, periods=LONG_PERIODS, return_sequences=True,
                        stateful=stateful, use_fused=use_fused)
              for stateful in (True, False)]
    for layer in layers:
        layer.build((2, 257, 1))
    randomize(layers[0], rng, scale=0.3)
    layers[1].set_weights(layers[0].get_weights())
    chunks = np.concatenate(
        [to_np(layers[0](x[:, :257])), to_np(layers[0](x[:, 257:]))], axis=1)
    whole = to_np(layers[1](x))
    np.testing.assert_allclose(chunks.astype("float32"),
                               whole.astype("float32"), atol=1e-3)
    np.testing.assert_array_equal(to_np(layers[0].states[1]), 514)


def test_periods_whose_cycle_a_float32_counter_cannot_hold():
    with pytest.raises(ValueError, match="2\\*\\*24"):
        ClockworkCell(26, num_modules=26)


@pytest.mark.parametrize(
    "periods, clocks, expected",
    [([1, 2, 4], [0, 1, 2, 3, 4, 6], [3, 1, 2, 1, 3, 2]),
     # Not a chain of divisors: up to the slowest active module.
     ([1, 2, 3, 5], [0, 1, 2, 3, 5, 10], [4, 1, 2, 3, 4, 4])],
)
def test_schedule_covers_the_active_modules(periods, clocks, expected):
    clocks = np.array(clocks)
    active = clocks[None, :, None] % np.array(periods) == 0
    got = to_np(prefix_lengths(keras.ops.convert_to_tensor(active)))
    np.testing.assert_array_equal(got, expected)
    # The sample with the most active modules sets a step's prefix; a step
    # with every sample masked computes nothing.
    both = np.concatenate([active, np.zeros_like(active)], axis=0)
    both[1, 1, :2] = True
    both[:, 2] = False
    got = to_np(prefix_lengths(keras.ops.convert_to_tensor(both)))
    np.testing.assert_array_equal(got[:3], [expected[0], 2, 0])


def test_kernel_computes_only_the_prefix(rng):
    """Units past `prefix[t] * module_size` are not computed, even when
    marked active: they keep their states."""
    from keras_rnninit.layers._fused import backend_module

    batch, steps, modules, size = 2, 5, 3, 2
    units = modules * size
    z = rng.normal(size=(batch, steps, units)).astype("float32")
    w = rng.normal(size=(units, units)).astype("float32") * 0.5
    h0 = rng.normal(size=(batch, units)).astype("float32")
    prefix = np.array([3, 1, 0, 2, 3], "int32")
    active = np.ones((batch, steps, modules), "float32")
    out = backend_module("clockwork").clockwork(
        *[keras.ops.convert_to_tensor(a) for a in (z, w, h0, active, prefix)],
        "tanh", True)
    h, expected = h0.astype("float64"), []
    for t in range(steps):
        cols = prefix[t] * size
        h = h.copy()
        h[:, :cols] = np.tanh(z[:, t] + h @ w)[:, :cols]
        expected.append(h)
    np.testing.assert_allclose(to_np(out), np.stack(expected, 1), atol=1e-5)


def test_stateful_refuses_a_16_bit_variable_dtype():
    layer = Clockwork(4, periods=[1, 2], stateful=True, dtype="bfloat16",
                      recurrent_initializer="identity")
    layer.build((2, 3, 1))
    with pytest.raises(ValueError, match="mixed policy"):
        layer(np.zeros((2, 3, 1), "float32"))
