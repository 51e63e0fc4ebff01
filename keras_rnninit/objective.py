"""One rule for "better" and "reached the threshold", for every objective.

Tasks, the training command, the sensitivity study and its report all decide
success with these two functions, so that a score exactly at the threshold
counts as success everywhere (`<=` for a loss, `>=` for an accuracy).
"""

import math

DIRECTIONS = ("min", "max")


def check_direction(direction):
    """Returns `direction` if it is `"min"` or `"max"`, else raises."""
    if direction not in DIRECTIONS:
        raise ValueError(
            f"`direction` must be one of {DIRECTIONS}. Received: direction={direction!r}"
        )
    return direction


def is_finite(value):
    """Whether `value` is a real, finite number (not None, NaN or inf)."""
    try:
        return value is not None and math.isfinite(value)
    except TypeError:
        return False


def better(a, b, direction):
    """Whether score `a` is strictly better than `b` (non-finite is worst)."""
    check_direction(direction)
    if not is_finite(a):
        return False
    if not is_finite(b):
        return True
    return a < b if direction == "min" else a > b


def reached(value, threshold, direction):
    """Whether `value` reaches `threshold`: `<=` for "min", `>=` for "max"."""
    check_direction(direction)
    if not is_finite(value):
        return False
    return value <= threshold if direction == "min" else value >= threshold


def comparison_symbol(direction):
    """`"<="` or `">="`: how `reached` compares, for messages and reports."""
    return "<=" if check_direction(direction) == "min" else ">="


def worst_of(value, baseline, direction):
    """`value` capped at `baseline` on the worse side; non-finite gives `baseline`.

    The learning-rate sensitivity of Wortsman et al. (2023) averages
    `min(loss, loss_0)`: a run worse than the trivial baseline counts as the
    baseline, so one divergent learning rate cannot dominate the mean.
    """
    if not is_finite(value):
        return float(baseline)
    return min(value, baseline) if direction == "min" else max(value, baseline)


# A run has learned when it closed at least this fraction of the gap from
# the trivial baseline to the success threshold: a model that learned
# nothing sits at the baseline, a little to either side of it.
LEARNED_FRACTION = 0.1


def learned(value, baseline, threshold, direction):
    """Whether `value` moved off the trivial `baseline` towards `threshold`
    by at least `LEARNED_FRACTION` of the distance between them."""
    if not (is_finite(value) and is_finite(baseline) and is_finite(threshold)):
        return False
    step = LEARNED_FRACTION * abs(threshold - baseline)
    mark = baseline - step if check_direction(direction) == "min" else baseline + step
    return reached(value, mark, direction)


# Metric names (after any "val_") whose range is known: losses and errors
# never go below 0, accuracies never above 1.
_NEVER_BELOW_ZERO = ("loss", "mse", "mae", "nmse", "crossentropy", "error")
_NEVER_ABOVE_ONE = ("accuracy",)


def threshold_problem(threshold, objective, direction, baseline=None):
    """Why `threshold` cannot decide success, or None: no model reaches it
    (the `objective`'s name says it never goes past it), or a model that
    learnt nothing (at `baseline`) already does."""
    best = best_possible(objective)
    if best is not None and better(threshold, best, direction):
        return (f"The threshold {threshold:g} can never be reached: {objective} is "
                f"never {'below' if direction == 'min' else 'above'} {best:g}. "
                "Choose a reachable threshold")
    if baseline is not None and reached(baseline, threshold, direction):
        return (f"The threshold {threshold:g} is on the wrong side of the trivial "
                f"baseline {baseline:.4g}: a model that learnt nothing would count "
                "as a success. Choose a better threshold")
    return None


def best_possible(objective):
    """The best value `objective` can take when its name says (0 for a loss
    or error, 1 for an accuracy), else None."""
    name = objective.removeprefix("val_").lower()
    if name.endswith(_NEVER_BELOW_ZERO):
        return 0.0
    if name.endswith(_NEVER_ABOVE_ONE):
        return 1.0
    return None
