"""Speed of `Clockwork` (8 modules x 16 units, periods 1..128) vs `SimpleRNN(128)`.

Sequential-MNIST shapes: T=784 steps of 1 feature, batch 32, a Dense(10)
head and sparse cross-entropy. Measures one training step
(`train_on_batch`) and one forward pass (`predict_on_batch`) for both layers
in the same run. Target: the Clockwork training step at most 0.6x the
SimpleRNN one on the TensorFlow backend (CPU). Run once per backend:

    KERAS_BACKEND=tensorflow python benchmarks/clockwork_speed.py

Writes `benchmarks/results/clockwork_speed_<backend>.{json,md,png}`.
"""

import argparse
import os
import statistics
import sys
import time

import keras
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

from keras_rnninit.layers.clockwork import Clockwork  # noqa: E402


def build(kind, steps, units, num_modules):
    inputs = keras.Input((steps, 1))
    if kind == "simple_rnn":
        rnn = keras.layers.SimpleRNN(units)
    elif kind == "clockwork":
        rnn = Clockwork(units, num_modules=num_modules)
    else:  # the generic keras.layers.RNN loop, for reference
        rnn = Clockwork(units, num_modules=num_modules, fast_path=False)
    outputs = keras.layers.Dense(10)(rnn(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def time_interleaved(fns, repeats, calls):
    """Per function: median and minimum over `repeats` of the mean time of
    `calls` consecutive calls. Repeats alternate between the functions so
    that load from other processes falls on all of them alike."""
    for fn in fns:  # compile / warm up
        fn()
        fn()
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, samples):
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times.append((time.perf_counter() - start) / calls)
    return [(statistics.median(t), min(t)) for t in samples]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=784,
                        help="sequence length T (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=32,
                        help="batch size (default: %(default)s)")
    parser.add_argument("--units", type=int, default=128,
                        help="hidden units of both layers (default: %(default)s)")
    parser.add_argument("--modules", type=int, default=8,
                        help="Clockwork modules, periods 1, 2, 4, ... "
                             "(default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed repeats; the median is reported "
                             "(default: %(default)s)")
    parser.add_argument("--calls", type=int, default=3,
                        help="calls per repeat (default: %(default)s)")
    parser.add_argument("--generic", action="store_true",
                        help="also time Clockwork's generic loop "
                             "(fast_path=False)")
    parser.add_argument("--no-plot", action="store_true",
                        help="do not write the PNG")
    args = parser.parse_args(argv)
    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (args.batch, args.steps, 1)).astype("float32")
    y = rng.integers(0, 10, (args.batch,))

    kinds = ["simple_rnn", "clockwork"] + (["clockwork_generic"] if args.generic else [])
    labels = {
        "simple_rnn": f"SimpleRNN({args.units})",
        "clockwork": f"Clockwork({args.units}, {args.modules} modules)",
        "clockwork_generic": "Clockwork, generic loop (fast_path=False)",
    }
    keras.utils.set_random_seed(0)
    models = [build(kind, args.steps, args.units, args.modules) for kind in kinds]
    print("timing", ", ".join(labels[k] for k in kinds), "...", flush=True)
    train = time_interleaved(
        [lambda m=m: m.train_on_batch(x, y) for m in models],
        args.repeats, args.calls)
    forward = time_interleaved(
        [lambda m=m: m.predict_on_batch(x) for m in models],
        args.repeats, args.calls)
    rows = []
    for kind, (tr, tr_min), (fw, fw_min) in zip(kinds, train, forward):
        rows.append({"layer": labels[kind], "kind": kind,
                     "train_step_s": tr, "train_step_min_s": tr_min,
                     "forward_s": fw, "forward_min_s": fw_min})
        print(f"{labels[kind]}: train step {tr * 1e3:.1f} ms, "
              f"forward {fw * 1e3:.1f} ms")
    base = rows[0]
    for row in rows:
        row["train_ratio"] = row["train_step_s"] / base["train_step_s"]
        row["forward_ratio"] = row["forward_s"] / base["forward_s"]
    clockwork = rows[1]
    meets = clockwork["train_ratio"] <= 0.6
    table = _results.markdown_table(rows, [
        ("layer", "layer", ""),
        ("train_step_s", "train step (s)", ".4f"),
        ("train_ratio", "train vs SimpleRNN", ".2f"),
        ("forward_s", "forward (s)", ".4f"),
        ("forward_ratio", "forward vs SimpleRNN", ".2f")])
    notes = (
        f"T={args.steps}, batch {args.batch}, 1 input feature, Dense(10) head, "
        f"Adam; {args.units} units, Clockwork periods 1..{2 ** (args.modules - 1)}. "
        f"Times are the median over {args.repeats} repeats of the mean of "
        f"{args.calls} calls (`train_on_batch`, `predict_on_batch`), after two "
        "warm-up calls; repeats alternate between the layers. Default `compile()` settings (on TensorFlow "
        "`jit_compile=\"auto\"`, which is off on CPU for the model; Clockwork's "
        "fused loop compiles its own recurrence with XLA). The CPU is shared "
        "with other work, so single timings are noisy; medians are reported.\n\n"
        + (f"Target (TensorFlow backend): Clockwork training step <= 0.6x "
           f"SimpleRNN: {'met' if meets else 'not met'} in this run "
           f"({clockwork['train_ratio']:.2f}x)."
           if backend == "tensorflow" else
           f"The 0.6x target is set for the TensorFlow backend; on {backend} "
           f"this run measured {clockwork['train_ratio']:.2f}x (reported only).")
    )
    name = f"clockwork_speed_{backend}"
    payload = {"settings": vars(args), "rows": rows,
               "target_train_ratio": 0.6, "meets_target": meets}
    paths = _results.write(name, payload, table,
                           f"Clockwork vs SimpleRNN speed ({backend})", notes)
    if not args.no_plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.5))
        pos = np.arange(len(rows))
        ax.bar(pos - 0.2, [r["train_step_s"] * 1e3 for r in rows], 0.4,
               label="train step")
        ax.bar(pos + 0.2, [r["forward_s"] * 1e3 for r in rows], 0.4,
               label="forward")
        ax.set_xticks(pos, [r["kind"] for r in rows])
        ax.set_ylabel("ms")
        ax.set_title(f"T={args.steps}, batch {args.batch}, {backend}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(_results.RESULTS_DIR, name + ".png"), dpi=100)
    print(table)
    print("wrote", *paths)


if __name__ == "__main__":
    main()
