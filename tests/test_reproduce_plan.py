"""The rules of `benchmarks/reproduce.py`'s plan and verdicts (no training).

The learning-rate chain (while most seeds at every rate tried did not
learn, the next lower half-decade rate), the choice of a family's best rate, and the tests
behind the verdicts, checked on made-up trial records.
"""

import math
import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))

import _reproduction_plan as plans  # noqa: E402
import _reproduction_studies as studies  # noqa: E402
from keras_rnninit import _interrupts  # noqa: E402
from keras_rnninit.tuning import statistics  # noqa: E402


def record(family, lr, seed, value, diverged=False):
    return {"candidate": family, "seed": seed, "status": "COMPLETED",
            "hyperparameters": {"learning_rate": lr}, "value": value,
            "diverged": diverged, "steps_run": 100, "steps_to_threshold": None}


@pytest.mark.parametrize("rate, lower", [
    (1e-4, 10 ** -4.5), (10 ** -4.5, 1e-5), (2e-4, 1e-4), (2e-3, 1e-3),
    (10 ** -2.5, 1e-3), (1e-6, None)])
def test_lower_rate_is_the_next_half_decade_below(rate, lower):
    got = plans.lower_rate(rate)
    if lower is None:
        assert got is None
    else:
        assert got == pytest.approx(lower, rel=1e-9)
        assert got < rate


def test_a_chain_adds_lower_rates_until_one_learns(monkeypatch, tmp_path):
    plan = plans.cpu_plan()
    failing = {1e-4, 10 ** -4.5}
    state = {"complete": set()}

    def rate_of(study):
        return study.grid[0]

    monkeypatch.setattr(studies, "is_complete",
                        lambda s: rate_of(s) in state["complete"])
    monkeypatch.setattr(studies, "mostly_failed", lambda s, spec: {0: "x"} if any(
        math.isclose(rate_of(s), r) for r in failing) else {})
    chain, done = studies.chain(plan, str(tmp_path), "adding_T1000", "irnn")
    assert [rate_of(s) for s in chain] == [1e-4] and not done
    state["complete"].add(1e-4)
    chain, done = studies.chain(plan, str(tmp_path), "adding_T1000", "irnn")
    assert [rate_of(s) for s in chain] == pytest.approx([1e-4, 10 ** -4.5])
    assert not done
    state["complete"].add(rate_of(chain[-1]))
    chain, done = studies.chain(plan, str(tmp_path), "adding_T1000", "irnn")
    assert [rate_of(s) for s in chain] == pytest.approx([1e-4, 10 ** -4.5, 1e-5])
    state["complete"].add(rate_of(chain[-1]))
    chain, done = studies.chain(plan, str(tmp_path), "adding_T1000", "irnn")
    # Most seeds learned at 1e-5: the chain is finished there.
    assert len(chain) == 3 and done
    assert chain[-1].directory.endswith(os.path.join("adding_T1000", "irnn",
                                                     "lr_1e-05"))


def test_no_lower_rate_once_a_start_rate_learns(monkeypatch, tmp_path):
    """LSTM at T = 1000 starts at 3.16e-2 and 1e-2: the lower one failing
    adds nothing while the higher one learned."""
    plan = plans.cpu_plan()
    monkeypatch.setattr(studies, "is_complete", lambda s: True)
    monkeypatch.setattr(studies, "mostly_failed", lambda s, spec: {0: "x"} if
                        math.isclose(s.grid[0], 1e-2) else {})
    chain, done = studies.chain(plan, str(tmp_path), "adding_T1000", "lstm")
    assert [s.grid[0] for s in chain] == pytest.approx([10 ** -1.5, 1e-2])
    assert done
    monkeypatch.setattr(studies, "mostly_failed", lambda s, spec: {0: "x"})
    monkeypatch.setattr(studies, "is_complete", lambda s: s.grid[0] > 5e-3)
    chain, done = studies.chain(plan, str(tmp_path), "adding_T1000", "lstm")
    assert [s.grid[0] for s in chain] == pytest.approx(
        [10 ** -1.5, 1e-2, 10 ** -2.5]) and not done


def curve_record(values, best=None, diverged=False, status="COMPLETED"):
    return {"seed": 0, "status": status, "diverged": diverged,
            "value": min(values) if best is None else best,
            "curve": [[100 * (i + 1), 1.0, v] for i, v in enumerate(values)]}


@pytest.mark.parametrize("values, why", [
    ([0.17, 0.12, 0.05, 0.02], None),                 # learned
    ([0.17, 0.17, 0.17, 0.0067], None),               # at the baseline, then learned
    ([0.17, 0.16, 0.12, 0.09], "never learned"),      # best 0.09 > 1/12
    ([0.40, 0.38, 0.42, 0.05, 0.04], "above the baseline"),
    ([0.40, 0.04, 0.24, 0.05, 0.06], None),           # oscillating, mostly under
])
def test_a_seed_learns_or_says_why_not(values, why):
    spec = plans.cpu_plan().studies["adding_T1000"]
    assert studies.seed_failure(curve_record(values), spec) == why


def test_a_diverged_or_failed_seed_did_not_learn():
    spec = plans.cpu_plan().studies["adding_T1000"]
    assert studies.seed_failure(curve_record([0.1], diverged=True), spec) == "diverged"
    assert studies.seed_failure(curve_record([0.1], status="FAILED"), spec) == "failed"


def test_a_rate_taken_from_another_experiment_waits_for_it(monkeypatch, tmp_path):
    monkeypatch.setattr(studies, "is_complete", lambda s: False)
    chain, done = studies.chain(plans.cpu_plan(), str(tmp_path), "adding_T1000",
                                "indrnn")
    assert chain == [] and not done


def test_the_best_rate_has_the_most_successes_then_the_best_median():
    records = [record("lstm", 1e-3, s, v) for s, v in enumerate((0.5, 0.5, 0.96))]
    records += [record("lstm", 1e-2, s, v) for s, v in enumerate((0.9, 0.95, 0.8))]
    records += [record("lstm", 1e-1, s, None, diverged=True) for s in range(3)]
    # Accuracy: higher is better; 0.95 is the threshold.
    summary = studies.family_summary(records, "lstm", (0.95, "max", 0.5))
    assert summary["best"]["learning_rate"] == 1e-2  # 1 success, median 0.9
    assert studies.counts(summary, True) == (1, 3)
    assert studies.counts(summary, False) == (2, 9)
    assert summary["rates"][1e-1]["diverged"] == 3


def test_a_tie_at_an_infinite_median_goes_to_the_rate_that_diverged_less():
    """All four seeds diverged at 3e-4; two of four at 1e-5: their medians
    are both the worst value, and 1e-5 is the better rate."""
    records = [record("np-rnn", 3e-4, s, None, diverged=True) for s in range(4)]
    records += [record("np-rnn", 1e-5, s, v, diverged=v is None)
                for s, v in enumerate((0.98, 0.98, None, None))]
    summary = studies.family_summary(records, "np-rnn", (0.9998, "max", 0.98))
    assert summary["best"]["learning_rate"] == 1e-5


def test_beats_verdict_needs_every_difference_clear():
    verdict, _ = studies.beats_verdict(
        {"indrnn": (4, 4), "irnn": (0, 4), "lstm": (0, 4)}, "indrnn",
        ("irnn", "lstm"), 2000, None, True, 0.01)
    assert verdict == "confirmed"  # Fisher p = 0.029 against each
    verdict, reason = studies.beats_verdict(
        {"indrnn": (3, 4), "irnn": (0, 4), "lstm": (0, 4)}, "indrnn",
        ("irnn", "lstm"), 2000, 4000, True, 0.01)
    assert verdict == "undecided" and "would need 4 of 4" in reason
    assert "expected to decide with 4000 steps" in reason
    verdict, _ = studies.beats_verdict(
        {"indrnn": (2, 4), "irnn": (0, 4), "lstm": (2, 4)}, "indrnn",
        ("irnn", "lstm"), 2000, None, True, 0.01)
    assert verdict == "refuted"
    verdict, _ = studies.beats_verdict(
        {"indrnn": (4, 4), "irnn": (0, 4), "lstm": (0, 4)}, "indrnn",
        ("irnn", "lstm"), 2000, None, False, 0.01)
    assert verdict == "undecided"


def test_an_undecided_count_says_how_many_seeds_would_decide_it():
    """The seeds come from the success rates seen, against the rival that
    succeeded most often."""
    tally = {"indrnn": (3, 4), "irnn": (0, 4), "lstm": (1, 4)}
    _, reason = studies.beats_verdict(tally, "indrnn", ("irnn", "lstm"), 2000,
                                      None, True, 0.01)
    seeds = statistics.seeds_to_separate(3 / 4, 1 / 4)
    assert seeds > 4
    assert f"{seeds} seeds each would make it clear 80% of the time" in reason
    _, reason = studies.beats_verdict(
        {"indrnn": (1, 4), "irnn": (1, 4), "lstm": (0, 4)}, "indrnn",
        ("irnn", "lstm"), 2000, None, True, 0.01)
    assert "seeds each" not in reason  # a rival as good: refuted, no estimate


def test_np_verdict_pairs_runs_by_study_and_seed():
    study = []
    for seed in range(6):
        study += [record("np-rnn", 2e-4, seed, 0.05), record("irnn", 2e-4, seed, 0.15),
                  record("irnn-scaled", 2e-4, seed, 0.16)]
    pooled = {f: {"successes": 0, "trials": 6}
              for f in ("np-rnn", "irnn", "irnn-scaled")}
    # 12 pairs out of 2 studies, np-RNN lower in each: p = 2 / 2^12.
    verdict, reason = studies.np_verdict(pooled, [study, study], True)
    assert verdict == "confirmed"
    assert "12 of 12" in reason
    worse = [dict(r, value=0.3) if r["candidate"] == "np-rnn" else r for r in study]
    verdict, _ = studies.np_verdict(pooled, [worse, worse], True)
    assert verdict == "refuted"


def test_sign_test_is_the_exact_two_sided_binomial():
    assert studies.sign_test(6, 6) == pytest.approx(2 / 64)
    assert studies.sign_test(3, 6) == 1.0
    assert studies.sign_test(0, 0) == 1.0


def test_every_unit_in_the_order_belongs_to_the_plan():
    plan = plans.cpu_plan()
    names = {u for u, _, _ in plans.study_units(plan)}
    names |= {u for u, *_ in plans.np_studies(plan)}
    names |= {"clockwork_fair", "clockwork_generation"}
    names |= {f"mnist_hours/{n}" for n in plans.MNIST_HOURS_RUNS}
    assert set(plan.order) <= names
    assert len(set(plan.order)) == len(plan.order)
    assert plans.check_families(plan) == []


# The orchestrator starts each unit as a subprocess (a fork, then exec).
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_a_unit_starts_after_a_complete_unit_left_out_of_only(monkeypatch, tmp_path):
    """`--only chrono_copy_T500` runs the IndRNN row once `adding_T500/indrnn`
    (outside the selection) is complete, instead of refusing to start it."""
    import argparse
    import types

    reproduce = pytest.importorskip("reproduce")
    monkeypatch.setattr(reproduce, "_child_command",
                        lambda args, unit: [sys.executable, "-c", "pass"])
    monkeypatch.setattr(reproduce, "_record", lambda *a, **k: None)
    source = reproduce.Unit("adding_T500/indrnn", "adding_T500", 60.0,
                            run=None, done=lambda: 1.0)
    waiting = reproduce.Unit("chrono_copy_T500/indrnn", "chrono_copy_T500",
                             60.0, run=None, done=lambda: 0.0,
                             after=("adding_T500/indrnn",))
    args = argparse.Namespace(jobs=1, budget_hours=None, quick=False,
                              paper_scale=False, mnist_path=None,
                              mnist_minutes=None)
    plan = types.SimpleNamespace(order=("chrono_copy_T500/indrnn",),
                                 budget_hours=None, budget_round=None)
    ran, failed = reproduce.run_units([waiting], args, str(tmp_path), plan,
                                      [source, waiting])
    assert failed == []
    ran, failed = reproduce.run_units([waiting], args, str(tmp_path), plan)
    assert failed == ["chrono_copy_T500/indrnn"]


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_an_interrupt_stops_the_running_units_and_says_so(monkeypatch, tmp_path,
                                                          capsys):
    """Ctrl-C in the orchestrator names the units it waits for, ends them and
    exits 130 with the line that says how to resume; each unit's time is
    kept."""
    import _thread
    import argparse
    import threading
    import types

    reproduce = pytest.importorskip("reproduce")
    pids = tmp_path / "pids"
    monkeypatch.setattr(reproduce, "_child_command", lambda args, unit: [
        sys.executable, "-c",
        f"import os, time; open({str(pids)!r}, 'a').write("
        "f'{os.getpid()} {os.environ.get(\"TF_NUM_INTRAOP_THREADS\")}\\n'); "
        "time.sleep(60)"])
    recorded = []
    monkeypatch.setattr(reproduce, "_record",
                        lambda root, name, seconds: recorded.append(name))
    units = [reproduce.Unit(name, "adding_T1000", 60.0, run=None,
                            done=lambda: 0.0)
             for name in ("adding_T1000/indrnn", "adding_T1000/lstm")]
    args = argparse.Namespace(jobs=2, budget_hours=None, quick=False,
                              paper_scale=False, mnist_path=None,
                              mnist_minutes=None)
    plan = types.SimpleNamespace(order=tuple(u.name for u in units),
                                 budget_hours=None, budget_round=None)

    def interrupt_when_both_run():
        while not pids.exists() or len(pids.read_text().splitlines()) < 2:
            threading.Event().wait(0.1)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_when_both_run, daemon=True).start()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.unraisablehook
    _interrupts.handle_signals()  # as main() does before it runs the units
    try:
        with pytest.raises(SystemExit) as stop:
            reproduce.run_units(units, args, str(tmp_path), plan)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        sys.unraisablehook = hook
    assert stop.value.code == 130  # as the study commands after Ctrl-C
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines == [
        "reproduce.py: stopped; finished trials are kept (adding_T1000/indrnn, "
        "adding_T1000/lstm stop at the end of their current step). To resume: "
        "rerun the same command"], captured.err
    assert "stop" not in captured.out and "Traceback" not in captured.out
    assert sorted(recorded) == ["adding_T1000/indrnn", "adding_T1000/lstm"]
    started = [line.split() for line in pids.read_text().splitlines()]
    # Each unit had the share of the machine of one of 2 jobs.
    from keras_rnninit.tuning import jobs

    shares = jobs.choose(2)
    assert sorted(threads for _, threads in started) == sorted(
        shares.environment(i)["TF_NUM_INTRAOP_THREADS"] for i in range(2))
    for pid, _ in started:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


def test_a_new_round_starts_its_budget_and_keeps_the_last_rounds(tmp_path):
    reproduce = pytest.importorskip("reproduce")
    root = str(tmp_path)
    reproduce._runs(root, lambda runs: runs.update(
        _budget={"hours": 6.0, "spent_seconds": 25000.0}))
    budget = reproduce.Budget(root, 6.0, "second")
    assert budget.spent == 0.0
    budget.checkpoint()
    runs = reproduce._runs(root)
    assert runs["_budget"]["round"] == "second"
    assert runs["_budget_rounds"] == [{"hours": 6.0, "spent_seconds": 25000.0}]
    # The same round resumes what it spent.
    assert reproduce.Budget(root, 6.0, "second").spent == pytest.approx(
        runs["_budget"]["spent_seconds"])


def mnist_result(curve, test=0.9, steps=None, seconds=3600.0):
    steps = steps or curve[-1][0]
    return {"curve": curve, "steps": steps, "training_seconds": seconds,
            "seconds": seconds * 1.05, "test_accuracy": test, "epochs": 4.2,
            "settings": {"batch_size": 64}}


def test_the_mnist_gap_follows_the_curves_power_law():
    import _reproduction_mnist as mnist

    # Error 0.5 * (steps / 100) ** -0.5: 1% at 250000 steps.
    curve = [[s, s * 0.5, 1 - 0.5 * (s / 100) ** -0.5]
             for s in (100, 400, 900, 1600, 2500, 3600, 4900, 6400)]
    steps, hours = mnist.gap_budget(mnist_result(curve), 0.99)
    assert steps == pytest.approx(250000, rel=1e-6)
    # At the run's own 3600 s of training per 6400 steps.
    assert hours == pytest.approx(250000 * 3600 / 6400 / 3600, rel=1e-6)
    verdict, reason = mnist.hours_verdict(mnist_result(curve), "indrnn")
    assert verdict == "undecided"
    assert "250,000 steps" in reason and "below 99.0%" in reason


def test_a_flat_mnist_curve_asks_for_no_budget_and_a_reached_one_confirms():
    import _reproduction_mnist as mnist

    flat = [[s, s, 0.9] for s in range(100, 1100, 100)]
    assert mnist.gap_budget(mnist_result(flat), 0.99) is None
    assert "flattened" in mnist.hours_verdict(mnist_result(flat), "indrnn")[1]
    assert mnist.hours_verdict(mnist_result(flat, test=0.991),
                               "indrnn")[0] == "confirmed"


def test_a_pending_rate_says_whether_it_is_a_start_rate_or_the_rules():
    report = pytest.importorskip("_reproduction_report")
    pending = {"rates": [[1e-2, 0, 4, "start rate"],
                         [1e-6, 2, 4, "added: most seeds did not learn"]],
               "next_minutes": 17.0, "at_most_minutes": 17.0}
    text = report.pending_text("lstm", pending)
    assert "LSTM at its start rate 0.01 (not run yet)" in text
    assert "LSTM at 1e-06, which the rate rule asks for (2 of 4 seeds run" in text
    assert "waits" in report.pending_text("irnn", {"waits": True})


def test_rates_to_the_grid_end_count_the_rate_itself():
    assert studies.rates_to_grid_end(1e-6) == 1
    assert studies.rates_to_grid_end(1e-5) == 3  # 1e-5, 3.16e-6, 1e-6
