"""Writing benchmark results: JSON, a Markdown table and, optionally, a plot."""

import datetime
import json
import os
import platform

import keras

# BENCHMARK_RESULTS_DIR sends a trial run's files elsewhere.
RESULTS_DIR = os.environ.get("BENCHMARK_RESULTS_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "results")


def environment():
    """What the numbers were measured on."""
    return {
        "date": datetime.date.today().isoformat(),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "cpu_count": os.cpu_count(),
    }


def markdown_table(rows, columns):
    """`rows`: list of dicts; `columns`: list of (key, header, format)."""
    lines = [
        "| " + " | ".join(header for _, header, _ in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        cells = []
        for key, _, fmt in columns:
            value = row.get(key)
            cells.append("-" if value is None else format(value, fmt))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(name, payload, table, title, notes=""):
    """Writes `results/<name>.json` and `results/<name>.md`; returns paths."""
    os.makedirs(RESULTS_DIR, exist_ok=True)
    payload = {"environment": environment(), **payload}
    json_path = os.path.join(RESULTS_DIR, f"{name}.json")
    md_path = os.path.join(RESULTS_DIR, f"{name}.md")
    with open(json_path, "w") as f:
        json.dump(payload, f, indent=2)
    env = payload["environment"]
    header = (
        f"# {title}\n\nMeasured {env['date']} on {env['cpu_count']} CPU cores "
        f"({env['machine']}), Keras {env['keras']}, backend `{env['backend']}`.\n"
    )
    with open(md_path, "w") as f:
        f.write(header + ("\n" + notes.strip() + "\n" if notes else "") + "\n")
        f.write(table + "\n")
    return json_path, md_path


def time_interleaved(fns, repeats, calls=1):
    """Median seconds per call of each function in `fns`.

    Two warm-up calls each (compilation), then `repeats` rounds that call
    every function in turn (`calls` times, averaged), so that load from
    other processes falls on all of them alike.
    """
    import statistics
    import time

    for fn in fns:
        fn()
        fn()
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, samples):
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times.append((time.perf_counter() - start) / calls)
    return [statistics.median(t) for t in samples]


def train_step_memory_mb(model, x, y):
    """Peak memory of one training step's forward and backward, in MB.

    JAX: the temporary buffers XLA allocates for the loss and its gradient
    (the activations kept for the backward pass and the backward's own
    work space), from the compiled function's memory analysis.
    TensorFlow: the allocator's peak on the CPU device during one
    `train_on_batch`, above what was allocated before it. Not measured on
    other backends (returns `None`).
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]

        loss = model.loss
        loss = keras.losses.get(loss) if isinstance(loss, str) else loss

        def loss_fn(trainable, frozen, x, y):
            pred, _ = model.stateless_call(trainable, frozen, x, training=True)
            return keras.ops.mean(loss(y, pred))

        compiled = jax.jit(jax.grad(loss_fn)).lower(
            trainable, frozen, x, y).compile()
        return compiled.memory_analysis().temp_size_in_bytes / 2**20
    if backend == "tensorflow":
        import tensorflow as tf

        model.train_on_batch(x, y)
        tf.config.experimental.reset_memory_stats("CPU:0")
        before = tf.config.experimental.get_memory_info("CPU:0")["current"]
        model.train_on_batch(x, y)
        peak = tf.config.experimental.get_memory_info("CPU:0")["peak"]
        return (peak - before) / 2**20
    return None


def bar_chart(name, labels, values, ylabel, title, colors=None):
    """Writes `results/<name>.png`, a bar per value; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5, 1.5 * len(values)), 3))
    ax.bar(range(len(values)), values,
           color=colors or [f"C{i}" for i in range(len(values))])
    ax.set_xticks(range(len(values)), labels, rotation=15)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    path = os.path.join(RESULTS_DIR, f"{name}.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
