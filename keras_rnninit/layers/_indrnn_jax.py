"""Fused IndRNN recurrence for the JAX backend.

`h_t = act(x_t W + b + u * h_{t-1})` for all steps in one `lax.scan`, with a
hand-written backward (a reverse scan over the saved outputs) instead of
autodiff through the scan, which is much slower.

With few input features (`F <= _INNER_MAX_FEATURES`, e.g. pixel MNIST's
F=1) `x_t W` is computed inside the loop: it is cheaper than reading a
precomputed `(T, B, N)` tensor. With more features, `x W` for all steps is
one matmul before the loop.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax

_INNER_MAX_FEATURES = 8


def _activation(name):
    return {
        "relu": jax.nn.relu,
        "tanh": jnp.tanh,
        "sigmoid": jax.nn.sigmoid,
        "linear": lambda z: z,
    }[name]


def _derivative_from_output(name, h):
    """`act'(z)` written in terms of `h = act(z)`."""
    if name == "relu":
        return (h > 0).astype(h.dtype)
    if name == "tanh":
        return 1 - h * h
    if name == "sigmoid":
        return h * (1 - h)
    return jnp.ones_like(h)


def _time_major(x):
    return jnp.swapaxes(x, 0, 1)


def _forward(activation, x, kernel, bias, u, h0):
    act = _activation(activation)
    xt = _time_major(x)
    if x.shape[-1] <= _INNER_MAX_FEATURES:

        def step(h, x_t):
            h = act(jnp.matmul(x_t, kernel) + bias + u * h)
            return h, h

        h_last, hs = lax.scan(step, h0, xt)
    else:
        xw = jnp.matmul(xt, kernel) + bias

        def step(h, xw_t):
            h = act(xw_t + u * h)
            return h, h

        h_last, hs = lax.scan(step, h0, xw)
    return hs, h_last


def _pack(return_sequences, hs, h_last):
    if return_sequences:
        outputs = _time_major(hs)
    else:
        outputs = h_last[:, None, :]
    return outputs, h_last


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _fused(activation, return_sequences, x, kernel, bias, u, h0):
    hs, h_last = _forward(activation, x, kernel, bias, u, h0)
    return _pack(return_sequences, hs, h_last)


def _fused_fwd(activation, return_sequences, x, kernel, bias, u, h0):
    hs, h_last = _forward(activation, x, kernel, bias, u, h0)
    residuals = (x, kernel, u, h0, hs)
    return _pack(return_sequences, hs, h_last), residuals


def _fused_bwd(activation, return_sequences, residuals, grads):
    # Reverse recurrence, with dh_t the total gradient reaching h_t:
    #   dz_t = dh_t * act'(z_t),  dh_{t-1} = g_{t-1} + u * dz_t,
    #   du = sum_t dz_t * h_{t-1},  dW = sum_t x_t^T dz_t,  dx_t = dz_t W^T.
    # du is accumulated in the loop: at step t the carry holds dz_{t+1},
    # whose h_{t} is the current input.
    x, kernel, u, h0, hs = residuals
    g_out, g_last = grads
    xt = _time_major(x)
    inner = x.shape[-1] <= _INNER_MAX_FEATURES
    zeros = jnp.zeros_like(h0)
    if return_sequences:
        g = _time_major(g_out)
        dh = g_last
    else:
        g = None
        dh = g_last + g_out[:, 0, :]

    def step(carry, inputs):
        c, dz_next, du, db, dk = carry
        h_t, g_t, x_t = inputs
        du = du + dz_next * h_t
        dh_t = c if g_t is None else c + g_t
        dz = dh_t * _derivative_from_output(activation, h_t)
        db = db + dz
        if inner:
            dk = dk + jnp.matmul(x_t.T, dz)
            return (u * dz, dz, du, db, dk), jnp.matmul(dz, kernel.T)
        return (u * dz, dz, du, db, dk), dz

    carry = (dh, zeros, zeros, zeros, jnp.zeros_like(kernel))
    (dh0, dz0, du, db, dk), per_step = lax.scan(
        step, carry, (hs, g, xt if inner else None), reverse=True
    )
    du = jnp.sum(du + dz0 * h0, axis=0)
    d_bias = jnp.sum(db, axis=0)
    if inner:
        d_x = _time_major(per_step)
        d_kernel = dk
    else:
        dz = per_step
        steps, batch, units = dz.shape
        flat_x = xt.reshape(steps * batch, -1)
        flat_dz = dz.reshape(steps * batch, units)
        d_kernel = jnp.matmul(flat_x.T, flat_dz)
        d_x = _time_major(jnp.matmul(flat_dz, kernel.T).reshape(steps, batch, -1))
    return d_x, d_kernel, d_bias, du, dh0


_fused.defvjp(_fused_fwd, _fused_bwd)

_fused_jit = jax.jit(_fused, static_argnums=(0, 1))


def indrnn_sequence(
    x, kernel, bias, u, h0, activation, return_sequences, go_backwards
):
    """Runs the recurrence over `x` (B, T, F).

    Returns `(last_output, outputs, h_last)` as `keras.layers.RNN.inner_loop`
    does: `outputs` is (B, T, N) when `return_sequences`, else (B, 1, N),
    in processing order.
    """
    if go_backwards:
        x = jnp.flip(x, axis=1)
    if bias is None:
        bias = jnp.zeros_like(u)
    outputs, h_last = _fused_jit(
        activation, bool(return_sequences), x, kernel, bias, u, h0
    )
    return h_last, outputs, h_last
