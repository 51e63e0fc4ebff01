"""Speed and memory of IndRNN's fused path against Keras's SimpleRNN(relu).

Each row times one training step (`train_on_batch`, Adam) and one forward
pass (`predict_on_batch`) of a model built with `IndRNN` and of the same
model built with `keras.layers.SimpleRNN(activation="relu")`, alternating
the two in every repeat (medians; the CPU may be shared), and reports the
ratio. Rows (batch 50, 128 units unless said):

- the adding problem's shapes (T=1000, 2 features, `Dense(1)`, MSE):
  1 layer returning its last state; 1 layer returning sequences, averaged
  over time; 2 layers (the paper's adding model); a `Bidirectional` layer;
- 2 layers at T = 100, 1000, 5000: the time per step should stay flat;
- the paper's 6-layer sequential-MNIST model, `deep_indrnn((784, 1),
  num_classes=10)` (batch norm and dropout after each layer), against the
  same stack with `SimpleRNN` layers.

Beside the times, the peak memory of a training step (see
`_results.train_step_memory_mb`). Run once per backend:

    KERAS_BACKEND=jax python benchmarks/indrnn_speed.py
    KERAS_BACKEND=tensorflow python benchmarks/indrnn_speed.py

Writes `benchmarks/results/indrnn_speed_<backend>.{json,md,png}`.
"""

import argparse
import os
import sys

import numpy as np

if os.environ.get("KERAS_BACKEND") == "jax":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

from keras_rnninit.layers import IndRNN  # noqa: E402
from keras_rnninit.layers import deep_indrnn  # noqa: E402

TARGETS = {"train": 8.0, "forward": 10.0}


def _recurrent(kind, units, timesteps, return_sequences, name):
    if kind == "indrnn":
        return IndRNN(units, timesteps=timesteps, use_fused=True,
                      return_sequences=return_sequences, name=name)
    return keras.layers.SimpleRNN(units, activation="relu",
                                  return_sequences=return_sequences, name=name)


def projections_model(timesteps, layers, units, batch, mnist=False):
    """The input projections `relu(h W + b)` of the layers above the first,
    alone, on `(T, units)` inputs (the first layer's output), then the same
    head: work IndRNN and SimpleRNN both do, which bounds any speed-up of the
    recurrence. (The first layer's projection is left out: over 1 or 2
    features IndRNN computes it inside its loop.)"""
    inputs = keras.Input((timesteps, units), batch_size=batch)
    x = inputs
    for i in range(1, layers):
        x = keras.layers.Dense(units, activation="relu")(x)
        if mnist:
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.Dropout(0.1, noise_shape=(None, 1, units))(x)
    x = keras.layers.Cropping1D((timesteps - 1, 0))(x)
    x = keras.layers.Reshape((units,))(x)
    if mnist:
        model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
        model.compile(optimizer=keras.optimizers.Adam(2e-4),
                      loss="sparse_categorical_crossentropy")
    else:
        model = keras.Model(inputs, keras.layers.Dense(1)(x))
        model.compile(optimizer=keras.optimizers.Adam(2e-4), loss="mse")
    return model


def adding_model(kind, timesteps, layers, units, batch, head="last",
                 bidirectional=False):
    """`layers` recurrent layers on (T, 2) inputs, a `Dense(1)` head."""
    inputs = keras.Input((timesteps, 2), batch_size=batch)
    x = inputs
    for i in range(layers):
        sequences = i < layers - 1 or head == "pool"
        layer = _recurrent(kind, units, timesteps, sequences, f"rnn_{i}")
        if bidirectional:
            layer = keras.layers.Bidirectional(layer)
        x = layer(x)
    if head == "pool":
        x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer=keras.optimizers.Adam(2e-4), loss="mse")
    return model


def mnist_model(kind, timesteps, layers, units, batch):
    """The paper's deep IndRNN, or the same stack with SimpleRNN layers."""
    if kind == "indrnn":
        model = deep_indrnn((timesteps, 1), units=units, num_layers=layers,
                            num_classes=10, use_fused=True)
    else:
        inputs = keras.Input((timesteps, 1))
        x = inputs
        for i in range(layers):
            last = i == layers - 1
            x = _recurrent(kind, units, timesteps, not last, f"rnn_{i}")(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.Dropout(
                0.1, noise_shape=None if last else (None, 1, units))(x)
        model = keras.Model(
            inputs, keras.layers.Dense(10, activation="softmax")(x))
    model.compile(optimizer=keras.optimizers.Adam(2e-4),
                  loss="sparse_categorical_crossentropy")
    return model


def configurations(args):
    """`(label, builder kwargs)` for every row."""
    rows = [
        ("1 layer, last state", dict(layers=1)),
        ("1 layer, sequences + pooling", dict(layers=1, head="pool")),
        ("Bidirectional, 1 layer", dict(layers=1, bidirectional=True)),
    ]
    rows += [(f"2 layers (adding model)", dict(layers=2, timesteps=t))
             for t in args.timesteps]
    rows.append(("6 layers, batch norm (sequential MNIST)",
                 dict(layers=6, timesteps=784, mnist=True)))
    return rows


def measure(label, spec, args):
    spec = dict(spec)
    mnist = spec.pop("mnist", False)
    timesteps = spec.pop("timesteps", 1000)
    rng = np.random.default_rng(0)
    if mnist:
        x = rng.uniform(0, 1, (args.batch, timesteps, 1)).astype("float32")
        y = rng.integers(0, 10, (args.batch,))
    else:
        x = rng.uniform(0, 1, (args.batch, timesteps, 2)).astype("float32")
        y = rng.uniform(0, 1, (args.batch, 1)).astype("float32")
    models = {}
    for kind in ("indrnn", "simple_rnn"):
        keras.utils.set_random_seed(0)
        if mnist:
            models[kind] = mnist_model(kind, timesteps, spec["layers"],
                                       args.units, args.batch)
        else:
            models[kind] = adding_model(kind, timesteps, units=args.units,
                                        batch=args.batch, **spec)
    inputs = {"indrnn": x, "simple_rnn": x}
    if spec["layers"] > 1:
        models["projection"] = projections_model(
            timesteps, spec["layers"], args.units, args.batch, mnist)
        inputs["projection"] = rng.uniform(
            0, 1, (args.batch, timesteps, args.units)).astype("float32")
    repeats = args.repeats if timesteps <= 1000 else args.long_repeats
    order = list(models)
    train = _results.time_interleaved(
        [lambda k=k: models[k].train_on_batch(inputs[k], y) for k in order],
        repeats)
    forward = _results.time_interleaved(
        [lambda k=k: models[k].predict_on_batch(inputs[k]) for k in order],
        repeats)
    row = {"config": label, "layers": spec["layers"], "timesteps": timesteps,
           "batch": args.batch, "repeats": repeats}
    for kind, tr, fw in zip(order, train, forward):
        row[f"{kind}_train_ms"] = 1e3 * tr
        row[f"{kind}_forward_ms"] = 1e3 * fw
    for kind in ("indrnn", "simple_rnn"):
        row[f"{kind}_memory_mb"] = _results.train_step_memory_mb(
            models[kind], x, y)
    # The best ratio any recurrence could reach: SimpleRNN against the
    # projections both models share.
    row["train_ceiling"] = (row["simple_rnn_train_ms"]
                            / row["projection_train_ms"]
                            if "projection" in models else None)
    row["train_speedup"] = row["simple_rnn_train_ms"] / row["indrnn_train_ms"]
    row["forward_speedup"] = (row["simple_rnn_forward_ms"]
                              / row["indrnn_forward_ms"])
    row["indrnn_train_us_per_step"] = 1e3 * row["indrnn_train_ms"] / timesteps
    row["indrnn_forward_us_per_step"] = (1e3 * row["indrnn_forward_ms"]
                                         / timesteps)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", default="100,1000,5000",
                        help="sequence lengths of the 2-layer rows "
                             "(default: %(default)s)")
    parser.add_argument("--units", type=int, default=128,
                        help="units of every recurrent layer (default: 128)")
    parser.add_argument("--batch", type=int, default=50,
                        help="batch size (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed rounds; medians are reported "
                             "(default: %(default)s)")
    parser.add_argument("--long-repeats", type=int, default=3,
                        help="rounds when T > 1000 (default: %(default)s)")
    parser.add_argument("--only", default=None,
                        help="run only the rows whose label contains this")
    args = parser.parse_args(argv)
    args.timesteps = [int(t) for t in args.timesteps.split(",")]
    backend = keras.backend.backend()
    rows = []
    for label, spec in configurations(args):
        if args.only and args.only not in label:
            continue
        row = measure(label, spec, args)
        rows.append(row)
        print(f"{label:40s} T={row['timesteps']:5d} train "
              f"{row['indrnn_train_ms']:8.1f} vs {row['simple_rnn_train_ms']:8.1f}"
              f" ms ({row['train_speedup']:.1f}x), forward "
              f"{row['indrnn_forward_ms']:7.1f} vs "
              f"{row['simple_rnn_forward_ms']:7.1f} ms "
              f"({row['forward_speedup']:.1f}x), memory "
              f"{row['indrnn_memory_mb']} vs {row['simple_rnn_memory_mb']} MB",
              flush=True)
    table = _results.markdown_table(rows, [
        ("config", "model", "s"), ("timesteps", "T", "d"),
        ("indrnn_train_ms", "IndRNN train (ms)", ".1f"),
        ("simple_rnn_train_ms", "SimpleRNN train (ms)", ".1f"),
        ("train_speedup", "train x", ".1f"),
        ("projection_train_ms", "upper projections alone train (ms)", ".1f"),
        ("train_ceiling", "ceiling x", ".1f"),
        ("indrnn_forward_ms", "IndRNN forward (ms)", ".1f"),
        ("simple_rnn_forward_ms", "SimpleRNN forward (ms)", ".1f"),
        ("forward_speedup", "forward x", ".1f"),
        ("indrnn_train_us_per_step", "IndRNN train us/step", ".1f"),
        ("indrnn_memory_mb", "IndRNN train memory (MB)", ".0f"),
        ("simple_rnn_memory_mb", "SimpleRNN train memory (MB)", ".0f"),
    ])
    memory_note = {
        "jax": "temporary buffers of the compiled loss-and-gradient function "
               "(XLA memory analysis)",
        "tensorflow": "the CPU allocator's peak during one `train_on_batch`, "
                      "above what was allocated before it",
    }.get(backend, "not measured")
    notes = (
        f"Batch {args.batch}, {args.units} units, Adam. Adding rows: 2 input "
        "features, `Dense(1)`, MSE. MNIST row: `deep_indrnn((784, 1), "
        "num_classes=10)` (6 IndRNN layers, batch norm and dropout 0.1 after "
        "each) against the same stack of `SimpleRNN(relu)` layers. IndRNN "
        "layers run the fused path (`use_fused=True`). Each figure is the "
        f"median of {args.repeats} rounds ({args.long_repeats} when T > 1000) "
        "that alternate the two models, after two warm-up calls; the CPU "
        "(2 cores) was shared with other work, so the ratios are more "
        "reliable than the times. Memory: " + memory_note + ". One "
        f"(T, batch, units) float32 tensor at T=1000 is "
        f"{1000 * args.batch * args.units * 4 / 2**20:.0f} MB.\n\n"
        "Upper projections alone: the input projections `relu(h W + b)` of "
        "the layers above the first (`Dense` over every step, with the same "
        "batch norm and dropout in the MNIST row) and the head, on inputs "
        "shaped like the first layer's output, no recurrence. IndRNN and "
        "SimpleRNN both compute these matmuls and their gradients, so "
        "SimpleRNN's time over theirs (ceiling x) bounds the speed-up any "
        "recurrence could reach on this CPU.\n\n"
        f"Targets: training step >= {TARGETS['train']:g}x SimpleRNN for the "
        "2-layer (T=1000) and 6-layer models; time per step flat from T=100 "
        f"to T=5000; forward >= {TARGETS['forward']:g}x."
    )
    name = f"indrnn_speed_{backend}"
    payload = {"settings": vars(args), "targets": TARGETS, "rows": rows}
    paths = _results.write(name, payload, table,
                           f"IndRNN vs SimpleRNN(relu) ({backend}, CPU)", notes)
    _plot(rows, name, backend)
    print(table)
    print("wrote", *paths)


def _plot(rows, name, backend):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure

    fig = matplotlib.figure.Figure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
    labels = [f"{r['config']}\nT={r['timesteps']}" for r in rows]
    pos = np.arange(len(rows))
    for ax, metric, title in ((axes[0], "train", "training step"),
                              (axes[1], "forward", "forward")):
        ax.bar(pos, [r[f"{metric}_speedup"] for r in rows])
        ax.axhline(TARGETS[metric], color="k", ls="--", lw=1,
                   label=f"target {TARGETS[metric]:g}x")
        ax.set_xticks(pos, labels, rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("SimpleRNN time / IndRNN time")
        ax.set_title(f"{title}, {backend}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(_results.RESULTS_DIR, name + ".png"), dpi=100)


if __name__ == "__main__":
    main()
