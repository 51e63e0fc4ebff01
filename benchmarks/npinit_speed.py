"""Time of `NPInit` (np-RNN's recurrent initializer) for growing N.

Target: N=2048 in under 1 s on a 2-core CPU. Run once per backend:

    KERAS_BACKEND=tensorflow python benchmarks/npinit_speed.py

Writes `benchmarks/results/npinit_speed_<backend>.{json,md,png}`.
"""

import argparse
import os
import statistics
import sys
import time

import keras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

from keras_rnninit import NPInit  # noqa: E402


def time_call(init, shape):
    start = time.perf_counter()
    keras.ops.convert_to_numpy(init(shape))
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,512,1024,2048",
                        help="comma-separated N values (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="warm calls per size; the median is reported")
    args = parser.parse_args(argv)
    backend = keras.backend.backend()
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        init = NPInit(seed=n)
        first = time_call(init, (n, n))
        warm = [time_call(init, (n, n)) for _ in range(args.repeats)]
        rows.append({"n": n, "first_s": first, "median_s": statistics.median(warm),
                     "max_s": max(warm), "meets_1s": max(warm) < 1.0})
        print(f"N={n:5d}  first {first:.3f} s  median {rows[-1]['median_s']:.3f} s")
    table = _results.markdown_table(rows, [
        ("n", "N", "d"), ("first_s", "first call (s)", ".3f"),
        ("median_s", "median (s)", ".3f"), ("max_s", "slowest (s)", ".3f"),
        ("meets_1s", "< 1 s", "")])
    notes = ("The first call includes the backend's one-time start-up. "
             "Target: N=2048 under 1 s.")
    name = f"npinit_speed_{backend}"
    paths = _results.write(name, {"rows": rows}, table,
                           f"NPInit speed ({backend})", notes)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([r["n"] for r in rows], [r["median_s"] for r in rows], "o-",
            label="median")
    ax.axhline(1.0, color="gray", ls="--", label="1 s target")
    ax.set_xlabel("N")
    ax.set_ylabel("seconds")
    ax.set_title(f"NPInit time, {backend}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(_results.RESULTS_DIR, name + ".png"), dpi=100)
    print(table)
    print("wrote", *paths)


if __name__ == "__main__":
    main()
