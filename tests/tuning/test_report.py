"""The report cannot mislead: a candidate that never learned reads so, the
table is whole outside a terminal, and the plot hides no trial."""

import json
import os

import numpy as np
import pytest

from keras_rnninit.tuning import report as report_lib
from keras_rnninit.tuning.study import StudySettings

GRID = (1e-3, 1e-2, 1e-1)
BASELINE = 0.167


def fabricate(directory, values):
    """A study directory whose trials ended with `values[candidate]`: one
    list per learning rate of `GRID`, one value per seed (None: diverged)."""
    settings = StudySettings(
        directory=str(directory), candidates=list(values), objective="val_mse",
        direction="min", threshold=0.01, baseline=BASELINE, learning_rates=3,
        learning_rate_range=(GRID[0], GRID[-1]), seeds=2, steps=100,
        eval_every=50, description="fabricated")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "study.json"), "w") as f:
        json.dump({"settings": settings.to_dict()}, f)
    n = 0
    for candidate, by_lr in values.items():
        for config, (lr, seeds) in enumerate(zip(GRID, by_lr)):
            for seed, value in enumerate(seeds):
                hp = {"candidate": candidate, "config": config, "seed": seed,
                      "learning_rate": lr}
                trial = os.path.join(directory, "trials", f"trial_{n:04d}")
                os.makedirs(trial)
                with open(os.path.join(trial, "trial.json"), "w") as f:
                    json.dump({"hyperparameters": {"values": hp},
                               "status": "COMPLETED"}, f)
                with open(os.path.join(trial, "result.json"), "w") as f:
                    json.dump({"candidate": candidate, "config": config,
                               "seed": seed, "hyperparameters": hp,
                               "value": value, "diverged": value is None,
                               "steps_run": 100, "steps_to_threshold":
                               50 if value is not None and value <= 0.01 else None,
                               "initial": BASELINE, "curve": []}, f)
                n += 1
    return str(directory)


STUCK = [[0.166, 0.165], [0.164, 0.166], [None, None]]     # never leaves 0.167
LEARNS = [[0.005, 0.008], [0.05, 0.02], [None, None]]
ALSO_STUCK = [[0.166, 0.165], [0.164, 0.166], [None, None]]


def test_a_candidate_that_never_learned_is_marked_not_ranked_robust(tmp_path):
    d = fabricate(tmp_path / "s", {"stuck": STUCK, "learns": LEARNS})
    report = report_lib.build_report(d)
    stuck, learns = report["candidates"]["stuck"], report["candidates"]["learns"]
    assert stuck["never_learned"] and stuck["lr_sensitivity"] is None
    assert not learns["never_learned"] and learns["lr_sensitivity"] > 0
    assert "never learned" in report_lib.markdown(report)
    assert "Never learned" in report["verdict"] and "stuck" in report["verdict"]
    # Without the mark, the stuck candidate would read as the less sensitive.
    from keras_rnninit.tuning import statistics

    raw = statistics.lr_sensitivity(
        {lr: v for lr, v in zip(GRID, STUCK)}, BASELINE, "min")
    assert raw < learns["lr_sensitivity"]


def test_the_table_is_whole_when_stdout_is_not_a_terminal(tmp_path, monkeypatch):
    names = {f"a-rather-long-candidate-name-{i}": LEARNS for i in range(3)}
    report = report_lib.build_report(fabricate(tmp_path / "s", names))
    text = report_lib.terminal_table(report)  # pytest's stdout is no terminal
    assert "…" not in text
    for name in names:
        assert name in text
    assert report["verdict"] in text.replace("\n", " ") or report["verdict"] in text


def _diverged_markers(ax):
    points = []
    for collection in ax.collections:
        offsets = collection.get_offsets()
        if len(offsets) and collection.get_paths() and collection.get_label() != (
                "diverged (seeds), one row per candidate"):
            points += [tuple(p) for p in np.asarray(offsets)]
    return points


def test_every_diverged_trial_is_visible_and_equal_lines_are_named(tmp_path):
    d = fabricate(tmp_path / "s", {"stuck": STUCK, "learns": LEARNS,
                                   "also-stuck": ALSO_STUCK})
    report = report_lib.build_report(d)
    fig = report_lib.figure(report)
    objective, success = fig.axes
    # Three candidates diverged at the last rate: three markers, none on
    # another, each with its number of seeds.
    crosses = [p for p in _diverged_markers(objective) if p[0] > 0.05]
    assert len(crosses) == 3 and len(set(crosses)) == 3
    counts = [t.get_text() for t in objective.texts]
    assert counts.count("2") == 3
    labels = [line.get_label() for line in objective.get_lines()]
    assert any("stuck (median of seeds); same line as also-stuck" in label
               for label in labels)
    labels = [line.get_label() for line in success.get_lines()]
    assert "stuck (same as also-stuck)" in labels
    # Equal success lines are drawn apart.
    heights = {line.get_label(): tuple(line.get_ydata()) for line in success.get_lines()}
    assert heights["stuck (same as also-stuck)"] != heights["also-stuck (same as stuck)"]
    verdict = [t.get_text() for t in fig.texts]
    assert any(text.startswith("Verdict: success") and "learns 2/6" in text
               for text in verdict)


@pytest.mark.parametrize("value, learned", [
    (0.167, False), (0.16, False), (0.15, True), (0.01, True), (None, False)])
def test_learned_means_a_tenth_of_the_way_from_baseline_to_threshold(value, learned):
    from keras_rnninit import objective

    # 0.167 - 0.1 * (0.167 - 0.01) = 0.1513
    assert objective.learned(value, 0.167, 0.01, "min") == learned
    assert objective.learned(0.5, 0.1, 0.9, "max") is True
    assert objective.learned(0.15, 0.1, 0.9, "max") is False


# Succeeds (<= 0.01) at the middle rate only, in both seeds.
ONE_RATE = [[0.05, 0.08], [0.005, 0.008], [0.05, 0.02]]
# Succeeds at the middle rate in both seeds and nowhere else: ties ONE_RATE.
ALSO_ONE_RATE = [[0.06, 0.07], [0.009, 0.004], [0.04, 0.03]]


def test_tied_candidates_are_reported_as_tied_and_a_one_rate_band_as_one_rate(
        tmp_path):
    d = fabricate(tmp_path / "s", {"a": ONE_RATE, "b": ALSO_ONE_RATE,
                                   "stuck": STUCK})
    report = report_lib.build_report(d)
    verdict = report["verdict"]
    assert "Ranked by success" in verdict
    assert "tied at 2/6 (33%" in verdict, verdict
    assert "band: one rate (0.01)" in verdict, verdict
    assert "0.00 decades" not in verdict
    assert "one rate (0.01)" in report_lib.markdown(report)
    assert "0.00 (" not in report_lib.markdown(report)
    only_ties = report_lib.build_report(
        fabricate(tmp_path / "t", {"a": ONE_RATE, "b": ALSO_ONE_RATE}))
    assert only_ties["verdict"].startswith("By success (val_mse <= 0.01): tied at ")


def test_no_legend_covers_the_axes(tmp_path):
    d = fabricate(tmp_path / "s", {"stuck": STUCK, "learns": LEARNS,
                                   "a": ONE_RATE, "b": ALSO_ONE_RATE})
    fig = report_lib.figure(report_lib.build_report(d))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    legends = [ax.get_legend() for ax in fig.axes]
    assert all(legends) and len(legends) == 2
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), (box, ax)
    text = fig.texts[0].get_window_extent(renderer)  # the headline
    assert not any(text.overlaps(legend.get_window_extent(renderer))
                   for legend in legends)
