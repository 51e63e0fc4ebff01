"""A whole study's wall time with `--jobs 1`, `--jobs 2`, `--jobs auto` and a
chief with workers started by hand, on this machine.

Each run is the README's main command (`rnninit-tune` with its defaults, or
`--quick`'s small study), in a fresh directory, timed from start to the exit
of its last process, with the CPU time of all its processes (which load
from other processes changes less); the kinds of run alternate (`--repeats`
rounds), so that load from other processes falls on all of them alike,
after one untimed run that fills the compilation cache for all of them.
Each run's wall time is split into its start (to the first trial), the
job-seconds without a trial, and its end (after the last trial). Every run's
per-trial values are compared with the first `--jobs 1` run's (they must be
equal), and each `--jobs` run's estimates of the time left are compared with
the time that was actually left.

    KERAS_BACKEND=jax python benchmarks/study_throughput.py --repeats 2
    KERAS_BACKEND=jax python benchmarks/study_throughput.py --quick  # a check

Writes `benchmarks/results/study_throughput_<backend>.{json,md,png}` (with
`--quick`, into its temporary directory).
"""

import argparse
import glob
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import keras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

from keras_rnninit.tuning.study import finished_results  # noqa: E402

# The README's main command is `rnninit-tune` with its defaults.
MAIN = []
QUICK = ["--families", "irnn,np-rnn", "--length", "20", "--learning-rates", "2",
         "--seeds", "2", "--steps", "1000", "--eval-every", "100"]
PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] .*about ([\d.]+) (s|min) left\)$")


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Run:
    """One process of a run, its standard output read as it comes."""

    def __init__(self, args, log):
        self.lines = []  # (seconds since start, line)
        self.started = time.monotonic()
        self.err = open(log, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "keras_rnninit.tuning", *args],
            stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))

    def wait(self):
        code = self.process.wait()
        self.reader.join()
        self.err.close()
        if code != 0:
            raise SystemExit(f"exit {code}; see {self.err.name}")
        return time.monotonic() - self.started


def _estimates(lines, total):
    """(trials done, estimated seconds left, seconds actually left) from the
    progress lines of a run that took `total` seconds."""
    out = []
    for at, line in lines:
        match = PROGRESS.match(line)
        if match:
            value = float(match.group(3)) * (60 if match.group(4) == "min" else 1)
            out.append((int(match.group(1)), value, total - at))
    return out


def _values(directory):
    return {(r["candidate"], r["config"], r["seed"]): (r["value"], r["curve"])
            for r in finished_results(directory)}


def _timeline(directory, started, ended, jobs):
    """Where a run's wall time went: `startup` (its start to the first
    trial's), `shutdown` (the last trial's end to its exit), and `idle`
    (job-seconds between the first trial's start and the last one's end in
    which a job ran no trial: waits for work, and the tail). A trial's
    start is its `result.json`'s time less its own total time."""
    spans = []
    for path in glob.glob(os.path.join(directory, "trials", "trial_*", "result.json")):
        with open(path) as f:
            total = json.load(f)["seconds"]["total"]
        end = os.path.getmtime(path)
        spans.append((end - total, end))
    if not spans:
        return {}
    first, last = min(a for a, _ in spans), max(b for _, b in spans)
    busy = sum(b - a for a, b in spans)
    return {"startup": first - started, "shutdown": ended - last,
            "idle": max(0.0, jobs * (last - first) - busy)}


def jobs_run(study, work, name, jobs):
    d = os.path.join(work, f"{name}_{time.monotonic_ns()}")
    started = time.time()
    run = Run(study + ["--jobs", jobs, "--directory", d],
              os.path.join(work, f"{name}.err"))
    seconds = run.wait()
    # Its first line says the choice, unless it runs in one process.
    first = run.lines[0][1] if run.lines else ""
    choice = first if " job" in first else "1 process"
    count = int(first.split()[0]) if " job" in first else 1
    return (seconds, d, choice, _estimates(run.lines, seconds),
            _timeline(d, started, time.time(), count))


def chief_and_workers(study, work, workers):
    d = os.path.join(work, f"chief_{time.monotonic_ns()}")
    port = _free_port()
    common = study + ["--directory", d, "--oracle-port", str(port)]
    runs = [Run(common + ["--tuner-id", "chief"], os.path.join(work, "chief.err"))]
    runs += [Run(common + ["--tuner-id", f"tuner{i}"],
                 os.path.join(work, f"tuner{i}.err")) for i in range(workers)]
    started, wall = runs[0].started, time.time() - (time.monotonic() - runs[0].started)
    for run in runs:
        run.wait()
    return (time.monotonic() - started, d,
            _timeline(d, wall, time.time(), workers))


def _cpu_seconds():
    """User and system CPU time of every process this one has waited for
    (a run's processes, and the jobs they waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def where_time_goes(summary, cores):
    """What keeps `--jobs 2` from the speed-up its CPU time allows: the
    trials' own slowdown side by side, its start, its idle jobs."""
    by = {s["run"]: s for s in summary}
    one, two = by.get("--jobs 1"), by.get("--jobs 2")
    if not one or not two or two.get("startup") is None:
        return ""
    alone = one["seconds"] - one["startup"] - one["shutdown"]
    busy = 2 * (two["seconds"] - two["startup"] - two["shutdown"]) - two["idle"]
    best = one["startup"] + one["shutdown"] + busy / 2
    return (
        f"Where the time goes (medians). In one process the trials took "
        f"{alone:.0f} s; side by side, --jobs 2's took {busy:.0f} job-seconds, "
        f"{busy / alone:.2f}x as long each (two one-thread trials on {cores} "
        f"cores against one trial on all of them, which keeps "
        f"{one['cpu_seconds'] / one['seconds']:.2f} cores busy). With --jobs "
        f"1's start and end and no job ever idle, --jobs 2 would take "
        f"{best:.0f} s, {one['seconds'] / best:.2f}x: that bounds it here. "
        f"Its own start took {two['startup'] - one['startup']:.0f} s longer "
        f"(the jobs start once the parent has checked the study, and import "
        f"the backend again) and its jobs sat {two['idle']:.0f} job-seconds "
        "without a trial.\n")


def write(payload):
    """Writes the JSON, Markdown and PNG of a run's `payload`."""
    study, cores, summary = payload["study"], payload["cores"], payload["summary"]
    rows, errors = payload["rows"], payload["estimates"]
    repeats = payload.get("repeats") or max(r["round"] for r in rows)
    load = payload["load_average_after"]
    command = " ".join(["rnninit-tune", *study]) or "rnninit-tune"
    table = _results.markdown_table(
        [{**s, "same_values": "yes" if s["same_values"] else "NO"} for s in summary],
        [("run", "run", ""), ("choice", "processes", ""),
         ("seconds", "wall time (s, median)", ".1f"),
         ("speedup", "speed-up over --jobs 1", ".2f"),
         ("cpu_seconds", "CPU time, all processes (s, median)", ".1f"),
         ("bound", "speed-up if that CPU time kept every core busy", ".2f"),
         ("startup", "to the first trial (s)", ".1f"),
         ("idle", "job-seconds without a trial (s)", ".1f"),
         ("shutdown", "after the last trial (s)", ".1f"),
         ("same_values", "per-trial values equal", "")])
    first = {label: next((e for e in rows_ if e["actual"] > 0), None)
             for label, rows_ in errors.items()}
    notes = (
        f"`KERAS_BACKEND={keras.backend.backend()} {command}` (its trials "
        f"{rows[0]['trials']}), {repeats} round(s) after an untimed warm-up, "
        f"kinds alternating, each timed from start to the exit of its last "
        f"process. Load average after the runs: {load[0]:.1f}.\n\n"
        + "".join(
            f"- {label}: after trial {e['done']} the estimate of the time left "
            f"was {e['estimated']:.0f} s, {e['actual']:.0f} s were left "
            f"({100 * e['error']:+.0f}%).\n"
            for label, e in first.items() if e is not None)
        + "\n" + where_time_goes(summary, cores)
    )
    paths = _results.write(f"study_throughput_{keras.backend.backend()}", payload,
                           table, "A study's wall time with --jobs", notes)
    png = _results.bar_chart(
        f"study_throughput_{keras.backend.backend()}",
        [s["run"] for s in summary], [s["seconds"] for s in summary],
        "wall time (s)",
        f"{command} on {cores} cores ({keras.backend.backend()})")
    print(table)
    print(notes)
    print(*paths, png)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds of the four kinds of run (default: 1)")
    parser.add_argument("--quick", action="store_true",
                        help="a small study instead of the main command, to "
                             "check the script; results in a temporary directory")
    parser.add_argument("--render", action="store_true",
                        help="rewrite the Markdown and PNG from the JSON "
                             "results, without running")
    args = parser.parse_args()
    if args.render:
        path = os.path.join(_results.RESULTS_DIR,
                            f"study_throughput_{keras.backend.backend()}.json")
        with open(path) as f:
            write(json.load(f))
        return
    study = QUICK if args.quick else MAIN
    work = tempfile.mkdtemp(prefix="rnninit_throughput_")
    if args.quick:
        _results.RESULTS_DIR = work
    cores = _cores()
    kinds = [("--jobs 1", "1"), ("--jobs 2", "2"), ("--jobs auto", "auto"),
             (f"chief + {cores} workers", None)]
    rows, reference, estimates = [], None, {}
    if not args.quick:
        # Untimed: every timed run then finds the compiled programs in the
        # backend's cache, not only the ones after the first.
        print("warm-up run (untimed)", flush=True)
        jobs_run(study, work, "warmup", "1")
    for round_ in range(args.repeats):
        for label, jobs in kinds:
            before = _cpu_seconds()
            if jobs is None:
                seconds, d, timeline = chief_and_workers(study, work, cores)
                choice = f"{cores + 1} processes"
            else:
                seconds, d, choice, trace, timeline = jobs_run(
                    study, work, label[2:].replace(" ", ""), jobs)
                if trace and round_ == 0:
                    estimates[label] = trace
            values = _values(d)
            if reference is None:
                reference = values
            rows.append({"run": label, "round": round_ + 1, "seconds": seconds,
                         "cpu_seconds": _cpu_seconds() - before,
                         "choice": choice, "trials": len(values),
                         "same_values": values == reference, **timeline})
            print(rows[-1], flush=True)
    medians = {label: statistics.median(r["seconds"] for r in rows
                                        if r["run"] == label) for label, _ in kinds}
    base = medians["--jobs 1"]
    def median(label, key):
        values = [r[key] for r in rows if r["run"] == label and key in r]
        return statistics.median(values) if values else None

    summary = [{"run": label, "seconds": medians[label],
                "speedup": base / medians[label],
                "cpu_seconds": median(label, "cpu_seconds"),
                # The speed-up if this run's CPU work kept every core busy
                # from its start to its end.
                "bound": base / (median(label, "cpu_seconds") / cores),
                **{key: median(label, key)
                   for key in ("startup", "idle", "shutdown")},
                "choice": next(r["choice"] for r in rows if r["run"] == label),
                "same_values": all(r["same_values"] for r in rows
                                   if r["run"] == label)}
               for label, _ in kinds]
    errors = {}
    for label, trace in estimates.items():
        errors[label] = [{"done": done, "estimated": est, "actual": actual,
                          "error": (est - actual) / actual if actual > 0 else None}
                         for done, est, actual in trace]
    payload = {"study": study, "cores": cores, "repeats": args.repeats,
               "rows": rows, "summary": summary, "estimates": errors,
               "load_average_after": os.getloadavg()}
    write(payload)
    print(f"logs and study directories in {work}")


if __name__ == "__main__":
    main()
