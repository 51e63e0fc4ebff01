"""Ctrl-C and SIGTERM in the command lines: stop, keep what is finished,
say how to resume, exit 130 (SIGINT) or 143 (SIGTERM)."""

import shlex
import signal
import sys


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated()


def handle_sigterm():
    """Makes SIGTERM raise `Terminated` (a `KeyboardInterrupt`)."""
    signal.signal(signal.SIGTERM, _terminate)


def stopped(interrupt, prog, argv, saved, resume_argv=()):
    """Prints one line on what is saved and the command that resumes;
    returns the exit code for `interrupt`."""
    args = list(argv) + [a for a in resume_argv if a not in argv]
    command = " ".join(shlex.quote(a) for a in [prog, *args])
    print(f"\n{prog}: stopped; {saved}. To resume: {command}",
          file=sys.stderr, flush=True)
    return 143 if isinstance(interrupt, Terminated) else 130
