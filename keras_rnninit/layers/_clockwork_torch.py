"""Clockwork's fused recurrence on the PyTorch backend.

`h_t = a_t * act(z_t + h_{t-1} W) + (1 - a_t) * h_{t-1}`, computing only the
first `prefix[t]` modules' units at step `t` (see `clockwork.py`). The loops
are eager, as IndRNN's in `_fused_torch`: a few in-place ops a step on the
`(batch, k * module_size)` head of the state, with the prefixes read once
as Python integers, so that each step's slices are plain views.
"""

import torch

from keras_rnninit.layers._fused_torch import _activate_
from keras_rnninit.layers._fused_torch import _derivative_from_output
from keras_rnninit.layers._fused_torch import _flushing_subnormals
from keras_rnninit.layers._fused_torch import _no_compile


def _forward(z, w, h0, active, cols, activation):
    """All states `(batch, steps, units)`."""
    out = torch.empty_like(z)
    new = torch.empty_like(h0)
    h = h0
    for t, (z_t, h_t) in enumerate(zip(z.unbind(1), out.unbind(1))):
        h_t.copy_(h)
        c = cols[t]
        if c:
            head = new[:, :c]
            torch.addmm(z_t[:, :c], h, w[:, :c], out=head)
            _activate_(activation, head)
            torch.where(active[:, t, :c], head, h[:, :c], out=h_t[:, :c])
        h = h_t
    return out


def _backward(g, hs, w, h0, active, cols, activation, return_sequences):
    # On the computed units: dz_t = a_t dh_t act'(z_t),
    # dh_{t-1} = g_{t-1} + dz_t W^T + (1 - a_t) dh_t; elsewhere dz_t = 0 and
    # dh_t passes through. dW = sum_t h_{t-1}^T dz_t, one matmul after the
    # loop.
    derivative = _derivative_from_output(activation, hs) * active
    dz = torch.zeros_like(hs)
    gs = g.unbind(1) if return_sequences else None
    dh = torch.zeros_like(h0) if return_sequences else g.clone()
    for t in range(hs.shape[1] - 1, -1, -1):
        if return_sequences:
            dh.add_(gs[t])
        c = cols[t]
        if c:
            dz_t = dz[:, t, :c]
            torch.mul(dh[:, :c], derivative[:, t, :c], out=dz_t)
            dh[:, :c].masked_fill_(active[:, t, :c], 0)
            dh.addmm_(dz_t, w[:, :c].t())
    units = w.shape[0]
    h_prev = torch.cat([h0[:, None], hs[:, :-1]], dim=1)
    dw = h_prev.reshape(-1, units).t() @ dz.reshape(-1, units)
    return dz, dw, dh


class _Clockwork(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, w, h0, active, cols, activation, return_sequences):
        with _flushing_subnormals(z):
            hs = _forward(z, w, h0, active, cols, activation)
        ctx.cols = cols
        ctx.activation = activation
        ctx.return_sequences = return_sequences
        ctx.save_for_backward(hs, w, h0, active)
        return hs if return_sequences else hs[:, -1].clone()

    @staticmethod
    def backward(ctx, g):
        hs, w, h0, active = ctx.saved_tensors
        with _flushing_subnormals(hs):
            dz, dw, dh0 = _backward(
                g.contiguous(), hs, w, h0, active, ctx.cols, ctx.activation,
                ctx.return_sequences,
            )
        return dz, dw, dh0, None, None, None, None


@_no_compile
def clockwork(z, w, h0, active, prefix, activation, return_sequences,
              training=True):
    """Clockwork RNN states: the contract of `_fused`'s `clockwork`."""
    del training
    module_size = w.shape[0] // active.shape[-1]
    units = (active > 0).repeat_interleave(module_size, dim=-1)
    cols = [module_size * k for k in prefix.tolist()]
    return _Clockwork.apply(z, w, h0, units, cols, activation,
                            bool(return_sequences))
