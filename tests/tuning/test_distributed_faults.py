"""A distributed study that loses a worker and then its chief, and is
started again, gives the per-trial results of one process.

Chief and workers are `python -m keras_rnninit.tuning` processes on
loopback, killed with SIGKILL. The test runs on one backend, TensorFlow:
what it checks (heartbeats in the study directory, keras-tuner's gRPC
protocol, the oracle's bookkeeping) does not depend on the backend, a
trial's independence of where it runs is checked on every backend by
test_trial_independence.py, and TensorFlow starts fastest of the backends
here (every backend imports it for tf.data). Seven processes each start
TensorFlow: 146 s and 248 s in two runs on this machine's 2 shared cores
(load average 8-13).
"""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

from keras_rnninit.tuning.oracle import reported_objective
from keras_rnninit.tuning.study import finished_results

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                       reason="backend-independent; run once, on TensorFlow"),
]

# Six trials of a few seconds each: long enough to be killed in the middle.
COMMAND = [
    "--task", "adding", "--length", "8", "--num-train", "64",
    "--num-validation", "32", "--batch-size", "32", "--units", "8",
    "--families", "irnn", "--learning-rates", "2", "--learning-rate",
    "1e-3,1e-2", "--seeds", "3", "--steps", "300", "--eval-every", "20",
    "--verbose", "0", "--strategy", "default", "--timeout", "400",
]
PLANNED = 6


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A command line with its output in files, read while it runs."""

    def __init__(self, args, env, directory, name):
        self.out = os.path.join(directory, f"{name}.out")
        self.err = os.path.join(directory, f"{name}.err")
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "keras_rnninit.tuning", *args],
                env=env, stdout=out, stderr=err)

    def stderr(self):
        with open(self.err) as f:
            return f.read()

    def wait(self, timeout=300):
        return self.popen.wait(timeout=timeout)

    def kill(self):
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)


def results(directory):
    return {(r["candidate"], r["config"], r["seed"]): (r["value"], r["curve"])
            for r in finished_results(directory)}


def result_files(directory):
    """Each finished trial's result.json: its modification time and text."""
    out = {}
    for path in glob.glob(os.path.join(directory, "trials", "trial_*", "result.json")):
        with open(path) as f:
            out[path] = (os.stat(path).st_mtime_ns, f.read())
    return out


def ongoing(directory, tuner_id):
    """The trial `tuner_id` runs that has no result yet, per oracle.json."""
    try:
        with open(os.path.join(directory, "trials", "oracle.json")) as f:
            trial_id = json.load(f)["ongoing_trials"].get(tuner_id)
    except (OSError, ValueError, KeyError):
        return None
    if trial_id is None or os.path.exists(os.path.join(
            directory, "trials", f"trial_{trial_id}", "result.json")):
        return None
    return trial_id


def wait_for(condition, processes, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        for p in processes:
            assert p.popen.poll() is None, p.stderr()[-3000:]
        time.sleep(0.1)
    raise AssertionError(f"timed out: {[p.stderr()[-2000:] for p in processes]}")


def test_a_dead_worker_and_a_dead_chief_lose_nothing_and_change_nothing(
        tmp_path, subprocess_env):
    d, logs = str(tmp_path / "study"), str(tmp_path)
    command = COMMAND + ["--directory", d, "--oracle-port", str(free_port())]
    started = []
    try:
        chief = Process(command + ["--tuner-id", "chief"], subprocess_env, logs, "chief")
        workers = [Process(command + ["--tuner-id", f"tuner{i}"], subprocess_env,
                           logs, f"tuner{i}") for i in range(2)]
        started += [chief, *workers]
        # tuner1 dies in the middle of a trial: the chief gives it to tuner0.
        orphan = wait_for(lambda: ongoing(d, "tuner1"), started)
        workers[1].kill()
        assert not os.path.exists(os.path.join(d, "trials", f"trial_{orphan}",
                                               "result.json"))
        wait_for(lambda: "worker tuner1 is gone" in chief.stderr(), [chief, workers[0]])
        assert (f"its trial {orphan} goes to the next worker"
                in chief.stderr()), chief.stderr()
        # Then the chief dies while tuner0 trains: tuner0 stops, and says so.
        wait_for(lambda: len(results(d)) >= 2 and ongoing(d, "tuner0"),
                 [chief, workers[0]])
        chief.kill()
        assert workers[0].wait(timeout=60) == 1
        lines = workers[0].stderr().strip().splitlines()
        assert "the chief of" in lines[-1] and "is gone" in lines[-1], lines
        saved = len(results(d))
        assert (f"{saved} of {PLANNED} trials saved in {d}, {PLANNED - saved} "
                "to run. To resume:") in lines[-1]
        assert "Traceback" not in workers[0].stderr()
        before = result_files(d)
        # Started again (tuner1 under its own id), the study completes; the
        # same command in one process is the reference.
        chief = Process(command + ["--tuner-id", "chief"], subprocess_env, logs,
                        "chief_again")
        worker = Process(command + ["--tuner-id", "tuner1"], subprocess_env, logs,
                         "tuner1_again")
        single = Process(COMMAND + ["--directory", str(tmp_path / "single")],
                         subprocess_env, logs, "single")
        started += [chief, worker, single]
        for p in (worker, chief, single):
            assert p.wait() == 0, p.stderr()[-3000:]
    finally:
        for p in started:
            if p.popen.poll() is None:
                p.kill()
    # No finished trial ran again, each planned trial ran once, and every
    # trial's result equals the single process's.
    after = result_files(d)
    assert {path: after[path] for path in before} == before
    assert len(after) == PLANNED
    assert results(d) == results(str(tmp_path / "single"))
    with open(os.path.join(d, "study.json")) as f:
        settings = json.load(f)["settings"]
    for path in after:
        with open(path.replace("result.json", "trial.json")) as f:
            trial = json.load(f)
        with open(path) as f:
            result = json.load(f)
        assert trial["status"] == "COMPLETED"
        assert trial["score"] == reported_objective(
            result, settings["baseline"], settings["direction"])
