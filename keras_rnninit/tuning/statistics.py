"""The statistics of a sensitivity report, each written from its definition.

- `wilson_interval`: the Wilson score interval of a success fraction k/n.
- `lr_sensitivity`: Wortsman et al. 2023 (arXiv:2309.14322), the mean over a
  learning-rate grid of `min(objective, baseline)` minus its best value.
- `success_band`: the widest run of adjacent grid learning rates at which at
  least half the seeds succeed, in decades.
- `fisher_exact` and `holm`: which differences between success fractions are
  statistically clear, corrected for the number of comparisons.
- `seeds_to_separate`: how many trials per side would make a difference in
  success rates clear to Fisher's test, most of the time.
"""

import math

from keras_rnninit import objective as objective_lib

Z_95 = 1.959963984540054


def wilson_interval(successes, trials, z=Z_95):
    """`(low, high)` of the Wilson score interval of `successes / trials`.

    The 95% interval by default; `(0.0, 1.0)` when there is no trial.
    """
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    half /= denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def lr_sensitivity(values_by_lr, baseline, direction):
    """Learning-rate sensitivity of Wortsman et al. 2023, for one seed or many.

    `values_by_lr` maps each learning rate of the grid to its objective (or a
    list of objectives, one per seed, which are averaged after capping).
    Each value is capped at the trivial `baseline` on the worse side (a
    diverged run, None or NaN, counts as the baseline); the result is the mean
    over the grid of the capped values minus the best of them, made positive
    for both directions. 0 means every learning rate does as well as the best.
    """
    if not values_by_lr:
        return None
    sign = 1.0 if direction == "min" else -1.0
    per_lr = []
    for values in values_by_lr.values():
        if not isinstance(values, (list, tuple)):
            values = [values]
        capped = [sign * objective_lib.worst_of(v, baseline, direction) for v in values]
        per_lr.append(sum(capped) / len(capped))
    return sum(per_lr) / len(per_lr) - min(per_lr)


def success_band(fraction_by_lr, minimum=0.5):
    """The widest run of adjacent grid learning rates with success >= `minimum`.

    `fraction_by_lr` maps each learning rate of the grid to the fraction of
    its seeds that succeeded. Returns `(decades, low, high)`: `log10(high /
    low)` of the longest run of adjacent grid points that all qualify (0.0 for
    a single point), or `(None, None, None)` when no point qualifies.
    """
    rates = sorted(fraction_by_lr)
    best, run = None, []
    for lr in rates + [None]:
        if lr is not None and fraction_by_lr[lr] >= minimum:
            run.append(lr)
            continue
        if run:
            width = math.log10(run[-1] / run[0])
            if best is None or width > best[0]:
                best = (width, run[0], run[-1])
        run = []
    return best or (None, None, None)


def _hypergeometric(k, successes, failures, draws):
    total = successes + failures
    return (
        math.comb(successes, k) * math.comb(failures, draws - k)
        / math.comb(total, draws)
    )


def fisher_exact(k1, n1, k2, n2):
    """Two-sided p-value of Fisher's exact test of k1/n1 against k2/n2."""
    successes, failures = k1 + k2, (n1 - k1) + (n2 - k2)
    low, high = max(0, n1 - failures), min(n1, successes)
    observed = _hypergeometric(k1, successes, failures, n1)
    p = sum(
        probability
        for k in range(low, high + 1)
        if (probability := _hypergeometric(k, successes, failures, n1))
        <= observed * (1 + 1e-9)
    )
    return min(1.0, p)


def seeds_to_separate(rate1, rate2, alpha=0.05, power=0.8, most=64):
    """The fewest trials `n` per side at which Fisher's exact test finds
    `n` draws at success rate `rate1` clearly above `n` at `rate2` (two-sided
    p < `alpha`) with probability at least `power`; None if no `n` up to
    `most` does (or `rate1 <= rate2`).

    The probability sums the two binomial distributions over the outcomes
    the test calls clear in `rate1`'s favour: the usual sample-size question
    asked of the exact test rather than a normal approximation.
    """
    if rate1 <= rate2:
        return None
    for n in range(1, most + 1):
        first = _binomial(n, rate1)
        second = _binomial(n, rate2)
        chance = sum(
            p1 * p2
            for k1, p1 in enumerate(first) if p1 > 1e-12
            for k2, p2 in enumerate(second) if p2 > 1e-12 and k1 > k2
            and fisher_exact(k1, n, k2, n) < alpha)
        if chance >= power:
            return n
    return None


def _binomial(n, rate):
    return [math.comb(n, k) * rate ** k * (1 - rate) ** (n - k)
            for k in range(n + 1)]


def holm(p_values, alpha=0.05):
    """Holm's step-down correction: which of `p_values` are significant.

    Returns a list of booleans in the order of `p_values`.
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    significant = [False] * len(p_values)
    for rank, index in enumerate(order):
        if p_values[index] > alpha / (len(p_values) - rank):
            break
        significant[index] = True
    return significant
