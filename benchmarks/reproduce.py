"""Reruns the papers' claims that fit a CPU, resumably, and judges each one.

    KERAS_BACKEND=jax python benchmarks/reproduce.py --jobs 2       # everything
    python benchmarks/reproduce.py --only adding_T1000,np_fixed      # some
    python benchmarks/reproduce.py --summary                         # report only
    python benchmarks/reproduce.py --quick                           # smoke run
    python benchmarks/reproduce.py --paper-scale --mnist-path mnist.npz  # GPU/TPU

Experiments (names for `--only`):

- `adding_T100`, `adding_T500`, `adding_T1000`: the IndRNN paper's adding
  problem (Li et al. 2018, arXiv 1803.04831, Fig. 2). IndRNN (2 x 128),
  IRNN, np-RNN, LSTM and tanh RNN, Adam with clip norm 1, through the
  study tool (`tuning.study_families`): at T = 100 a sweep of 3 learning
  rates x 3 seeds; at T = 500 and 1000 each family at its best rate of the
  committed T = 200 sensitivity sweep, 4 seeds, one study (and one unit,
  `adding_T1000/lstm`) per family. The claim: IndRNN converges at
  T = 1000 where IRNN and LSTM fail.
- `np_fixed`: the np-RNN paper's comparison at one fixed setting (Talathi
  and Vartak 2015, arXiv 1511.03771): IRNN, iRNN, np-RNN, np-tanhRNN and
  LSTM on the adding and multiplication problems at T = 100, 200, 400.
- `clockwork_generation`: the Clockwork RNN's sequence generation (Koutnik
  et al. 2014, arXiv 1402.3511), from `clockwork_generation.py`'s results
  (run only when they are missing).
- `mnist`: sequential MNIST (6-layer IndRNN, IRNN, np-RNN, LSTM) and
  permuted MNIST (IndRNN), an equal wall-clock budget each; needs
  `--mnist-path` (there is no download).

Every experiment is resumable: each study keeps every (configuration, seed)
trial with its validation curve, a finished experiment is skipped, and an
interrupted run continues where it stopped. The CPU plan takes under two
hours on a 2-core CPU with `--jobs 2` (JAX, the fastest backend here, is
the default); the budgets, with their reasons, are in
`_reproduction_plan.py`. Writes `benchmarks/results/reproduction.{json,md}`
and `reproduction_*.png` (or under `BENCHMARK_RESULTS_DIR`); the studies go
to `results/reproduction/`. `--quick` writes `reproduction_quick*` and
`--paper-scale` (the papers' settings: T up to 5000, 60K steps with the
learning rate divided by 10 every 20K, hours of MNIST; for a GPU or TPU)
`reproduction_paper*`.
"""

import argparse
import dataclasses
import json
import os
import sys
import time

if "--paper-scale" not in sys.argv:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("KERAS_BACKEND", "jax")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from keras_rnninit import _interrupts  # noqa: E402
from keras_rnninit import _quiet  # noqa: E402

_quiet.import_tensorflow()

import _reproduction_clockwork as clockwork  # noqa: E402
import _reproduction_mnist as mnist  # noqa: E402
import _reproduction_plan as plans  # noqa: E402
import _reproduction_report as report  # noqa: E402
import _reproduction_studies as studies  # noqa: E402
import _results  # noqa: E402


@dataclasses.dataclass
class Unit:
    """One resumable piece of an experiment, run in a process of its own.

    Args:
        name: e.g. `adding_T100`, `np_fixed/adding_T200`, `mnist/indrnn`.
        experiment: the `--only` name it belongs to.
        estimate: seconds if every trial ran its whole budget.
        run: `log -> None`, runs or resumes it.
        done: `() -> float`, the fraction finished (1.0: complete).
        trial_seconds: `() -> float or None`, time its stored runs took.
    """

    name: str
    experiment: str
    estimate: float
    run: object
    done: object
    trial_seconds: object = lambda: None


def _study_unit(plan, name, experiment, directory, task, length, families,
                steps, grid):
    planned = studies.planned(families, grid, plan)

    def done():
        if studies.is_complete(directory, families, steps, grid, plan):
            return 1.0
        _, records = studies.read(directory)
        return min(0.99, sum(r["status"] == "COMPLETED" for r in records) / planned)

    return Unit(
        name, experiment,
        plans.study_seconds(families, length, steps, grid[2] * plan.seeds),
        lambda log: studies.run(directory, task, length, families, steps, grid,
                                plan, log),
        done, lambda: report.trial_seconds(directory))


def make_units(plan, root, mnist_path):
    units = []
    for name, spec in plan.adding.items():
        study_plan = dataclasses.replace(plan, seeds=plans.adding_seeds(plan, name))
        for study, families, grid in plans.adding_studies(plan, name):
            units.append(_study_unit(
                study_plan, study, name, os.path.join(root, study), "adding",
                spec["length"], families, spec["steps"], grid))
    grid = (plan.np_learning_rate, plan.np_learning_rate, 1)
    for task in plans.NP_TASKS:
        for length in plan.np_lengths:
            key = f"{task}_T{length}"
            units.append(_study_unit(
                plan, f"np_fixed/{key}", "np_fixed",
                os.path.join(root, "np_fixed", key), task, length,
                plans.NP_FAMILIES, plan.np_steps, grid))

    def clockwork_seconds():
        data = clockwork.read(_results.RESULTS_DIR, plan.clockwork_name)
        if data is None:
            return None
        runs = list(data["runs"].values()) + list(data["sweeps"].values())
        return sum(r["seconds"] for r in runs)

    units.append(Unit(
        "clockwork_generation", "clockwork_generation",
        60 if plan.clockwork_args else 600,
        lambda log: clockwork.run(plan.clockwork_name, plan.clockwork_args, log),
        lambda: float(clockwork.read(_results.RESULTS_DIR, plan.clockwork_name)
                      is not None),
        clockwork_seconds))
    if mnist_path:
        for name in plans.MNIST_RUNS:
            directory = os.path.join(root, "mnist", name)
            units.append(Unit(
                f"mnist/{name}", "mnist", plans.mnist_seconds(plan),
                lambda log, d=directory, n=name: mnist.run(
                    d, n, mnist_path, plan.mnist, log=log),
                lambda d=directory: float(mnist.read(d) is not None),
                lambda d=directory: (mnist.read(d) or {}).get("seconds")))
    return units


def _plan(args):
    if args.quick:
        return plans.quick_plan(args.mnist_minutes)
    if args.paper_scale:
        return plans.paper_plan(args.mnist_minutes)
    return plans.cpu_plan(args.mnist_minutes or plans.MNIST_MINUTES)


def _child_command(args, unit):
    command = [sys.executable, os.path.abspath(__file__), "--unit", unit.name]
    command += ["--quick"] if args.quick else []
    command += ["--paper-scale"] if args.paper_scale else []
    if args.mnist_path:
        command += ["--mnist-path", args.mnist_path]
    if args.mnist_minutes:
        command += ["--mnist-minutes", repr(args.mnist_minutes)]
    return command


def _run_one(unit):
    """The `--unit` child: runs one unit, one line and exit 1 on a known error."""
    from keras_rnninit.tasks import DatasetUnavailableError
    from keras_rnninit.tuning import StudyError

    try:
        unit.run(lambda *a: print(*a, flush=True))
    except (StudyError, DatasetUnavailableError, ValueError) as e:
        print(f"error: {str(e).strip().splitlines()[0]}", flush=True)
        sys.exit(1)
    except KeyboardInterrupt as e:
        print("stopped; finished trials are kept", flush=True)
        sys.exit(143 if isinstance(e, _interrupts.Terminated) else 130)


class Progress:
    """Elapsed time and an estimate of the time left, after each unit.

    The estimate starts from the units' worst cases and is scaled by how
    long the units finished so far took against theirs.
    """

    def __init__(self, units, jobs):
        self.remaining = {u.name: u.estimate * (1 - u.done()) for u in units}
        self.total, self.jobs = len(units), jobs
        self.started = time.time()
        self.spent = self.expected = 0.0
        self.finished = 0

    def finish(self, unit, seconds, ok, running):
        self.finished += 1
        if ok and self.remaining[unit.name] > 0:
            self.spent += seconds
            self.expected += self.remaining[unit.name]
        estimate = self.remaining.pop(unit.name)
        return (f"[{self.finished}/{self.total}] {unit.name} "
                f"{'done' if ok else 'FAILED (rerun to resume it)'} in "
                f"{plans.format_minutes(seconds)} (at most "
                f"{plans.format_minutes(estimate)} estimated); "
                f"{plans.format_minutes(time.time() - self.started)} elapsed, "
                f"about {plans.format_minutes(self.left(running))} left")

    def left(self, running):
        """`running`: unit name -> seconds it has run so far."""
        scale = self.spent / self.expected if self.expected else 1.0
        items = [max(0.0, scale * v - running.get(k, 0.0))
                 for k, v in self.remaining.items()]
        return max([sum(items) / self.jobs] + items) if items else 0.0


def run_units(units, args, root):
    """Runs the units not yet complete, `args.jobs` at a time, longest first,
    each in a process of its own whose lines are prefixed by its name."""
    import subprocess
    import threading

    pending = []
    for unit in units:
        if unit.done() >= 1.0:
            print(f"{unit.name}: complete, not rerun", flush=True)
        else:
            pending.append(unit)
    if not pending:
        return 0, []
    progress = Progress(pending, args.jobs)
    pending.sort(key=lambda u: -progress.remaining[u.name])
    print(f"{len(pending)} unit(s) to run, {args.jobs} at a time: about "
          f"{plans.format_minutes(progress.left({}))} at most (every trial at "
          "its full budget)", flush=True)
    left_in = {}
    for unit in pending:
        left_in.setdefault(unit.experiment, set()).add(unit.name)
    experiment_start = {}
    running, failed = [], []

    def relay(name, process):
        for line in process.stdout:
            print(f"[{name}] {line}", end="", flush=True)

    try:
        while pending or running:
            while pending and len(running) < args.jobs:
                unit = pending.pop(0)
                experiment_start.setdefault(unit.experiment, time.time())
                process = subprocess.Popen(
                    _child_command(args, unit), stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True)
                thread = threading.Thread(target=relay, args=(unit.name, process))
                thread.start()
                running.append((unit, process, thread, time.time()))
            time.sleep(1)
            for entry in list(running):
                unit, process, thread, started = entry
                if process.poll() is None:
                    continue
                thread.join()
                running.remove(entry)
                seconds = time.time() - started
                ok = process.returncode == 0
                if not ok:
                    failed.append(unit.name)
                _record(root, unit.name, seconds)
                now = time.time()
                print("== " + progress.finish(
                    unit, seconds, ok, {u.name: now - t for u, _, _, t in running}),
                    flush=True)
                left_in[unit.experiment].discard(unit.name)
                if not left_in[unit.experiment]:
                    took = time.time() - experiment_start[unit.experiment]
                    print(f"== {unit.experiment} finished in "
                          f"{plans.format_minutes(took)}", flush=True)
    except KeyboardInterrupt:
        # The units stop at their next batch; finished trials are kept.
        for unit, process, thread, _ in running:
            process.terminate()
        for unit, process, thread, started in running:
            process.wait()
            thread.join()
            _record(root, unit.name, time.time() - started)
        sys.exit("interrupted: rerun the same command to resume")
    return progress.total, failed


def _runs(root, update=None):
    """`<root>/runs.json`: each unit's wall time summed over reruns, and the
    last full run; `update(runs)` changes it in place before it is saved."""
    path = os.path.join(root, "runs.json")
    runs = {}
    if os.path.exists(path):
        with open(path) as f:
            runs = json.load(f)
    if update is not None:
        update(runs)
        os.makedirs(root, exist_ok=True)
        with open(path, "w") as f:
            json.dump(runs, f, indent=1)
    return runs


def _record(root, name, seconds):
    def add(runs):
        entry = runs.setdefault(name, {"wall_seconds": 0.0, "runs": 0})
        entry["wall_seconds"] += seconds
        entry["runs"] += 1
    _runs(root, add)


def _record_run(root, seconds, jobs, units):
    import keras

    _runs(root, lambda runs: runs.update(_last_run={
        "wall_seconds": seconds, "jobs": jobs, "units": units,
        "backend": keras.backend.backend(), "cpus": os.cpu_count()}))


def _csv(text):
    return [name for name in text.split(",") if name]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_true",
                       help="smoke run: tiny lengths, a few steps, one seed "
                            "(results named reproduction_quick*)")
    scale.add_argument("--paper-scale", action="store_true",
                       help="the papers' settings, for a GPU or TPU: adding up to "
                            "T = 5000, 60K steps, lr / 10 every 20K, hours of "
                            "MNIST (results named reproduction_paper*)")
    parser.add_argument("--only", type=_csv, metavar="NAMES",
                        help="comma-separated experiments: "
                             + ", ".join(plans.EXPERIMENTS))
    parser.add_argument("--jobs", type=int, default=1,
                        help="units run at a time, each in its own process "
                             "(2 on a 2-core machine; default 1)")
    parser.add_argument("--summary", action="store_true",
                        help="rebuild the report from what finished; no training")
    parser.add_argument("--mnist-path", metavar="FILE",
                        help="an mnist.npz (Keras's format) or mnist.pkl.gz; "
                             "without it the MNIST experiment is not run")
    parser.add_argument("--mnist-minutes", type=float,
                        help=f"wall-clock budget per MNIST model (default "
                             f"{plans.MNIST_MINUTES}; 480 at paper scale)")
    parser.add_argument("--unit", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _interrupts.handle_signals()
    plan = _plan(args)
    root = os.path.join(_results.RESULTS_DIR, plan.name)
    units = make_units(plan, root, args.mnist_path)
    if args.unit:
        match = [u for u in units if u.name == args.unit]
        if not match:
            sys.exit(f"error: no unit {args.unit!r} in this plan")
        _run_one(match[0])
        return
    names = args.only or list(plan.experiments)
    unknown = [n for n in names if n not in plan.experiments]
    if unknown:
        hint = (" (only with --paper-scale)"
                if set(unknown) <= set(plans.PAPER_ONLY) else "")
        print(f"reproduce.py: error: unknown experiment "
              f"{', '.join(map(repr, unknown))}{hint}; choose from "
              f"{', '.join(plan.experiments)}", file=sys.stderr)
        sys.exit(2)
    if args.jobs < 1:
        print(f"reproduce.py: error: --jobs must be at least 1; received "
              f"{args.jobs}", file=sys.stderr)
        sys.exit(2)
    failed = []
    if not args.summary:
        if "mnist" in names and not args.mnist_path:
            print("mnist: not run: no MNIST data offline; pass --mnist-path FILE",
                  flush=True)
        started = time.time()
        selected = [u for u in units if u.experiment in names]
        ran, failed = run_units(selected, args, root)
        if ran and not failed and set(names) == set(plan.experiments):
            _record_run(root, time.time() - started, args.jobs, ran)
    paths = report.build(plan, root, units, args.mnist_path)
    print("wrote " + ", ".join(paths), flush=True)
    if failed:
        sys.exit(f"units that failed (rerun to resume them): {', '.join(failed)}")


if __name__ == "__main__":
    main()
