"""Ctrl-C and SIGTERM in the command lines: stop, keep what is finished,
say how to resume, exit 130 (SIGINT) or 143 (SIGTERM)."""

import gc
import shlex
import signal
import sys

_received = None


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


def _interrupt(signum):
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _on_signal(signum, frame):
    global _received
    _received = signum
    if not _inside_gc_callback(frame):
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


def raise_if_received():
    """Raises the interrupt of a signal whose exception was swallowed."""
    if _received is not None:
        raise _interrupt(_received)


def stopped(interrupt, prog, argv, saved, resume_argv=()):
    """Prints one line on what is saved and the command that resumes;
    returns the exit code for `interrupt`."""
    global _received
    _received = None
    args = list(argv) + [a for a in resume_argv if a not in argv]
    command = " ".join(shlex.quote(a) for a in [prog, *args])
    print(f"\n{prog}: stopped; {saved}. To resume: {command}",
          file=sys.stderr, flush=True)
    return 143 if isinstance(interrupt, Terminated) else 130
