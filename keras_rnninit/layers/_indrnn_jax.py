"""Fused IndRNN recurrence for the JAX backend.

`h_t = act(x_t W + b + u * h_{t-1})` for all steps in one `lax.scan`, with a
hand-written gradient instead of autodiff through the scan, which is much
slower. The gradient is computed in one of two ways, chosen when the
forward pass is traced, from which inputs are differentiated
(`jax.custom_vjp` with symbolic zeros):

- Forward mode, when only the last state is returned, `x` needs no gradient
  (the layer reads the model's inputs, as in a one-layer sequence
  classifier) and there are few input features. Because the
  recurrence is elementwise, `h_T[b, n]` depends on `u[n]`, `b[n]`,
  `W[:, n]` and `h0[b, n]` only, so its derivatives with respect to them
  are `(batch, units)` arrays carried along the forward scan:
  `s_t = act'(z_t) * (dz_t/dtheta + u * s_{t-1})`. Nothing of size
  `(T, batch, units)` is stored and the backward is a few products.
- Reverse mode otherwise: the forward scan stores the outputs and a reverse
  scan over them accumulates the gradients.

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
# Forward mode carries one `(batch, units)` derivative per input feature.
_TANGENT_MAX_FEATURES = 4


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


def _forward_tangents(activation, x, kernel, bias, u, h0, wanted):
    """Last state and its derivatives wrt the `wanted` arguments.

    `wanted` holds flags for `(kernel, bias, u, h0)`. Returns `h_last` and
    `(s_kernel, s_bias, s_u, s_h0)`, each the elementwise derivative of
    `h_last` (`s_kernel` stacked over input features), or `None` when not
    wanted.
    """
    act = _activation(activation)
    want_k, want_b, want_u, want_h0 = wanted
    features = kernel.shape[0]
    ones = jnp.ones_like(h0)
    zeros = jnp.zeros_like(h0)
    carry = (
        h0,
        tuple(zeros for _ in range(features)) if want_k else None,
        zeros if want_b else None,
        zeros if want_u else None,
        ones if want_h0 else None,
    )

    def step(carry, x_t):
        h_prev, s_k, s_b, s_u, s_h0 = carry
        h = act(jnp.matmul(x_t, kernel) + bias + u * h_prev)
        d = _derivative_from_output(activation, h)
        if want_k:
            s_k = tuple(
                d * (x_t[:, f : f + 1] + u * s) for f, s in enumerate(s_k)
            )
        if want_b:
            s_b = d * (1 + u * s_b)
        if want_u:
            s_u = d * (h_prev + u * s_u)
        if want_h0:
            s_h0 = d * (u * s_h0)
        return (h, s_k, s_b, s_u, s_h0), None

    (h_last, s_k, s_b, s_u, s_h0), _ = lax.scan(step, carry, _time_major(x))
    if want_k:
        s_k = jnp.stack(s_k)
    return h_last, (s_k, s_b, s_u, s_h0)


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
    perturbed = [a.perturbed for a in (x, kernel, bias, u, h0)]
    x, kernel, bias, u, h0 = (a.value for a in (x, kernel, bias, u, h0))
    if (
        not return_sequences
        and not perturbed[0]
        and x.shape[-1] <= _TANGENT_MAX_FEATURES
    ):
        h_last, tangents = _forward_tangents(
            activation, x, kernel, bias, u, h0, perturbed[1:]
        )
        outputs = h_last[:, None, :]
        return (outputs, h_last), {"tangents": tangents}
    hs, h_last = _forward(activation, x, kernel, bias, u, h0)
    # The first entry is `None` (an empty pytree) when x needs no gradient.
    residuals = (x if perturbed[0] else None, x, kernel, u, h0, hs)
    return _pack(return_sequences, hs, h_last), {"reverse": residuals}


def _dense(g, like):
    if isinstance(g, jax.custom_derivatives.SymbolicZero):
        return jnp.zeros(like.shape, like.dtype)
    return g


def _tangents_bwd(g_out, g_last, tangents):
    s_k, s_b, s_u, s_h0 = tangents
    like = s_k[0] if s_k is not None else next(
        s for s in (s_b, s_u, s_h0) if s is not None
    )
    g = _dense(g_last, like)
    if not isinstance(g_out, jax.custom_derivatives.SymbolicZero):
        g = g + g_out[:, 0, :]
    d_kernel = None if s_k is None else jnp.sum(g * s_k, axis=1)
    d_bias = None if s_b is None else jnp.sum(g * s_b, axis=0)
    d_u = None if s_u is None else jnp.sum(g * s_u, axis=0)
    d_h0 = None if s_h0 is None else g * s_h0
    return None, d_kernel, d_bias, d_u, d_h0


def _fused_bwd(activation, return_sequences, residuals, grads):
    g_out, g_last = grads
    if "tangents" in residuals:
        return _tangents_bwd(g_out, g_last, residuals["tangents"])
    # Reverse recurrence, with dh_t the total gradient reaching h_t:
    #   dz_t = dh_t * act'(z_t),  dh_{t-1} = g_{t-1} + u * dz_t,
    #   du = sum_t dz_t * h_{t-1},  dW = sum_t x_t^T dz_t,  dx_t = dz_t W^T.
    # du is accumulated in the loop: at step t the carry holds dz_{t+1},
    # whose h_{t} is the current input.
    want_x, x, kernel, u, h0, hs = residuals["reverse"]
    want_x = want_x is not None
    g_last = _dense(g_last, h0)
    xt = _time_major(x)
    inner = x.shape[-1] <= _INNER_MAX_FEATURES
    zeros = jnp.zeros_like(h0)
    if isinstance(g_out, jax.custom_derivatives.SymbolicZero):
        g = None
        dh = g_last
    elif return_sequences:
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
    return d_x if want_x else None, d_kernel, d_bias, du, dh0


_fused.defvjp(_fused_fwd, _fused_bwd, symbolic_zeros=True)

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
