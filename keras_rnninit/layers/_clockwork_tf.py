"""Fused Clockwork RNN loop for the TensorFlow backend: XLA + custom gradient.

The forward and backward loops are separate XLA-compiled functions joined by
`tf.custom_gradient`, so that autodiff never differentiates through a
compiled `while_loop` (TensorLists cannot cross the XLA/TF boundary). The
gradient of the recurrent kernel is one large matmul after the backward
loop, left to TensorFlow's multi-threaded kernels.

Every step computes all modules and keeps the idle ones' values: on CPU, at
these sizes, an XLA conditional that computes only the active modules costs
more than the columns it skips (measured: about 1.4x slower per step).
"""

import functools

import tensorflow as tf

_DERIVATIVES = {
    "tanh": lambda h: 1.0 - h * h,
    "relu": lambda h: tf.cast(h > 0, h.dtype),
    "sigmoid": lambda h: h * (1.0 - h),
    "linear": tf.ones_like,
}
_ACTIVATIONS = {
    "tanh": tf.tanh,
    "relu": tf.nn.relu,
    "sigmoid": tf.sigmoid,
    "linear": tf.identity,
}


def _active_units(clock0, t, periods, module_size):
    """`(batch, units)` booleans: the units whose module updates at step t."""
    clock = clock0 + t
    active = tf.equal(
        tf.math.floormod(clock[:, None], tf.constant(periods, tf.int32)[None]), 0
    )
    return tf.repeat(active, module_size, axis=1)


@functools.lru_cache(maxsize=None)
def _build(periods, activation):
    num_modules = len(periods)
    act_fn = _ACTIVATIONS[activation]
    deriv = _DERIVATIVES[activation]

    @tf.function(jit_compile=True, autograph=False)
    def forward(xw, h0, clock0, w):
        steps = tf.shape(xw)[0]
        module_size = w.shape[0] // num_modules
        c0 = tf.cast(tf.round(clock0[:, 0]), tf.int32)

        def body(t, h, out):
            active = _active_units(c0, t, periods, module_size)
            h = tf.where(active, act_fn(xw[t] + tf.matmul(h, w)), h)
            return t + 1, h, out.write(t, h)

        out = tf.TensorArray(xw.dtype, size=steps, element_shape=h0.shape)
        _, _, out = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), h0, out)
        )
        return out.stack()

    @tf.function(jit_compile=True, autograph=False)
    def backward_loop(dhs, hs, clock0, w):
        steps = tf.shape(hs)[0]
        module_size = w.shape[0] // num_modules
        c0 = tf.cast(tf.round(clock0[:, 0]), tf.int32)
        w_t = tf.transpose(w)

        def body(t, g, out):
            g = g + dhs[t]
            active = tf.cast(
                _active_units(c0, t, periods, module_size), g.dtype
            )
            d_pre = g * active * deriv(hs[t])
            g = g * (1 - active) + tf.matmul(d_pre, w_t)
            return t - 1, g, out.write(t, d_pre)

        out = tf.TensorArray(hs.dtype, size=steps, element_shape=hs.shape[1:])
        _, dh0, out = tf.while_loop(
            lambda t, *_: t >= 0,
            body,
            (steps - 1, tf.zeros_like(hs[0]), out),
        )
        return out.stack(), dh0

    @tf.custom_gradient
    def run(xw, h0, clock0, w):
        # Inputs cut from the tape, so that an eager tape does not record the
        # compiled loop itself (its TensorLists cannot leave XLA).
        hs = forward(*[tf.stop_gradient(v) for v in (xw, h0, clock0, w)])

        def grad(dhs):
            dxw, dh0 = backward_loop(dhs, hs, clock0, w)
            units = w.shape[0]
            h_prev = tf.concat([h0[None], hs[:-1]], axis=0)
            dw = tf.matmul(
                tf.reshape(h_prev, (-1, units)),
                tf.reshape(dxw, (-1, units)),
                transpose_a=True,
            )
            return dxw, dh0, tf.zeros_like(clock0), dw

        return hs, grad

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
