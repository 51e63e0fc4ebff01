"""The fused IndRNN recurrence from its equations, in NumPy, and random
problems for it: the reference the torch kernels are tested against."""

import numpy as np

ACTS = {
    "relu": (lambda a: np.maximum(a, 0), lambda h: (h > 0).astype(h.dtype)),
    "tanh": (np.tanh, lambda h: 1 - h * h),
    "sigmoid": (lambda a: 1 / (1 + np.exp(-a)), lambda h: h * (1 - h)),
    "linear": (lambda a: a, np.ones_like),
}


def reference(z, u, h0, mask, activation, g, return_sequences):
    """States, last state and `(dz, du, dh0)` of `h_t = act(z_t + u h_{t-1})`
    (a masked step keeps the state), time-major, from the equations."""
    act, derivative = ACTS[activation]
    steps = z.shape[0]
    keep = np.ones(z.shape[:2]) if mask is None else mask
    hs, h = np.zeros_like(z), h0
    for t in range(steps):
        new = act(z[t] + u * h)
        h = np.where(keep[t][:, None] > 0, new, h)
        hs[t] = h
    dz, du = np.zeros_like(z), np.zeros_like(u)
    dh = g[-1] if return_sequences else g
    for t in range(steps - 1, -1, -1):
        m = (keep[t] > 0)[:, None]
        previous = hs[t - 1] if t else h0
        dz[t] = np.where(m, dh * derivative(hs[t]), 0)
        du += (dz[t] * previous).sum(0)
        dh = u * dz[t] + np.where(m, 0, dh)
        if return_sequences and t:
            dh = dh + g[t - 1]
    return hs, h, dz, du, dh


def problem(rng, dtype, masked, return_sequences, steps=23, batch=5, units=7):
    z = rng.normal(size=(steps, batch, units)).astype(dtype)
    u = rng.uniform(-1, 1, size=units).astype(dtype)
    h0 = rng.normal(size=(batch, units)).astype(dtype)
    mask = None
    if masked:
        mask = (rng.uniform(size=(steps, batch)) > 0.3).astype("float32")
    g = rng.normal(size=(steps, batch, units) if return_sequences
                   else (batch, units)).astype(dtype)
    return z, u, h0, mask, g


def tensor(x, device="cpu"):
    import torch

    if x is None:
        return None
    return torch.from_numpy(np.ascontiguousarray(x)).to(device)
