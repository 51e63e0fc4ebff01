"""The compiled CPU kernel of the torch fused IndRNN, and the torch loops it
replaces: both against a NumPy reference written from the equations, the
layer's outputs and gradients the same with and without it, and the
fallback when it cannot be built."""

import keras
import numpy as np
import pytest

if keras.backend.backend() != "torch":
    pytest.skip("the torch backend's kernel", allow_module_level=True)

import torch  # noqa: E402
from fused_checks import outputs_and_gradients  # noqa: E402
from indrnn_reference import ACTS  # noqa: E402
from indrnn_reference import problem  # noqa: E402
from indrnn_reference import reference  # noqa: E402
from indrnn_reference import tensor  # noqa: E402

from keras_rnninit import IndRNN  # noqa: E402
from keras_rnninit.layers import _fused_torch  # noqa: E402
from keras_rnninit.layers import _torch_cpu_kernel as kernel  # noqa: E402

PATHS = {
    "compiled": (lambda z, u, h0, m, a: kernel.forward(z, u, h0, m, a, True, False),
                 kernel.backward),
    "torch loops": (lambda z, u, h0, m, a: _fused_torch._indrnn_forward(
        z, u, h0, m, a, True), _fused_torch._indrnn_backward),
}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("activation", sorted(ACTS))
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_recurrence_matches_the_equations(path, activation, masked,
                                          return_sequences, dtype):
    if path == "compiled" and not kernel.available():
        pytest.skip("no C compiler here")
    rng = np.random.default_rng(0)
    z, u, h0, mask, g = problem(rng, dtype, masked, return_sequences)
    expected = reference(z, u, h0, mask, activation, g, return_sequences)
    forward, backward = PATHS[path]
    hs, last = forward(tensor(z), tensor(u), tensor(h0), tensor(mask), activation)
    dz, du, dh0 = backward(tensor(g), hs, tensor(u), tensor(h0), tensor(mask),
                           activation, return_sequences)
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    for got, want in zip((hs, last, dz, du, dh0), expected):
        assert got.dtype == tensor(want).dtype
        np.testing.assert_allclose(got.numpy(), want, rtol=tolerance,
                                   atol=tolerance)


def test_a_batch_split_over_threads_gives_the_same_result(monkeypatch):
    if not kernel.available():
        pytest.skip("no C compiler here")
    rng = np.random.default_rng(1)
    z, u, h0, mask, g = problem(rng, "float32", True, True, steps=300,
                                batch=9, units=40)
    results = {}
    monkeypatch.setattr(kernel, "_MIN_PARALLEL", 1)
    before = torch.get_num_threads()
    for threads in (1, 3):
        torch.set_num_threads(threads)
        try:
            hs, last = kernel.forward(tensor(z), tensor(u), tensor(h0),
                                      tensor(mask), "relu", True, False)
            results[threads] = (hs, last) + kernel.backward(
                tensor(g), hs, tensor(u), tensor(h0), tensor(mask), "relu", True)
        finally:
            torch.set_num_threads(before)
    for one, many in zip(results[1], results[3]):
        np.testing.assert_allclose(one.numpy(), many.numpy(), rtol=1e-6, atol=1e-6)


def unloaded(monkeypatch):
    """The kernel module as before its first use."""
    monkeypatch.setattr(kernel, "_loaded", False)
    monkeypatch.setattr(kernel, "_library", None)


def model(native, monkeypatch, go_backwards=False):
    unloaded(monkeypatch)
    if not native:
        monkeypatch.setenv("KERAS_RNNINIT_NATIVE", "0")
    keras.utils.set_random_seed(3)
    inputs = keras.Input((40, 3))
    masked = keras.layers.Masking(0.0)(inputs)
    x = IndRNN(16, return_sequences=True, use_fused=True,
               go_backwards=go_backwards)(masked)
    x = IndRNN(8, use_fused=True, timesteps=40)(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


@pytest.mark.parametrize("go_backwards", [False, True])
def test_the_layer_is_the_same_with_and_without_the_kernel(monkeypatch,
                                                          go_backwards):
    if not kernel.available():
        pytest.skip("no C compiler here")
    x = np.random.default_rng(2).normal(size=(4, 40, 3)).astype("float32")
    x[1, 30:] = 0  # masked tail
    x[2, :5] = 0  # masked head
    results = []
    for native in (True, False):
        with monkeypatch.context() as patch:
            m = model(native, patch, go_backwards)
            results.append(outputs_and_gradients(m, [x]))
            assert kernel.available() is native
    for a, b in zip(*(keras.tree.flatten(r) for r in results)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_without_a_compiler_the_torch_loops_run(monkeypatch):
    unloaded(monkeypatch)
    monkeypatch.setattr(kernel, "_compiler", lambda: None)
    assert not kernel.available()
    assert not kernel.supports(torch.zeros(2, 2, 2), torch.zeros(2),
                               torch.zeros(2, 2), "relu")
    x = np.ones((2, 5, 3), "float32")
    out = IndRNN(4, use_fused=True)(x)
    assert tuple(out.shape) == (2, 4)


def test_the_build_is_cached_and_reused(monkeypatch, tmp_path):
    if kernel._compiler() is None:
        pytest.skip("no C compiler here")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    unloaded(monkeypatch)
    assert kernel.available()
    built = list((tmp_path / "keras_rnninit").iterdir())
    assert [p.suffix for p in built] == [".so"]  # no half-written leftovers

    def no_compiler(*args, **kwargs):
        raise AssertionError("compiled again")

    monkeypatch.setattr(kernel.subprocess, "run", no_compiler)
    unloaded(monkeypatch)
    assert kernel.available()


def test_a_failed_build_falls_back_to_the_torch_loops(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(kernel, "_compiler", lambda: "/bin/false")
    monkeypatch.setattr(kernel.tempfile, "gettempdir", lambda: str(tmp_path / "t"))
    unloaded(monkeypatch)
    assert not kernel.available()
    leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []


def test_without_saving_only_the_last_state_is_returned():
    if not kernel.available():
        pytest.skip("no C compiler here")
    rng = np.random.default_rng(4)
    z, u, h0, mask, g = problem(rng, "float32", True, False)
    _, want, *_ = reference(z, u, h0, mask, "relu", g, False)
    states, last = kernel.forward(tensor(z), tensor(u), tensor(h0), tensor(mask),
                                  "relu", False, False)
    assert states is None
    np.testing.assert_allclose(last.numpy(), want, rtol=1e-5, atol=1e-6)


def _forward_on_two_threads(z):
    torch.set_num_threads(2)  # a forked child may start with one
    kernel.forward(z, torch.zeros(4), torch.zeros(8, 4), None, "relu", True, False)


def test_a_forked_child_runs_the_kernel_on_its_own_threads(monkeypatch):
    """The thread pool of the parent is not used in a forked child (its
    threads do not exist there: the call would wait forever)."""
    import multiprocessing

    if not kernel.available():
        pytest.skip("no C compiler here")
    monkeypatch.setattr(kernel, "_MIN_PARALLEL", 1)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    z = torch.ones(50, 8, 4)
    kernel.forward(z, torch.zeros(4), torch.zeros(8, 4), None, "relu", True, False)
    context = multiprocessing.get_context("fork")
    child = context.Process(target=_forward_on_two_threads, args=(z,))
    child.start()
    child.join(60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and child.exitcode == 0
