"""Ctrl-C and SIGTERM in the command lines: stop, keep what is finished,
say how to resume, exit 130 (SIGINT) or 143 (SIGTERM).

Two stages. From its first line until its run starts, a command line has
nothing a stop would lose: `stop_at_once` makes a signal end the process
there and then, by the signal itself, wherever it lands (the backends'
imports take seconds, and a `KeyboardInterrupt` raised in them prints a long
traceback, or is dropped inside a garbage-collection callback). Once the run
starts, `handle_signals` makes a signal raise `KeyboardInterrupt` (SIGTERM:
`Terminated`), which the command catches to say what is saved and how to
resume; a signal that lands where Python would print and drop the exception
is delivered again a moment later, so that it is never lost.
"""

import contextlib
import gc
import os
import shlex
import signal
import sys
import threading

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
_stopping = False
_again = None  # a signal waiting to be delivered again
SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How long a signal that could not be raised where it landed waits before it
# is delivered again.
_AGAIN_SECONDS = 0.05


def _interrupt(signum):
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def stop_at_once():
    """Makes SIGINT and SIGTERM end the process at once, silently, by the
    signal itself (the shell reports 130 or 143): for the seconds before a
    command's run starts, when nothing is saved or running that a stop
    could lose. `handle_signals` ends this stage."""
    for signum in SIGNALS:
        signal.signal(signum, _end_now)


def _end_now(signum, frame):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a stream the interrupted code was writing to
            pass
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # only if a library blocks the signal's default


def _on_signal(signum, frame):
    global _received, _again
    if _inside_gc_callback(frame) and not _deferring:
        _deliver_again(signum)
        return
    _received, _again = signum, None
    if not _deferring:
        raise _interrupt(signum)


def _deliver_again(signum):
    """Sends `signum` to this process again in a moment: it landed where a
    raised exception would be printed and dropped. Not if its interrupt has
    been raised meanwhile, or the handler is no longer this module's."""
    global _again
    _again = signum

    def send():
        global _again
        if (_again == signum and not _stopping
                and signal.getsignal(signum) is _on_signal):
            _again = None
            os.kill(os.getpid(), signum)

    timer = threading.Timer(_AGAIN_SECONDS, send)
    timer.daemon = True
    timer.start()


def _unraisable(hook):
    """A `sys.unraisablehook` that, instead of printing an interrupt raised
    in a finalizer or callback (where Python drops it), delivers its signal
    again; and that, once a signal has stopped the run, drops what the
    finalizers of the interrupted code raise (TensorFlow's, for a function
    whose creation the signal cut short, raise `KeyError`): the process ends
    with its one line."""
    def unraisable(info):
        if _stopping:
            return
        if isinstance(info.exc_value, KeyboardInterrupt) and _received:
            _deliver_again(_received)
            return
        hook(info)

    unraisable.wrapped = hook
    return unraisable


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
    """Makes SIGINT raise `KeyboardInterrupt` and SIGTERM `Terminated`: the
    stage in which a command, once its run has started, stops by saying
    what is saved and how to resume.

    Python runs a signal handler wherever the main thread is, also inside
    a garbage-collection callback (JAX registers one) or a finalizer, where
    a raised exception is printed and dropped: there the signal is delivered
    again a moment later.
    """
    global _stopping, _received, _again, _requested
    _stopping, _received, _again, _requested = False, None, None, None
    for signum in SIGNALS:
        signal.signal(signum, _on_signal)
    if not hasattr(sys.unraisablehook, "wrapped"):
        sys.unraisablehook = _unraisable(sys.unraisablehook)


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
    global _requested, _again
    if _requested is not None:
        exception, _requested = _requested, None
        raise exception
    if _received is not None:
        _again = None
        raise _interrupt(_received)


def request_stop(exception):
    """Asks the main thread to raise `exception` (an `Aborted`) at its next
    check: before each training batch, and between the waits of a
    distributed study's calls to its chief. How a watching thread stops
    the run."""
    global _requested
    _requested = exception


def stop(interrupt):
    """Ends the run's handling of signals and returns the exit code for
    `interrupt`: a further signal ends the process at once, and what the
    interrupted code's finalizers raise is not printed."""
    global _received, _stopping
    _stopping = True
    stop_at_once()
    _received = None
    return 143 if isinstance(interrupt, Terminated) else 130


def stopped(interrupt, prog, saved, command):
    """`stop`, saying in one line what is saved and the command that
    resumes; returns the exit code for `interrupt`."""
    code = stop(interrupt)
    print(f"\n{prog}: stopped; {saved}. To resume: {command}",
          file=sys.stderr, flush=True)
    return code


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
