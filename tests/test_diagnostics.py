import math

import keras
import matplotlib
import numpy as np
import pytest

from keras_rnninit import diagnostics
from keras_rnninit.diagnostics import gradient_flow
from keras_rnninit.diagnostics import input_sensitivity
from keras_rnninit.diagnostics import phase_cases
from keras_rnninit.diagnostics import phase_matrix
from keras_rnninit.diagnostics import phase_portrait
from keras_rnninit.diagnostics import plot_gradient_flow
from keras_rnninit.diagnostics import plot_input_sensitivity
from keras_rnninit.diagnostics import plot_phase_portraits
from keras_rnninit.diagnostics import plot_spectrum
from keras_rnninit.diagnostics import recurrent_spectrum
from keras_rnninit.diagnostics import spectral_radius
from keras_rnninit.initializers import NPInit
from keras_rnninit.initializers import ScaledIdentity

matplotlib.use("Agg")


class VectorRecurrentCell(keras.layers.Layer):
    """h_t = act(W x_t + u * h_{t-1}): a cell with a vector recurrent weight."""

    def __init__(self, units, u, activation="linear", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units
        self.output_size = units
        self.u = np.asarray(u, dtype="float32")
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="identity"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units,), initializer=keras.initializers.Constant(self.u)
        )

    def call(self, inputs, states):
        h = self.activation(
            keras.ops.matmul(inputs, self.kernel) + self.recurrent_kernel * states[0]
        )
        return h, [h]


def linear_rnn(recurrent, return_sequences=False):
    """h_t = W h_{t-1} + x_t with W = `recurrent`.

    Keras multiplies row vectors, `h_t = h_{t-1} K`, so `K = W^T`.
    """
    units = recurrent.shape[0]
    return keras.layers.SimpleRNN(
        units,
        activation="linear",
        use_bias=False,
        kernel_initializer="identity",
        recurrent_initializer=keras.initializers.Constant(recurrent.T),
        return_sequences=return_sequences,
    )


def orthogonal(n, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q


def reference_sum_gradients(recurrent, timesteps):
    """||dL/dh_t|| for L = sum(h_T) of a linear RNN: ||(W^T)^(T-t) 1||."""
    g = np.ones(recurrent.shape[0])
    norms = [np.linalg.norm(g)]
    for _ in range(timesteps - 1):
        g = recurrent.T @ g
        norms.append(np.linalg.norm(g))
    return np.array(norms[::-1])


# Gradient flow ------------------------------------------------------------------


def test_gradient_flow_identity_is_constant(rng):
    x = rng.uniform(-1, 1, (3, 8, 5)).astype("float32")
    norms = gradient_flow(linear_rnn(np.eye(5)), x)
    assert norms.shape == (8,)
    np.testing.assert_allclose(norms, math.sqrt(5), rtol=1e-5)


def test_gradient_flow_decays_with_spectral_radius_half(rng):
    w = 0.5 * orthogonal(6)
    x = rng.uniform(-1, 1, (2, 10, 6)).astype("float32")
    norms = gradient_flow(linear_rnn(w), x)
    k = np.arange(9, -1, -1)
    np.testing.assert_allclose(norms, math.sqrt(6) * 0.5**k, rtol=1e-4)
    np.testing.assert_allclose(norms, reference_sum_gradients(w, 10), rtol=1e-4)


def test_gradient_flow_return_sequences_counts_every_output(rng):
    # L = sum_t sum(h_t): dL/dh_t = sum_{s>=t} (W^T)^(s-t) 1.
    w = 0.5 * orthogonal(4, seed=1)
    x = rng.uniform(-1, 1, (2, 5, 4)).astype("float32")
    norms = gradient_flow(linear_rnn(w, return_sequences=True), x)
    expected = []
    for t in range(5):
        g = sum(np.linalg.matrix_power(w.T, s - t) @ np.ones(4) for s in range(t, 5))
        expected.append(np.linalg.norm(g))
    np.testing.assert_allclose(norms, expected, rtol=1e-4)


def numpy_relu_rnn_gradients(x, y, wx, wh, b, v, c):
    """||dL/dh_t|| per example for relu RNN + Dense(1), L = sum_b (v.h_T+c-y)^2."""
    batch, timesteps, _ = x.shape
    hs, pre = [np.zeros((batch, wh.shape[0]))], []
    for t in range(timesteps):
        a = x[:, t] @ wx + hs[-1] @ wh + b
        pre.append(a)
        hs.append(np.maximum(a, 0))
    err = hs[-1] @ v + c - y  # (batch, 1)
    g = 2 * err * v[:, 0][None]
    norms = [np.linalg.norm(g, axis=-1)]
    for t in range(timesteps - 1, 0, -1):
        g = (g * (pre[t] > 0)) @ wh.T
        norms.append(np.linalg.norm(g, axis=-1))
    return np.stack(norms[::-1], axis=1)


def test_gradient_flow_model_with_loss_matches_numpy_bptt(rng):
    timesteps, units = 7, 6
    model = keras.Sequential([
        keras.Input((timesteps, 2)),
        keras.layers.SimpleRNN(
            units,
            activation="relu",
            recurrent_initializer=NPInit(seed=3),
            bias_initializer=keras.initializers.Constant(0.1),
        ),
        keras.layers.Dense(1),
    ])
    model.compile(loss="mse")
    x = rng.uniform(0, 1, (4, timesteps, 2)).astype("float32")
    y = rng.uniform(0, 1, (4, 1)).astype("float32")
    wx, wh, b, v, c = [keras.ops.convert_to_numpy(w) for w in model.weights]
    expected = numpy_relu_rnn_gradients(
        x.astype("float64"), y, *[w.astype("float64") for w in (wx, wh, b, v, c)]
    )
    per_example = gradient_flow(model, x, y, per_example=True)
    assert per_example.shape == (4, timesteps)
    np.testing.assert_allclose(per_example, expected, rtol=1e-4, atol=1e-6)
    # A Loss object, summed over the batch, gives the same per-example values.
    again = gradient_flow(model, x, y, loss=keras.losses.MeanSquaredError())
    np.testing.assert_allclose(again, expected.mean(axis=0), rtol=1e-4, atol=1e-6)


def test_gradient_flow_finds_the_layer_behind_other_layers(rng):
    inputs = keras.Input((6, 3))
    h = keras.layers.Dense(4, name="project")(inputs)
    h = linear_rnn(np.eye(4))(h)
    outputs = keras.layers.Dense(2)(h)
    model = keras.Model(inputs, outputs)
    x = rng.uniform(-1, 1, (2, 6, 3)).astype("float32")
    # L = sum(Dense(h_T)): dL/dh_T = V 1, carried unchanged by the identity.
    v = keras.ops.convert_to_numpy(model.layers[-1].kernel)
    expected = np.linalg.norm(v.sum(axis=1))
    np.testing.assert_allclose(gradient_flow(model, x), expected, rtol=1e-5)
    by_name = gradient_flow(model, x, layer=model.layers[2].name)
    np.testing.assert_allclose(by_name, expected, rtol=1e-5)


def test_gradient_flow_vector_recurrent_cell(rng):
    u = np.array([1.0, 0.5, -0.8, 0.9])
    layer = keras.layers.RNN(VectorRecurrentCell(4, u))
    x = rng.uniform(-1, 1, (2, 6, 4)).astype("float32")
    norms = gradient_flow(layer, x)
    expected = [np.linalg.norm(u ** (5 - t)) for t in range(6)]
    np.testing.assert_allclose(norms, expected, rtol=1e-5)


@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, keras.layers.GRU])
def test_gradient_flow_gated_layers(rng, layer_class):
    layer = layer_class(5)
    x = rng.uniform(-1, 1, (3, 6, 2)).astype("float32")
    norms = gradient_flow(layer, x)
    assert norms.shape == (6,)
    assert np.all(np.isfinite(norms))
    # L = sum(h_T): the gradient at the last step is the all-ones vector.
    np.testing.assert_allclose(norms[-1], math.sqrt(5), rtol=1e-5)
    assert np.all(norms[:-1] < norms[-1])


def test_gradient_flow_bad_arguments(rng):
    x = rng.uniform(-1, 1, (2, 4, 3)).astype("float32")
    dense_only = keras.Sequential([keras.Input((4, 3)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="no `keras.layers.RNN`"):
        gradient_flow(dense_only, x)
    model = keras.Sequential([
        keras.Input((4, 3)),
        keras.layers.SimpleRNN(2),
        keras.layers.Dense(1),
    ])
    with pytest.raises(ValueError, match="layer="):
        gradient_flow(model, x, layer=1)
    with pytest.raises(ValueError, match="x.shape"):
        gradient_flow(model, x[0])
    with pytest.raises(ValueError, match="model="):
        gradient_flow("model", x)
    with pytest.raises(ValueError, match="loss="):
        gradient_flow(model, x, np.zeros((2, 1)), loss=["mse", "mae"])


# Spectrum ------------------------------------------------------------------------


def test_npinit_spectrum_max_is_one():
    layer = keras.layers.SimpleRNN(32, recurrent_initializer=NPInit(seed=1))
    layer.build((None, 5, 3))
    eigenvalues = recurrent_spectrum(layer)
    assert eigenvalues.shape == (32,)
    np.testing.assert_allclose(eigenvalues.imag, 0.0, atol=1e-5)
    np.testing.assert_allclose(eigenvalues.real.max(), 1.0, rtol=1e-5)
    assert np.all(eigenvalues.real > 0)
    assert spectral_radius(layer) == pytest.approx(1.0, rel=1e-5)
    # Sorted by decreasing modulus.
    assert np.all(np.diff(np.abs(eigenvalues)) <= 1e-9)


def test_spectrum_of_stacked_kernels():
    lstm = keras.layers.LSTM(6, recurrent_initializer=ScaledIdentity(0.5))
    lstm.build((None, 4, 2))
    spectrum = recurrent_spectrum(lstm)
    assert spectrum.shape == (4, 6)
    np.testing.assert_allclose(spectrum, 0.5, atol=1e-6)
    gru = keras.layers.GRU(5)
    gru.build((None, 4, 2))
    radius = spectral_radius(gru)
    kernel = keras.ops.convert_to_numpy(gru.cell.recurrent_kernel)
    expected = [
        np.abs(np.linalg.eigvals(kernel[:, 5 * k : 5 * (k + 1)])).max()
        for k in range(3)
    ]
    np.testing.assert_allclose(radius, expected, rtol=1e-5)


def test_spectrum_of_arrays_and_vectors():
    w = 0.5 * orthogonal(7, seed=2)
    np.testing.assert_allclose(np.abs(recurrent_spectrum(w)), 0.5, rtol=1e-6)
    u = np.array([0.2, -1.1, 0.7])
    np.testing.assert_array_equal(recurrent_spectrum(u), u)
    assert spectral_radius(u) == pytest.approx(1.1)
    layer = keras.layers.RNN(VectorRecurrentCell(3, u))
    layer.build((None, 4, 3))
    np.testing.assert_allclose(recurrent_spectrum(layer), u, rtol=1e-6)


def test_spectrum_bad_arguments():
    with pytest.raises(ValueError, match="shape=\\(3, 5\\)"):
        recurrent_spectrum(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="built"):
        recurrent_spectrum(keras.layers.SimpleRNN(3))
    with pytest.raises(ValueError, match="recurrent_kernel"):
        dense = keras.layers.Dense(2)
        dense.build((None, 3))
        recurrent_spectrum(dense)


# Input sensitivity -------------------------------------------------------------------


def test_input_sensitivity_of_linear_rnn_is_w_power_delta(rng):
    w = 0.8 * orthogonal(4, seed=3) @ np.diag([1.0, 0.9, 0.5, 0.3])
    x = rng.uniform(-1, 1, (3, 9, 4)).astype("float32")
    delta = rng.standard_normal((3, 4))
    distances = input_sensitivity(
        linear_rnn(w), x, perturbation=delta, per_example=True
    )
    expected = np.stack(
        [
            [np.linalg.norm(np.linalg.matrix_power(w, k) @ d) for k in range(9)]
            for d in delta
        ]
    )
    np.testing.assert_allclose(distances, expected, rtol=2e-3, atol=1e-6)


def test_input_sensitivity_chunks_and_random_directions(rng):
    w = np.eye(3)
    x = rng.uniform(-1, 1, (2, 5, 3)).astype("float32")
    layer = linear_rnn(w, return_sequences=True)
    # Identity: every perturbation persists, with the norm epsilon.
    distances = input_sensitivity(layer, x, epsilon=0.05, seed=0)
    np.testing.assert_allclose(distances, 0.05, rtol=1e-3)
    chunked = input_sensitivity(layer, x, epsilon=0.05, seed=0, max_batch_elements=1)
    np.testing.assert_allclose(chunked, distances, rtol=1e-6)


def test_input_sensitivity_measures_the_rnn_layer_of_a_model(rng):
    model = keras.Sequential([
        keras.Input((6, 2)),
        keras.layers.Dense(3, use_bias=False, name="project"),
        linear_rnn(0.5 * np.eye(3)),
        keras.layers.Dense(1),
    ])
    x = rng.uniform(-1, 1, (2, 6, 2)).astype("float32")
    delta = np.array([1.0, -2.0])
    projected = delta @ keras.ops.convert_to_numpy(model.layers[0].kernel)
    expected = np.linalg.norm(projected) * 0.5 ** np.arange(6)
    np.testing.assert_allclose(
        input_sensitivity(model, x, perturbation=delta), expected, rtol=1e-3
    )


def test_input_sensitivity_bad_arguments(rng):
    x = rng.uniform(-1, 1, (2, 4, 3)).astype("float32")
    layer = linear_rnn(np.eye(3))
    with pytest.raises(ValueError, match="epsilon=-1"):
        input_sensitivity(layer, x, epsilon=-1)
    with pytest.raises(ValueError, match="perturbation.shape"):
        input_sensitivity(layer, x, perturbation=np.ones(4))
    with pytest.raises(ValueError, match="max_batch_elements=0"):
        input_sensitivity(layer, x, max_batch_elements=0)


# Phase portraits ---------------------------------------------------------------------


def eigen_trajectory(w, h0, steps):
    values, vectors = np.linalg.eigh(w)
    coords = vectors.T @ h0
    return np.stack([vectors @ (values**t * coords) for t in range(steps + 1)])


@pytest.mark.parametrize("eigenvalues", [(0.9, 0.6), (1.0, 0.6), (1.0, 1.0)])
def test_phase_trajectories_follow_the_eigenvalues(eigenvalues):
    w = phase_matrix(eigenvalues)
    np.testing.assert_allclose(np.linalg.eigvalsh(w), sorted(eigenvalues), atol=1e-12)
    h0 = np.array([[0.3, 0.8], [0.9, 0.2]])
    paths = phase_portrait(w, initial_states=h0, steps=20)
    assert paths.shape == (2, 21, 2)
    for path, start in zip(paths, h0):
        np.testing.assert_allclose(path, eigen_trajectory(w, start, 20), atol=1e-12)


def test_phase_np_rnn_case_collapses_onto_a_line_of_fixed_points():
    w = phase_matrix((1.0, 0.6), angle=math.pi / 6)
    v1 = np.array([math.cos(math.pi / 6), math.sin(math.pi / 6)])
    v2 = np.array([-v1[1], v1[0]])
    paths = phase_portrait(w, initial_states=np.array([[0.5, 0.6]]), steps=60)[0]
    # The v1 component is kept, the v2 component decays as 0.6^t.
    np.testing.assert_allclose(paths @ v1, 0.5 * v1[0] + 0.6 * v1[1], atol=1e-12)
    off_line = paths @ v2
    np.testing.assert_allclose(off_line[1:21] / off_line[:20], 0.6, rtol=1e-9)
    assert abs(off_line[-1]) < 1e-12
    fixed = paths[-1]
    np.testing.assert_allclose(np.maximum(w @ fixed, 0), fixed, atol=1e-12)


def test_phase_identity_keeps_every_state_and_large_eigenvalues_explode():
    paths = phase_portrait(np.eye(2), steps=5, grid=3)
    assert paths.shape == (9, 6, 2)
    np.testing.assert_allclose(paths, np.repeat(paths[:, :1], 6, axis=1))
    grow = phase_portrait(phase_matrix((1.1, 1.05)), steps=40, grid=3)
    ratios = np.linalg.norm(grow[:, -1], axis=-1) / np.linalg.norm(grow[:, -2], axis=-1)
    assert np.all(ratios > 1.05) and np.all(ratios <= 1.1 + 1e-9)


def test_phase_relu_clips_negative_states():
    paths = phase_portrait(-np.eye(2), initial_states=np.array([[0.5, 0.2]]), steps=3)
    np.testing.assert_array_equal(paths[0, 1:], 0.0)


def test_phase_cases_cover_the_four_regimes():
    cases = phase_cases()
    assert len(cases) == 4
    tops = sorted(np.linalg.eigvalsh(w).max() for w in cases.values())
    lows = sorted(np.linalg.eigvalsh(w).min() for w in cases.values())
    assert tops[0] < 1 and tops[-1] > 1
    assert sum(math.isclose(t, 1.0) for t in tops) == 2
    assert sum(math.isclose(v, 1.0) for v in lows) == 1


def test_phase_bad_arguments():
    with pytest.raises(ValueError, match="recurrent_matrix.shape"):
        phase_portrait(np.eye(3))
    with pytest.raises(ValueError, match="steps=0"):
        phase_portrait(np.eye(2), steps=0)
    with pytest.raises(ValueError, match="initial_states.shape"):
        phase_portrait(np.eye(2), initial_states=np.ones(2))
    with pytest.raises(ValueError, match="eigenvalues="):
        phase_matrix((1.0, 2.0, 3.0))


# Plots --------------------------------------------------------------------------------


def test_plots_return_figures():
    import matplotlib.pyplot as plt

    fig = plot_gradient_flow(np.array([0.1, 0.5, 1.0]), label="a")
    plot_gradient_flow(np.ones((2, 3)), ax=fig.axes[0], label="b")
    assert len(fig.axes[0].lines) == 2
    fig2 = plot_input_sensitivity(np.array([1.0, 0.5, 0.25]))
    assert len(fig2.axes[0].lines) == 1
    fig3 = plot_spectrum(0.5 * orthogonal(5))
    assert len(fig3.axes[0].collections) == 1
    fig4 = plot_spectrum(np.linspace(0, 1.01, 20), timesteps=50)
    assert "2^(1/50)" in fig4.axes[0].get_title()
    fig5 = plot_phase_portraits(grid=3, steps=5)
    assert len(fig5.axes) == 4
    with pytest.raises(ValueError, match="norms.shape"):
        plot_gradient_flow(np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="timesteps=0"):
        plot_spectrum(np.ones(3), timesteps=0)
    plt.close("all")


def test_module_exports_the_public_functions():
    for name in (
        "gradient_flow",
        "input_sensitivity",
        "recurrent_spectrum",
        "spectral_radius",
        "phase_portrait",
        "phase_cases",
        "phase_matrix",
    ):
        assert callable(getattr(diagnostics, name))
