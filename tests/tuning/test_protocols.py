import math

import pytest

from keras_rnninit import models
from keras_rnninit.tuning import protocols
from keras_rnninit.tuning.candidates import Candidate
from keras_rnninit.tuning.space import SearchSpace


def candidate(name, scale=None, optimizer="sgd", clipnorm=1.0):
    return Candidate(name, build=None, optimizer=optimizer, clipnorm=clipnorm,
                     scale=scale)


GAIN = models.Hyperparameter("gain", 0.01, 1e-3, 1.0, "log")


def test_grid_is_log_spaced_over_the_range():
    grid = protocols.learning_rate_grid(1e-4, 1e-1, 7)
    assert grid[0] == 1e-4 and grid[-1] == 1e-1 and len(grid) == 7
    steps = [math.log10(b / a) for a, b in zip(grid, grid[1:])]
    assert all(s == pytest.approx(0.5, abs=0.01) for s in steps)
    assert protocols.learning_rate_grid(1e-4, 1e-2, 1) == [1e-3]


def test_sweep_is_seed_major_and_keeps_the_candidates_own_settings():
    a, b = candidate("a"), candidate("b", optimizer="adam", clipnorm=None)
    entries = protocols.plan([a, b], "sweep", [1e-3, 1e-2], seeds=2)
    assert [(e["candidate"], e["config"], e["seed"]) for e in entries] == [
        ("a", 0, 0), ("a", 1, 0), ("b", 0, 0), ("b", 1, 0),
        ("a", 0, 1), ("a", 1, 1), ("b", 0, 1), ("b", 1, 1),
    ]
    assert entries[0]["optimizer"] == "sgd" and entries[0]["clipnorm"] == 1.0
    assert entries[2]["optimizer"] == "adam" and entries[2]["clipnorm"] == 0.0
    assert [e["learning_rate"] for e in entries[:2]] == [1e-3, 1e-2]


def test_one_optimizer_and_clipnorm_for_all_override_the_candidates():
    entries = protocols.plan([candidate("a")], "sweep", [1e-3], seeds=1,
                             optimizer="adam", clipnorm=5.0)
    assert entries[0]["optimizer"] == "adam" and entries[0]["clipnorm"] == 5.0


def test_random_draws_depend_on_seed_candidate_and_index_only():
    space = SearchSpace(learning_rate=(1e-5, 1e-1))
    a, b = candidate("a", scale=GAIN), candidate("b")
    both = protocols.plan([a, b], "random", space=space, trials=4, seeds=2,
                          study_seed=7)
    alone = protocols.plan([b], "random", space=space, trials=4, seeds=2,
                           study_seed=7)
    assert [e for e in both if e["candidate"] == "b"] == alone
    again = protocols.plan([a, b], "random", space=space, trials=4, seeds=2,
                           study_seed=7)
    assert again == both
    other = protocols.plan([a, b], "random", space=space, trials=4, seeds=2,
                           study_seed=8)
    assert [e["learning_rate"] for e in other] != [e["learning_rate"] for e in both]
    a_entries = [e for e in both if e["candidate"] == "a"]
    for e in a_entries:
        assert 1e-5 <= e["learning_rate"] <= 1e-1
        assert 1e-3 <= e["gain"] <= 1.0
        assert e["optimizer"] in space.optimizer and e["clipnorm"] in space.clipnorm
    # Each configuration is repeated with the same values over the seeds.
    by_config = {}
    for e in a_entries:
        values = {k: v for k, v in e.items() if k != "seed"}
        by_config.setdefault(e["config"], []).append(values)
    assert all(v[0] == v[1] for v in by_config.values())


def test_training_seed_is_stable_and_distinct():
    seeds = [protocols.training_seed(0, i) for i in range(5)]
    assert len(set(seeds)) == 5
    assert seeds == [protocols.training_seed(0, i) for i in range(5)]
    assert all(0 <= s < 2**31 for s in seeds)


def test_one_optimizer_for_all_brings_one_clip_norm_for_all():
    a, b = candidate("a", clipnorm=None), candidate("b", clipnorm=10.0)
    entries = protocols.plan([a, b], "sweep", [1e-3], seeds=1, optimizer="adam")
    assert {(e["optimizer"], e["clipnorm"], e["clipvalue"]) for e in entries} == {
        ("adam", protocols.COMMON_CLIPNORM, 0.0)}


def test_a_users_model_keeps_its_own_optimizer_and_records_no_clipping():
    own = candidate("mine", optimizer=None, clipnorm=None)
    entry, = protocols.plan([own], "sweep", [1e-3], seeds=1)
    assert entry["optimizer"] is None and entry["clipnorm"] is None
