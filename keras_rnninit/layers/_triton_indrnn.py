"""IndRNN's recurrence as Triton kernels, for the PyTorch backend on CUDA.

The IndRNN authors' CUDA kernel (Li et al., 2019, Deep Independently
Recurrent Neural Network, arXiv 1910.06251) runs the whole sequence in one
launch: each thread owns one `(sample, unit)` pair of
`h_t = act(z_t + u * h_{t-1})` and loops over time, forward and backward.
These kernels do the same. The grid splits the `batch * units` pairs of a
time-major `(steps, batch, units)` tensor into blocks of `BLOCK` (one
program per block, one pair per thread), so every step's loads and stores
are contiguous.

- Forward: one launch; the state stays in registers, in float32 (float64
  for float64 inputs) whatever the input dtype (float16 and bfloat16 inputs
  under a mixed-precision policy), and is written out in the input dtype
  when the states are saved.
- Backward: one launch of the reverse loop
  `dz_t = m_t act'(z_t) dh_t,  dh_{t-1} = g_{t-1} + u dz_t + (1 - m_t) dh_t`
  (`m_t` the mask, `act'` written from the saved output), which writes `dz`
  and `dh0`. Each thread sums its own pair's `dz_t h_{t-1}` over time; the
  `(batch, units)` partial sums are written out and summed over the batch
  by torch, so `du` is the same from run to run (no atomics).

Without a GPU, `TRITON_INTERPRET=1` set before this module is imported runs
the same kernels on CPU tensors (`INTERPRETED`), which is how they are
tested. Which kernel runs, and what happens when Triton is missing or a
kernel fails to compile, is decided in `_kernel_choice`.
"""

import os

import torch
import triton
import triton.language as tl

# Decided by Triton when the kernels below are defined.
INTERPRETED = os.environ.get("TRITON_INTERPRET", "0") == "1"
ACTIVATIONS = {"relu": 0, "tanh": 1, "sigmoid": 2, "linear": 3}
DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
# (sample, unit) pairs per program: one per thread of 4 warps.
BLOCK = 128


@triton.jit
def _activate(a, ACTIVATION: tl.constexpr):
    h = a
    if ACTIVATION == 0:
        h = tl.maximum(a, 0.0)
    if ACTIVATION == 1:  # from exp(-2|a|): no overflow, exact sign
        e = tl.exp(-2.0 * tl.abs(a))
        h = (1.0 - e) / (1.0 + e)
        h = tl.where(a < 0, -h, h)
    if ACTIVATION == 2:
        h = 1.0 / (1.0 + tl.exp(-a))
    return h


@triton.jit
def _derivative_times(dh, h, ACTIVATION: tl.constexpr):
    """`act'(z) * dh`, with `act'` written from `h = act(z)`."""
    d = dh
    if ACTIVATION == 0:  # a select, not a product: 0 * inf is no NaN
        d = tl.where(h > 0, dh, 0.0)
    if ACTIVATION == 1:
        d = dh * (1.0 - h * h)
    if ACTIVATION == 2:
        d = dh * (h * (1.0 - h))
    return d


@triton.jit
def _pairs(u, h0, batch, units, STATE: tl.constexpr, BLOCK: tl.constexpr):
    """This program's pairs: their offsets in a `(batch, units)` slice,
    which are in it, and their `u` and `h0`."""
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    valid = offsets < batch * units
    weight = tl.load(u + offsets % units, mask=valid, other=0).to(STATE)
    first = tl.load(h0 + offsets, mask=valid, other=0).to(STATE)
    return offsets, valid, weight, first


@triton.jit
def _forward_kernel(z, u, h0, mask, out, last, batch, units, steps,
                    ACTIVATION: tl.constexpr, MASKED: tl.constexpr,
                    SAVE: tl.constexpr, STATE: tl.constexpr,
                    BLOCK: tl.constexpr):
    pairs = batch * units
    offsets, valid, weight, h = _pairs(u, h0, batch, units, STATE, BLOCK)
    z_at = z + offsets
    out_at = out + offsets
    mask_at = mask + offsets // units
    for _ in range(steps):
        new = _activate(tl.load(z_at, mask=valid, other=0).to(STATE)
                        + weight * h, ACTIVATION)
        if MASKED:
            h = tl.where(tl.load(mask_at, mask=valid, other=1) > 0, new, h)
            mask_at += batch
        else:
            h = new
        if SAVE:  # may overwrite z: this thread has read z_t already
            tl.store(out_at, h.to(out.dtype.element_ty), mask=valid)
            out_at += pairs
        z_at += pairs
    tl.store(last + offsets, h.to(last.dtype.element_ty), mask=valid)


@triton.jit
def _backward_kernel(g, hs, u, h0, mask, dz, du, dh0, batch, units, steps,
                     ACTIVATION: tl.constexpr, MASKED: tl.constexpr,
                     SEQUENCES: tl.constexpr, STATE: tl.constexpr,
                     BLOCK: tl.constexpr):
    pairs = batch * units
    offsets, valid, weight, first = _pairs(u, h0, batch, units, STATE, BLOCK)
    # Pointers at the last step, moved back one step a turn.
    end = tl.cast(steps - 1, tl.int64) * pairs
    h_at = hs + end + offsets
    dz_at = dz + end + offsets
    g_at = g + offsets
    if SEQUENCES:
        g_at += end
    mask_at = mask + tl.cast(steps - 1, tl.int64) * batch + offsets // units
    dh = tl.load(g_at, mask=valid, other=0).to(STATE)
    h = tl.load(h_at, mask=valid, other=0).to(STATE)
    du_sum = tl.zeros((BLOCK,), dtype=STATE)
    for i in range(steps):
        later = tl.full((BLOCK,), steps - 1 - i, tl.int32) > 0  # t > 0
        previous = tl.load(h_at - pairs, mask=valid & later, other=0)
        previous = tl.where(later, previous.to(STATE), first)
        grad = _derivative_times(dh, h, ACTIVATION)
        if MASKED:
            keep = tl.load(mask_at, mask=valid, other=1) > 0
            grad = tl.where(keep, grad, 0.0)
            dh = tl.where(keep, weight * grad, dh)
            mask_at -= batch
        else:
            dh = weight * grad
        du_sum += grad * previous
        tl.store(dz_at, grad.to(dz.dtype.element_ty), mask=valid)
        if SEQUENCES:
            g_at -= pairs
            dh += tl.load(g_at, mask=valid & later, other=0).to(STATE)
        h = previous
        h_at -= pairs
        dz_at -= pairs
    tl.store(dh0 + offsets, dh.to(dh0.dtype.element_ty), mask=valid)
    tl.store(du + offsets, du_sum, mask=valid)


def state_dtype(dtype):
    """The dtype the kernels keep the state in: float32, or float64."""
    return torch.promote_types(dtype, torch.float32)


def _triton_dtype(dtype):
    return tl.float64 if dtype == torch.float64 else tl.float32


def _grid(batch, units):
    return (triton.cdiv(batch * units, BLOCK),)


def _mask(mask, like):
    """A float32 mask, or `like` in its place (never read) when `None`."""
    return like if mask is None else mask.to(torch.float32).contiguous()


def forward(z, u, h0, mask, activation, save, in_place):
    """`(states or None, last)`, as `_fused_torch._indrnn_forward`:
    time-major `z` `(steps, batch, units)`, `mask` `(steps, batch)` or
    `None`; with `in_place` the saved states overwrite `z`."""
    steps, batch, units = z.shape
    z, u, h0 = z.contiguous(), u.contiguous(), h0.contiguous()
    last = torch.empty_like(h0)
    out = (z if in_place else torch.empty_like(z)) if save else None
    _forward_kernel[_grid(batch, units)](
        z, u, h0, _mask(mask, z), last if out is None else out, last,
        batch, units, steps,
        ACTIVATION=ACTIVATIONS[activation], MASKED=mask is not None,
        SAVE=save, STATE=_triton_dtype(state_dtype(z.dtype)), BLOCK=BLOCK,
        num_warps=4)
    return out, last


def backward(g, hs, u, h0, mask, activation, return_sequences):
    """`(dz, du, dh0)`, as `_fused_torch._indrnn_backward`."""
    steps, batch, units = hs.shape
    g, u, h0 = g.contiguous(), u.contiguous(), h0.contiguous()
    dz = torch.empty_like(hs)
    dh0 = torch.empty_like(h0)
    state = state_dtype(hs.dtype)
    du = torch.empty(h0.shape, dtype=state, device=hs.device)
    _backward_kernel[_grid(batch, units)](
        g, hs, u, h0, _mask(mask, hs), dz, du, dh0, batch, units, steps,
        ACTIVATION=ACTIVATIONS[activation], MASKED=mask is not None,
        SEQUENCES=bool(return_sequences), STATE=_triton_dtype(state),
        BLOCK=BLOCK, num_warps=4)
    return dz, du.sum(0).to(u.dtype), dh0
