"""Ctrl-C or SIGTERM at any moment of a command line, from its first second
through the backends' imports into training: the process stops within
seconds, prints at most one line (what is saved and how to resume) and
exits 130 / 143, or dies by the signal itself before anything started;
never a traceback, never an "Exception ignored", never a signal ignored."""

import glob
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import pytest

BACKEND = keras.backend.backend()
HERE = os.path.dirname(os.path.abspath(__file__))
REPRODUCE = os.path.join(os.path.dirname(HERE), "benchmarks", "reproduce.py")
# Seconds after the start: the command's first lines, the backends' imports
# (about 7 s here), the study's set-up and its first trial. (In the first
# few hundredths of a second Python itself is still starting, before any of
# the command's code: a signal there is Python's own to handle.)
OFFSETS = (0.25, 0.5, 1.0, 2.0, 4.0, 7.0)
if BACKEND != "jax":  # the window is the same on every backend: sampled
    OFFSETS = (0.5, 3.0, 6.0)
# A stop waits at most for the step or the compilation in progress.
STOP_SECONDS = 15
# A study that runs for minutes unless stopped: one trial of many steps at
# a threshold no model reaches early.
LONG_STUDY = [
    "--task", "adding", "--length", "8", "--num-train", "64",
    "--num-validation", "32", "--batch-size", "32", "--units", "8",
    "--families", "irnn", "--learning-rates", "1", "--learning-rate",
    "1e-3,1e-3", "--seeds", "1", "--steps", "200000", "--eval-every", "1000",
    "--threshold", "1e-12", "--verbose", "0", "--strategy", "default",
]
LONG_TRAINING = [
    "--task", "adding", "--length", "8", "--num-train", "64",
    "--num-validation", "32", "--num-test", "32", "--batch-size", "32",
    "--units", "8", "--epochs", "100000", "--family", "irnn", "--quiet",
]


def entry_point(command):
    """What the installed `rnninit-<command>` console script runs."""
    return [sys.executable, "-c",
            f"import sys, keras_rnninit_cli; sys.exit(keras_rnninit_cli.{command}())"]


def stop_at(command, offset, signum, env, started=None):
    """Starts `command`, sends `signum` `offset` seconds later (after the
    function `started` first returns true, if given); returns the exit
    status, standard error and the seconds the stop took."""
    # TensorFlow's C++ log (grappler's lines while a model compiles) off:
    # what is checked is what the command itself prints.
    env = dict(env, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while started and not started() and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-2000:]
        time.sleep(0.05)
    time.sleep(offset)
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"still running {STOP_SECONDS} s after the signal at "
                    f"{offset} s: {err[-2000:]}")
    return process.returncode, err, time.monotonic() - sent


def check_stop(code, err, signum, offset, program):
    """The signal's outcome is one of the two allowed, and says nothing
    else."""
    where = f"signal {signum} at {offset} s: exit {code}, stderr {err[-3000:]!r}"
    for word in ("Traceback", "Exception ignored", "KeyboardInterrupt"):
        assert word not in err, where
    lines = [line for line in err.splitlines() if line.strip()]
    if code == -signum:  # nothing had started
        assert lines == [], where
        return "ended by the signal"
    assert code == 128 + signum, where
    assert len(lines) == 1 and lines[0].startswith(f"{program}: stopped; "), where
    assert "To resume: " in lines[0], where
    return "stopped, one line"


@pytest.mark.parametrize("signum, offsets", [
    (signal.SIGINT, OFFSETS), (signal.SIGTERM, (3.0,))])
def test_a_study_stops_at_any_moment(signum, offsets, tmp_path, subprocess_env):
    outcomes = {}
    # The offsets from the start, then two from the first trial's start.
    for offset, in_trial in [(o, False) for o in offsets] + [(0.0, True), (1.0, True)]:
        directory = str(tmp_path / f"study_{offset}_{in_trial}")
        code, err, took = stop_at(
            entry_point("tune") + LONG_STUDY + ["--directory", directory],
            offset, signum, subprocess_env,
            started=in_trial and (lambda: glob.glob(f"{directory}/trials/trial_*")))
        outcome = check_stop(code, err, signum, offset, "rnninit-tune")
        outcomes[f"{offset} s" + (" into the trial" if in_trial else "")] = (
            outcome, round(took, 1))
        if in_trial:
            assert outcome == "stopped, one line", outcomes
    print(f"\n{signal.Signals(signum).name} on {BACKEND}: {outcomes}")


def test_training_stops_at_any_moment(tmp_path, subprocess_env):
    outcomes = {}
    for offset, in_training in ((0.3, False), (4.0, False), (1.0, True)):
        output = str(tmp_path / f"run_{offset}_{in_training}")
        code, err, took = stop_at(
            entry_point("train") + LONG_TRAINING + ["--output-dir", output],
            offset, signal.SIGINT, subprocess_env,
            started=in_training and (lambda: os.path.isdir(output)))
        outcomes[(offset, in_training)] = (
            check_stop(code, err, signal.SIGINT, offset, "rnninit-train"),
            round(took, 1))
    print(f"\nSIGINT to rnninit-train on {BACKEND}: {outcomes}")
    assert outcomes[(1.0, True)][0] == "stopped, one line", outcomes


@pytest.mark.skipif(BACKEND != "jax", reason="the orchestrator runs on JAX")
def test_the_reproduction_stops_in_its_first_seconds(tmp_path, subprocess_env):
    # Before its units start, a stop loses nothing: it ends by the signal.
    for offset in (0.25, 1.0, 3.0):
        code, err, _ = stop_at([sys.executable, REPRODUCE, "--help"],
                               offset, signal.SIGINT, subprocess_env)
        assert code in (-signal.SIGINT, 0), (offset, code, err[-2000:])
        assert "Traceback" not in err and "Exception ignored" not in err, err[-2000:]


def in_fresh_process(code):
    """Runs `code` in a fresh Python process after `handle_signals`, with
    `gc`, `os`, `signal`, `sys`, `time` and `_interrupts` imported."""
    return subprocess.run([sys.executable, "-c", f"""
import gc, os, signal, sys, time
import keras_rnninit_cli
_interrupts = keras_rnninit_cli._standalone("keras_rnninit._interrupts")
_interrupts.handle_signals()
{code}"""], capture_output=True, text=True, timeout=60)


def interrupted(code):
    """What `code` prints, run in a fresh process: "interrupted" if a
    KeyboardInterrupt reached it within 5 s."""
    out = in_fresh_process(f"""
try:
{textwrap.indent(code, "    ")}
    time.sleep(5)
    print("not interrupted")
except KeyboardInterrupt:
    print("interrupted")
""")
    assert "Exception ignored" not in out.stderr, out.stderr
    return out.stdout.strip()


def test_a_signal_in_a_garbage_collection_callback_is_delivered_again():
    # Python prints and drops an exception raised in a gc callback; the
    # handler delivers the signal again instead, outside the callback.
    assert interrupted("""
def callback(phase, info):
    if phase == "start" and not getattr(callback, "sent", False):
        callback.sent = True
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs here, inside the callback
            pass
gc.callbacks.append(callback)
gc.collect()
""") == "interrupted"


def test_an_interrupt_raised_in_a_finalizer_is_delivered_again():
    assert interrupted("""
class Resource:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            pass
Resource()
""") == "interrupted"


def test_after_the_stop_line_a_failing_finalizer_prints_nothing():
    # A signal that cuts short TensorFlow's creation of a function leaves an
    # object whose finalizer raises KeyError when the interrupted frames are
    # freed, after the stop line: the line stays the only one.
    out = in_fresh_process("""
class HalfMade:
    def __del__(self):
        raise KeyError("never registered")
try:
    half_made = HalfMade()
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
except KeyboardInterrupt as e:
    code = _interrupts.stopped(e, "prog", "nothing saved", "rerun")
del half_made
HalfMade()
sys.exit(code)
""")
    assert out.returncode == 143, out.stderr
    assert [line for line in out.stderr.splitlines() if line] == [
        "prog: stopped; nothing saved. To resume: rerun"], out.stderr


def test_before_a_signal_a_failing_finalizer_is_still_reported():
    out = in_fresh_process("""
class Broken:
    def __del__(self):
        raise KeyError("a real bug")
Broken()
""")
    assert "Exception ignored" in out.stderr and "a real bug" in out.stderr, out.stderr
