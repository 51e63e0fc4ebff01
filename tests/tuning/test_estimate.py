"""The time-left estimate of a study's progress lines."""

import pytest

from keras_rnninit.tuning import estimate


def result(candidate, config, steps_run, total, build=0.2, validation=0.5,
           train=None):
    train = steps_run * 0.004 if train is None else train
    return {"candidate": candidate, "config": config, "steps_run": steps_run,
            "seconds": {"total": total, "build": build,
                        "validation": validation, "train": train}}


def test_the_first_trials_compiling_is_not_charged_to_every_trial():
    # 2000 steps at 4 ms, 0.7 s of build and validation, 12 s of compiling.
    first = result("irnn", 0, 2000, total=20.7)
    left = estimate.seconds_left([first], [("irnn", 1)] * 10, steps=2000)
    per_trial = 0.2 + (0.5 + 8.0) / 2000 * 2000 * (
        (estimate.BUDGET_FRACTION * estimate.PRIOR_TRIALS + 1)
        / (estimate.PRIOR_TRIALS + 1))
    assert left == pytest.approx(10 * per_trial)
    assert left < 10 * 20.7 / 2  # the old estimate: elapsed per trial


def test_a_configuration_seen_with_another_seed_takes_its_steps():
    ran = [result("np-rnn", 0, 600, total=3.1), result("np-rnn", 1, 2000, total=9.0),
           result("np-rnn", 2, 2000, total=9.0)]
    fast = estimate.seconds_left(ran, [("np-rnn", 0)], steps=2000)
    slow = estimate.seconds_left(ran, [("np-rnn", 1)], steps=2000)
    assert slow / fast == pytest.approx((0.2 + 8.5 / 2000 * 2000 + 0.4)
                                        / (0.2 + 8.5 / 2000 * 600 + 0.4), rel=0.2)


def test_jobs_divide_the_time_and_nothing_left_is_zero():
    ran = [result("irnn", 0, 2000, total=9.0)]
    one = estimate.seconds_left(ran, [("irnn", 0)] * 4, steps=2000)
    assert estimate.seconds_left(ran, [("irnn", 0)] * 4, steps=2000, jobs=2) == (
        pytest.approx(one / 2))
    assert estimate.seconds_left(ran, [], steps=2000) == 0.0
    assert estimate.seconds_left([], [("irnn", 0)], steps=2000) == 0.0
