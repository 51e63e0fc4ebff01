"""Distributed studies on this machine: whether a chief and workers save
time, and how fast the processes notice each other's end.

1. The same `rnninit-tune` study (adding T=50, 8 trials) in one process and
   as a chief with 2 workers on loopback, alternating (`--repeats`), each
   timed from start to exit; in each distributed run, the delay from the last
   worker's exit to the chief's.
2. A fault run of a chief and 2 workers: a worker killed (SIGKILL) in the
   middle of a trial, and the time until the chief says it is gone and hands
   its trial on; then the chief killed while the other worker trains, and
   the time until that worker has stopped with its one line.

    KERAS_BACKEND=tensorflow python benchmarks/distributed.py

Writes `benchmarks/results/distributed_<backend>.{json,md,png}`.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import keras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

STUDY = [
    "--task", "adding", "--length", "50", "--num-train", "1000",
    "--num-validation", "500", "--batch-size", "50", "--units", "32",
    "--families", "irnn", "--learning-rates", "4", "--learning-rate",
    "1e-4,1e-2", "--seeds", "2", "--steps", "600", "--eval-every", "100",
    "--verbose", "0", "--strategy", "default", "--timeout", "1800",
]
LAUNCH = "import sys, keras_rnninit_cli; sys.exit(keras_rnninit_cli.tune())"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, log):
    err = open(log, "w")
    return subprocess.Popen([sys.executable, "-c", LAUNCH, *args],
                            stdout=subprocess.DEVNULL, stderr=err), err


def wait_all(processes, timeout=3600):
    """Waits for every process; returns each one's exit time."""
    ended, deadline = {}, time.monotonic() + timeout
    while len(ended) < len(processes) and time.monotonic() < deadline:
        for name, (p, _) in processes.items():
            if name not in ended and p.poll() is not None:
                ended[name] = time.monotonic()
        time.sleep(0.02)
    for name, (p, err) in processes.items():
        err.close()
        if p.returncode != 0:
            raise SystemExit(f"{name} exited {p.returncode}; see {err.name}")
    return ended


def single(work):
    d = os.path.join(work, f"single_{time.monotonic_ns()}")
    t0 = time.monotonic()
    ended = wait_all({"single": start(STUDY + ["--directory", d],
                                      os.path.join(work, "single.err"))})
    return ended["single"] - t0


def distributed(work, workers=2):
    d = os.path.join(work, f"distributed_{time.monotonic_ns()}")
    common = STUDY + ["--directory", d, "--oracle-port", str(free_port())]
    t0 = time.monotonic()
    processes = {"chief": start(common + ["--tuner-id", "chief"],
                                os.path.join(work, "chief.err"))}
    for i in range(workers):
        processes[f"tuner{i}"] = start(common + ["--tuner-id", f"tuner{i}"],
                                       os.path.join(work, f"tuner{i}.err"))
    ended = wait_all(processes)
    last_worker = max(t for name, t in ended.items() if name != "chief")
    return ended["chief"] - t0, ended["chief"] - last_worker


def _ongoing(d, tuner_id):
    try:
        with open(os.path.join(d, "trials", "oracle.json")) as f:
            trial_id = json.load(f)["ongoing_trials"].get(tuner_id)
    except (OSError, ValueError, KeyError):
        return None
    if trial_id is None or os.path.exists(
            os.path.join(d, "trials", f"trial_{trial_id}", "result.json")):
        return None
    return trial_id


def _until(condition, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.01)
    raise SystemExit("timed out")


def faults(work):
    d = os.path.join(work, "faults")
    common = STUDY + ["--directory", d, "--oracle-port", str(free_port())]
    logs = {n: os.path.join(work, f"faults_{n}.err") for n in ("chief", "tuner0",
                                                             "tuner1")}
    processes = {"chief": start(common + ["--tuner-id", "chief"], logs["chief"])}
    for i in range(2):
        processes[f"tuner{i}"] = start(common + ["--tuner-id", f"tuner{i}"],
                                       logs[f"tuner{i}"])

    def said(name, text):
        with open(logs[name]) as f:
            return text in f.read()

    try:
        _until(lambda: _ongoing(d, "tuner1"))
        killed = time.monotonic()
        processes["tuner1"][0].send_signal(signal.SIGKILL)
        worker_noticed = _until(lambda: said("chief", "worker tuner1 is gone")) - killed
        _until(lambda: _ongoing(d, "tuner0"))
        killed = time.monotonic()
        processes["chief"][0].send_signal(signal.SIGKILL)
        chief_noticed = _until(
            lambda: processes["tuner0"][0].poll() is not None) - killed
        with open(logs["tuner0"]) as f:
            line = f.read().strip().splitlines()[-1]
    finally:
        for p, err in processes.values():
            if p.poll() is None:
                p.kill()
            p.wait()
            err.close()
    return worker_noticed, chief_noticed, line


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="rnninit_distributed_")
    rows = []
    for _ in range(args.repeats):
        rows.append({"run": "1 process", "processes": 1,
                     "seconds": single(work), "chief_exit_delay": None})
        seconds, delay = distributed(work)
        rows.append({"run": "chief + 2 workers", "processes": 3,
                     "seconds": seconds, "chief_exit_delay": delay})
    print(rows, flush=True)
    worker_noticed, chief_noticed, line = faults(work)
    print(worker_noticed, chief_noticed, line, flush=True)
    trials = 8
    load = os.getloadavg()
    payload = {
        "study": STUDY, "trials": trials, "rows": rows,
        "load_average_after": load,
        "dead_worker_noticed_seconds": worker_noticed,
        "gone_chief_noticed_seconds": chief_noticed,
        "worker_line": line,
    }
    table = _results.markdown_table(rows, [
        ("run", "run", ""), ("processes", "processes", ""),
        ("seconds", "wall time (s)", ".1f"),
        ("chief_exit_delay", "chief's exit after its last worker (s)", ".2f"),
    ])
    notes = (
        f"{trials} trials of `rnninit-tune {' '.join(STUDY)}`. The machine's "
        f"load average after the runs: {load[0]:.1f} (it is shared). A worker "
        f"killed mid-trial was noticed by the chief after "
        f"{worker_noticed:.2f} s; a chief killed mid-trial stopped its worker "
        f"after {chief_noticed:.2f} s, which said:\n\n> {line}\n\n"
        "The chief's exit is timed from its last worker's exit: it is negative "
        "when the chief had told every worker to stop and written its report "
        "before the last worker's process had ended (keras-tuner's chief polls "
        "every 20 s).\n"
    )
    paths = _results.write(f"distributed_{keras.backend.backend()}", payload,
                           table, "Distributed studies on this machine", notes)
    png = _results.bar_chart(
        f"distributed_{keras.backend.backend()}", [r["run"] for r in rows],
        [r["seconds"] for r in rows], "wall time (s)",
        f"{trials} trials on {os.cpu_count()} cores",
        ["C0" if r["processes"] == 1 else "C1" for r in rows])
    print(table)
    print(notes)
    print(*paths, png)
    print(f"logs and study directories in {work}")


if __name__ == "__main__":
    main()
