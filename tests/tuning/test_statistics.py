import math

import pytest

from keras_rnninit.tuning import statistics


@pytest.mark.parametrize(
    "k, n, expected",
    [
        # z^2 / (n + z^2) is the upper end at k = 0.
        (0, 10, (0.0, 3.8414588 / 13.8414588)),
        (5, 10, (0.236593, 0.763407)),
        (10, 10, (1 - 3.8414588 / 13.8414588, 1.0)),
        (1, 21, (0.008456, 0.226694)),
    ],
)
def test_wilson_interval_hand_computed(k, n, expected):
    low, high = statistics.wilson_interval(k, n)
    assert low == pytest.approx(expected[0], abs=1e-5)
    assert high == pytest.approx(expected[1], abs=1e-5)


def test_wilson_interval_without_trials_is_uninformative():
    assert statistics.wilson_interval(0, 0) == (0.0, 1.0)


def test_lr_sensitivity_caps_at_the_baseline_and_counts_divergence_as_baseline():
    # capped: 0.05, 0.01, 0.2 (diverged), 0.2 (worse than the baseline)
    values = {1e-4: 0.05, 1e-3: 0.01, 1e-2: float("nan"), 1e-1: 0.5}
    expected = (0.05 + 0.01 + 0.2 + 0.2) / 4 - 0.01
    assert statistics.lr_sensitivity(values, 0.2, "min") == pytest.approx(expected)


def test_lr_sensitivity_averages_seeds_after_capping():
    values = {1e-3: [0.1, 0.3, None], 1e-2: [0.0, 0.0, 0.0]}
    # 1e-3: (0.1 + 0.2 + 0.2) / 3; 1e-2: 0
    assert statistics.lr_sensitivity(values, 0.2, "min") == pytest.approx(0.5 / 3 / 2)


def test_lr_sensitivity_for_accuracy_is_positive():
    values = {1e-3: 0.9, 1e-2: 0.5, 1e-1: 0.05}
    # capped: 0.9, 0.5, 0.1; best - mean = 0.9 - 0.5
    assert statistics.lr_sensitivity(values, 0.1, "max") == pytest.approx(0.4)


def test_lr_sensitivity_is_zero_when_every_rate_is_as_good():
    assert statistics.lr_sensitivity({1e-3: 0.0, 1e-2: 0.0}, 0.2, "min") == 0.0


def test_success_band_is_the_widest_adjacent_run_in_decades():
    fractions = {1e-4: 0.0, 1e-3: 2 / 3, 1e-2: 1.0, 1e-1: 1 / 3, 1.0: 1.0}
    width, low, high = statistics.success_band(fractions)
    assert (low, high) == (1e-3, 1e-2)
    assert width == pytest.approx(1.0)


def test_success_band_half_counts_and_one_point_is_zero_wide():
    assert statistics.success_band({1e-3: 0.5, 1e-2: 0.0}) == (0.0, 1e-3, 1e-3)
    assert statistics.success_band({1e-3: 0.4}) == (None, None, None)


def test_success_band_over_a_whole_half_decade_grid():
    grid = [1e-4, 3.16e-4, 1e-3, 3.16e-3]
    width, _, _ = statistics.success_band({lr: 1.0 for lr in grid})
    assert width == pytest.approx(math.log10(3.16e-3 / 1e-4))


@pytest.mark.parametrize(
    "table, p",
    [
        # Fisher's lady tasting tea: 3 of 4 against 1 of 4.
        ((3, 4, 1, 4), 0.4857143),
        # The rest as scipy.stats.fisher_exact gives them.
        ((3, 10, 9, 10), 0.0197666),
        ((5, 5, 5, 5), 1.0),
        ((0, 21, 10, 21), 0.00047942),
    ],
)
def test_fisher_exact_two_sided(table, p):
    assert statistics.fisher_exact(*table) == pytest.approx(p, rel=1e-4)


def test_fisher_exact_is_symmetric():
    assert statistics.fisher_exact(2, 9, 7, 11) == pytest.approx(
        statistics.fisher_exact(7, 11, 2, 9))


def test_holm_steps_down_and_stops():
    assert statistics.holm([0.01, 0.04, 0.03]) == [True, False, False]
    assert statistics.holm([0.01, 0.02, 0.04]) == [True, True, True]
    assert statistics.holm([0.2, 0.001]) == [False, True]
    assert statistics.holm([]) == []


def _separating_chance(n, rate1, rate2, alpha=0.05):
    """Reference from the definition, with SciPy's binomial and Fisher test:
    the chance that n draws at each rate come out clearly in rate1's favour."""
    stats = pytest.importorskip("scipy.stats")
    chance = 0.0
    for k1 in range(n + 1):
        for k2 in range(k1):
            _, p = stats.fisher_exact([[k1, n - k1], [k2, n - k2]])
            if p < alpha:
                chance += stats.binom.pmf(k1, n, rate1) * stats.binom.pmf(k2, n, rate2)
    return chance


@pytest.mark.parametrize("rate1, rate2", [(0.75, 0.0), (1.0, 0.25), (0.75, 0.25),
                                          (0.5, 0.0), (0.9, 0.5)])
def test_seeds_to_separate_is_the_fewest_with_enough_power(rate1, rate2):
    n = statistics.seeds_to_separate(rate1, rate2)
    assert n is not None
    assert _separating_chance(n, rate1, rate2) >= 0.8
    assert _separating_chance(n - 1, rate1, rate2) < 0.8


def test_seeds_to_separate_without_a_difference_or_within_the_limit():
    assert statistics.seeds_to_separate(0.25, 0.25) is None
    assert statistics.seeds_to_separate(0.2, 0.5) is None
    assert statistics.seeds_to_separate(0.55, 0.45, most=20) is None
