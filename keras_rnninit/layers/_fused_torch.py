"""Fused recurrences for the PyTorch backend: eager loops + autograd.Function.

Each recurrence is one `torch.autograd.Function` with a hand-written
backward. On a CPU, IndRNN's forward and backward loops run compiled C
(`_torch_cpu_kernel`, built on first use with the system's C compiler) for
float32 and float64; on CUDA, one Triton kernel launch each
(`_triton_indrnn`); `_kernel_choice` picks by device, or as
`KERAS_RNNINIT_KERNEL` forces. Elsewhere (other dtypes, no C compiler, no
Triton) they are Python loops over time of two or three in-place torch ops
a step on `(batch, units)` slices (views from `unbind`, written with
`out=`). Autograd records nothing per step, and stores one
`(batch, steps, units)` tensor, the states. The loops
are hidden from `torch.compile` (a graph break), so a model compiled with
`jit_compile=True` runs them eagerly instead of unrolling T steps.

Measured on a 2-core CPU, one layer, batch 50, 128 units, T=1000, the
recurrence alone (forward / backward of the IndRNN loop):

- this eager loop: 9 ms / 15 ms, about 4.5 us per op, the per-op dispatch
  cost dominating (a `(50, 128)` op costs 3 us; a `(50, 1000, 128)` copy
  1.6 ms);
- autograd through the same loop without a custom backward: several times
  slower, and it keeps every step's graph;
- `torch.compile` (Inductor, C++) of chunks of K steps (K unrolled steps
  fused into one kernel): about 40 us a call plus 2 us a step, so 2-3 ms
  forward at K=128, but 20-30 s of compilation for every new shape, dtype
  and option, a C++ compiler at run time, and recompilation limits; not
  used. `torch.compile` of the whole loop unrolls T steps (minutes to
  compile at T=1000);
- the exact parallel scan (`_parallel_scan`, through
  `keras.ops.associative_scan`): a training step 11.5x slower than this
  loop's at T=1000 (`benchmarks/results/indrnn_speed_torch.md`);
- the compiled C loops (`_torch_cpu_kernel`): 3 ms / 5 ms at T=784 (one
  thread; the batch is split over torch's threads), since a step is then
  a few vector instructions per `(batch, unit)` pair and no dispatch.

Tried at T=784 on the 6-layer batch-norm model and not kept: loops over
batch-major slices with no time-major copy (train step 525 against 507 ms,
interleaved), the loops in TorchScript (forward 4.5 against 5.4 ms;
deprecated), `du` summed in blocks after the loop (backward 11.5 against
12.3 ms).

Memory is the other cost: a new `(steps, batch, units)` buffer (24 MB here)
comes from the system as fresh pages, and its page faults cost several ms.
When the layer computes the projection itself, IndRNN writes the states over
it (step t reads only `z_t` before writing `h_t`; the projection's matmul
keeps its inputs, not its result): one buffer fewer a layer, and the train
step at T=1000 alternated with a SimpleRNN model went from 57 to 40 ms.
"""

import contextlib

import torch

from keras_rnninit.layers import _kernel_choice as kernel_choice
from keras_rnninit.layers import _torch_cpu_kernel as cpu_kernel

_no_compile = getattr(torch.compiler, "disable", lambda fn: fn)
# `indrnn` takes the inputs and the kernel, whatever the number of features.
PROJECTS_INPUTS = True


@contextlib.contextmanager
def _flushing_subnormals(x):
    """Flushes subnormal floats to zero in this thread (as XLA does on CPU)
    while the loops run, then restores the previous setting.

    A state or gradient that decays through |u| < 1 step after step reaches
    the subnormal range, where x86 arithmetic is about 100x slower: the
    backward of one layer at T=1000 took 250 ms instead of 15 ms.
    """
    if x.device.type != "cpu":
        yield
        return
    # No getter exists: a subnormal times one is zero if flushing is on.
    was_on = bool(torch.tensor(1e-39).mul(1.0) == 0)
    if not was_on:
        torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if not was_on:
            torch.set_flush_denormal(False)


def _activate_(name, h):
    """`act(h)` in place."""
    if name == "relu":
        h.relu_()
    elif name == "tanh":
        h.tanh_()
    elif name == "sigmoid":
        h.sigmoid_()


def _derivative_from_output(name, hs):
    """`act'(z)` written in terms of `h = act(z)`, for all steps at once."""
    if name == "relu":
        return (hs > 0).to(hs.dtype)
    if name == "tanh":
        return 1 - hs * hs
    if name == "sigmoid":
        return hs * (1 - hs)
    return torch.ones_like(hs)


# IndRNN: h_t = act(z_t + u * h_{t-1}) -----------------------------------------
#
# The loops run time-major: `z`, the states and their gradients are
# `(steps, batch, units)`, so that each step's slice is one contiguous block
# (batch-major slices are `batch` rows one `steps * units` stride apart).
# The layer sees the states through a batch-major view of that buffer; a
# stacked IndRNN reads its input back time-major without a copy.


def _indrnn_forward(z, u, h0, mask, activation, save, in_place=False):
    """All states `(steps, batch, units)` if `save`, else `None`; the last.
    With `in_place` the saved states overwrite `z`."""
    steps = z.shape[0]
    if save:
        out = z if in_place else torch.empty_like(z)
        slots = out.unbind(0)
    else:  # two buffers, used in turn
        buffers = (torch.empty_like(h0), torch.empty_like(h0))
        slots = [buffers[t % 2] for t in range(steps)]
        out = None
    keep = None if mask is None else (mask > 0).unsqueeze(-1).unbind(0)
    new = torch.empty_like(h0) if mask is not None else None
    h = h0
    for t, z_t in enumerate(z.unbind(0)):
        if keep is None:
            torch.addcmul(z_t, u, h, out=slots[t])
            _activate_(activation, slots[t])
        else:
            torch.addcmul(z_t, u, h, out=new)
            _activate_(activation, new)
            torch.where(keep[t], new, h, out=slots[t])
        h = slots[t]
    return out, h


def _indrnn_backward(g, hs, u, h0, mask, activation, return_sequences):
    """`(dz, du, dh0)` from the gradient `g` of the output, time-major.

    With dh_t the whole gradient reaching h_t (from its output and h_{t+1}),
    d_t = m_t act'(z_t) and m_t the mask:
      dz_t = d_t dh_t,  dh_{t-1} = g_{t-1} + u dz_t + (1 - m_t) dh_t,
      du = sum_t dz_t h_{t-1}.
    All three run in one loop over the steps, two or three ops a step on
    `(batch, units)` slices, which stay in cache: a pass over a whole
    `(steps, batch, units)` tensor costs as much as a few hundred small
    ops, and the loop makes only one, writing `dz`. `du` is summed over the
    batch after the loop, in float32 at least.
    """
    steps = hs.shape[0]
    relu = activation == "relu" and mask is None
    if not relu:
        derivative = _derivative_from_output(activation, hs)
        if mask is not None:
            derivative = derivative * mask.unsqueeze(-1)
            kept = (1 - mask).unsqueeze(-1).unbind(0)
        derivatives = derivative.unbind(0)
    dz = torch.empty_like(hs)
    dzs, hss = dz.unbind(0), hs.unbind(0)
    previous = (h0,) + hss[:-1]
    gs = g.unbind(0) if return_sequences else None
    dh = (gs[-1] if return_sequences else g).clone()
    acc_dtype = torch.promote_types(hs.dtype, torch.float32)
    du = torch.zeros(h0.shape, dtype=acc_dtype, device=hs.device)
    threshold_backward = torch.ops.aten.threshold_backward.grad_input
    for t in range(steps - 1, -1, -1):
        if relu:  # dh where h_t > 0, else 0
            threshold_backward(dh, hss[t], 0, grad_input=dzs[t])
        else:
            torch.mul(dh, derivatives[t], out=dzs[t])
        du.addcmul_(dzs[t], previous[t])
        if mask is not None:
            dh.mul_(kept[t]).addcmul_(u, dzs[t])
            if return_sequences and t:
                dh.add_(gs[t - 1])
        elif return_sequences and t:
            torch.addcmul(gs[t - 1], u, dzs[t], out=dh)
        else:
            torch.mul(dzs[t], u, out=dh)
    return dz, du.sum(0).to(u.dtype), dh


def _loops_forward(z, u, h0, mask, activation, save, in_place):
    with _flushing_subnormals(z):
        return _indrnn_forward(z, u, h0, mask, activation, save, in_place)


def _loops_backward(g, hs, u, h0, mask, activation, return_sequences):
    with _flushing_subnormals(hs):
        return _indrnn_backward(g.contiguous(), hs, u, h0, mask, activation,
                                return_sequences)


def _kernel(name):
    """`(forward, backward)` of a `_kernel_choice.KERNELS` name."""
    if name == "c":
        return cpu_kernel.forward, cpu_kernel.backward
    if name == "triton":
        module = kernel_choice.triton_module()
        return module.forward, module.backward
    return _loops_forward, _loops_backward


def _run(ctx, step, *args):
    """Step 0 (forward) or 1 (backward) of the kernel `ctx.kernel`; a Triton
    kernel that fails (to compile, say) hands over to the loops, or raises
    if it was forced (`_kernel_choice.triton_failed`)."""
    try:
        return _kernel(ctx.kernel)[step](*args)
    except torch.cuda.OutOfMemoryError:
        raise
    except Exception as error:
        if ctx.kernel != "triton":
            raise
        ctx.kernel = kernel_choice.triton_failed(error)
        return _kernel(ctx.kernel)[step](*args)


class _IndRNN(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, u, h0, mask, activation, return_sequences, owns_z):
        # `owns_z`: `z` is this layer's own projection, read by nothing else.
        save = return_sequences or any(ctx.needs_input_grad[:3])
        ctx.kernel = kernel_choice.choose(z, u, h0, activation)
        hs, h_last = _run(ctx, 0, z, u, h0, mask, activation, save, owns_z)
        ctx.activation = activation
        ctx.return_sequences = return_sequences
        if save:
            ctx.save_for_backward(hs, u, h0, mask)
        return hs if return_sequences else h_last.clone()

    @staticmethod
    def backward(ctx, g):
        hs, u, h0, mask = ctx.saved_tensors
        if ctx.kernel == "c" and g.dtype != hs.dtype:
            ctx.kernel = "loops"
        dz, du, dh0 = _run(ctx, 1, g, hs, u, h0, mask, ctx.activation,
                           ctx.return_sequences)
        return dz, du, dh0, None, None, None, None


def _time_major(x):
    """`(steps, batch, ...)` from `(batch, steps, ...)`, contiguous; no copy
    when `x` is a batch-major view of a time-major buffer."""
    return x.transpose(0, 1).contiguous()


@_no_compile
def indrnn(x, u, h0, mask, activation, return_sequences, training=True,
           kernel=None, bias=None):
    """IndRNN states over `z = x W + b` `(batch, steps, units)`.

    `x` is `z`, or, when `kernel` (and `bias`) are given, the inputs
    `(batch, steps, features)`, projected here time-major in one matmul.
    `mask` is `None` or `(batch, steps)` with 0 at masked steps. Returns all
    states when `return_sequences` (a batch-major view of a time-major
    buffer), else the last one.
    """
    del training  # autograd asks for the saving forward when it needs it
    x = _time_major(x)
    if kernel is not None:
        steps, batch, features = x.shape
        x = torch.addmm(bias, x.view(-1, features), kernel)
        x = x.view(steps, batch, -1)
    if mask is not None:
        mask = _time_major(mask)
    result = _IndRNN.apply(x, u, h0, mask, activation, bool(return_sequences),
                           kernel is not None)
    return result.transpose(0, 1) if return_sequences else result
