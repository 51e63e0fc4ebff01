"""IndRNN's recurrence on the CPU in C, for the PyTorch backend's fused path.

`_fused_torch` runs the recurrence `h_t = act(z_t + u * h_{t-1})` as eager
loops of torch ops; on a CPU each op costs a few microseconds of dispatch,
so a step costs more than its arithmetic (one layer at T=784, batch 50,
128 units: 7 ms forward, 19 ms backward). This module runs the same
forward and backward loops in a few lines of C, each `(batch, unit)` pair
independent of the others, the batch split over `torch.get_num_threads()`
threads (ctypes releases the GIL during the call). Measured in
`benchmarks/results/indrnn_speed_torch.md` (the 6-layer sequential-MNIST
model's step, T=784).

The C source below is compiled on first use with the system's C compiler
(`$CC`, else `cc`, `gcc` or `clang`: about 0.3 s) into a cache folder
(`$XDG_CACHE_HOME/keras_rnninit` or `~/.cache/keras_rnninit`, the file named
by a hash of the source, the compiler and the machine) and loaded with
ctypes; later processes load it directly. Where there is no compiler, the
compilation fails, or `KERAS_RNNINIT_NATIVE=0` is set, `available()` is
False and `_fused_torch` keeps its torch loops: the same results, slower.
Only contiguous float32 or float64 CPU tensors take this path.

`torch.utils.cpp_extension.load_inline` would build the same loops against
torch's C++ headers, but a build takes about a minute (the headers) and
needs ninja; a C function on raw pointers needs neither.
"""

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading

import torch

ACTIVATIONS = {"relu": 0, "tanh": 1, "sigmoid": 2, "linear": 3}
# Below this many (step, batch, unit) elements one thread does the work:
# a thread's start-up costs more than it saves.
_MIN_PARALLEL = 1 << 16

_SOURCE = r"""
#include <math.h>
#include <stdint.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
/* Subnormals flushed to zero (as XLA does on CPU): a state decaying through
   |u| < 1 reaches them, where x86 arithmetic is about 100x slower. */
#define FLUSH_BEGIN unsigned int csr_ = _mm_getcsr(); _mm_setcsr(csr_ | 0x8040);
#define FLUSH_END _mm_setcsr(csr_);
#else
#define FLUSH_BEGIN
#define FLUSH_END
#endif

#define ACT(kind, a, TANH, EXP) \
  ((kind) == 0 ? ((a) > 0 ? (a) : 0) : (kind) == 1 ? TANH(a) \
   : (kind) == 2 ? 1 / (1 + EXP(-(a))) : (a))
/* act'(z) from h = act(z) */
#define DACT(kind, h) \
  ((kind) == 0 ? ((h) > 0 ? 1 : 0) : (kind) == 1 ? 1 - (h) * (h) \
   : (kind) == 2 ? (h) * (1 - (h)) : 1)

/* Rows [b0, b1) of the batch. Time-major: z, out (steps, batch, units),
   mask (steps, batch) or NULL (0: the step keeps the state), h0 and last
   (batch, units); out may be z itself, or NULL (only the last state). */
#define FORWARD(T, NAME, TANH, EXP) \
void NAME(const T *z, const T *restrict u, const T *restrict h0, \
          const float *restrict mask, T *out, T *restrict last, \
          int64_t steps, int64_t batch, int64_t units, int64_t b0, \
          int64_t b1, int kind) { \
  FLUSH_BEGIN \
  int64_t cols = batch * units; \
  for (int64_t c = b0 * units; c < b1 * units; c++) last[c] = h0[c]; \
  for (int64_t t = 0; t < steps; t++) { \
    for (int64_t b = b0; b < b1; b++) { \
      const T *zb = z + t * cols + b * units; \
      T *restrict hb = last + b * units; \
      if (!mask || mask[t * batch + b] > 0) { \
        if (kind == 0) \
          for (int64_t n = 0; n < units; n++) { \
            T a = zb[n] + u[n] * hb[n]; hb[n] = a > 0 ? a : 0; } \
        else \
          for (int64_t n = 0; n < units; n++) { \
            T a = zb[n] + u[n] * hb[n]; hb[n] = ACT(kind, a, TANH, EXP); } \
      } \
      if (out) { \
        T *ob = out + t * cols + b * units; \
        for (int64_t n = 0; n < units; n++) ob[n] = hb[n]; \
      } \
    } \
  } \
  FLUSH_END \
}

/* dz_t = m_t act'(z_t) dh_t,  dh_{t-1} = g_{t-1} + u dz_t + (1 - m_t) dh_t,
   du (per batch row) = sum_t dz_t h_{t-1}. g is (steps, batch, units) when
   sequences, else NULL and dh starts as the last state's gradient; dh ends
   as h0's. */
#define BACKWARD(T, NAME) \
void NAME(const T *restrict g, const T *restrict hs, const T *restrict u, \
          const T *restrict h0, const float *restrict mask, T *restrict dz, \
          T *restrict du, T *restrict dh, int64_t steps, int64_t batch, \
          int64_t units, int64_t b0, int64_t b1, int kind) { \
  FLUSH_BEGIN \
  int64_t cols = batch * units; \
  for (int64_t c = b0 * units; c < b1 * units; c++) du[c] = 0; \
  for (int64_t t = steps - 1; t >= 0; t--) { \
    for (int64_t b = b0; b < b1; b++) { \
      int64_t o = t * cols + b * units; \
      const T *restrict hb = hs + o; \
      const T *restrict pb = t ? hs + o - cols : h0 + b * units; \
      const T *restrict gb = (g && t) ? g + o - cols : 0; \
      T *restrict dzb = dz + o; \
      T *restrict dub = du + b * units; \
      T *restrict dhb = dh + b * units; \
      if (mask && !(mask[t * batch + b] > 0)) { \
        for (int64_t n = 0; n < units; n++) dzb[n] = 0; \
        if (gb) for (int64_t n = 0; n < units; n++) dhb[n] += gb[n]; \
        continue; \
      } \
      if (kind == 0) /* both loads first: gcc then vectorizes the select */ \
        for (int64_t n = 0; n < units; n++) { \
          T d = dhb[n], h = hb[n]; dzb[n] = h > 0 ? d : 0; } \
      else \
        for (int64_t n = 0; n < units; n++) dzb[n] = dhb[n] * DACT(kind, hb[n]); \
      for (int64_t n = 0; n < units; n++) dub[n] += dzb[n] * pb[n]; \
      if (gb) \
        for (int64_t n = 0; n < units; n++) dhb[n] = gb[n] + u[n] * dzb[n]; \
      else \
        for (int64_t n = 0; n < units; n++) dhb[n] = u[n] * dzb[n]; \
    } \
  } \
  FLUSH_END \
}

FORWARD(float, indrnn_forward_f32, tanhf, expf)
FORWARD(double, indrnn_forward_f64, tanh, exp)
BACKWARD(float, indrnn_backward_f32)
BACKWARD(double, indrnn_backward_f64)
"""

_library = None
_loaded = False
_lock = threading.Lock()
_pool = None


def _compiler():
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cache_folder():
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(root, "keras_rnninit")


def _build(compiler):
    """The compiled library's path (built now if not cached), or None."""
    key = hashlib.sha256("\0".join(
        (_SOURCE, compiler, platform.machine(), sys.platform)).encode()
    ).hexdigest()[:16]
    for folder in (_cache_folder(), os.path.join(tempfile.gettempdir(),
                                                 "keras_rnninit")):
        path = os.path.join(folder, f"indrnn_cpu_{key}.so")
        if os.path.exists(path):
            return path
        try:
            os.makedirs(folder, exist_ok=True)
            # Built under a name of its own, then renamed: processes
            # building at once never load a half-written file.
            fd, partial = tempfile.mkstemp(suffix=".so", dir=folder)
            os.close(fd)
            source = partial[:-3] + ".c"
            with open(source, "w") as f:
                f.write(_SOURCE)
            try:
                subprocess.run(
                    [compiler, "-O3", "-fno-math-errno", "-fno-trapping-math",
                     "-shared", "-fPIC",
                     source, "-o", partial, "-lm"],
                    check=True, capture_output=True, timeout=120)
                os.replace(partial, path)
            finally:
                for leftover in (source, partial):
                    if os.path.exists(leftover):
                        os.remove(leftover)
            return path
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def _load():
    global _library, _loaded
    if _loaded:  # every call of the layer asks: no lock once settled
        return _library
    with _lock:
        if _loaded:
            return _library
        _loaded = True
        if os.environ.get("KERAS_RNNINIT_NATIVE", "1") == "0":
            return None
        compiler = _compiler()
        path = compiler and _build(compiler)
        if not path:
            return None
        try:
            library = ctypes.CDLL(path)
        except OSError:
            return None
        pointer, size = ctypes.c_void_p, ctypes.c_int64
        for name in ("indrnn_forward_f32", "indrnn_forward_f64"):
            getattr(library, name).argtypes = (
                [pointer] * 6 + [size] * 5 + [ctypes.c_int])
        for name in ("indrnn_backward_f32", "indrnn_backward_f64"):
            getattr(library, name).argtypes = (
                [pointer] * 8 + [size] * 5 + [ctypes.c_int])
        _library = library
        return library


def available():
    """Whether the compiled kernel is loaded (compiling it on first call)."""
    return _load() is not None


def supports(z, u, h0, activation):
    """Whether the recurrence on `z` with `u` and `h0` can take this path."""
    return (z.device.type == "cpu" and z.dtype in (torch.float32, torch.float64)
            and u.dtype == h0.dtype == z.dtype and activation in ACTIVATIONS
            and available())


def _suffix(dtype):
    return "f32" if dtype == torch.float32 else "f64"


def _address(x):
    return None if x is None else x.data_ptr()


def _run_split(function, batch, work, fixed):
    """Calls `function(*fixed, b0, b1, ...)` over batch rows split into as
    many chunks as torch's CPU threads (one when the work is small)."""
    global _pool
    threads = min(torch.get_num_threads(), batch,
                  max(1, work // _MIN_PARALLEL))
    if threads <= 1:
        function(*fixed(0, batch))
        return
    if _pool is None or _pool[0] != os.getpid():
        # A forked child has the pool object but not its threads.
        from concurrent.futures import ThreadPoolExecutor
        _pool = (os.getpid(), ThreadPoolExecutor(thread_name_prefix="keras_rnninit"))
    bounds = [batch * i // threads for i in range(threads + 1)]
    futures = [_pool[1].submit(function, *fixed(bounds[i], bounds[i + 1]))
               for i in range(threads)]
    for future in futures:
        future.result()


def _mask(mask):
    return None if mask is None else mask.to(torch.float32).contiguous()


def forward(z, u, h0, mask, activation, save, in_place):
    """`(states or None, last)`, as `_fused_torch._indrnn_forward`."""
    steps, batch, units = z.shape
    z, u, h0, mask = z.contiguous(), u.contiguous(), h0.contiguous(), _mask(mask)
    out = (z if in_place else torch.empty_like(z)) if save else None
    last = torch.empty_like(h0)
    function = getattr(_load(), "indrnn_forward_" + _suffix(z.dtype))
    kind = ACTIVATIONS[activation]
    _run_split(function, batch, steps * batch * units, lambda b0, b1: (
        _address(z), _address(u), _address(h0), _address(mask), _address(out),
        _address(last), steps, batch, units, b0, b1, kind))
    return out, last


def backward(g, hs, u, h0, mask, activation, return_sequences):
    """`(dz, du, dh0)`, as `_fused_torch._indrnn_backward`."""
    steps, batch, units = hs.shape
    g, u, h0, mask = g.contiguous(), u.contiguous(), h0.contiguous(), _mask(mask)
    dz = torch.empty_like(hs)
    du = torch.empty_like(h0)
    dh = (g[-1] if return_sequences else g).clone()
    g_steps = g if return_sequences else None
    function = getattr(_load(), "indrnn_backward_" + _suffix(hs.dtype))
    kind = ACTIVATIONS[activation]
    _run_split(function, batch, steps * batch * units, lambda b0, b1: (
        _address(g_steps), _address(hs), _address(u), _address(h0),
        _address(mask), _address(dz), _address(du), _address(dh), steps,
        batch, units, b0, b1, kind))
    return dz, du.sum(0), dh
