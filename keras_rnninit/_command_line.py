"""argparse for the package's command lines: a usage error in one line, and
a misspelled flag answered with the closest one."""

import argparse
import difflib
import math
import sys


class Parser(argparse.ArgumentParser):
    """argparse with a usage error in one line, and one more that points to
    --help (argparse prints the whole usage first); a misspelled flag gets
    the closest one."""

    def parse_known_args(self, args=None, namespace=None):
        self._words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}{self._hint(message)}\n"
                     f"Try '{self.prog} --help' for the flags.\n")

    def _hint(self, message):
        flags = [flag for flag in self._option_string_actions if flag.startswith("--")]
        for word in getattr(self, "_words", ()):
            word = word.split("=", 1)[0]
            if not word.startswith("--") or any(f.startswith(word) for f in flags):
                continue  # a flag, or argparse's abbreviation of one
            close = difflib.get_close_matches(word, flags, n=1, cutoff=0.6)
            if close:
                named = "" if word in message else f"{word}: "
                return f" ({named}did you mean {close[0]}?)"
        return ""


def number(kind, low=None, high=None, above=None):
    """An argparse type: a finite `kind` in range; argparse names the flag."""
    what = "an integer" if kind is int else "a number"

    def parse(text):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(
                f"expected {what}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"expected {what} >= {low}, got {text!r}")
        if above is not None and value <= above:
            raise argparse.ArgumentTypeError(f"expected {what} > {above}, got {text!r}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"expected {what} <= {high}, got {text!r}")
        return value

    return parse


COUNT = number(int, low=1)
FINITE = number(float)
