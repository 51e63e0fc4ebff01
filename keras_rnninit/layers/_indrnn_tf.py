"""Fused IndRNN recurrence for the TensorFlow backend.

The whole layer, `h_t = act(x_t W + b + u * h_{t-1})` over all steps, is one
op with a hand-written gradient. Its forward and its backward are each an
XLA-compiled function that returns dense tensors: no TensorList crosses the
XLA boundary, so the op also works under autodiff, inside `model.fit` and
inside a `tf.distribute` replica.

With few input features (`F <= _INNER_MAX_FEATURES`, e.g. pixel MNIST's
F=1) `x_t W` is computed inside the loop, which is cheaper than reading a
precomputed `(T, B, N)` tensor; with more features `x W` for all steps is one
matmul before the loop. Steps are not unrolled: on CPU, XLA fuses an
unrolled chain of elementwise steps by recomputing it, which costs more than
the loop itself.
"""

import functools

import tensorflow as tf

_INNER_MAX_FEATURES = 8


def _activation(name):
    return {
        "relu": tf.nn.relu,
        "tanh": tf.tanh,
        "sigmoid": tf.sigmoid,
        "linear": tf.identity,
    }[name]


def _derivative_from_output(name, h):
    """`act'(z)` written in terms of `h = act(z)`."""
    if name == "relu":
        return tf.cast(h > 0, h.dtype)
    if name == "tanh":
        return 1 - h * h
    if name == "sigmoid":
        return h * (1 - h)
    return tf.ones_like(h)


def _time_major(x):
    return tf.transpose(x, [1, 0, 2])


def _matmul_3d(x, kernel):
    """`(T, B, F) @ (F, N) -> (T, B, N)` as one 2D matmul."""
    shape = tf.shape(x)
    flat = tf.matmul(tf.reshape(x, [-1, shape[2]]), kernel)
    return tf.reshape(flat, [shape[0], shape[1], tf.shape(kernel)[1]])


@functools.lru_cache(maxsize=None)
def _kernels(activation, return_sequences, save_outputs):
    act = _activation(activation)

    @tf.function(jit_compile=True, reduce_retracing=True)
    def forward(x, kernel, bias, u, h0, save=save_outputs):
        xt = _time_major(x)
        inner = x.shape[-1] is not None and x.shape[-1] <= _INNER_MAX_FEATURES
        if not inner:
            xt = _matmul_3d(xt, kernel) + bias
        steps = tf.shape(xt)[0]
        hs = tf.TensorArray(h0.dtype, size=steps if save else 0,
                            element_shape=h0.shape)

        def body(t, h, hs):
            z = tf.matmul(xt[t], kernel) + bias if inner else xt[t]
            h = act(z + u * h)
            return t + 1, h, (hs.write(t, h) if save else hs)

        _, h_last, hs = tf.while_loop(
            lambda t, h, hs: t < steps,
            body,
            (tf.constant(0), h0, hs),
            maximum_iterations=steps,
        )
        return (hs.stack() if save else tf.zeros([0])), h_last

    @tf.function(jit_compile=True, reduce_retracing=True)
    def backward(g_out, g_last, x, kernel, u, h0, hs):
        # Reverse recurrence, with dh_t the total gradient reaching h_t:
        #   dz_t = dh_t * act'(z_t),  dh_{t-1} = g_{t-1} + u * dz_t,
        #   du = sum_t dz_t h_{t-1},  dW = sum_t x_t^T dz_t,  dx_t = dz_t W^T.
        # du is accumulated in the loop: at step t the carry holds dz_{t+1},
        # whose h_t is at hand.
        xt = _time_major(x)
        inner = x.shape[-1] is not None and x.shape[-1] <= _INNER_MAX_FEATURES
        steps = tf.shape(hs)[0]
        zeros = tf.zeros_like(h0)
        if return_sequences:
            g = _time_major(g_out)
            dh = g_last
        else:
            dh = g_last + g_out[:, 0, :]
        per_step = tf.TensorArray(hs.dtype, size=steps)
        dk = tf.zeros_like(kernel)

        def body(t, c, dz_next, du, db, dk, per_step):
            h_t = hs[t]
            du = du + dz_next * h_t
            dh_t = c + g[t] if return_sequences else c
            dz = dh_t * _derivative_from_output(activation, h_t)
            db = db + dz
            if inner:
                dk = dk + tf.matmul(xt[t], dz, transpose_a=True)
                out = tf.matmul(dz, kernel, transpose_b=True)
            else:
                out = dz
            return t - 1, u * dz, dz, du, db, dk, per_step.write(t, out)

        _, dh0, dz0, du, db, dk, per_step = tf.while_loop(
            lambda t, *_: t >= 0,
            body,
            (steps - 1, dh, zeros, zeros, zeros, dk, per_step),
            maximum_iterations=steps,
        )
        d_u = tf.reduce_sum(du + dz0 * h0, axis=0)
        d_bias = tf.reduce_sum(db, axis=0)
        per_step = per_step.stack()
        if inner:
            return _time_major(per_step), dk, d_bias, d_u, dh0
        flat_x = tf.reshape(xt, [-1, tf.shape(xt)[2]])
        flat_dz = tf.reshape(per_step, [-1, tf.shape(per_step)[2]])
        d_kernel = tf.matmul(flat_x, flat_dz, transpose_a=True)
        d_x = tf.reshape(
            tf.matmul(flat_dz, kernel, transpose_b=True), tf.shape(xt)
        )
        return _time_major(d_x), d_kernel, d_bias, d_u, dh0

    def stop(*tensors):
        return [tf.stop_gradient(t) for t in tensors]

    @tf.custom_gradient
    def fused(x, kernel, bias, u, h0):
        # The gradient is `grad` below: stop autodiff from also recording
        # the compiled forward (its TensorList accumulators cannot be XLA).
        save = save_outputs or return_sequences
        hs, h_last = forward(*stop(x, kernel, bias, u, h0), save=save)
        if return_sequences:
            outputs = _time_major(hs)
        else:
            outputs = h_last[:, None, :]

        def grad(g_out, g_last):
            if g_out is None:
                g_out = tf.zeros_like(outputs)
            if g_last is None:
                g_last = tf.zeros_like(h_last)
            saved = hs
            if not save:
                # Inference-mode forward kept only h_last: recompute.
                saved, _ = forward(*stop(x, kernel, bias, u, h0), save=True)
            return backward(*stop(g_out, g_last, x, kernel, u, h0, saved))

        return (outputs, h_last), grad

    return fused


def indrnn_sequence(
    x,
    kernel,
    bias,
    u,
    h0,
    activation,
    return_sequences,
    go_backwards,
    training=True,
):
    """Runs the recurrence over `x` (B, T, F).

    Returns `(last_output, outputs, h_last)` as `keras.layers.RNN.inner_loop`
    does: `outputs` is (B, T, N) when `return_sequences`, else (B, 1, N),
    in processing order. With `training=False` the forward pass keeps only
    what it returns, and a gradient, if asked for, recomputes the outputs.
    """
    if go_backwards:
        x = tf.reverse(x, axis=[1])
    if bias is None:
        bias = tf.zeros_like(u)
    fused = _kernels(activation, bool(return_sequences), bool(training))
    outputs, h_last = fused(x, kernel, bias, u, h0)
    return h_last, outputs, h_last
