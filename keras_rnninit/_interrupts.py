"""Ctrl-C and SIGTERM in the command lines: stop, keep what is finished,
say how to resume, exit 130 (SIGINT) or 143 (SIGTERM)."""

import contextlib
import gc
import os
import shlex
import signal
import sys

_received = None


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


class Aborted(KeyboardInterrupt):
    """The run cannot go on (a distributed study's chief is gone); its
    message is the line to print.

    Raised like Ctrl-C, so that it passes through keras-tuner's and Keras's
    handling of a trial that fails instead of being recorded as one.
    """


_requested = None
_deferring = False


def _interrupt(signum):
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _on_signal(signum, frame):
    global _received
    _received = signum
    if not _deferring and not _inside_gc_callback(frame):
        raise _interrupt(signum)


def _inside_gc_callback(frame):
    """Whether `frame` runs in a garbage-collection callback, where Python
    would print a raised exception and drop it."""
    codes = {getattr(getattr(c, "__func__", c), "__code__", None) for c in gc.callbacks}
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def handle_signals():
    """Makes SIGINT raise `KeyboardInterrupt` and SIGTERM `Terminated`.

    Python runs a signal handler wherever the main thread is, also inside
    a garbage-collection callback (JAX registers one), where a raised
    exception is printed and dropped. There the signal is only remembered;
    the training monitors call `raise_if_received` before each batch.
    """
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


@contextlib.contextmanager
def deferred():
    """Holds SIGINT and SIGTERM back while the block runs (a checkpoint being
    written, which an exception would leave torn) and raises their interrupt
    once it has ended."""
    global _deferring
    outer, _deferring = _deferring, True
    try:
        yield
    finally:
        _deferring = outer
    if not outer:
        raise_if_received()


def raise_if_received():
    """Raises the interrupt of a signal whose exception was swallowed, or
    the `Aborted` another thread asked for (`request_stop`)."""
    global _requested
    if _requested is not None:
        exception, _requested = _requested, None
        raise exception
    if _received is not None:
        raise _interrupt(_received)


def request_stop(exception):
    """Asks the main thread to raise `exception` (an `Aborted`) at its next
    check: before each training batch, and between the waits of a
    distributed study's calls to its chief. How a watching thread stops
    the run."""
    global _requested
    _requested = exception


def stopped(interrupt, prog, saved, command):
    """Prints one line on what is saved and the command that resumes;
    returns the exit code for `interrupt`."""
    global _received
    _received = None
    print(f"\n{prog}: stopped; {saved}. To resume: {command}",
          file=sys.stderr, flush=True)
    return exit_code(interrupt)


def exit_code(interrupt):
    """The shell's code for `interrupt`: 143 for SIGTERM, 130 for Ctrl-C."""
    return 143 if isinstance(interrupt, Terminated) else 130


# What a run reads from its environment: a resume command carries it.
ENVIRONMENT = ("KERAS_BACKEND", "PYTHONPATH", "TF_CONFIG", "KERASTUNER_TUNER_ID",
               "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT",
               "CUDA_VISIBLE_DEVICES", "XLA_FLAGS", "JAX_PLATFORMS")


def program(script_name, module):
    """How this command line was started, as words a fresh shell runs: the
    console script's absolute path, or `python -m module`."""
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(script).startswith(script_name):
        return [script]
    return [sys.executable, "-m", module]


def pasteable(words, backend):
    """`words` as a command that runs the same in a fresh shell: in this
    working directory, on `backend`, with the environment the run read."""
    environment = {name: os.environ[name] for name in ENVIRONMENT
                   if name in os.environ}
    environment["KERAS_BACKEND"] = backend
    return (f"cd {shlex.quote(os.getcwd())} && "
            + " ".join([f"{k}={shlex.quote(v)}" for k, v in environment.items()]
                       + [shlex.quote(w) for w in words]))
