"""Speed of IndRNN's fused path against the generic loop, SimpleRNN and LSTM.

Times one training step (`train_on_batch`, Adam) and one forward pass
(`predict_on_batch`) of `input (T, 1) -> recurrent layer (128) -> Dense(10)`
with batch 32, for:

- `IndRNN` (fused path),
- `keras.layers.RNN(IndRNNCell)` (the generic cell loop),
- `keras.layers.SimpleRNN(activation="relu")`,
- `keras.layers.LSTM`,

at T = 784 and T = 5000, on the current backend, and reports ratios to
SimpleRNN. Each figure is the median of several warm repeats (other processes
may share the CPU). Run once per backend:

    KERAS_BACKEND=tensorflow python benchmarks/indrnn_speed.py
    KERAS_BACKEND=jax python benchmarks/indrnn_speed.py

By default only the CPU is used. On a machine with an accelerator, pass
`--device gpu` (or `tpu`) to let the backend use it; the results are then
written as `indrnn_speed_<backend>_<device>.*`.

Writes `benchmarks/results/indrnn_speed_<backend>.{json,md,png}`.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", default="784,5000",
                        help="comma-separated sequence lengths "
                             "(default: %(default)s)")
    parser.add_argument("--units", type=int, default=128,
                        help="units of every recurrent layer (default: 128)")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="batch size (default: 32)")
    parser.add_argument("--repeats", type=int, default=7,
                        help="warm repeats per measurement; the median is "
                             "reported (default: %(default)s)")
    parser.add_argument("--long-repeats", type=int, default=3,
                        help="repeats for the slow loops (generic IndRNN, "
                             "SimpleRNN, LSTM) when T > 1000 "
                             "(default: %(default)s)")
    parser.add_argument("--models", default="indrnn,indrnn_cell,simple_rnn,lstm",
                        help="which models to time (default: %(default)s)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "gpu", "tpu"],
                        help="cpu hides accelerators; gpu / tpu lets the "
                             "backend use them (default: cpu)")
    return parser.parse_args(argv)


def _restrict_to_cpu(backend):
    if backend == "jax":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.set_visible_devices([], "GPU")
    elif backend == "torch":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


ARGS = _parse(sys.argv[1:] if __name__ == "__main__" else [])
if ARGS.device == "cpu":
    _restrict_to_cpu(os.environ.get("KERAS_BACKEND", "tensorflow"))

import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

from keras_rnninit.layers.indrnn import IndRNN  # noqa: E402
from keras_rnninit.layers.indrnn import IndRNNCell  # noqa: E402

MODELS = {
    "indrnn": ("IndRNN (fused)",
               lambda n, t: IndRNN(n, timesteps=t, use_fused=True)),
    "indrnn_cell": ("RNN(IndRNNCell)",
                    lambda n, t: keras.layers.RNN(IndRNNCell(n, timesteps=t))),
    "simple_rnn": ("SimpleRNN(relu)",
                   lambda n, t: keras.layers.SimpleRNN(n, activation="relu")),
    "lstm": ("LSTM", lambda n, t: keras.layers.LSTM(n)),
}
SLOW = ("indrnn_cell", "simple_rnn", "lstm")


def _median_time(fn, repeats):
    fn()  # compile
    fn()  # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(key, timesteps, args):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((timesteps, 1), batch_size=args.batch_size),
        MODELS[key][1](args.units, timesteps),
        keras.layers.Dense(10),
    ])
    model.compile(
        optimizer=keras.optimizers.Adam(2e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (args.batch_size, timesteps, 1)).astype("float32")
    y = rng.integers(0, 10, (args.batch_size,))
    repeats = args.long_repeats if (key in SLOW and timesteps > 1000) else (
        args.repeats)
    train = _median_time(lambda: model.train_on_batch(x, y), repeats)
    forward = _median_time(lambda: model.predict_on_batch(x), repeats)
    return {"model": key, "label": MODELS[key][0], "timesteps": timesteps,
            "train_ms": 1000 * train, "forward_ms": 1000 * forward,
            "train_us_per_step": 1e6 * train / timesteps,
            "forward_us_per_step": 1e6 * forward / timesteps,
            "repeats": repeats}


def main(args):
    backend = keras.backend.backend()
    keys = [k.strip() for k in args.models.split(",")]
    rows = []
    for t in [int(s) for s in args.timesteps.split(",")]:
        block = []
        for key in keys:
            row = measure(key, t, args)
            block.append(row)
            print(f"T={t:5d} {row['label']:18s} train {row['train_ms']:9.1f} ms"
                  f"  forward {row['forward_ms']:9.1f} ms", flush=True)
        base = next((r for r in block if r["model"] == "simple_rnn"), None)
        for row in block:
            if base is not None:
                row["train_speedup"] = base["train_ms"] / row["train_ms"]
                row["forward_speedup"] = base["forward_ms"] / row["forward_ms"]
        rows.extend(block)

    table = _results.markdown_table(rows, [
        ("timesteps", "T", "d"), ("label", "model", "s"),
        ("train_ms", "train step (ms)", ".1f"),
        ("train_speedup", "x SimpleRNN", ".1f"),
        ("forward_ms", "forward (ms)", ".1f"),
        ("forward_speedup", "x SimpleRNN", ".1f"),
        ("train_us_per_step", "train us/step", ".1f"),
        ("forward_us_per_step", "forward us/step", ".1f"),
    ])
    suffix = "" if args.device == "cpu" else f"_{args.device}"
    name = f"indrnn_speed_{backend}{suffix}"
    notes = (
        f"Batch {args.batch_size}, {args.units} units, 1 input feature, "
        "`Dense(10)` head, Adam; device: "
        f"{args.device}. Medians of {args.repeats} warm repeats "
        f"({args.long_repeats} for the slow loops at T > 1000). The machine "
        "was shared with other processes, so single figures are noisy; the "
        "ratios are more stable than the absolute times.\n\n"
        "Targets: fused IndRNN training step >= 8x SimpleRNN(relu) and "
        "forward >= 10x at T=784; >= 8x at T=5000 with a flat time per step."
    )
    payload = {"settings": vars(args), "rows": rows}
    paths = _results.write(name, payload, table,
                           f"IndRNN speed ({backend}, {args.device})", notes)
    _plot(rows, keys, name, backend)
    print(table)
    print("wrote", *paths)


def _plot(rows, keys, name, backend):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = sorted({r["timesteps"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    width = 0.8 / len(keys)
    for ax, metric, title in ((axes[0], "train_us_per_step", "training step"),
                              (axes[1], "forward_us_per_step", "forward")):
        for i, key in enumerate(keys):
            values = [next(r[metric] for r in rows if r["model"] == key
                           and r["timesteps"] == t) for t in steps]
            ax.bar(np.arange(len(steps)) + i * width, values, width,
                   label=MODELS[key][0])
        ax.set_xticks(np.arange(len(steps)) + 0.4 - width / 2)
        ax.set_xticklabels([f"T={t}" for t in steps])
        ax.set_yscale("log")
        ax.set_title(f"{title}, {backend}")
    axes[0].set_ylabel("microseconds per sequence step")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(_results.RESULTS_DIR, name + ".png"), dpi=100)


if __name__ == "__main__":
    main(ARGS)
