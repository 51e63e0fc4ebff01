"""IndRNN's Triton kernels (`_triton_indrnn`) against a NumPy reference
written from the equations and against the torch-op loops; the layer with
the kernel forced; the kernel choice (`_kernel_choice`): the forcing error
and the one-warning fallback.

Without a GPU the kernels run in Triton's interpreter on CPU tensors:

    TRITON_INTERPRET=1 KERAS_BACKEND=torch python -m pytest \\
        tests/layers/test_triton_indrnn.py

Without the interpreter and without CUDA the file is skipped; on a GPU
machine it runs the same checks on CUDA tensors.
"""

import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest

if keras.backend.backend() != "torch":
    pytest.skip("the torch backend's kernel", allow_module_level=True)

import torch  # noqa: E402

pytest.importorskip("triton")
if os.environ.get("TRITON_INTERPRET") != "1" and not torch.cuda.is_available():
    pytest.skip("needs a GPU, or TRITON_INTERPRET=1 for Triton's interpreter",
                allow_module_level=True)

from fused_checks import outputs_and_gradients  # noqa: E402
from indrnn_reference import ACTS  # noqa: E402
from indrnn_reference import problem  # noqa: E402
from indrnn_reference import reference  # noqa: E402
from indrnn_reference import tensor  # noqa: E402

import keras_rnninit.layers  # noqa: E402
from keras_rnninit import IndRNN  # noqa: E402
from keras_rnninit.constraints import recurrent_bound  # noqa: E402
from keras_rnninit.layers import _fused_torch  # noqa: E402
from keras_rnninit.layers import _kernel_choice as choice  # noqa: E402
from keras_rnninit.layers import _triton_indrnn as kernel  # noqa: E402

DEVICE = "cpu" if kernel.INTERPRETED else "cuda"


def on_device(*arrays):
    return [tensor(a, DEVICE) for a in arrays]


def run(forward, backward, z, u, h0, mask, g, activation, return_sequences):
    hs, last = forward(z, u, h0, mask, activation, True, False)
    return (hs, last) + tuple(backward(g, hs, u, h0, mask, activation,
                                       return_sequences))


def loops(*args):
    return run(_fused_torch._indrnn_forward, _fused_torch._indrnn_backward,
               *args)


def triton(*args):
    return run(kernel.forward, kernel.backward, *args)


def assert_close(got, want, tolerance):
    """States, last state, dz, du, dh0: the same dtype, within `tolerance`
    of the largest magnitude."""
    for name, a, b in zip(("hs", "last", "dz", "du", "dh0"), got, want):
        b = b.detach().cpu().numpy() if hasattr(b, "detach") else b
        assert a.dtype == tensor(b).dtype, name
        scale = max(1.0, np.abs(b).max())
        np.testing.assert_allclose(a.detach().cpu().numpy(), b, rtol=0,
                                   atol=tolerance * scale, err_msg=name)


@pytest.mark.parametrize("activation", sorted(ACTS))
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_recurrence_matches_the_equations_and_the_loops(
        activation, masked, return_sequences, dtype):
    rng = np.random.default_rng(0)
    z, u, h0, mask, g = problem(rng, dtype, masked, return_sequences)
    args = on_device(z, u, h0, mask, g) + [activation, return_sequences]
    got = triton(*args)
    tolerance = 1e-6 if dtype == "float32" else 1e-13
    assert_close(got, reference(z, u, h0, mask, activation, g,
                                return_sequences), tolerance)
    assert_close(got, loops(*args), tolerance)


@pytest.mark.parametrize("steps", [1, 2, 100, 1000])
def test_long_sequences_at_the_recurrent_bound(steps):
    """|u| at the bound gamma^(1/T): the states carry over every step."""
    rng = np.random.default_rng(steps)
    z, _, h0, mask, g = problem(rng, "float32", True, True, steps=steps,
                                batch=2, units=3)
    z = np.abs(z) / steps  # states grow like a sum over all steps
    bound = recurrent_bound(steps, 2.0)
    u = np.array([bound, -bound, bound], "float32")
    args = on_device(z, u, h0, mask, g) + ["relu", True]
    got = triton(*args)
    z64, u64, h064, g64 = (a.astype("float64") for a in (z, u, h0, g))
    want = reference(z64, u64, h064, mask, "relu", g64, True)
    assert_close(got, [w.astype("float32") for w in want], 1e-5)
    assert_close(got, loops(*args), 1e-5)
    if steps == 1000:
        assert np.abs(want[0][-1]).max() > 0.5


def test_pairs_beyond_one_block():
    """More (sample, unit) pairs than one program holds: several programs,
    the last one partly empty."""
    rng = np.random.default_rng(1)
    z, u, h0, mask, g = problem(rng, "float32", True, True, steps=9,
                                batch=3, units=kernel.BLOCK // 2 + 3)
    args = on_device(z, u, h0, mask, g) + ["tanh", True]
    assert_close(triton(*args), reference(z, u, h0, mask, "tanh", g, True),
                 1e-6)


@pytest.mark.parametrize("dtype, tolerance",
                         [(torch.float16, 3e-3), (torch.bfloat16, 3e-2)])
def test_half_precision_inputs_keep_a_float32_state(dtype, tolerance):
    rng = np.random.default_rng(2)
    z, u, h0, mask, g = problem(rng, "float64", True, True, steps=60)
    want = reference(z, u, h0, mask, "tanh", g, True)
    args = [None if a is None else a.to(dtype) for a in on_device(z, u, h0, g)]
    z_, u_, h0_, g_ = args
    got = triton(z_, u_, h0_, tensor(mask, DEVICE), g_, "tanh", True)
    for a, b in zip(got, want):
        assert a.dtype == dtype
        np.testing.assert_allclose(a.float().cpu().numpy(), b, rtol=0,
                                   atol=tolerance * max(1, np.abs(b).max()))


def test_only_the_last_state_and_in_place():
    rng = np.random.default_rng(3)
    z, u, h0, _, g = problem(rng, "float32", False, True)
    want = reference(z, u, h0, None, "relu", g, True)
    z_, u_, h0_ = on_device(z, u, h0)
    states, last = kernel.forward(z_, u_, h0_, None, "relu", False, False)
    assert states is None
    np.testing.assert_allclose(last.cpu().numpy(), want[1], atol=1e-6)
    states, _ = kernel.forward(z_, u_, h0_, None, "relu", True, True)
    assert states.data_ptr() == z_.data_ptr()
    np.testing.assert_allclose(z_.cpu().numpy(), want[0], atol=1e-6)


def test_the_kernels_compile_for_a_gpu(subprocess_env):
    """Triton's compiler and ptxas build the kernels for sm_90 (H100)
    without a GPU: what the interpreter cannot check."""
    import triton.backends

    if "nvidia" not in triton.backends.backends:
        pytest.skip("this Triton has no CUDA backend")
    subprocess_env.pop("TRITON_INTERPRET", None)
    script = os.path.join(os.path.dirname(__file__), "triton_gpu_compile.py")
    result = subprocess.run([sys.executable, script, "90"], env=subprocess_env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "compiled 16 kernels for sm_90" in result.stdout


# The layer with the kernel forced ---------------------------------------------


def stacked(go_backwards):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((40, 3))
    masked = keras.layers.Masking(0.0)(inputs)
    x = IndRNN(16, return_sequences=True, use_fused=True,
               go_backwards=go_backwards)(masked)
    x = IndRNN(8, activation="tanh", use_fused=True, timesteps=40)(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


@pytest.mark.parametrize("go_backwards", [False, True])
def test_stacked_layers_equal_the_loops_and_the_cell(monkeypatch,
                                                     go_backwards):
    """Two masked layers, sequences into the last state: outputs and every
    gradient with the Triton kernel forced, the torch-op loops forced, and
    the generic cell loop."""
    x = np.random.default_rng(4).normal(size=(4, 40, 3)).astype("float32")
    x[1, 30:] = 0  # masked tail
    x[2, :5] = 0  # masked head
    launches = []
    forward = kernel.forward
    monkeypatch.setattr(kernel, "forward",
                        lambda *a: launches.append(1) or forward(*a))
    results = []
    for forced in ("triton", "loops"):
        monkeypatch.setenv(choice.VARIABLE, forced)
        results.append(outputs_and_gradients(stacked(go_backwards), [x]))
        # Two layers, called for the outputs and again for the gradients.
        assert len(launches) == 4
    monkeypatch.delenv(choice.VARIABLE)
    model = stacked(go_backwards)
    for layer in model.layers:
        if isinstance(layer, IndRNN):
            layer.use_fused = False
    results.append(outputs_and_gradients(model, [x]))
    triton_, *others = (keras.tree.flatten(r) for r in results)
    for other in others:
        for a, b in zip(triton_, other):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# The kernel choice --------------------------------------------------------------


class _Cuda:
    """A stand-in for a CUDA tensor: what `choose` reads of one."""

    device = torch.device("cuda")
    dtype = torch.float32


@pytest.fixture
def fresh_choice(monkeypatch):
    monkeypatch.delenv(choice.VARIABLE, raising=False)
    monkeypatch.setattr(choice, "_warned", False)
    monkeypatch.setattr(choice, "_triton", None)
    return monkeypatch


def without_triton(monkeypatch):
    """As if `import triton` failed."""
    monkeypatch.setitem(sys.modules, "triton", None)
    monkeypatch.delitem(sys.modules, kernel.__name__)
    monkeypatch.delattr(keras_rnninit.layers, "_triton_indrnn")


def test_auto_picks_triton_for_cuda_and_c_or_loops_for_cpu(fresh_choice):
    z = _Cuda()
    assert choice.choose(z, z, z, "relu") == "triton"
    cpu = torch.zeros(3, 2, 4)
    expected = "c" if choice.cpu_kernel.available() else "loops"
    assert choice.choose(cpu, cpu[0, 0], cpu[0], "relu") == expected
    half = cpu.half()
    assert choice.choose(half, half[0, 0], half[0], "relu") == "loops"


def test_triton_missing_on_cuda_warns_once_and_runs_the_loops(fresh_choice):
    without_triton(fresh_choice)
    z = _Cuda()
    with pytest.warns(UserWarning, match="Triton is not installed") as caught:
        assert choice.choose(z, z, z, "relu") == "loops"
        assert choice.choose(z, z, z, "relu") == "loops"
    assert len(caught) == 1
    assert len(str(caught[0].message).splitlines()) == 1


def test_a_failing_triton_kernel_warns_once_and_runs_the_loops(fresh_choice):
    def broken(*args):
        raise RuntimeError("compilation failed\nat line 3")

    fresh_choice.setattr(kernel, "forward", broken)
    rng = np.random.default_rng(5)
    z, u, h0, mask, _ = problem(rng, "float32", True, False)
    want = reference(z, u, h0, mask, "relu", z[0], False)[1]
    ctx = type("Context", (), {"kernel": "triton"})()
    with pytest.warns(UserWarning, match="Triton kernel failed") as caught:
        for _ in range(2):
            ctx.kernel = "triton"
            _, last = _fused_torch._run(ctx, 0, *on_device(z, u, h0, mask),
                                        "relu", False, False)
            assert ctx.kernel == "loops"
            np.testing.assert_allclose(last.cpu().numpy(), want, atol=1e-6)
    assert len(caught) == 1
    # Once failed, the automatic choice keeps to the loops.
    assert choice.choose(_Cuda(), None, None, "relu") == "loops"


def test_forced_triton_that_fails_raises(fresh_choice):
    fresh_choice.setenv(choice.VARIABLE, "triton")

    def broken(*args):
        raise RuntimeError("compilation failed")

    fresh_choice.setattr(kernel, "forward", broken)
    with pytest.raises(RuntimeError, match="forces the Triton kernel, which "
                                           "failed: RuntimeError"):
        IndRNN(4, use_fused=True)(np.ones((2, 5, 3), "float32"))


@pytest.mark.parametrize("why", ["no interpreter", "no triton"])
def test_forced_triton_where_it_cannot_run_raises(fresh_choice, why):
    fresh_choice.setenv(choice.VARIABLE, "triton")
    if why == "no interpreter":
        fresh_choice.setattr(kernel, "INTERPRETED", False)
        match = "Triton kernel, which cannot run here: a CPU tensor needs " \
                "Triton's interpreter"
    else:
        without_triton(fresh_choice)
        match = "Triton kernel, which cannot run here: Triton is not installed"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match=match):
            IndRNN(4, use_fused=True)(torch.ones(2, 5, 3))


def test_forced_c_where_it_cannot_run_raises(fresh_choice):
    fresh_choice.setenv(choice.VARIABLE, "c")
    z = torch.zeros(3, 2, 4, dtype=torch.float16)
    with pytest.raises(RuntimeError, match="forces the C kernel"):
        choice.choose(z, z[0, 0], z[0], "relu")


def test_an_unknown_kernel_name_is_refused(fresh_choice):
    fresh_choice.setenv(choice.VARIABLE, "cuda")
    with pytest.raises(ValueError, match="KERAS_RNNINIT_KERNEL must be one "
                                         "of 'auto', 'c', 'triton', 'loops'"):
        choice.choose(_Cuda(), None, None, "relu")


def test_the_command_lines_load_tensorflow_beside_triton():
    # Triton and TensorFlow both register LLVM's options: with TensorFlow
    # first, Keras's torch backend (which imports Triton through torch)
    # aborted the process. The command lines load Triton first.
    code = ("import keras_rnninit_cli; "
            "keras_rnninit_cli._standalone('keras_rnninit._quiet').import_tensorflow(); "
            "import keras; print(keras.ops.convert_to_numpy(keras.ops.ones(2)).sum())")
    env = dict(os.environ, KERAS_BACKEND="torch", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "2.0"
