"""Clockwork's fused recurrence on the JAX backend.

`h_t = a_t * act(z_t + h_{t-1} W) + (1 - a_t) * h_{t-1}`, computing only the
first `prefix[t]` modules' units at step `t` (see `clockwork.py`): each step
is a `lax.switch` over the possible prefixes, whose branches have static
shapes, in the loops of `_fused_jax`, with a hand-written backward pass.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax

from keras_rnninit.layers._fused import activate
from keras_rnninit.layers._fused import derivative_from_output
from keras_rnninit.layers._fused_jax import _loop
from keras_rnninit.layers._fused_jax import _step_of
from keras_rnninit.layers._fused_jax import _write


def _switch(index, branch, num_modules, *operands):
    """`branch(k)(*operands)` for `k = index`, `k` in `0..num_modules`."""
    return lax.switch(
        index, [branch(k) for k in range(num_modules + 1)], *operands
    )


def _forward(z, w, h0, active, prefix, activation, save):
    num_modules = active.shape[-1]
    module_size = w.shape[0] // num_modules

    def branch(k):
        def step(z_t, a_t, h):
            if k == 0:
                return h
            cols = k * module_size
            new = activate(activation, z_t[:, :cols] + h @ w[:, :cols])
            a = jnp.repeat(a_t[:, :k], module_size, axis=1)
            return h.at[:, :cols].set(jnp.where(a > 0, new, h[:, :cols]))

        return step

    def body(t, carry):
        h, out = carry
        h = _switch(prefix[t], branch, num_modules, _step_of(z, t),
                    _step_of(active, t), h)
        if save:
            out = _write(out, h, t)
        return h, out

    out = jnp.zeros_like(z) if save else None
    return _loop(z.shape[1], body, (h0, out))


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6))
def _clockwork(z, w, h0, active, prefix, activation, return_sequences):
    h_last, hs = _forward(
        z, w, h0, active, prefix, activation, return_sequences
    )
    return hs if return_sequences else h_last


def _clockwork_fwd(z, w, h0, active, prefix, activation, return_sequences):
    h_last, hs = _forward(z, w, h0, active, prefix, activation, save=True)
    return (hs if return_sequences else h_last), (hs, w, h0, active, prefix)


def _clockwork_bwd(activation, return_sequences, residuals, g):
    # On the computed units: dz_t = a_t dh_t act'(z_t),
    # dh_{t-1} = g_{t-1} + dz_t W^T + (1 - a_t) dh_t; elsewhere dz_t = 0 and
    # dh_t passes through. dW = sum_t h_{t-1}^T dz_t over the computed
    # columns, accumulated in the loop (measured faster than one matmul over
    # every column after it).
    hs, w, h0, active, prefix = residuals
    num_modules = active.shape[-1]
    module_size = w.shape[0] // num_modules

    def branch(k):
        def step(h_t, h_prev, a_t, dh, dw):
            if k == 0:
                return dh, jnp.zeros_like(dh), dw
            cols = k * module_size
            a = jnp.repeat(a_t[:, :k], module_size, axis=1)
            head = dh[:, :cols]
            dz = a * head * derivative_from_output(activation, h_t[:, :cols])
            dh = dh.at[:, :cols].set((1 - a) * head) + dz @ w[:, :cols].T
            dw = dw.at[:, :cols].add(h_prev.T @ dz)
            return dh, jnp.zeros_like(dh).at[:, :cols].set(dz), dw

        return step

    def body(t, carry):
        c, dw, out = carry
        dh = c + _step_of(g, t) if return_sequences else c
        h_prev = jnp.where(t > 0, _step_of(hs, jnp.maximum(t - 1, 0)), h0)
        c, dz, dw = _switch(prefix[t], branch, num_modules, _step_of(hs, t),
                            h_prev, _step_of(active, t), dh, dw)
        return c, dw, _write(out, dz, t)

    carry = (jnp.zeros_like(h0) if return_sequences else g, jnp.zeros_like(w),
             jnp.zeros_like(hs))
    dh0, dw, dz = _loop(hs.shape[1], body, carry, reverse=True)
    return dz, dw, dh0, None, None


_clockwork.defvjp(_clockwork_fwd, _clockwork_bwd)


@functools.partial(jax.jit, static_argnames=("activation", "return_sequences"))
def _clockwork_jit(z, w, h0, active, prefix, activation, return_sequences):
    return _clockwork(z, w, h0, active, prefix, activation, return_sequences)


def clockwork(z, w, h0, active, prefix, activation, return_sequences,
              training=True):
    """Clockwork RNN states: the contract of `_fused`'s `clockwork`."""
    del training
    return _clockwork_jit(z, w, h0, active, prefix, activation,
                          bool(return_sequences))
