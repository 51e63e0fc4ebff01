"""Fused recurrences for the TensorFlow backend: XLA loops + custom gradient.

Each recurrence is one op with a hand-written gradient. Its forward and its
backward are each an XLA-compiled `tf.while_loop` that returns dense
tensors: no TensorList crosses the XLA boundary, so the op also works under
autodiff, inside `model.fit` and inside a `tf.distribute` replica (a
`jit_compile=True` function that autodiff differentiates through fails).
The loops read and write the batch-major `(batch, steps, units)` tensors in
place, one step slice at a time, which measured faster than a time-major
TensorArray and two transposes.
"""

import functools

import tensorflow as tf
from tensorflow.compiler.tf2xla.python import xla

from keras_rnninit.layers._fused import activate
from keras_rnninit.layers._fused import derivative_from_output


def _write(out, value, t):
    return xla.dynamic_update_slice(out, value[:, None], tf.stack([0, t, 0]))


def _while(steps, body, carry, reverse=False):
    if reverse:
        start, cond = steps - 1, lambda t, *_: t >= 0
    else:
        start, cond = tf.constant(0), lambda t, *_: t < steps
    return tf.while_loop(
        cond, body, (start, *carry), maximum_iterations=steps
    )[1:]


def _compiled(fn):
    return tf.function(fn, jit_compile=True, autograph=False,
                       reduce_retracing=True)


def _stop(*tensors):
    # The gradient is the hand-written one: cut the inputs from the tape,
    # so that autodiff does not also record the compiled loop.
    return [tf.stop_gradient(t) for t in tensors]


def _op(forward, backward, return_sequences, training, kept):
    """Joins compiled `forward[save](*inputs)` and
    `backward(g, states, *kept_inputs)` into one op.

    `kept` are the indices of the inputs the backward reads: only those stay
    alive until the backward pass. The last input (mask or schedule) gets no
    gradient.
    """
    save = return_sequences or training

    @tf.custom_gradient
    def op(*inputs):
        h_last, hs = forward[save](*_stop(*inputs))
        # What `grad` holds on to lives until the backward pass.
        held = list(inputs) if not save else [inputs[i] for i in kept]
        schedule_shape = tf.shape(inputs[-1])
        schedule_dtype = inputs[-1].dtype

        def grad(g):
            if g is None:
                g = tf.zeros_like(hs if return_sequences else h_last)
            if save:
                saved, kept_inputs = hs, held
            else:  # inference forward kept only h_last: recompute
                _, saved = forward[True](*_stop(*held))
                kept_inputs = [held[i] for i in kept]
            grads = backward(*_stop(g, saved, *kept_inputs))
            return (*grads, tf.zeros(schedule_shape, schedule_dtype))

        return (hs if return_sequences else h_last), grad

    return op


# IndRNN: h_t = act(z_t + u * h_{t-1}) -----------------------------------------
#
# With `project`, the op takes the inputs `x`, `kernel` and `bias` instead of
# `z`, and the loop computes `z_t = x_t W + b` (few features).


@functools.lru_cache(maxsize=None)
def _indrnn_kernels(activation, return_sequences, has_mask, project):
    def forward(save):
        def run(x, kernel, bias, u, h0, mask):
            def body(t, h, out):
                z = x[:, t]
                if project:
                    z = tf.matmul(z, kernel) + bias
                new = activate(activation, z + u * h)
                if has_mask:
                    new = tf.where(mask[:, t, None] > 0, new, h)
                return t + 1, new, (_write(out, new, t) if save else out)

            shape = tf.concat([tf.shape(x)[:2], tf.shape(u)], axis=0)
            out = tf.zeros(shape, x.dtype) if save else tf.zeros([0], x.dtype)
            return _while(tf.shape(x)[1], body, (h0, out))

        return _compiled(run)

    @_compiled
    def backward(g, hs, x, kernel, u, h0, mask):
        # With dh_t the whole gradient reaching h_t:
        #   dz_t = m_t dh_t act'(z_t),
        #   dh_{t-1} = g_{t-1} + u dz_t + (1 - m_t) dh_t,
        #   du = sum_t dz_t h_{t-1}, accumulated in the loop: step t holds
        #   dz_{t+1}, whose h_t is read.
        # With the projection inside, dz_t is not stored: dW and db are
        # accumulated, dx_t = dz_t W^T is written.
        def body(t, c, dz_next, du, d_kernel, d_bias, out):
            h_t = hs[:, t]
            du = du + dz_next * h_t
            dh = c + g[:, t] if return_sequences else c
            dz = dh * derivative_from_output(activation, h_t)
            if has_mask:
                m = mask[:, t, None]
                dz = m * dz
                c = u * dz + (1 - m) * dh
            else:
                c = u * dz
            if project:
                d_kernel = d_kernel + tf.matmul(x[:, t], dz, transpose_a=True)
                d_bias = d_bias + dz
                out = _write(out, tf.matmul(dz, kernel, transpose_b=True), t)
            else:
                out = _write(out, dz, t)
            return t - 1, c, dz, du, d_kernel, d_bias, out

        zeros = tf.zeros_like(h0)
        c0 = zeros if return_sequences else g
        dh0, dz0, du, d_kernel, d_bias, d_x = _while(
            tf.shape(hs)[1],
            body,
            (c0, zeros, zeros, tf.zeros_like(kernel), zeros,
             tf.zeros_like(x if project else hs)),
            reverse=True,
        )
        du = tf.reduce_sum(du + dz0 * h0, axis=0)
        if project:
            return d_x, d_kernel, tf.reduce_sum(d_bias, axis=0), du, dh0
        return d_x, du, dh0

    return {True: forward(True), False: forward(False)}, backward


def indrnn(x, u, h0, mask, activation, return_sequences, training=True,
           kernel=None, bias=None):
    """IndRNN states over `z = x W + b` `(batch, steps, units)`.

    `x` is `z`, or, when `kernel` (and `bias`) are given, the inputs
    `(batch, steps, features)` and the loop computes `z_t`. `mask` is `None`
    or `(batch, steps)` with 0 at masked steps. Returns all states when
    `return_sequences`, else the last one. With `training=False` and only
    the last state asked for, the forward keeps nothing else, and a
    gradient, if asked for, recomputes the states.
    """
    project = kernel is not None
    forward, backward = _indrnn_kernels(
        activation, bool(return_sequences), mask is not None, project
    )
    if mask is None:
        mask = tf.zeros([0], x.dtype)
    if project:  # the backward reads x, kernel, u, h0 and the mask
        op = _op(forward, backward, bool(return_sequences), bool(training),
                 kept=(0, 1, 3, 4, 5))
        return op(x, kernel, bias, u, h0, mask)
    # Without the projection, `kernel` and `bias` are empty placeholders,
    # and the backward does not read z.
    empty = tf.zeros([0], x.dtype)

    def without(run):
        return lambda z, u, h0, mask: run(z, empty, empty, u, h0, mask)

    def backward_z(g, hs, u, h0, mask):
        return backward(g, hs, empty, empty, u, h0, mask)

    op = _op({k: without(f) for k, f in forward.items()}, backward_z,
             bool(return_sequences), bool(training), kept=(1, 2, 3))
    return op(x, u, h0, mask)
