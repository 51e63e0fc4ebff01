"""Speed and memory of `Clockwork` (8 modules, periods 1..128) vs `SimpleRNN(128)`.

Sequential-MNIST shapes: T=784 steps of 1 feature, batch 32, a `Dense(10)`
head and sparse cross-entropy. Rows: 1 and 2 layers (the lower one returns
sequences) and a `Bidirectional` layer, each against `SimpleRNN(128)` in the
same arrangement, and the bound: the same Clockwork model with the
recurrence removed (`h_t = act(x_t W_I + b)`: the input projection and the
elementwise work only), the time no recurrence can save. Measures one
training step (`train_on_batch`) and one forward pass (`predict_on_batch`),
alternating the three models in every repeat (medians; ratios so taken
hold up under load from other processes), and the peak memory of a
training step (see `_results.train_step_memory_mb`). Target: the Clockwork
training step at most 0.4x SimpleRNN's. Run once per backend:

    KERAS_BACKEND=jax python benchmarks/clockwork_speed.py
    KERAS_BACKEND=tensorflow python benchmarks/clockwork_speed.py
    KERAS_BACKEND=torch python benchmarks/clockwork_speed.py

Writes `benchmarks/results/clockwork_speed_<backend>.{json,md,png}`.
"""

import argparse
import os
import sys
import warnings

import numpy as np

if os.environ.get("KERAS_BACKEND") == "jax":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

from keras_rnninit.layers._fused import activate  # noqa: E402
from keras_rnninit.layers.clockwork import Clockwork  # noqa: E402

TARGET = 0.4
# The bound model's recurrent kernel gets no gradient, by design.
warnings.filterwarnings("ignore", message="Gradients do not exist")
# Train-step ratios to SimpleRNN(128) of the fused loop that computed every
# module at every step (main before issue 30, quiet machine, from the issue).
BEFORE = {
    "tensorflow": {"1 layer": 0.74, "2 layers": 0.68},
    "jax": {"1 layer": 0.85, "2 layers": 0.73},
    "torch": {"1 layer": 0.25, "2 layers": 0.23},
}
KINDS = ("clockwork", "simple_rnn", "bound")
CONFIGS = {
    "1 layer": dict(layers=1),
    "2 layers": dict(layers=2),
    "Bidirectional, 1 layer": dict(layers=1, bidirectional=True),
}


@keras.saving.register_keras_serializable(package="benchmarks")
class NoRecurrence(Clockwork):
    """Clockwork with the recurrence removed: `h_t = act(x_t W_I + b)`."""

    def _fused_recurrence(self, x, states, mask, activation, training):
        hs = activate(activation, self._input_projection(x))
        return (hs if self.return_sequences else hs[:, -1]), states


def build(kind, steps, units, num_modules, layers, bidirectional=False):
    inputs = keras.Input((steps, 1))
    x = inputs
    for i in range(layers):
        sequences = i < layers - 1
        if kind == "simple_rnn":
            rnn = keras.layers.SimpleRNN(units, return_sequences=sequences)
        else:
            layer = Clockwork if kind == "clockwork" else NoRecurrence
            rnn = layer(units, num_modules=num_modules, use_fused=True,
                        return_sequences=sequences)
        if bidirectional:
            rnn = keras.layers.Bidirectional(rnn)
        x = rnn(x)
    model = keras.Model(inputs, keras.layers.Dense(10)(x))
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


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
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed rounds; medians are reported "
                             "(default: %(default)s)")
    parser.add_argument("--no-plot", action="store_true",
                        help="do not write the PNG")
    args = parser.parse_args(argv)
    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (args.batch, args.steps, 1)).astype("float32")
    y = rng.integers(0, 10, (args.batch,))

    load = [os.getloadavg()[0]]
    rows = []
    for label, spec in CONFIGS.items():
        keras.utils.set_random_seed(0)
        models = [build(kind, args.steps, args.units, args.modules, **spec)
                  for kind in KINDS]
        train = _results.time_interleaved(
            [lambda m=m: m.train_on_batch(x, y) for m in models], args.repeats)
        forward = _results.time_interleaved(
            [lambda m=m: m.predict_on_batch(x) for m in models], args.repeats)
        memory = [_results.train_step_memory_mb(m, x, y) for m in models[:2]]
        before = BEFORE.get(backend, {}).get(label)
        row = {"config": label, **spec,
               "clockwork_train_ms": 1e3 * train[0],
               "simple_rnn_train_ms": 1e3 * train[1],
               "bound_train_ms": 1e3 * train[2],
               "train_ratio": train[0] / train[1],
               "bound_train_ratio": train[2] / train[1],
               "before_train_ratio": before,
               "clockwork_forward_ms": 1e3 * forward[0],
               "simple_rnn_forward_ms": 1e3 * forward[1],
               "forward_ratio": forward[0] / forward[1],
               "bound_forward_ratio": forward[2] / forward[1],
               "clockwork_memory_mb": memory[0],
               "simple_rnn_memory_mb": memory[1],
               "meets_target": train[0] / train[1] <= TARGET}
        rows.append(row)
        load.append(os.getloadavg()[0])
        print(f"{label:24s} train {row['clockwork_train_ms']:7.1f} vs "
              f"{row['simple_rnn_train_ms']:7.1f} ms "
              f"({row['train_ratio']:.2f}x; bound "
              f"{row['bound_train_ratio']:.2f}x), forward "
              f"{row['clockwork_forward_ms']:6.1f} vs "
              f"{row['simple_rnn_forward_ms']:6.1f} ms "
              f"({row['forward_ratio']:.2f}x)", flush=True)
    table = _results.markdown_table(rows, [
        ("config", "model", "s"),
        ("clockwork_train_ms", "Clockwork train (ms)", ".1f"),
        ("simple_rnn_train_ms", "SimpleRNN train (ms)", ".1f"),
        ("train_ratio", "train ratio", ".2f"),
        ("before_train_ratio", "train ratio before", ".2f"),
        ("bound_train_ratio", "bound train ratio", ".2f"),
        ("clockwork_forward_ms", "Clockwork forward (ms)", ".1f"),
        ("simple_rnn_forward_ms", "SimpleRNN forward (ms)", ".1f"),
        ("forward_ratio", "forward ratio", ".2f"),
        ("bound_forward_ratio", "bound forward ratio", ".2f"),
        ("clockwork_memory_mb", "Clockwork train memory (MB)", ".0f"),
        ("simple_rnn_memory_mb", "SimpleRNN train memory (MB)", ".0f"),
    ])
    met = [r["config"] for r in rows if r["meets_target"]]
    notes = (
        f"T={args.steps}, batch {args.batch}, 1 input feature, `Dense(10)` "
        f"head, Adam; {args.units} units, Clockwork periods 1..."
        f"{2 ** (args.modules - 1)} on the fused loop (`use_fused=True`), "
        f"`SimpleRNN({args.units})` (tanh) in the same arrangement. Ratios are "
        "Clockwork time / SimpleRNN time, each the median of "
        f"{args.repeats} rounds that alternate the three models, after two "
        "warm-up calls. The bound is the same Clockwork model with the "
        "recurrence removed (`h_t = act(x_t W_I + b)`): what the input "
        "projection, the head and the optimizer cost, which no recurrence "
        "can save. \"Before\": the fused loop that computed every module "
        "at every step (issue 30's ratios, quiet machine; - where not "
        "measured). The CPU "
        f"({os.cpu_count()} cores) was shared with other work: load average "
        f"{', '.join(f'{v:.1f}' for v in load)} (before the run and after "
        "each row). Memory: "
        "see `_results.train_step_memory_mb` (JAX: XLA's temporary buffers "
        "of the loss and gradient; TensorFlow: the allocator's peak in one "
        "`train_on_batch`).\n\n"
        f"Target: training step <= {TARGET}x SimpleRNN. Met in this run for: "
        + (", ".join(met) if met else "none") + "."
    )
    name = f"clockwork_speed_{backend}"
    payload = {"settings": vars(args), "target_train_ratio": TARGET,
               "load_average": load, "rows": rows}
    paths = _results.write(name, payload, table,
                           f"Clockwork vs SimpleRNN speed ({backend}, CPU)",
                           notes)
    if not args.no_plot:
        _plot(rows, name, backend, args)
    print(table)
    print("wrote", *paths)


def _plot(rows, name, backend, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure

    fig = matplotlib.figure.Figure(figsize=(6.5, 3.5))
    ax = fig.subplots()
    pos = np.arange(len(rows))
    ax.bar(pos - 0.3, [r["train_ratio"] for r in rows], 0.3,
           label="training step")
    ax.bar(pos, [r["bound_train_ratio"] for r in rows], 0.3,
           label="training step, bound (no recurrence)")
    ax.bar(pos + 0.3, [r["forward_ratio"] for r in rows], 0.3,
           label="forward")
    ax.axhline(TARGET, color="k", ls="--", lw=1, label=f"target {TARGET}x")
    ax.set_xticks(pos, [r["config"] for r in rows])
    ax.set_ylabel("Clockwork time / SimpleRNN time")
    ax.set_title(f"T={args.steps}, batch {args.batch}, {backend}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(_results.RESULTS_DIR, name + ".png"), dpi=100)


if __name__ == "__main__":
    main()
