"""Fused recurrences for the JAX backend: `fori_loop` + `jax.custom_vjp`.

Autodiff through a JAX loop is many times slower than the loop on CPU, so
each backward pass is a hand-written reverse loop over the saved states.
The loops read and write the batch-major `(batch, steps, units)` arrays in
place, one step slice at a time, which measured faster than transposing to
time-major around a `lax.scan`.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax

from keras_rnninit.layers._fused import activate
from keras_rnninit.layers._fused import derivative_from_output


def _step_of(x, t):
    return lax.dynamic_index_in_dim(x, t, axis=1, keepdims=False)


def _write(out, value, t):
    return lax.dynamic_update_index_in_dim(out, value, t, axis=1)


def _loop(steps, body, carry, reverse=False):
    if reverse:
        return lax.fori_loop(
            0, steps, lambda i, c: body(steps - 1 - i, c), carry
        )
    return lax.fori_loop(0, steps, body, carry)


# IndRNN: h_t = act(z_t + u * h_{t-1}) -----------------------------------------
#
# `x` is `z` itself, or, when `kernel` is given, the inputs, and the loop
# computes `z_t = x_t W + b` (few features: a sum of broadcast products).


def _project_step(x_t, kernel, bias):
    z = bias + x_t[:, :1] * kernel[0]
    for f in range(1, kernel.shape[0]):
        z = z + x_t[:, f : f + 1] * kernel[f]
    return z


def _indrnn_forward(x, kernel, bias, u, h0, mask, activation, save):
    def body(t, carry):
        h, out = carry
        z = _step_of(x, t)
        if kernel is not None:
            z = _project_step(z, kernel, bias)
        new = activate(activation, z + u * h)
        if mask is not None:
            new = jnp.where(_step_of(mask, t)[:, None] > 0, new, h)
        if save:
            out = _write(out, new, t)
        return new, out

    batch, steps = x.shape[:2]
    out = jnp.zeros((batch, steps, u.shape[0]), x.dtype) if save else None
    return _loop(steps, body, (h0, out))


@functools.partial(jax.custom_vjp, nondiff_argnums=(6, 7))
def _indrnn(x, kernel, bias, u, h0, mask, activation, seq):
    h_last, hs = _indrnn_forward(x, kernel, bias, u, h0, mask, activation, seq)
    return hs if seq else h_last


def _indrnn_fwd(x, kernel, bias, u, h0, mask, activation, seq):
    h_last, hs = _indrnn_forward(
        x, kernel, bias, u, h0, mask, activation, save=True
    )
    # Without the projection, x is z, which the backward does not read.
    kept_x = x if kernel is not None else None
    return (hs if seq else h_last), (kept_x, kernel, u, h0, mask, hs)


def _indrnn_bwd(activation, seq, residuals, g):
    # With dh_t the whole gradient reaching h_t (from its output and h_{t+1}):
    #   dz_t = m_t dh_t act'(z_t),  dh_{t-1} = g_{t-1} + u dz_t + (1 - m_t) dh_t,
    #   du = sum_t dz_t h_{t-1}.
    # du is accumulated in the loop: step t holds dz_{t+1}, whose h_t is read.
    # With the projection inside, dz_t is not stored: dW and db are
    # accumulated per sample, dx_t = dz_t W^T is written.
    x, kernel, u, h0, mask, hs = residuals
    project = kernel is not None
    zeros = jnp.zeros_like(h0)

    def body(t, carry):
        c, dz_next, du, acc, out = carry
        h_t = _step_of(hs, t)
        du = du + dz_next * h_t
        dh = c + _step_of(g, t) if seq else c
        dz = dh * derivative_from_output(activation, h_t)
        if mask is None:
            c = u * dz
        else:
            m = _step_of(mask, t)[:, None]
            dz = m * dz
            c = u * dz + (1 - m) * dh
        if project:
            d_kernel, d_bias = acc
            x_t = _step_of(x, t)
            d_kernel = d_kernel + jnp.swapaxes(x_t, 0, 1)[:, :, None] * dz
            acc = (d_kernel, d_bias + dz)
            out = _write(out, dz @ kernel.T, t)
        else:
            out = _write(out, dz, t)
        return c, dz, du, acc, out

    acc = None
    if project:
        acc = (jnp.zeros((kernel.shape[0],) + h0.shape, h0.dtype), zeros)
    carry = (zeros if seq else g, zeros, zeros, acc,
             jnp.zeros_like(x if project else hs))
    dh0, dz0, du, acc, d_x = _loop(hs.shape[1], body, carry, reverse=True)
    du = jnp.sum(du + dz0 * h0, axis=0)
    d_kernel = d_bias = None
    if project:
        d_kernel, d_bias = jnp.sum(acc[0], axis=1), jnp.sum(acc[1], axis=0)
    return d_x, d_kernel, d_bias, du, dh0, None


_indrnn.defvjp(_indrnn_fwd, _indrnn_bwd)


@functools.partial(jax.jit, static_argnames=("activation", "seq"))
def _indrnn_jit(x, kernel, bias, u, h0, mask, activation, seq):
    return _indrnn(x, kernel, bias, u, h0, mask, activation, seq)


def indrnn(x, u, h0, mask, activation, return_sequences, training=True,
           kernel=None, bias=None):
    """IndRNN states over `z = x W + b` `(batch, steps, units)`.

    `x` is `z`, or, when `kernel` (and `bias`) are given, the inputs
    `(batch, steps, features)` and the loop computes `z_t`. `mask` is `None`
    or `(batch, steps)` with 0 at masked steps. Returns all states when
    `return_sequences`, else the last one.
    """
    del training  # JAX differentiates the saving forward only when asked.
    return _indrnn_jit(
        x, kernel, bias, u, h0, mask, activation, bool(return_sequences)
    )
