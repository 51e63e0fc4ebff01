"""The exact parallel scan of IndRNN's recurrence: clamped affine maps.

With an activation that is a clamp of an affine function,
`act(y) = clip(s * y + c, lo, hi)` (ReLU: `s = 1, c = 0`, `[0, inf)`), each
step of `h_t = act(z_t + u * h_{t-1})` is, per unit, the map

    F_t(h) = clip(a * h + b, lo, hi),   a = s * u,  b = s * z_t + c,

and a masked step is the identity (`a = 1, b = 0`, `(-inf, inf)`). Clamped
affine maps are closed under composition (`compose`, the one place the rule
is written), so the states `h_t = (F_t o ... o F_1)(h_0)` are an associative
scan, `keras.ops.associative_scan`, of depth O(log T) instead of T steps. It
is exact: the same function as the loop, only rounded in another order.

Numerical safety: the composed slope of n steps is `(s * u) ** n` and the
composed offset and bounds are sums of `z_t` weighted by such powers, the
same terms the loop accumulates. With IndRNN's recurrent bound
`|u| <= gamma ** (1 / T)`, every power over at most T steps is at most
`gamma` in magnitude, so nothing overflows. The slope is kept as the count
n and computed as a power, not as a product of n factors: a product loses
one rounding per level of the scan, and an error in the weight of every
`z_t` costs far more than the loop's rounding when the state is a long sum
of terms of both signs (at the bound, T=5000: 1e-5 relative with products,
3e-7 with powers, the loop 1e-6, all against float64). Without a bound,
`|u| > 1` over many steps can overflow a power to `inf` where the loop's
clamp keeps the state finite; the scan is then not safe.

The gradient is hand-written (`keras.ops.custom_gradient`): the backward of
the recurrence is itself a reverse scan, of linear maps,
`dh_{t-1} = g_{t-1} + j_t * dh_t` with `j_t = m_t * u * act'_t + 1 - m_t`.
Autodiff through the forward scan would store every level of the scan and
differentiate through the infinite bounds (`0 * inf`); the hand-written one
keeps only the states.

Backend notes (Keras 3.15): a float64 scan stays float64. On TensorFlow
and torch the scan is this module's odd-even recursion (`_odd_even_scan`),
in the maps' dtype and device (Keras's torch scan interleaves into float32
buffers), and minima and maxima are written with `ops.where` (`_lower`,
`_upper`): torch's `ops.minimum` and `ops.maximum` compute float64 in
float32.
"""

import functools

import keras
from keras import activations
from keras import ops

# act(y) = clip(slope * y + offset, low, high), by Keras activation name.
CLAMPED_AFFINE = {
    "relu": (1.0, 0.0, 0.0, float("inf")),
    "linear": (1.0, 0.0, float("-inf"), float("inf")),
    "relu6": (1.0, 0.0, 0.0, 6.0),
    "hard_tanh": (1.0, 0.0, -1.0, 1.0),
    "hard_sigmoid": (1.0 / 6.0, 0.5, 0.0, 1.0),
    "sparse_sigmoid": (0.5, 0.5, 0.0, 1.0),
}

# (backend, device kind) -> the scan `scan="auto"` runs: the faster one in
# the committed measurements (benchmarks/results/indrnn_speed_<backend>.md,
# "parallel scan" rows, and indrnn_speed_<backend>_gpu.md once run). A pair
# not listed was not measured, and gets the sequential loop.
AUTO_SCAN = {
    ("tensorflow", "cpu"): "sequential",
    ("jax", "cpu"): "sequential",
    ("torch", "cpu"): "sequential",
}


def clamp_name(activation):
    """The `CLAMPED_AFFINE` name of a Keras activation, or `None`."""
    if activation is None:
        return "linear"
    name = getattr(activation, "__name__", None)
    if name in CLAMPED_AFFINE and activations.get(name) is activation:
        return name
    return None


def device_kind(x=None):
    """`"cpu"`, `"gpu"` or `"tpu"`: where the backend runs `x` (or its
    default device)."""
    backend = keras.backend.backend()
    if backend == "torch":
        # Keras puts new tensors on its default device.
        kind = (ops.zeros(()) if x is None else x).device.type
    elif backend == "jax":
        import jax

        kind = jax.default_backend()
    else:
        import tensorflow as tf

        kind = "cpu"
        for candidate in ("TPU", "GPU"):
            if tf.config.list_logical_devices(candidate):
                kind = candidate.lower()
                break
    return {"cuda": "gpu", "rocm": "gpu", "xpu": "gpu"}.get(kind, kind)


def auto_scan(x=None):
    """The scan `scan="auto"` picks on this backend and device."""
    key = (keras.backend.backend(), device_kind(x))
    return AUTO_SCAN.get(key, "sequential")


def slope(base, count, alive=None):
    """`base ** count` (times `alive`, 0 or 1): the slope of `count` steps
    of slope `base`, from the count rather than a product of `count` factors
    (a product of many factors near 1 loses about one rounding per level of
    the scan; the power, about two in all)."""
    magnitude = ops.power(ops.abs(base), count)
    negative = ops.logical_and(base < 0, ops.mod(count, 2) == 1)
    result = ops.where(negative, -magnitude, magnitude)
    return result if alive is None else result * alive


def _lower(a, b):
    """`minimum(a, b)` in their dtype: Keras 3.15's torch `ops.minimum` and
    `ops.maximum` compute float64 tensors in float32 (its `result_type` of
    two torch dtypes is float32)."""
    return ops.where(b < a, b, a)


def _upper(a, b):
    """`maximum(a, b)` in their dtype (see `_lower`)."""
    return ops.where(b > a, b, a)


def _clamp(x, low, high):
    """`min(max(x, low), high)`, elementwise, in the dtype of `x`."""
    return _lower(_upper(x, low), high)


def _times(a, bound):
    """`a * bound` with `0 * inf = 0` (a constant map ignores its input's
    bounds)."""
    return ops.where(a == 0, ops.zeros_like(a), a * bound)


def compose(first, second, base):
    """`second o first` of two (clamped) affine maps, elementwise.

    A map is a dict: `h -> clip(a * h + b, lo, hi)`, `lo <= hi`, possibly
    infinite (`"lo"` and `"hi"` absent: no clamp), with the slope
    `a = base ** n` (times `k`, 0 or 1, where `"k"` is given) kept as the
    count `n` of steps of slope `base`. For `G` after `F`:
    `a = a2 * a1` (`n = n1 + n2`, `k = k1 * k2`), `b = a2 * b1 + b2`, and
    F's bounds map through `G`, swapping when `a2 < 0`:
    `clip(a2 * clip(y, lo1, hi1) + b2, lo2, hi2)
     = clip(a2 * y + b2, clip(min(p, q), lo2, hi2), clip(max(p, q), lo2, hi2))`
    with `p = a2 * lo1 + b2`, `q = a2 * hi1 + b2`.
    """
    a2 = slope(base, second["n"], second.get("k"))
    b2 = second["b"]
    result = {"n": first["n"] + second["n"], "b": a2 * first["b"] + b2}
    if "k" in first:
        result["k"] = first["k"] * second["k"]
    if "lo" in first:
        p = _times(a2, first["lo"]) + b2
        q = _times(a2, first["hi"]) + b2
        lo2, hi2 = second["lo"], second["hi"]
        result["lo"] = _clamp(_lower(p, q), lo2, hi2)
        result["hi"] = _clamp(_upper(p, q), lo2, hi2)
    return result


def _scan(maps, base, reverse=False):
    """Prefix compositions along the step axis (1) of batch-major maps."""
    def fn(first, second):
        return compose(first, second, base)

    steps = maps["b"].shape[1]
    if keras.backend.backend() in ("tensorflow", "torch") and steps is not None:
        if reverse:
            maps = {k: ops.flip(v, axis=1) for k, v in maps.items()}
        scanned = _odd_even_scan(fn, maps, steps)
        if reverse:
            scanned = {k: ops.flip(v, axis=1) for k, v in scanned.items()}
        return scanned
    scanned = ops.associative_scan(fn, maps, reverse=reverse, axis=1)
    return {key: ops.reshape(scanned[key], ops.shape(maps[key]))
            for key in scanned}


def _odd_even_scan(fn, maps, steps):
    """The odd-even recursion of `keras.ops.associative_scan` (axis 1) with
    Python conditionals on the known length, in the maps' own dtype and
    device. Keras's TensorFlow version interleaves under a `tf.cond` whose
    other branch has mismatched shapes, and XLA (`jit_compile=True`)
    compiles both branches and fails; its torch version interleaves into
    `torch.zeros(shape)` buffers, float32 on the default device."""
    if steps < 2:
        return maps

    def part(tree, start, stop=None, step=1):
        return {k: v[:, start:stop:step] for k, v in tree.items()}

    odd = _odd_even_scan(fn, fn(part(maps, 0, -1, 2), part(maps, 1, None, 2)),
                         steps // 2)
    rest = part(maps, 2, None, 2)
    even = fn(part(odd, 0, -1) if steps % 2 == 0 else odd, rest)
    result = {}
    for k, v in maps.items():
        first = ops.concatenate([v[:, :1], even[k]], axis=1)
        pairs = ops.stack([first[:, : steps // 2], odd[k]], axis=2)
        shape = ops.shape(v)
        woven = ops.reshape(pairs, (-1, 2 * (steps // 2)) + tuple(shape[2:]))
        if steps % 2:
            woven = ops.concatenate([woven, first[:, -1:]], axis=1)
        result[k] = woven
    return result


def _states(z, u, h0, mask, clamp):
    slope_, offset, low, high = clamp
    base = slope_ * u
    b = slope_ * z + offset if (slope_, offset) != (1.0, 0.0) else z
    lo = ops.full_like(z, low)
    hi = ops.full_like(z, high)
    if mask is None:  # one step of slope `base` at every step
        n = ops.ones_like(z[:1])
    else:  # a masked step is the identity: no step, no clamp
        m = ops.expand_dims(mask, -1)
        keep = m > 0
        n = m * ops.ones_like(z)
        b = ops.where(keep, b, ops.zeros_like(b))
        lo = ops.where(keep, lo, ops.full_like(lo, float("-inf")))
        hi = ops.where(keep, hi, ops.full_like(hi, float("inf")))
    maps = _scan({"n": n, "b": b, "lo": lo, "hi": hi}, base)
    h = slope(base, maps["n"]) * ops.expand_dims(h0, 1) + maps["b"]
    return _clamp(h, maps["lo"], maps["hi"])


def _inside(hs, clamp):
    """1 where the state is strictly inside the activation's clamp (the
    slope applies), else 0."""
    _, _, low, high = clamp
    inside = ops.ones_like(hs)
    if low != float("-inf"):
        inside = inside * ops.cast(hs > low, hs.dtype)
    if high != float("inf"):
        inside = inside * ops.cast(hs < high, hs.dtype)
    return inside


def _gradients(g, hs, u, h0, mask, clamp, return_sequences):
    """`(dz, du, dh0)`: the reverse scan of `dh_{t-1} = g_{t-1} + j_t dh_t`,
    `j_t = m_t * s * u * inside_t + 1 - m_t`: `s * u` to the power `m_t`,
    times 0 where the state is clamped."""
    slope_ = clamp[0]
    base = slope_ * u
    inside = _inside(hs, clamp)
    if mask is None:
        n = ops.ones_like(hs)
        k = inside
        derivative = inside
    else:
        m = ops.expand_dims(mask, -1)
        n = m * ops.ones_like(hs)
        k = m * inside + 1 - m
        derivative = m * inside
    if slope_ != 1.0:
        derivative = slope_ * derivative
    # Step t maps dh_{t+1} to dh_t = j_{t+1} * dh_{t+1} + g_t (j_T = 0).
    zeros = ops.zeros_like(hs[:, :1])
    maps = {
        "n": ops.concatenate([n[:, 1:], zeros], axis=1),
        "k": ops.concatenate([k[:, 1:], zeros], axis=1),
        "b": g if return_sequences else ops.concatenate(
            [ops.zeros_like(hs[:, 1:]), g[:, None]], axis=1
        ),
    }
    dh = _scan(maps, base, reverse=True)["b"]
    dz = derivative * dh
    h_prev = ops.concatenate([h0[:, None], hs[:, :-1]], axis=1)
    du = ops.sum(dz * h_prev, axis=(0, 1))
    dh0 = slope(base, n[:, 0], k[:, 0]) * dh[:, 0]
    return dz, du, dh0


def _scan_dtype(dtype):
    """float32, or wider: the compositions are not done in half precision."""
    dtype = keras.backend.standardize_dtype(dtype)
    return "float64" if dtype == "float64" else "float32"


def indrnn(z, u, h0, mask, activation, return_sequences):
    """IndRNN states over `z = x W + b` `(batch, steps, units)`, by the
    associative scan of the steps' clamped affine maps.

    `activation` is a `CLAMPED_AFFINE` name; `mask` is `None` or
    `(batch, steps)` with 0 at masked steps (the state is kept). Returns all
    states when `return_sequences`, else the last one.
    """
    if keras.backend.backend() == "jax":
        # Eager JAX would compile each op of the scan on its own (a new
        # shape at every level): about 20 s at T=5000 instead of 5.
        return _jax_jitted(activation, bool(return_sequences))(
            z, u, h0, mask
        )
    return _indrnn(z, u, h0, mask, activation, return_sequences)


@functools.lru_cache(maxsize=None)
def _jax_jitted(activation, return_sequences):
    import jax

    return jax.jit(functools.partial(
        _indrnn, activation=activation, return_sequences=return_sequences
    ))


def _indrnn(z, u, h0, mask, activation, return_sequences):
    clamp = CLAMPED_AFFINE[activation]
    dtype = z.dtype
    scan_dtype = _scan_dtype(dtype)
    inputs = [ops.cast(t, scan_dtype) for t in (z, u, h0)]
    if mask is not None:
        inputs.append(ops.cast(mask, scan_dtype))

    @ops.custom_gradient
    def run(*inputs):
        z, u, h0 = inputs[:3]
        m = inputs[3] if len(inputs) > 3 else None
        hs = _states(z, u, h0, m, clamp)

        def grad(*args, upstream=None):
            g = args[0] if upstream is None else upstream
            dz, du, dh0 = _gradients(
                g, hs, u, h0, m, clamp, return_sequences
            )
            if m is None:
                return dz, du, dh0
            return dz, du, dh0, ops.zeros_like(m)

        return (hs if return_sequences else hs[:, -1]), grad

    return ops.cast(run(*inputs), dtype)
