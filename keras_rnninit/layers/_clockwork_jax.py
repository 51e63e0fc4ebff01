"""Fused Clockwork RNN loop for the JAX backend: `lax.scan` + custom VJP.

Autodiff through `lax.scan` is many times slower than the forward scan on
CPU, so the backward pass is a hand-written reverse scan over the saved
states; the gradient of the recurrent kernel is one large matmul after it.
Every step computes all modules and keeps the idle ones' values (a
`lax.switch` over the active modules costs more than it saves on CPU).
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax

_DERIVATIVES = {
    "tanh": lambda h: 1.0 - h * h,
    "relu": lambda h: (h > 0).astype(h.dtype),
    "sigmoid": lambda h: h * (1.0 - h),
    "linear": jnp.ones_like,
}
_ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "sigmoid": jax.nn.sigmoid,
    "linear": lambda x: x,
}


def _active_units(clock0, t, periods, module_size):
    """`(batch, units)` booleans: the units whose module updates at step t."""
    clock = clock0 + t
    active = (clock[:, None] % jnp.asarray(periods, jnp.int32)[None, :]) == 0
    return jnp.repeat(active, module_size, axis=1)


@functools.lru_cache(maxsize=None)
def _build(periods, activation):
    num_modules = len(periods)
    act_fn = _ACTIVATIONS[activation]
    deriv = _DERIVATIVES[activation]

    def forward(xw, h0, clock0, w):
        module_size = w.shape[0] // num_modules
        c0 = jnp.round(clock0[:, 0]).astype(jnp.int32)

        def step(h, inputs):
            t, xw_t = inputs
            active = _active_units(c0, t, periods, module_size)
            h = jnp.where(active, act_fn(xw_t + h @ w), h)
            return h, h

        steps = jnp.arange(xw.shape[0], dtype=jnp.int32)
        _, hs = lax.scan(step, h0, (steps, xw))
        return hs

    def backward(res, dhs):
        hs, h0, clock0, w = res
        module_size = w.shape[0] // num_modules
        c0 = jnp.round(clock0[:, 0]).astype(jnp.int32)
        w_t = w.T

        def step(g, inputs):
            t, dh_t, h_t = inputs
            g = g + dh_t
            active = _active_units(c0, t, periods, module_size).astype(g.dtype)
            d_pre = g * active * deriv(h_t)
            g = g * (1 - active) + d_pre @ w_t
            return g, d_pre

        steps = jnp.arange(hs.shape[0], dtype=jnp.int32)
        dh0, dxw = lax.scan(
            step, jnp.zeros_like(h0), (steps, dhs, hs), reverse=True
        )
        units = w.shape[0]
        h_prev = jnp.concatenate([h0[None], hs[:-1]], axis=0)
        dw = h_prev.reshape(-1, units).T @ dxw.reshape(-1, units)
        return dxw, dh0, jnp.zeros_like(clock0), dw.astype(w.dtype)

    @jax.custom_vjp
    def run(xw, h0, clock0, w):
        return forward(xw, h0, clock0, w)

    def run_fwd(xw, h0, clock0, w):
        hs = forward(xw, h0, clock0, w)
        return hs, (hs, h0, clock0, w)

    run.defvjp(run_fwd, backward)
    return run


def clockwork_scan(xw, h0, clock0, w, periods, activation):
    """States `(steps, batch, units)` of a Clockwork RNN.

    Args:
        xw: time-major input projections (with bias), `(steps, batch, units)`.
        h0: initial states, `(batch, units)`.
        clock0: initial step counters, `(batch, 1)`.
        w: recurrent kernel with forbidden blocks zeroed, `(units, units)`.
        periods: tuple of module periods.
        activation: "tanh", "relu", "sigmoid" or "linear".
    """
    return _build(tuple(periods), activation)(xw, h0, clock0, w)
