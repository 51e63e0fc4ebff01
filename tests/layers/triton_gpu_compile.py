"""Compiles IndRNN's Triton kernels for a CUDA GPU that is not there:
Triton's own compiler and its bundled `ptxas`, no device needed.

    python tests/layers/triton_gpu_compile.py 90 [--every]

(without TRITON_INTERPRET: the interpreter compiles nothing). By default
a set of variants in which every dtype, activation and flag occurs; with
`--every`, all 384 (about a minute on 2 cores)."""

import itertools
import sys

import triton
import triton.language as tl
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from keras_rnninit.layers import _triton_indrnn as kernel

POINTERS = {
    kernel._forward_kernel: ("z", "u", "h0", "mask", "out", "last"),
    kernel._backward_kernel: ("g", "hs", "u", "h0", "mask", "dz", "du", "dh0"),
}
# What `forward` and `backward` pass: the mask in float32, `du` in the state
# dtype, every other tensor in the input dtype.
STATE = {"fp16": "fp32", "bf16": "fp32", "fp32": "fp32", "fp64": "fp64"}


def compile_kernel(fn, dtype, flags, one, target):
    signature, constants = {}, {}
    for i, name in enumerate(fn.arg_names):
        if name in POINTERS[fn]:
            kind = {"mask": "fp32", "du": STATE[dtype]}.get(name, dtype)
            signature[name] = "*" + kind
        elif name in ("batch", "units", "steps") and name != one:
            signature[name] = "i32"
        else:  # a flag, or a size of 1 (Triton makes it a constant)
            signature[name] = "constexpr"
            constants[(i,)] = flags.get(name, 1)
    return triton.compile(ASTSource(fn, signature, constants), target=target)


def variants(every):
    """`(dtype, activation, masked, flag, size of 1)` tuples."""
    sizes = (None, "steps", "batch")
    if every:
        return itertools.product(STATE, range(4), (False, True),
                                 (False, True), sizes)
    dtypes = list(STATE)
    return [(dtypes[i % 4], i // 2, i % 2 == 0, i % 3 == 0, sizes[i % 3])
            for i in range(8)]


def main(arch, every=False):
    target = GPUTarget("cuda", arch, 32)
    count = 0
    for dtype, activation, masked, flag, one in variants(every):
        state = tl.float64 if dtype == "fp64" else tl.float32
        common = dict(ACTIVATION=activation, MASKED=masked, STATE=state,
                      BLOCK=kernel.BLOCK)
        for fn, extra in ((kernel._forward_kernel, "SAVE"),
                          (kernel._backward_kernel, "SEQUENCES")):
            compiled = compile_kernel(fn, dtype, dict(common, **{extra: flag}),
                                      one, target)
            assert compiled.asm["cubin"], fn.__name__
            count += 1
    print(f"compiled {count} kernels for sm_{arch}")


if __name__ == "__main__":
    main(int(sys.argv[1]), "--every" in sys.argv[2:])
