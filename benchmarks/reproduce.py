"""Reruns the papers' claims that fit a CPU, resumably, and judges each one.

    KERAS_BACKEND=jax python benchmarks/reproduce.py --jobs 2       # everything
    python benchmarks/reproduce.py --only adding_T1000,np_fixed      # some
    python benchmarks/reproduce.py --summary                         # report only
    python benchmarks/reproduce.py --quick                           # smoke run
    python benchmarks/reproduce.py --paper-scale --mnist-path mnist.npz  # GPU/TPU

Experiments (names for `--only`; a unit's name, e.g. `adding_T1000/irnn`,
also works):

- `adding_T100`, `adding_T500`, `adding_T1000`, `adding_T5000`: the IndRNN
  paper's adding problem (Li et al. 2018, arXiv 1803.04831, Fig. 2).
  IndRNN (2 x 128), IRNN, np-RNN, LSTM and tanh RNN, Adam with clip norm 1,
  through the study tool (`tuning.study_families`): at T = 100 a sweep of
  3 learning rates x 3 seeds; at T = 500 and 1000 every family at the same
  budget (2000 and 4000 steps, 4 seeds), one unit per family
  (`adding_T1000/lstm`) at its start rates; while most seeds did not
  learn at every rate a family tried, the next lower one runs, until one
  learns. IndRNN's rate at T = 5000 is its best at T = 500 (at T = 1000
  also 1e-3 and 3.16e-4). T = 5000: IndRNN, 3
  seeds, 4000 steps (IRNN only if the budget leaves time). The claim:
  IndRNN converges where IRNN and LSTM fail by T = 1000.
- `np_fixed`: the np-RNN paper's comparison at one fixed setting (Talathi
  and Vartak 2015, arXiv 1511.03771): IRNN, iRNN, np-RNN, np-tanhRNN (and
  LSTM) on the adding and multiplication problems at T = 100, 200, 400;
  a second row with each paper's optimizer (SGD) when the first leaves
  the claim open.
- `chrono_copy_T500`, `chrono_adding_T750`: chrono initialization (Tallec
  and Ollivier 2018, arXiv 1804.11188): the chrono LSTM against the usual
  one (forget bias 1), IndRNN and np-RNN as extra rows.
- `clockwork_generation`: the Clockwork RNN's sequence generation (Koutnik
  et al. 2014, arXiv 1402.3511), from `clockwork_generation.py`'s results
  (run only when they are missing), and its fair row at ~100 parameters.
- `mnist`: sequential MNIST (6-layer IndRNN, IRNN, np-RNN, LSTM) and
  permuted MNIST (IndRNN), an equal wall-clock budget each; needs
  `--mnist-path` (there is no download).
- `mnist_hours`: the 6-layer IndRNN on sequential MNIST for 3 hours of
  training, checkpointed every 10 minutes and resumed from there.

Every experiment is resumable across sessions: each study keeps every
(configuration, seed) trial with its validation curve, a finished unit is
skipped, and a run stopped (Ctrl-C, SIGTERM or SIGKILL of the orchestrator,
whose units then stop too) loses at most each running unit's current trial;
the same command resumes it. The units start in the plan's order, most
decisive and shortest first, each once the units it reads are complete;
progress, the time left and the plan's wall-time budget over every session
(`--budget-hours`, 6 h for the CPU plan on a 2-core CPU with `--jobs 2`)
are printed as units end, and a unit whose estimate is above what is left
says so before it starts. JAX, the fastest backend here, is the default;
the budgets, with their reasons, are in `_reproduction_plan.py`. Writes
`benchmarks/results/reproduction.{json,md}` and `reproduction_*.png` (or
under `BENCHMARK_RESULTS_DIR`); the studies go to `results/reproduction/`.
`--quick` writes `reproduction_quick*` and `--paper-scale` (the papers'
settings: T up to 5000, 60K steps with the learning rate divided by 10
every 20K, hours of MNIST; for a GPU or TPU) `reproduction_paper*`.
"""

import keras_rnninit_cli

if __name__ == "__main__":
    # First: a Ctrl-C in the seconds of the imports below ends the run at once.
    keras_rnninit_cli.stop_at_once()

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

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
        name: e.g. `adding_T100`, `adding_T1000/irnn`, `np_fixed/adding_T200`.
        experiment: the `--only` name it belongs to.
        estimate: seconds if every trial ran its whole budget.
        run: `log -> None`, runs or resumes it.
        done: `() -> float`, the fraction finished (1.0: complete).
        trial_seconds: `() -> float or None`, time its stored runs took.
        after: names of the units it waits for (it reads their results).
        optional: started only when its estimate fits in the time left.
        skip: `() -> str or None`, why it need not run (its `after` done).
    """

    name: str
    experiment: str
    estimate: float
    run: object
    done: object
    trial_seconds: object = lambda: None
    after: tuple = ()
    optional: bool = False
    skip: object = lambda: None


def _run_studies(plan, root, experiment, family, log):
    """Runs a family's chain of studies (or a sweep) until it asks for no
    more: each finished study may add the next lower rate."""
    while True:
        chain, done = studies.chain(plan, root, experiment, family)
        if done:
            return
        if not chain:
            raise ValueError(f"{experiment}/{family} takes its rate from a unit "
                             "that has not finished: run that one first")
        for study in chain:
            if not studies.is_complete(study):
                if len(chain) > 1 or "rates" in plan.studies[experiment]:
                    log(f"study {os.path.relpath(study.directory, root)} "
                        f"(lr {study.grid[0]:.3g})")
                studies.run(study, plan, log)


def _chain_done(plan, root, experiment, family):
    chain, done = studies.chain(plan, root, experiment, family)
    if done:
        return 1.0
    planned = sum(s.planned for s in chain) or 1
    return min(0.99, sum(studies.finished(s) for s in chain) / planned)


def _chain_seconds(plan, root, experiment, family):
    chain, _ = studies.chain(plan, root, experiment, family)
    return report.trial_seconds([s.directory for s in chain])


def make_units(plan, root, mnist_path):
    units = []
    for name, experiment, family in plans.study_units(plan):
        spec = plan.studies[experiment]
        families = (family,) if family else tuple(spec["families"])
        rates = len(spec["rates"][family]) if family else spec["grid"][2]
        # Its studies so far, the rates the rule added included.
        chain, _ = studies.chain(plan, root, experiment, family)
        rates = max(rates, sum(s.grid[2] for s in chain))
        estimate = plans.study_seconds(families, spec["length"], spec["steps"],
                                       rates * spec["seeds"], spec["task"])
        units.append(Unit(
            name, experiment, estimate,
            lambda log, e=experiment, f=family: _run_studies(plan, root, e, f, log),
            lambda e=experiment, f=family: _chain_done(plan, root, e, f),
            lambda e=experiment, f=family: _chain_seconds(plan, root, e, f),
            after=tuple(spec.get("after", {}).get(family, ())),
            optional=family in spec.get("optional", ())))
    adam_units = []
    for name, row, task, length, families in plans.np_studies(plan):
        study = report.np_study(plan, root, name, row, task, length, families)
        paper = row == "paper"
        if not paper:
            adam_units.append(name)
        units.append(Unit(
            name, "np_fixed", study.seconds(),
            lambda log, s=study: studies.run(s, plan, log),
            lambda s=study, p=paper: 1.0 if studies.is_complete(s) or (
                p and report.np_paper_needed(plan, root) and not
                studies.finished(s)) else min(
                0.99, studies.finished(s) / s.planned),
            lambda s=study: report.trial_seconds([s.directory]),
            after=tuple(n for n in adam_units if not n.startswith(
                "np_fixed/lstm/")) if paper else (),
            skip=(lambda: report.np_paper_needed(plan, root)) if paper
            else (lambda: None)))

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
    if plan.clockwork_fair:
        names = [clockwork.fair_name(plan.name, m) for m in plan.clockwork_fair]

        def run_fair(log):
            os.makedirs(root, exist_ok=True)
            for m, fair in zip(plan.clockwork_fair, names):
                if clockwork.read(_results.RESULTS_DIR, fair) is None:
                    clockwork.run(fair, plan.clockwork_fair_args
                                  + ("--num-modules", str(m)), log)

        def fair_seconds():
            data = [clockwork.read(_results.RESULTS_DIR, n) for n in names]
            runs = [r for d in data if d for r in
                    list(d["runs"].values()) + list(d["sweeps"].values())]
            return sum(r["seconds"] for r in runs) if runs else None

        units.append(Unit(
            "clockwork_fair", "clockwork_generation", 60 * len(names), run_fair,
            lambda: sum(clockwork.read(_results.RESULTS_DIR, n) is not None
                        for n in names) / len(names),
            fair_seconds, after=("clockwork_generation",)))
    mnist_experiments = [("mnist", plans.MNIST_RUNS, plan.mnist,
                          plans.mnist_seconds(plan), ())]
    if plan.mnist_hours:
        mnist_experiments.append(
            ("mnist_hours", plans.MNIST_HOURS_RUNS, plan.mnist_hours,
             plans.mnist_hours_seconds(plan), plans.MNIST_HOURS_OPTIONAL))
    for experiment, names, settings, seconds, optional in (
            mnist_experiments if mnist_path else ()):
        for name in names:
            directory = os.path.join(root, experiment, name)
            units.append(Unit(
                f"{experiment}/{name}", experiment, seconds,
                lambda log, d=directory, n=name, s=settings: mnist.run(
                    d, n, mnist_path, s, log=log),
                lambda d=directory, s=settings: mnist.fraction_done(d, s),
                lambda d=directory: (mnist.read(d) or {}).get("seconds"),
                optional=name in optional))
    rank = {name: i for i, name in enumerate(plan.order)}
    return sorted(units, key=lambda u: rank.get(u.name, len(rank)))


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
    from keras_rnninit.tuning import jobs as jobs_lib

    jobs_lib.start_job()  # its share of the cores, as its parent chose
    try:
        unit.run(lambda *a: print(*a, flush=True))
    except (StudyError, DatasetUnavailableError, ValueError) as e:
        print(f"error: {str(e).strip().splitlines()[0]}", flush=True)
        sys.exit(1)
    except KeyboardInterrupt as e:
        # The orchestrator says it, in one line for every unit.
        sys.exit(_interrupts.stop(e))


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

    @property
    def scale(self):
        return self.spent / self.expected if self.expected else 1.0

    def finish(self, unit, seconds, ok, running, budget):
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
                f"about {plans.format_minutes(self.left(running))} left"
                + budget.text())

    def drop(self, name):
        self.total -= 1
        self.remaining.pop(name, None)

    def left(self, running):
        """`running`: unit name -> seconds it has run so far."""
        items = [max(0.0, self.scale * v - running.get(k, 0.0))
                 for k, v in self.remaining.items()]
        return max([sum(items) / self.jobs] + items) if items else 0.0


class Budget:
    """The plan's wall-time budget over every session, kept in `runs.json`
    (`_budget.spent_seconds`, updated as each unit ends), so that a run
    resumed in another session knows what is left."""

    def __init__(self, root, hours, round_name=None):
        self.root, self.seconds = root, hours and 3600 * hours
        self.round = round_name
        stored = _runs(root).get("_budget", {})
        self.spent = (stored.get("spent_seconds", 0.0)
                      if stored.get("round") == round_name else 0.0)
        self.mark = time.time()

    def checkpoint(self):
        now = time.time()
        self.spent += now - self.mark
        self.mark = now
        entry = {"round": self.round, "hours": self.seconds and self.seconds / 3600,
                 "spent_seconds": self.spent}

        def update(runs):
            old = runs.get("_budget")
            if old and old.get("round") != self.round:
                runs.setdefault("_budget_rounds", []).append(old)
            runs["_budget"] = entry
        _runs(self.root, update)

    def left(self):
        if not self.seconds:
            return math.inf
        return self.seconds - self.spent - (time.time() - self.mark)

    def text(self):
        if not self.seconds:
            return ""
        return (f"; budget {plans.format_minutes(self.seconds)}, "
                f"{plans.format_minutes(self.spent + time.time() - self.mark)} "
                f"spent over every session, "
                f"{plans.format_minutes(max(0.0, self.left()))} left")


def _die_with_parent():
    """A unit's process ends (SIGTERM: its running trial is lost, the
    finished ones kept) when the orchestrator dies, even by SIGKILL, so
    that a resumed run never finds the unit still running beside it."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:  # not Linux: the orchestrator's own handler remains
        pass


def run_units(units, args, root, plan, every_unit=None):
    """Runs the units not yet complete, `args.jobs` at a time, in the plan's
    order (longest first without one), a unit only once the units it waits
    for are complete; each in a process of its own whose lines are
    prefixed by its name, with the share of the machine of one job of
    `rnninit-tune --jobs` (`jobs.choose(N).environment(slot)`: its threads,
    its cores or its GPU). `every_unit` (default `units`) is where a unit
    it waits for is looked up: one left out of `--only` may be complete."""
    import subprocess
    import threading

    from keras_rnninit.tuning import jobs as jobs_lib

    pending = []
    for unit in units:
        if unit.done() >= 1.0:
            print(f"{unit.name}: complete, not rerun", flush=True)
        else:
            pending.append(unit)
    if not pending:
        return 0, []
    progress = Progress(pending, args.jobs)
    if not plan.order:
        pending.sort(key=lambda u: -progress.remaining[u.name])
    budget = Budget(root, args.budget_hours or plan.budget_hours,
                    plan.budget_round)
    shares = jobs_lib.choose(args.jobs)
    free = list(range(args.jobs))
    print(f"{len(pending)} unit(s) to run, {shares}: about "
          f"{plans.format_minutes(progress.left({}))} at most (every trial at "
          "its full budget)" + budget.text(), flush=True)
    for unit in pending:
        print(f"  {unit.name}: at most "
              f"{plans.format_minutes(progress.remaining[unit.name])}"
              + (f", after {', '.join(unit.after)}" if unit.after else "")
              + (" (optional)" if unit.optional else ""), flush=True)
    left_in = {}
    for unit in pending:
        left_in.setdefault(unit.experiment, set()).add(unit.name)
    by_name = {u.name: u for u in every_unit or units}
    experiment_start = {}
    running, failed, finished_ok = [], [], set()

    def relay(name, process):
        for line in process.stdout:
            print(f"[{name}] {line}", end="", flush=True)

    def state(name):
        """"ready", "wait" or why the unit cannot start."""
        if name in finished_ok:
            return "ready"
        if name in failed:
            return f"{name} failed"
        if any(u.name == name for u in pending) or any(
                u.name == name for u, *_ in running):
            return "wait"
        other = by_name.get(name)
        if other is not None and other.done() >= 1.0:
            return "ready"
        return f"{name} is not complete (run it first: --only {name.split('/')[0]})"

    def end(unit, why):
        print(f"== {unit.name}: not started: {why}", flush=True)
        progress.drop(unit.name)
        left_in[unit.experiment].discard(unit.name)

    def next_unit():
        for unit in list(pending):
            states = [state(a) for a in unit.after]
            blocked = [s for s in states if s not in ("ready", "wait")]
            if blocked:
                pending.remove(unit)
                failed.append(unit.name)
                end(unit, "; ".join(blocked))
                continue
            if "wait" in states:
                continue
            pending.remove(unit)
            why = unit.skip()
            if why:
                end(unit, why)
                continue
            estimate = progress.scale * progress.remaining[unit.name]
            if estimate > budget.left():
                text = (f"its estimate, {plans.format_minutes(estimate)}, is "
                        f"above the {plans.format_minutes(max(0, budget.left()))} "
                        "left of the budget")
                if unit.optional:
                    end(unit, text + " (optional; --budget-hours to change)")
                    continue
                print(f"== {unit.name}: {text}; starting it anyway (it resumes "
                      "where it stops)", flush=True)
            return unit
        return None

    try:
        while pending or running:
            while free:
                unit = next_unit()
                if unit is None:
                    break
                slot = free.pop(0)
                experiment_start.setdefault(unit.experiment, time.time())
                print(f"== starting {unit.name} (at most "
                      f"{plans.format_minutes(progress.remaining[unit.name])})"
                      + budget.text(), flush=True)
                process = subprocess.Popen(
                    _child_command(args, unit), stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True,
                    env={**os.environ, **shares.environment(slot)},
                    preexec_fn=_die_with_parent)
                thread = threading.Thread(target=relay, args=(unit.name, process))
                thread.start()
                running.append((unit, process, thread, time.time(), slot))
            if not running and pending:
                for unit in list(pending):
                    pending.remove(unit)
                    failed.append(unit.name)
                    end(unit, "waits for a unit that cannot run")
                break
            time.sleep(1)
            if time.time() - budget.mark > 60:  # what a SIGKILL would lose
                budget.checkpoint()
            for entry in list(running):
                unit, process, thread, started, slot = entry
                if process.poll() is None:
                    continue
                thread.join()
                running.remove(entry)
                free.append(slot)
                seconds = time.time() - started
                ok = process.returncode == 0
                (finished_ok.add if ok else failed.append)(unit.name)
                _record(root, unit.name, seconds)
                budget.checkpoint()
                now = time.time()
                print("== " + progress.finish(
                    unit, seconds, ok, {u.name: now - t for u, _, _, t, _ in running},
                    budget), flush=True)
                left_in[unit.experiment].discard(unit.name)
                if not left_in[unit.experiment]:
                    took = time.time() - experiment_start[unit.experiment]
                    print(f"== {unit.experiment} finished in "
                          f"{plans.format_minutes(took)}", flush=True)
    except KeyboardInterrupt as interrupt:
        # The units stop at their next batch; finished trials are kept.
        waiting = (" (" + ", ".join(u.name for u, *_ in running)
                   + " stop at the end of their current step)") if running else ""
        code = _interrupts.stopped(
            interrupt, "reproduce.py", f"finished trials are kept{waiting}",
            "rerun the same command")
        for unit, process, thread, *_ in running:
            process.terminate()
        for unit, process, thread, started, _ in running:
            process.wait()
            thread.join()
            _record(root, unit.name, time.time() - started)
        budget.checkpoint()
        sys.exit(code)
    budget.checkpoint()
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
                        help="comma-separated experiments ("
                             + ", ".join(plans.cpu_plan().experiments)
                             + ") or units (adding_T1000/irnn)")
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
    parser.add_argument("--budget-hours", type=float,
                        help=f"wall time of the whole plan over every session "
                             f"(default {plans.BUDGET_HOURS:g} for the CPU plan): "
                             "a unit whose estimate is above what is left says "
                             "so, and an optional one is not started")
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
    unit_names = {u.name for u in units}
    unknown = [n for n in names if n not in plan.experiments
               and n not in unit_names]
    if unknown:
        hint = (" (only with --paper-scale)"
                if set(unknown) <= set(plans.PAPER_ONLY) else "")
        print(f"reproduce.py: error: unknown experiment "
              f"{', '.join(map(repr, unknown))}{hint}; choose from "
              f"{', '.join(plan.experiments)}", file=sys.stderr)
        sys.exit(2)
    missing = plans.check_families(plan)
    if missing:
        print("reproduce.py: error: " + "; ".join(missing), file=sys.stderr)
        sys.exit(2)
    if args.jobs < 1:
        print(f"reproduce.py: error: --jobs must be at least 1; received "
              f"{args.jobs}", file=sys.stderr)
        sys.exit(2)
    failed = []
    if not args.summary:
        for name in ("mnist", "mnist_hours"):
            if name in names and not args.mnist_path:
                print(f"{name}: not run: no MNIST data offline; pass "
                      "--mnist-path FILE", flush=True)
        started = time.time()
        selected = [u for u in units if u.experiment in names or u.name in names]
        ran, failed = run_units(selected, args, root, plan, units)
        if ran and not failed and set(names) == set(plan.experiments):
            _record_run(root, time.time() - started, args.jobs, ran)
    paths = report.build(plan, root, units, args.mnist_path)
    print("wrote " + ", ".join(paths), flush=True)
    if failed:
        sys.exit(f"units that failed (rerun to resume them): {', '.join(failed)}")


if __name__ == "__main__":
    main()
