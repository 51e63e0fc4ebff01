"""Which kernel runs IndRNN's recurrence on the PyTorch backend.

Three kernels compute the same recurrence, with the same results:

- `"c"`: the compiled C loops (`_torch_cpu_kernel`), for float32 and
  float64 CPU tensors, where a C compiler builds them;
- `"triton"`: the Triton kernels (`_triton_indrnn`), for CUDA tensors, or
  CPU tensors when `TRITON_INTERPRET=1` was set before they were imported;
- `"loops"`: eager loops of torch ops (`_fused_torch`), anywhere.

With `KERAS_RNNINIT_KERNEL` unset (or `auto`) the choice follows the
tensor's device, as `use_cudnn="auto"` does in Keras: C on a CPU, Triton on
CUDA, the loops elsewhere or where the faster kernel cannot run. Triton
missing, or a Triton kernel that fails to compile, means the loops and one
warning line, once per process. `KERAS_RNNINIT_KERNEL=c`, `triton` or
`loops` forces that kernel: where it cannot run the call raises an error
saying why, never runs another one. (`KERAS_RNNINIT_NATIVE=0` still turns
the C kernel off.)
"""

import os
import warnings

from keras_rnninit.layers import _torch_cpu_kernel as cpu_kernel

KERNELS = ("c", "triton", "loops")
_NAMES = {"c": "C kernel", "triton": "Triton kernel", "loops": "torch-op loops"}
VARIABLE = "KERAS_RNNINIT_KERNEL"

# The `_triton_indrnn` module once imported, `False` when Triton could not
# be imported or a kernel failed to compile, `None` before the first try.
_triton = None
_why_no_triton = None
_warned = False


def forced():
    """The kernel `KERAS_RNNINIT_KERNEL` names, or `None` for the automatic
    choice."""
    value = os.environ.get(VARIABLE, "").strip().lower()
    if value in ("", "auto"):
        return None
    if value not in KERNELS:
        raise ValueError(
            f"{VARIABLE} must be one of 'auto', "
            + ", ".join(f"'{k}'" for k in KERNELS)
            + f". Received: {VARIABLE}={os.environ[VARIABLE]!r}"
        )
    return value


def triton_module():
    """`_triton_indrnn`, or `None` where Triton cannot be imported (or its
    kernels failed to compile in this process)."""
    global _triton, _why_no_triton
    if _triton is None:
        try:
            from keras_rnninit.layers import _triton_indrnn
        except ImportError as error:
            _triton, _why_no_triton = False, f"Triton is not installed ({error})"
        else:
            _triton = _triton_indrnn
    return _triton or None


def _triton_cannot_run(z, activation):
    """Why the Triton kernel cannot run on `z`, or `None`."""
    module = triton_module()
    if module is None:
        return _why_no_triton
    if z.device.type == "cpu" and not module.INTERPRETED:
        return ("a CPU tensor needs Triton's interpreter: set "
                "TRITON_INTERPRET=1 before keras_rnninit's Triton kernel is "
                "imported")
    if z.device.type not in ("cpu", "cuda"):
        return f"Triton runs on CUDA tensors, not {z.device.type} ones"
    if z.dtype not in module.DTYPES:
        return f"the Triton kernel takes no {z.dtype} tensors"
    if activation not in module.ACTIVATIONS:
        return f"the Triton kernel has no {activation!r} activation"
    return None


def _cannot_run(kernel, z, u, h0, activation):
    if kernel == "c" and not cpu_kernel.supports(z, u, h0, activation):
        return ("the C kernel runs on float32 or float64 CPU tensors, "
                "where a C compiler builds it and KERAS_RNNINIT_NATIVE is "
                f"not 0; got a {z.dtype} tensor on {z.device}")
    if kernel == "triton":
        return _triton_cannot_run(z, activation)
    return None


def choose(z, u, h0, activation):
    """The kernel for the recurrence over `z` with `u` and `h0`."""
    kernel = forced()
    if z.device.type == "meta":  # Keras inferring shapes: nothing runs
        return "loops"
    if kernel is not None:
        reason = _cannot_run(kernel, z, u, h0, activation)
        if reason:
            raise RuntimeError(
                f"{VARIABLE}={kernel} forces the {_NAMES[kernel]}, which "
                f"cannot run here: {reason}."
            )
        return kernel
    if z.device.type == "cpu":
        return "c" if cpu_kernel.supports(z, u, h0, activation) else "loops"
    if z.device.type == "cuda" and _triton is not False:
        if triton_module() is None:
            _warn_once(_why_no_triton)
            return "loops"
        if _triton_cannot_run(z, activation) is None:
            return "triton"
    return "loops"


def triton_failed(error):
    """After the Triton kernel raised `error`: the kernel to run instead.

    Raises when Triton was forced; otherwise warns (once), keeps Triton off
    for the rest of the process and returns `"loops"`.
    """
    global _triton
    if forced() == "triton":
        raise RuntimeError(
            f"{VARIABLE}=triton forces the Triton kernel, which failed: "
            f"{type(error).__name__}: {error}"
        ) from error
    _triton = False
    _warn_once(f"the Triton kernel failed ({type(error).__name__}: {error})")
    return "loops"


def _warn_once(reason):
    global _warned
    if not _warned:
        _warned = True
        first_line = str(reason).strip().splitlines()[0]
        warnings.warn(
            f"keras_rnninit: IndRNN runs its torch-op loops on CUDA, slower: "
            f"{first_line}. ({VARIABLE}=loops silences this.)",
            stacklevel=3,
        )

