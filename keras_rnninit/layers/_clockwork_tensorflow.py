"""Clockwork's fused recurrence on the TensorFlow backend.

`h_t = a_t * act(z_t + h_{t-1} W) + (1 - a_t) * h_{t-1}`, computing only the
first `prefix[t]` modules' units at step `t` (see `clockwork.py`): each step
is a `tf.switch_case` over the possible prefixes, whose branches have static
shapes, inside the XLA-compiled loops of `_fused_tensorflow`.
"""

import functools

import tensorflow as tf

from keras_rnninit.layers._fused import activate
from keras_rnninit.layers._fused import derivative_from_output
from keras_rnninit.layers._fused_tensorflow import _compiled
from keras_rnninit.layers._fused_tensorflow import _op
from keras_rnninit.layers._fused_tensorflow import _while
from keras_rnninit.layers._fused_tensorflow import _write


def _switch(index, branch, num_modules):
    """`branch(k)()` for `k = index`, `k` in `0..num_modules` (static)."""
    return tf.switch_case(
        index, [branch(k) for k in range(num_modules + 1)]
    )


@functools.lru_cache(maxsize=None)
def _kernels(activation, return_sequences, module_size, num_modules):
    def forward(save):
        def run(z, w, h0, active, prefix):
            def body(t, h, out):
                z_t, a_t = z[:, t], active[:, t]

                def branch(k):
                    def step():
                        if k == 0:
                            return h
                        cols = k * module_size
                        new = activate(
                            activation, z_t[:, :cols] + h @ w[:, :cols]
                        )
                        a = tf.repeat(a_t[:, :k], module_size, axis=1)
                        head = tf.where(a > 0, new, h[:, :cols])
                        return tf.concat([head, h[:, cols:]], axis=1)

                    return step

                h = _switch(prefix[t], branch, num_modules)
                return t + 1, h, (_write(out, h, t) if save else out)

            out = tf.zeros_like(z) if save else tf.zeros([0], z.dtype)
            return _while(tf.shape(z)[1], body, (h0, out))

        return _compiled(run)

    @_compiled
    def backward_loop(g, hs, w, h0, active, prefix):
        # On the computed units: dz_t = a_t dh_t act'(z_t),
        # dh_{t-1} = g_{t-1} + dz_t W^T + (1 - a_t) dh_t; elsewhere dz_t = 0
        # and dh_t passes through.
        def body(t, c, out):
            dh = c + g[:, t] if return_sequences else c
            h_t, a_t = hs[:, t], active[:, t]

            def branch(k):
                def step():
                    if k == 0:
                        return dh, tf.zeros_like(dh)
                    cols = k * module_size
                    a = tf.repeat(a_t[:, :k], module_size, axis=1)
                    head = dh[:, :cols]
                    dz = a * head * derivative_from_output(
                        activation, h_t[:, :cols]
                    )
                    kept = tf.concat([(1 - a) * head, dh[:, cols:]], axis=1)
                    back = tf.matmul(dz, w[:, :cols], transpose_b=True)
                    rest = tf.zeros_like(dh[:, cols:])
                    return kept + back, tf.concat([dz, rest], axis=1)

                return step

            c, dz = _switch(prefix[t], branch, num_modules)
            return t - 1, c, _write(out, dz, t)

        c0 = tf.zeros_like(h0) if return_sequences else g
        dh0, dz = _while(
            tf.shape(hs)[1], body, (c0, tf.zeros_like(hs)), reverse=True
        )
        return dz, dh0

    def backward(g, hs, w, h0, active, prefix):
        dz, dh0 = backward_loop(g, hs, w, h0, active, prefix)
        # dW = sum_t h_{t-1}^T dz_t: one large matmul, left to TensorFlow's
        # multi-threaded kernels.
        units = tf.shape(w)[0]
        h_prev = tf.concat([h0[:, None], hs[:, :-1]], axis=1)
        dw = tf.matmul(
            tf.reshape(h_prev, (-1, units)),
            tf.reshape(dz, (-1, units)),
            transpose_a=True,
        )
        return dz, dw, dh0, tf.zeros_like(active)

    return {True: forward(True), False: forward(False)}, backward


def clockwork(z, w, h0, active, prefix, activation, return_sequences,
              training=True):
    """Clockwork RNN states: the contract of `_fused`'s `clockwork`."""
    num_modules = active.shape[-1]
    forward, backward = _kernels(
        activation, bool(return_sequences), w.shape[0] // num_modules,
        num_modules,
    )
    op = _op(forward, backward, bool(return_sequences), bool(training),
             kept=(1, 2, 3, 4))
    return op(z, w, h0, active, prefix)
