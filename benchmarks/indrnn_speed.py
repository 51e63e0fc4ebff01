"""Speed and memory of IndRNN's fused paths against Keras's SimpleRNN(relu).

Each row times one training step (`train_on_batch`, Adam) and one forward
pass (`predict_on_batch`) of a model built with `IndRNN` and of the same
model built with `keras.layers.SimpleRNN(activation="relu")`, alternating
the models in every repeat (medians; the CPU may be shared), and reports the
ratio. Rows (batch 50, 128 units unless said):

- the adding problem's shapes (T=1000, 2 features, `Dense(1)`, MSE):
  1 layer returning its last state; 1 layer returning sequences, averaged
  over time; a `Bidirectional` layer;
- 2 layers (the paper's adding model) at T = 100, 1000, 5000: the time per
  step should stay flat;
- the paper's 6-layer sequential-MNIST model, `deep_indrnn((784, 1),
  num_classes=10)` (batch norm and dropout after each layer), against the
  same stack with `SimpleRNN` layers.

Deep rows also time the same model without recurrence (`Dense(relu)` in
place of every recurrent layer: the work IndRNN does with `u = 0`) and the
upper projections alone (the ceiling, see the notes). Beside the times, the
peak memory of a training step (see `_results.train_step_memory_mb`).

A second table compares `scan="parallel"` (the exact associative scan) with
`scan="sequential"` (the fused loop), 1 and 2 layers, T = 100 to 5000,
training step and forward; it says which is faster at each length and
whether `scan="auto"` (`AUTO_SCAN` in `keras_rnninit/layers/
_parallel_scan.py`) picks that one.

`--device gpu` times, on the GPU, forward (`predict_on_batch`) and training
step (`train_on_batch`: forward, backward, Adam) of IndRNN's fused paths
against `keras.layers.LSTM` (cuDNN) and `SimpleRNN(relu)`, 1 and 2 layers
at T = 256, 512, 1024, 2000, 5000, batch 128 and 512 units: the sequential
scan (on torch twice, as the torch-op loops, `KERAS_RNNINIT_KERNEL=loops`,
and as the Triton kernel, `KERAS_RNNINIT_KERNEL=triton`) and the parallel
scan. It writes `indrnn_speed_<backend>_gpu.*`; without a GPU it stops
with one line. `--device gpu --allow-cpu` runs that plan on whatever
device there is, to check it, writing
`indrnn_speed_<backend>_gpu_checked_on_<device>.*` (on torch, the Triton
rows need `TRITON_INTERPRET=1` there; the tests run it with tiny shapes).
`--quick` runs every row of the chosen mode at a tenth of its length, one
round, writes its files to a temporary folder (not the committed results)
and estimates how long the full run takes on this machine.

    KERAS_BACKEND=torch python benchmarks/indrnn_speed.py
    KERAS_BACKEND=jax python benchmarks/indrnn_speed.py
    KERAS_BACKEND=tensorflow python benchmarks/indrnn_speed.py
    KERAS_BACKEND=torch python benchmarks/indrnn_speed.py --quick
    KERAS_BACKEND=torch TRITON_INTERPRET=1 python benchmarks/indrnn_speed.py \\
        --device gpu --allow-cpu --quick --batch 4 --units 8

On a GPU machine with PyTorch and JAX (CUDA) but no Keras, such as the
lent H100 / H200 machines (Python 3.12, torch 2.11, JAX 0.11, Triton 3.6,
no TensorFlow), carry Keras and the two packages it needs beyond theirs as
wheels. Here, in the repository root:

    echo /.wheels/ >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: \\
        --python-version 3.12 --implementation cp \\
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \\
        --platform manylinux2014_x86_64 -d .wheels \\
        keras==3.15.1 namex==0.1.0 optree==0.20.0

then, there, with `.wheels` carried (the device tool's `carry=[".wheels"]`),
one command per backend so each stays under 10 minutes:

    bash benchmarks/gpu/run_indrnn_gpu.sh torch -- --quick   # estimate
    bash benchmarks/gpu/run_indrnn_gpu.sh torch
    bash benchmarks/gpu/run_indrnn_gpu.sh jax

`run_indrnn_gpu.sh` installs the wheels into /tmp/site, runs
`indrnn_speed.py --device gpu` on each backend named and copies
`indrnn_speed_<backend>_gpu.{json,md,png}` to `$OUT`; commit them into
`benchmarks/results/`, then set `AUTO_SCAN` (`_parallel_scan.py`) and the
kernel choice (`_kernel_choice.py`) from them.

Writes `benchmarks/results/indrnn_speed_<backend>.{json,md,png}`.

PyTorch options for the recurrence, measured for the torch fused path
(`keras_rnninit/layers/_fused_torch.py`, whose docstring has the details):
a `torch.autograd.Function` with a hand-written backward, its loops in C
compiled on first use (`_torch_cpu_kernel`: the one used on a CPU; 3 ms
forward, 5 ms backward for one layer at T=784, batch 50, 128 units, one
thread), or over eager loops of in-place torch ops (used where the C kernel
cannot be built, and on a GPU; 9 ms forward, 15 ms backward at T=1000, on a
quiet 2-core CPU); autograd through the
same eager loop (no custom backward); TorchScript (`torch.jit.script`) of
the loops, inside the same `autograd.Function` and with TorchScript's own
autodiff; `torch.compile` of chunks of steps (fast once compiled, but 20-30
s of compilation for every shape and option). See `_fused_torch` for the
figures of each.
"""

import argparse
import contextlib
import gc
import os
import sys
import tempfile
import time

import numpy as np


def _device_flag(argv):
    """The `--device` value in `argv`, read before any backend starts."""
    for i, arg in enumerate(argv):
        if arg.startswith("--device="):
            return arg.split("=", 1)[1]
        if arg == "--device" and i + 1 < len(argv):
            return argv[i + 1]
    return "cpu"


if _device_flag(sys.argv[1:]) != "gpu":
    # The CPU rows run on the CPU even where a GPU is present.
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    if os.environ.get("KERAS_BACKEND") == "jax":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")

import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

from keras_rnninit.layers import IndRNN  # noqa: E402
from keras_rnninit.layers import _parallel_scan  # noqa: E402
from keras_rnninit.layers import deep_indrnn  # noqa: E402

TARGETS = {"train": 8.0, "forward": 10.0, "share_of_ceiling": 0.7}
# The IndRNN rows of the scan tables, and on torch with --device gpu the
# kernel each runs (KERAS_RNNINIT_KERNEL): the sequential scan as the
# torch-op loops and as the Triton kernel.
INDRNN_KINDS = ("sequential", "triton", "parallel")
GPU_KERNELS = {"sequential": "loops", "triton": "triton"}
# --quick divides every length by this.
QUICK_FACTOR = 10


def _recurrent(kind, units, timesteps, return_sequences, name):
    """`kind`: "indrnn" (the scan `"auto"` picks), "sequential" or
    "parallel" (IndRNN with that scan), "triton" (the sequential scan, run
    by the Triton kernel: see `KERNELS`), "simple_rnn", "lstm" or "dense"
    (`Dense(relu)` on every step: no recurrence)."""
    if kind in ("indrnn", "sequential", "parallel", "triton"):
        scan = {"indrnn": "auto", "triton": "sequential"}.get(kind, kind)
        return IndRNN(units, timesteps=timesteps, use_fused=True, scan=scan,
                      return_sequences=return_sequences, name=name)
    if kind == "lstm":
        return keras.layers.LSTM(units, return_sequences=return_sequences,
                                 name=name)
    if kind == "dense":
        return _DenseSteps(units, return_sequences, name)
    return keras.layers.SimpleRNN(units, activation="relu",
                                  return_sequences=return_sequences, name=name)


class _DenseSteps:
    """`Dense(relu)` on every step, then the last step unless
    `return_sequences`: a recurrent layer with `u = 0`."""

    def __init__(self, units, return_sequences, name):
        self.dense = keras.layers.Dense(units, activation="relu", name=name)
        self.return_sequences = return_sequences

    def __call__(self, x):
        x = self.dense(x)
        if self.return_sequences:
            return x
        x = keras.layers.Cropping1D((x.shape[1] - 1, 0))(x)
        return keras.layers.Reshape((x.shape[-1],))(x)


def projections_model(timesteps, layers, units, batch, mnist=False):
    """The input projections `relu(h W + b)` of the layers above the first,
    alone, on `(T, units)` inputs (the first layer's output), then the same
    head: work IndRNN and SimpleRNN both do, which bounds any speed-up of the
    recurrence. (The first layer's projection is left out: over 1 or 2
    features IndRNN computes it inside its loop.)"""
    inputs = keras.Input((timesteps, units), batch_size=batch)
    x = inputs
    for _ in range(1, layers):
        x = keras.layers.Dense(units, activation="relu")(x)
        if mnist:
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.Dropout(0.1, noise_shape=(None, 1, units))(x)
    x = keras.layers.Cropping1D((timesteps - 1, 0))(x)
    x = keras.layers.Reshape((units,))(x)
    if mnist:
        model = keras.Model(
            inputs, keras.layers.Dense(10, activation="softmax")(x))
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
    """The paper's deep IndRNN, or the same stack with SimpleRNN (or Dense)
    layers."""
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
    """`(label, builder kwargs)` for every row of the main table."""
    rows = [
        ("1 layer, last state", dict(layers=1, timesteps=args.length)),
        ("1 layer, sequences + pooling",
         dict(layers=1, head="pool", timesteps=args.length)),
        ("Bidirectional, 1 layer",
         dict(layers=1, bidirectional=True, timesteps=args.length)),
    ]
    rows += [("2 layers (adding model)", dict(layers=2, timesteps=t))
             for t in args.timesteps]
    rows.append(("6 layers, batch norm (sequential MNIST)",
                 dict(layers=6, timesteps=args.mnist_length, mnist=True)))
    return rows


def scan_configurations(lengths):
    """`(label, builder kwargs)` of the parallel-scan rows."""
    return ([("1 layer, last state", dict(layers=1, timesteps=t))
             for t in lengths]
            + [("2 layers (adding model)", dict(layers=2, timesteps=t))
               for t in lengths])


def _data(args, timesteps, mnist, rng):
    if mnist:
        x = rng.uniform(0, 1, (args.batch, timesteps, 1)).astype("float32")
        y = rng.integers(0, 10, (args.batch,))
    else:
        x = rng.uniform(0, 1, (args.batch, timesteps, 2)).astype("float32")
        y = rng.uniform(0, 1, (args.batch, 1)).astype("float32")
    return x, y


def _build(kind, timesteps, mnist, args, spec):
    keras.utils.set_random_seed(0)
    if mnist:
        return mnist_model(kind, timesteps, spec["layers"], args.units,
                           args.batch)
    return adding_model(kind, timesteps, units=args.units, batch=args.batch,
                        **spec)


def _repeats(args, timesteps):
    return args.repeats if timesteps <= args.long_from else args.long_repeats


@contextlib.contextmanager
def _kernel(name):
    """`KERAS_RNNINIT_KERNEL=name` (torch's IndRNN kernel) while a model
    runs; `None` leaves the automatic choice."""
    before = os.environ.get("KERAS_RNNINIT_KERNEL")
    if name is not None:
        os.environ["KERAS_RNNINIT_KERNEL"] = name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("KERAS_RNNINIT_KERNEL", None)
        else:
            os.environ["KERAS_RNNINIT_KERNEL"] = before


def _time(models, inputs, y, repeats, kernels=None):
    """`{kind: (train seconds, forward seconds)}`, alternating the models;
    `kernels`: `{kind: KERAS_RNNINIT_KERNEL value}` while that kind runs."""
    order = list(models)
    kernels = kernels or {}

    def call(kind, method):
        with _kernel(kernels.get(kind)):
            return getattr(models[kind], method)(inputs[kind], *(
                (y,) if method == "train_on_batch" else ()))

    train = _results.time_interleaved(
        [lambda k=k: call(k, "train_on_batch") for k in order], repeats)
    forward = _results.time_interleaved(
        [lambda k=k: call(k, "predict_on_batch") for k in order], repeats)
    return {k: (tr, fw) for k, tr, fw in zip(order, train, forward)}


def _wall(row, start, timings):
    """Records the row's wall time, split into the calls (a round of every
    model's train step and forward, two warm-up rounds and the timed ones),
    which grow with the length and the rounds, and the rest (building,
    compiling, memory), for the `--quick` estimate of a full run."""
    per_round = sum(tr + fw for tr, fw in timings.values())
    row["wall_s"] = time.perf_counter() - start
    row["fixed_s"] = max(0.0,
                         row["wall_s"] - (2 + row["repeats"]) * per_round)
    row["per_round_s"] = per_round


def measure(label, spec, args):
    start = time.perf_counter()
    spec = dict(spec)
    mnist = spec.pop("mnist", False)
    timesteps = spec.pop("timesteps")
    rng = np.random.default_rng(0)
    x, y = _data(args, timesteps, mnist, rng)
    kinds = ["indrnn", "simple_rnn"] + (["dense"] if spec["layers"] > 1
                                        else [])
    models = {kind: _build(kind, timesteps, mnist, args, spec)
              for kind in kinds}
    inputs = {kind: x for kind in kinds}
    if spec["layers"] > 1:
        models["projection"] = projections_model(
            timesteps, spec["layers"], args.units, args.batch, mnist)
        inputs["projection"] = rng.uniform(
            0, 1, (args.batch, timesteps, args.units)).astype("float32")
    repeats = _repeats(args, timesteps)
    row = {"config": label, "layers": spec["layers"], "timesteps": timesteps,
           "batch": args.batch, "units": args.units, "repeats": repeats}
    timings = _time(models, inputs, y, repeats)
    for kind, (tr, fw) in timings.items():
        row[f"{kind}_train_ms"] = 1e3 * tr
        row[f"{kind}_forward_ms"] = 1e3 * fw
    for kind in ("indrnn", "simple_rnn"):
        row[f"{kind}_memory_mb"] = _results.train_step_memory_mb(
            models[kind], x, y)
    row["train_speedup"] = row["simple_rnn_train_ms"] / row["indrnn_train_ms"]
    # The best ratio any recurrence could reach: SimpleRNN against the
    # projections both models share; IndRNN's share of it; and the share
    # the model without recurrence (IndRNN's work with u = 0) reaches.
    if "projection" in models:
        row["train_ceiling"] = (row["simple_rnn_train_ms"]
                                / row["projection_train_ms"])
        row["share_of_ceiling"] = row["train_speedup"] / row["train_ceiling"]
        row["dense_share_of_ceiling"] = (row["projection_train_ms"]
                                         / row["dense_train_ms"])
    row["forward_speedup"] = (row["simple_rnn_forward_ms"]
                              / row["indrnn_forward_ms"])
    row["indrnn_train_us_per_step"] = 1e3 * row["indrnn_train_ms"] / timesteps
    row["indrnn_forward_us_per_step"] = (1e3 * row["indrnn_forward_ms"]
                                         / timesteps)
    row["scan"] = _scan_of(models["indrnn"])
    _wall(row, start, timings)
    return row


def _scan_of(model):
    """The scan the first IndRNN layer of `model` runs."""
    for layer in model.layers:
        layer = getattr(layer, "forward_layer", layer)
        if isinstance(layer, IndRNN):
            return layer._scan_path()
    return None


def measure_scans(label, spec, args, kinds, kernels=None):
    """One row: the train step and forward of each of `kinds` (`kernels`:
    see `_time`). The parallel scan is compared with what
    `scan="sequential"` runs by default: the Triton kernel where "triton"
    is among `kinds`, else the "sequential" row."""
    start = time.perf_counter()
    spec = dict(spec)
    timesteps = spec.pop("timesteps")
    x, y = _data(args, timesteps, False, np.random.default_rng(0))
    models = {kind: _build(kind, timesteps, False, args, spec)
              for kind in kinds}
    repeats = _repeats(args, timesteps)
    row = {"config": label, "layers": spec["layers"], "timesteps": timesteps,
           "batch": args.batch, "units": args.units, "repeats": repeats}
    timings = _time(models, {k: x for k in kinds}, y, repeats, kernels)
    for kind, (tr, fw) in timings.items():
        row[f"{kind}_train_ms"] = 1e3 * tr
        row[f"{kind}_forward_ms"] = 1e3 * fw
    default = "triton" if "triton" in kinds else "sequential"
    for metric in ("train", "forward"):
        row[f"parallel_{metric}_speedup"] = (row[f"{default}_{metric}_ms"]
                                             / row[f"parallel_{metric}_ms"])
        if "triton" in kinds:
            row[f"triton_{metric}_vs_loops"] = (row[f"sequential_{metric}_ms"]
                                                / row[f"triton_{metric}_ms"])
        if "lstm" in kinds:
            for scan in INDRNN_KINDS:
                if scan in kinds:
                    row[f"{scan}_{metric}_vs_lstm"] = (
                        row[f"lstm_{metric}_ms"] / row[f"{scan}_{metric}_ms"])
    row["faster_train"] = ("parallel" if row["parallel_train_speedup"] > 1
                           else "sequential")
    _wall(row, start, timings)
    return row


def _torch_kernel_note(backend):
    """Which loops the torch fused path ran: the compiled C kernel or, where
    it could not be built, the torch ops."""
    if backend != "torch":
        return ""
    from keras_rnninit.layers import _torch_cpu_kernel

    if _torch_cpu_kernel.available():
        return ("; on the CPU its recurrence runs the compiled C loops "
                "(`_torch_cpu_kernel`)")
    return ("; its recurrence runs the torch-op loops (the C kernel could "
            "not be built here)")


def _parse(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Without --quick, every row at its full length: 3 to 7 "
               "minutes a backend on a quiet 2-core CPU (JAX 3.3, TensorFlow "
               "4.1, torch 6.0 min when last measured); --quick prints the "
               "estimate for this machine.")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                        help="cpu: the rows above on the CPU (a GPU, if any, "
                             "is hidden); gpu: IndRNN's paths against cuDNN "
                             "LSTM and SimpleRNN on the GPU (default: "
                             "%(default)s)")
    parser.add_argument("--length", type=int, default=1000,
                        help="sequence length of the 1-layer rows "
                             "(default: %(default)s)")
    parser.add_argument("--timesteps", default="100,1000,5000",
                        help="sequence lengths of the 2-layer rows "
                             "(default: %(default)s)")
    parser.add_argument("--mnist-length", type=int, default=784,
                        help="sequence length of the 6-layer row "
                             "(default: %(default)s)")
    parser.add_argument("--scan-timesteps", default="100,1000,5000",
                        help="sequence lengths of the parallel-scan rows "
                             "(default: %(default)s)")
    parser.add_argument("--gpu-timesteps", default="256,512,1024,2000,5000",
                        help="sequence lengths of the --device gpu rows "
                             "(default: %(default)s)")
    parser.add_argument("--units", type=int, default=None,
                        help="units of every recurrent layer (default: 128; "
                             "512 with --device gpu)")
    parser.add_argument("--batch", type=int, default=None,
                        help="batch size (default: 50; 128 with --device gpu)")
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed rounds; medians are reported "
                             "(default: %(default)s)")
    parser.add_argument("--long-repeats", type=int, default=3,
                        help="rounds when T > 1000 (default: %(default)s)")
    parser.add_argument("--only", default=None,
                        help="run only the rows whose label contains this")
    parser.add_argument("--no-scans", action="store_true",
                        help="leave out the parallel-scan rows (CPU mode)")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="with --device gpu: run that plan on whatever "
                             "device the backend has, to check it")
    parser.add_argument("--quick", action="store_true",
                        help="every row at a tenth of its length, one round, "
                             "files in a temporary folder: checks the script "
                             "end to end and estimates the full run's time")
    args = parser.parse_args(argv)
    gpu = args.device == "gpu"
    for name in ("units", "batch", "length", "mnist_length", "repeats",
                 "long_repeats"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, "
                         f"got {value}")
    args.units = args.units or (512 if gpu else 128)
    args.batch = args.batch or (128 if gpu else 50)
    for name in ("timesteps", "scan_timesteps", "gpu_timesteps"):
        text = getattr(args, name)
        try:
            lengths = [int(t) for t in text.split(",")]
        except ValueError:
            lengths = [0]
        if min(lengths) < 1:
            parser.error(f"--{name.replace('_', '-')} must be lengths "
                         f"separated by commas, got {text!r}")
        setattr(args, name, lengths)
    # The full run's settings, for the --quick estimate.
    args.full = {"repeats": args.repeats, "long_repeats": args.long_repeats}
    args.long_from = 1000
    if args.quick:
        args.repeats = args.long_repeats = 1
        args.long_from //= QUICK_FACTOR
        for name in ("length", "mnist_length"):
            setattr(args, name, max(2, getattr(args, name) // QUICK_FACTOR))
        for name in ("timesteps", "scan_timesteps", "gpu_timesteps"):
            setattr(args, name, [max(2, t // QUICK_FACTOR)
                                 for t in getattr(args, name)])
    return args


def _run(configs, measure_row, args):
    rows = []
    for label, spec in configs:
        if args.only and args.only not in label:
            continue
        rows.append(measure_row(label, spec))
        # The models of a row are dropped before the next: on torch the
        # full run otherwise grew past 24 GB by the last scan row (14 GB
        # alone).
        keras.backend.clear_session()
        gc.collect()
    return rows


def main(argv=None):
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.quick:
        # Quick files are checks, not results.
        _results.RESULTS_DIR = os.environ.get("BENCHMARK_RESULTS_DIR") or (
            os.path.join(tempfile.gettempdir(), "indrnn_speed_quick"))
    if args.device == "gpu":
        return main_gpu(args)
    backend = keras.backend.backend()
    start = time.perf_counter()
    rows = _run(configurations(args),
                lambda label, spec: _print_row(measure(label, spec, args)),
                args)
    scan_rows = [] if args.no_scans else _run(
        scan_configurations(args.scan_timesteps),
        lambda label, spec: _print_scan_row(measure_scans(
            label, spec, args, ["sequential", "parallel"])),
        args)
    table = _results.markdown_table(rows, [
        ("config", "model", "s"), ("timesteps", "T", "d"),
        ("indrnn_train_ms", "IndRNN train (ms)", ".1f"),
        ("simple_rnn_train_ms", "SimpleRNN train (ms)", ".1f"),
        ("train_speedup", "train x", ".1f"),
        ("projection_train_ms", "upper projections alone train (ms)", ".1f"),
        ("train_ceiling", "ceiling x", ".1f"),
        ("share_of_ceiling", "share of ceiling", ".0%"),
        ("dense_train_ms", "no recurrence train (ms)", ".1f"),
        ("dense_share_of_ceiling", "no recurrence share of ceiling", ".0%"),
        ("indrnn_forward_ms", "IndRNN forward (ms)", ".1f"),
        ("simple_rnn_forward_ms", "SimpleRNN forward (ms)", ".1f"),
        ("forward_speedup", "forward x", ".1f"),
        ("indrnn_train_us_per_step", "IndRNN train us/step", ".1f"),
        ("indrnn_memory_mb", "IndRNN train memory (MB)", ".0f"),
        ("simple_rnn_memory_mb", "SimpleRNN train memory (MB)", ".0f"),
    ])
    scan_table = _scan_table(scan_rows, ["sequential", "parallel"])
    targets = _target_lines(rows, args)
    auto = _auto_scan_lines(scan_rows, backend, "cpu")
    memory_note = {
        "jax": "temporary buffers of the compiled loss-and-gradient function "
               "(XLA memory analysis)",
        "tensorflow": "the CPU allocator's peak during one `train_on_batch`, "
                      "above what was allocated before it",
    }.get(backend, "not measured on this backend")
    notes = (
        f"Batch {args.batch}, {args.units} units, Adam. Adding rows: 2 input "
        "features, `Dense(1)`, MSE. MNIST row: `deep_indrnn((T, 1), "
        "num_classes=10)` (6 IndRNN layers, batch norm and dropout 0.1 after "
        "each) against the same stack of `SimpleRNN(relu)` layers. IndRNN "
        "layers run the fused path (`use_fused=True`) with the scan "
        "`scan=\"auto\"` picks here "
        f"({_parallel_scan.auto_scan()}){_torch_kernel_note(backend)}. "
        "Each figure is the median of "
        f"{args.repeats} rounds ({args.long_repeats} when T > "
        f"{args.long_from}) that alternate the models, after two warm-up "
        "calls; the CPU may have been shared with other work, so the ratios "
        "are more reliable than the times. Memory: " + memory_note + ". One "
        f"(T, batch, units) float32 tensor at T=1000 is "
        f"{1000 * args.batch * args.units * 4 / 2**20:.0f} MB.\n\n"
        "Upper projections alone: the input projections `relu(h W + b)` of "
        "the layers above the first (`Dense` over every step, with the same "
        "batch norm and dropout in the MNIST row) and the head, on inputs "
        "shaped like the first layer's output, no recurrence. IndRNN and "
        "SimpleRNN both compute these matmuls and their gradients, so "
        "SimpleRNN's time over theirs (ceiling x) bounds the speed-up any "
        "recurrence could reach on this CPU; share of ceiling is IndRNN's "
        "speed-up over that bound. No recurrence: the same model with "
        "`Dense(relu)` in place of every recurrent layer, which is IndRNN "
        "with `u = 0`: it also computes the first layer and the input "
        "gradient of the second layer's projection (one more matmul, which "
        "the upper projections alone do not need), so its share of the "
        "ceiling bounds what any IndRNN implementation can reach.\n\n"
        "Targets:\n\n" + "\n".join(f"- {line}" for line in targets) + "\n\n"
        "Time per step flat from T=100 to T=5000; forward "
        f">= {TARGETS['forward']:g}x (one layer)."
    )
    scan_section = (
        "## Parallel scan\n\n"
        "`IndRNN(scan=\"parallel\")`, the exact associative scan "
        "(`keras.ops.associative_scan`, depth O(log T)), against "
        "`scan=\"sequential\"`, the fused loop, on the same model (adding "
        "shapes, 1 layer returning its last state and 2 layers); parallel x "
        "is the sequential time over the parallel one (above 1: the scan is "
        "faster). `scan=\"auto\"` picks, per backend and device kind, the "
        "faster one in these files (`AUTO_SCAN` in "
        "`keras_rnninit/layers/_parallel_scan.py`). "
        + " ".join(auto) + "\n\n" + scan_table
    ) if scan_rows else ""
    suffix = "_quick" if args.quick else ""
    name = f"indrnn_speed_{backend}{suffix}"
    payload = {"settings": _settings(args), "targets": TARGETS, "rows": rows,
               "scan_rows": scan_rows}
    paths = _results.write(name, payload, (table + "\n\n" + scan_section).strip(),
                           f"IndRNN vs SimpleRNN(relu) ({backend}, CPU)",
                           notes)
    _plot(rows, scan_rows, name, backend)
    print(table)
    print(scan_table)
    print("\n".join(targets + auto))
    _print_estimate(rows + scan_rows, args, time.perf_counter() - start)
    print("wrote", *paths)


def _settings(args):
    settings = dict(vars(args))
    settings.pop("full")
    return settings


def _target_lines(rows, args):
    """One line per target: the figure, the target, met or not."""
    def find(label, timesteps=None):
        for row in rows:
            if row["config"].startswith(label) and (
                    timesteps is None or row["timesteps"] == timesteps):
                return row
        return None

    checks = [
        (find("1 layer, last state"), "train_speedup", TARGETS["train"],
         "one layer, last state: training step {value:.1f}x SimpleRNN(relu) "
         "(target >= {target:g}x)"),
        (find("2 layers", 1000 // (QUICK_FACTOR if args.quick else 1)),
         "share_of_ceiling", TARGETS["share_of_ceiling"],
         "2 layers: training step at {value:.0%} of its ceiling "
         "(target >= {target:.0%})"),
        (find("6 layers"), "share_of_ceiling", TARGETS["share_of_ceiling"],
         "6 layers + batch norm: training step at {value:.0%} of its "
         "ceiling (target >= {target:.0%})"),
    ]
    lines = []
    for row, key, target, text in checks:
        if row is None:
            continue
        value = row[key]
        verdict = "met" if value >= target else "not met"
        bound = row.get("dense_share_of_ceiling")
        if key == "share_of_ceiling" and bound is not None and value < target:
            # The same model without recurrence bounds any IndRNN.
            verdict += (f" (the model without recurrence: {bound:.0%}"
                        + (", below IndRNN: the recurrence costs less than "
                           "the run-to-run noise)" if bound <= value else ")"))
        lines.append(f"T={row['timesteps']}: "
                     + text.format(value=value, target=target)
                     + f": {verdict}")
    if args.quick and lines:
        lines.append("(--quick: at a tenth of the lengths and one round, an "
                     "indication only)")
    return lines


def _auto_scan_lines(scan_rows, backend, device):
    """Whether `AUTO_SCAN` picks the scan these rows show faster."""
    if not scan_rows:
        return []
    picked = _parallel_scan.AUTO_SCAN.get((backend, device), "sequential")
    faster = sorted({row["faster_train"] for row in scan_rows})
    if faster == [picked]:
        return [f"`AUTO_SCAN[({backend!r}, {device!r})]` is {picked!r}, the "
                "faster training step at every length here."]
    return [f"`AUTO_SCAN[({backend!r}, {device!r})]` is {picked!r}; these "
            "rows show " + ", ".join(
                f"{row['faster_train']} faster at T={row['timesteps']} "
                f"({row['config']})" for row in scan_rows)
            + ": update the table if a run on a quiet machine confirms it."]


def _print_estimate(rows, args, elapsed):
    """With --quick: how long the full run would take here (the timed calls
    scaled by length and rounds, the rest as measured)."""
    if not args.quick:
        print(f"took {elapsed / 60:.1f} min")
        return
    total = 0.0
    for row in rows:
        long = row["timesteps"] * QUICK_FACTOR > 1000
        full_rounds = args.full["long_repeats" if long else "repeats"]
        total += (row["fixed_s"] + (2 + full_rounds) * row["per_round_s"]
                  * QUICK_FACTOR)
    print(f"quick run took {elapsed / 60:.1f} min; the full run would take "
          f"about {total / 60:.0f} min on this machine at its present load")


def _print_row(row):
    print(f"{row['config']:40s} T={row['timesteps']:5d} train "
          f"{row['indrnn_train_ms']:8.1f} vs {row['simple_rnn_train_ms']:8.1f}"
          f" ms ({row['train_speedup']:.1f}x), forward "
          f"{row['indrnn_forward_ms']:7.1f} vs "
          f"{row['simple_rnn_forward_ms']:7.1f} ms "
          f"({row['forward_speedup']:.1f}x)"
          + ("" if row.get("share_of_ceiling") is None else
             f", {row['share_of_ceiling']:.0%} of ceiling")
          + f" [{row['wall_s']:.0f} s]", flush=True)
    return row


def _print_scan_row(row):
    kinds = [k for k in INDRNN_KINDS + ("lstm", "simple_rnn")
             if f"{k}_train_ms" in row]
    print(f"scan: {row['config']:28s} T={row['timesteps']:5d} train "
          + " ".join(f"{k} {row[f'{k}_train_ms']:.1f}" for k in kinds)
          + " ms, forward "
          + " ".join(f"{k} {row[f'{k}_forward_ms']:.1f}" for k in kinds)
          + f" ms [{row['wall_s']:.0f} s]", flush=True)
    return row


def _scan_table(rows, kinds):
    columns = [("config", "model", "s"), ("timesteps", "T", "d")]
    for metric in ("train", "forward"):
        columns += [(f"{kind}_{metric}_ms", f"{kind} {metric} (ms)", ".1f")
                    for kind in kinds]
        columns.append((f"parallel_{metric}_speedup", f"parallel x {metric}",
                        ".2f"))
        if "triton" in kinds:
            columns.append((f"triton_{metric}_vs_loops",
                            f"triton vs loops {metric} x", ".1f"))
        if "lstm" in kinds:
            columns += [(f"{scan}_{metric}_vs_lstm",
                         f"{scan} vs LSTM {metric} x", ".1f")
                        for scan in INDRNN_KINDS if scan in kinds]
    return _results.markdown_table(rows, columns)


def gpu_kinds(backend, device):
    """The models of the --device gpu rows, and the note on the Triton
    kernel (torch): measured, or why not."""
    kinds = ["sequential", "parallel", "lstm", "simple_rnn"]
    if backend != "torch":
        return kinds, ""
    from keras_rnninit.layers import _kernel_choice

    module = _kernel_choice.triton_module()
    if module is None:
        return kinds, " The Triton kernel was not measured: Triton is missing."
    if device != "gpu" and not module.INTERPRETED:
        return kinds, (" The Triton kernel was not measured: on a CPU it "
                       "needs TRITON_INTERPRET=1.")
    return kinds[:1] + ["triton"] + kinds[1:], ""


def main_gpu(args):
    """IndRNN's fused paths against cuDNN LSTM and SimpleRNN, on the GPU."""
    backend = keras.backend.backend()
    device = _parallel_scan.device_kind()
    if device != "gpu" and not args.allow_cpu:
        sys.exit(f"indrnn_speed.py: --device gpu: the {backend} backend sees "
                 f"no GPU (it runs on {device}); nothing was measured "
                 "(--allow-cpu checks this mode on the CPU).")
    start = time.perf_counter()
    configs = [(label, dict(spec, timesteps=t))
               for label, spec in (("1 layer, last state", dict(layers=1)),
                                   ("2 layers (adding model)",
                                    dict(layers=2)))
               for t in args.gpu_timesteps]
    kinds, triton_note = gpu_kinds(backend, device)
    kernels = GPU_KERNELS if backend == "torch" else None

    def measure_row(label, spec):
        row = measure_scans(label, spec, args, kinds, kernels)
        row["device"] = device
        return _print_scan_row(row)

    rows = _run(configs, measure_row, args)
    table = _scan_table(rows, kinds)
    auto = _auto_scan_lines(rows, backend, device)
    sequential = (
        "`scan=\"sequential\"` run as the torch-op loops "
        "(`KERAS_RNNINIT_KERNEL=loops`, sequential) and as the Triton kernel "
        "(`KERAS_RNNINIT_KERNEL=triton`, triton), "
        if backend == "torch" else
        "`scan=\"sequential\"` (the fused loop, sequential), ")
    notes = (
        f"Device: {device} ({_device_name(backend)}). Batch {args.batch}, "
        f"{args.units} units, Adam, adding shapes (2 input features, "
        "`Dense(1)`, MSE), 1 layer returning its last state and 2 layers. "
        "train: one `train_on_batch` (forward, backward and the Adam "
        "update); forward: one `predict_on_batch`. IndRNN with "
        + sequential +
        "and `scan=\"parallel\"` (the exact associative scan, parallel), "
        "against `keras.layers.LSTM` with its defaults (cuDNN on a GPU) and "
        "`keras.layers.SimpleRNN(activation=\"relu\")`." + triton_note + " "
        f"Medians of {args.repeats} rounds ({args.long_repeats} when "
        f"T > {args.long_from}) that alternate the models, after two warm-up "
        "calls. parallel x: the time of what `scan=\"sequential\"` runs by "
        "default (the Triton kernel on torch) over the parallel scan's; "
        "triton vs loops: loops time over Triton time; vs LSTM: LSTM time "
        "over IndRNN time. `scan=\"auto\"` reads the faster scan from these "
        "rows (`AUTO_SCAN` in `keras_rnninit/layers/_parallel_scan.py`). "
        + " ".join(auto)
    )
    suffix = "" if device == "gpu" else f"_checked_on_{device}"
    name = f"indrnn_speed_{backend}_gpu{suffix}" + (
        "_quick" if args.quick else "")
    payload = {"settings": _settings(args), "device": device, "kinds": kinds,
               "rows": rows}
    paths = _results.write(
        name, payload, table,
        f"IndRNN vs cuDNN LSTM and SimpleRNN ({backend}, {device})", notes)
    _plot_gpu(rows, name, backend, device, kinds)
    print(table)
    print("\n".join(auto))
    _print_estimate(rows, args, time.perf_counter() - start)
    print("wrote", *paths)


def _device_name(backend):
    """The accelerator's name, for the notes."""
    try:
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return torch.cuda.get_device_name(0)
            return "cpu"
        if backend == "jax":
            import jax

            return jax.devices()[0].device_kind
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.config.experimental.get_device_details(gpus[0]).get(
                "device_name", "GPU")
        return "cpu"
    except Exception:  # a name is only a note
        return "unknown"


def _figure(width):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure

    return matplotlib.figure.Figure(figsize=(width, 4))


def _plot(rows, scan_rows, name, backend):
    fig = _figure(16 if scan_rows else 11)
    axes = fig.subplots(1, 3 if scan_rows else 2)
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
    if scan_rows:
        _plot_scans(axes[2], scan_rows, ["sequential", "parallel"],
                    f"scans, train step, {backend}")
    fig.tight_layout()
    fig.savefig(os.path.join(_results.RESULTS_DIR, name + ".png"), dpi=100)


def _plot_scans(ax, rows, kinds, title):
    for config in dict.fromkeys(r["config"] for r in rows):
        mine = [r for r in rows if r["config"] == config]
        for kind, style in zip(kinds, ("-o", "--s", ":^", "-.v", "-x")):
            ax.plot([r["timesteps"] for r in mine],
                    [r[f"{kind}_train_ms"] for r in mine], style,
                    label=f"{kind}, {config}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("T")
    ax.set_ylabel("train step (ms)")
    ax.set_title(title)
    ax.legend(fontsize=7)


def _plot_gpu(rows, name, backend, device, kinds):
    fig = _figure(6)
    _plot_scans(fig.subplots(1, 1), rows, kinds,
                f"train step, {backend}, {device}")
    fig.tight_layout()
    fig.savefig(os.path.join(_results.RESULTS_DIR, name + ".png"), dpi=100)


if __name__ == "__main__":
    main()
