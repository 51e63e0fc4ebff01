"""Argument checks of every public constructor and function: one
`ValueError` in one wording, "Argument `name` must be ... Received:
name=value", the value shown with `repr`."""

import math
import numbers

from keras import activations


def positive_int(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value <= 0
    ):
        raise ValueError(
            f"Argument `{name}` must be a positive integer"
            + (" or None" if allow_none else "")
            + f". Received: {name}={value!r}"
        )
    return int(value)


def rate(value, name):
    """A dropout rate in [0, 1)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0 <= value < 1
    ):
        raise ValueError(
            f"Argument `{name}` must be a float in [0, 1). "
            f"Received: {name}={value!r}"
        )
    return float(value)


def boolean(value, name):
    if not isinstance(value, bool):
        raise ValueError(
            f"Argument `{name}` must be a boolean. Received: {name}={value!r}"
        )
    return value


def activation(value):
    try:
        return activations.get(value)
    except ValueError:
        raise ValueError(
            "Argument `activation` must be the name of a Keras activation, a "
            f"callable or None. Received: activation={value!r}"
        ) from None


def use_fused(value):
    if value not in ("auto", True, False) or isinstance(value, (int, float)) and (
        not isinstance(value, bool)
    ):
        raise ValueError(
            "Argument `use_fused` must be 'auto', True or False. "
            f"Received: use_fused={value!r}"
        )
    return value


def scan(value):
    """IndRNN's `scan`: 'auto', 'sequential' or 'parallel'."""
    if not isinstance(value, str) or value not in (
        "auto", "sequential", "parallel"
    ):
        raise ValueError(
            "Argument `scan` must be 'auto', 'sequential' or 'parallel'. "
            f"Received: scan={value!r}"
        )
    return value


def positive_number(value, name, allow_none=False):
    """A finite number above 0."""
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not value > 0
    ):
        raise ValueError(
            f"Argument `{name}` must be a positive number"
            + (" or None" if allow_none else "")
            + f". Received: {name}={value!r}"
        )
    return float(value)


def finite_number(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
    ):
        raise ValueError(
            f"Argument `{name}` must be a finite number. "
            f"Received: {name}={value!r}"
        )
    return float(value)
