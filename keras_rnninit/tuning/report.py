"""The sensitivity report, rebuilt from a study directory's per-trial results.

For each candidate: the success fraction with its 95% Wilson interval, the
divergence fraction, the learning-rate sensitivity of Wortsman et al. 2023
(arXiv:2309.14322), the width of the learning-rate band where at least half
the seeds succeed, and the median steps to the threshold; then which
differences between candidates are statistically clear (Fisher's exact test,
Holm-corrected), and, for the random protocol, each hyperparameter's
importance. Every (configuration, seed) result is listed on its own.
"""

import glob
import itertools
import json
import os
import statistics as stats
import textwrap

from keras_rnninit import objective as objective_lib
from keras_rnninit.tuning import statistics
from keras_rnninit.tuning.study import PROJECT
from keras_rnninit.tuning.study import RESULT_FILE
from keras_rnninit.tuning.study import load_settings

REPORT_NAME = "sensitivity"


def read_results(directory):
    """Every trial's record: its result.json, or its keras-tuner status.

    A planned trial run twice (interrupted, then resumed) is counted once,
    its completed run preferred.
    """
    records = {}
    pattern = os.path.join(directory, PROJECT, "trial_*", "trial.json")
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            trial = json.load(f)
        values = trial.get("hyperparameters", {}).get("values", {})
        if "candidate" not in values:
            continue
        key = (values["candidate"], int(values["config"]), int(values["seed"]))
        result_path = os.path.join(os.path.dirname(path), RESULT_FILE)
        status = trial.get("status")
        if status == "COMPLETED" and os.path.exists(result_path):
            with open(result_path) as f:
                record = json.load(f)
            record["status"] = "COMPLETED"
        elif status in ("FAILED", "INVALID"):
            record = {
                "candidate": values["candidate"], "config": key[1],
                "seed": key[2], "hyperparameters": values, "value": None,
                "diverged": False, "status": "FAILED",
                "message": ((trial.get("message") or "").strip().splitlines()
                            or [""])[-1],
            }
        else:
            continue  # running, or interrupted and not yet rerun
        if key not in records or records[key]["status"] != "COMPLETED":
            records[key] = record
    return list(records.values())


def _baseline(settings, records):
    if settings.baseline is not None:
        return float(settings.baseline)
    initial = [r["initial"] for r in records if objective_lib.is_finite(r.get("initial"))]
    return float(stats.median(initial)) if initial else None


def candidate_summary(records, settings, threshold, baseline, planned):
    """The figures of one candidate's finished trials."""
    direction = settings.direction
    done = [r for r in records if r["status"] == "COMPLETED"]
    failed = [r for r in records if r["status"] == "FAILED"]
    n = len(done) + len(failed)
    success = [r for r in done if objective_lib.reached(r["value"], threshold, direction)]
    diverged = [r for r in done if r["diverged"]]
    steps = sorted(r["steps_to_threshold"] for r in success if r.get("steps_to_threshold"))
    values = [r["value"] for r in done if objective_lib.is_finite(r["value"])]
    low, high = statistics.wilson_interval(len(success), n)
    summary = {
        "planned": planned,
        "trials": n,
        "failed": len(failed),
        "successes": len(success),
        "success_fraction": len(success) / n if n else None,
        "success_interval": [low, high],
        "diverged": len(diverged),
        "errors": sorted({r["message"] for r in failed if r.get("message")}),
        "diverged_fraction": len(diverged) / n if n else None,
        "best": None,
        "median": None,
        "median_steps_to_threshold": stats.median(steps) if steps else None,
        "baseline": baseline,
        "never_learned": False,
        "lr_sensitivity": None,
        "lr_sensitivity_seeds": None,
        "band_decades": None,
        "band": None,
        "by_learning_rate": {},
    }
    if values:
        best = min(values) if direction == "min" else max(values)
        summary.update(best=best, median=stats.median(values))
    if settings.protocol != "sweep" or not n:
        return summary
    by_lr, by_seed = {}, {}
    for r in done + failed:
        lr = r["hyperparameters"]["learning_rate"]
        by_lr.setdefault(lr, []).append(r)
        by_seed.setdefault(r["seed"], {})[lr] = r["value"]
    for lr, rs in sorted(by_lr.items()):
        finite = [r["value"] for r in rs if objective_lib.is_finite(r["value"])]
        summary["by_learning_rate"][repr(lr)] = {
            "learning_rate": lr,
            "seeds": len(rs),
            "successes": sum(
                objective_lib.reached(r["value"], threshold, direction) for r in rs
            ),
            "diverged": sum(bool(r["diverged"]) for r in rs),
            "median": stats.median(finite) if finite else None,
            "min": min(finite) if finite else None,
            "max": max(finite) if finite else None,
        }
    # A candidate that never leaves the baseline would score as insensitive
    # (every rate as good as its best): it gets no sensitivity at all.
    summary["never_learned"] = baseline is not None and bool(done) and not any(
        objective_lib.learned(r["value"], baseline, threshold, direction)
        for r in done)
    if baseline is not None and not summary["never_learned"]:
        summary["lr_sensitivity"] = statistics.lr_sensitivity(
            {lr: [r["value"] for r in rs] for lr, rs in by_lr.items()},
            baseline, direction,
        )
        complete = [v for v in by_seed.values() if len(v) == len(by_lr)]
        per_seed = [statistics.lr_sensitivity(v, baseline, direction) for v in complete]
        if per_seed:
            summary["lr_sensitivity_seeds"] = [min(per_seed), max(per_seed)]
    width, low_lr, high_lr = statistics.success_band({
        float(v["learning_rate"]): v["successes"] / v["seeds"]
        for v in summary["by_learning_rate"].values()
    })
    summary["band_decades"] = width
    summary["band"] = None if width is None else [low_lr, high_lr]
    return summary


def comparisons(summaries, alpha=0.05):
    """Pairwise Fisher exact tests of success fractions, Holm-corrected."""
    pairs = [
        (a, b) for a, b in itertools.combinations(summaries, 2)
        if summaries[a]["trials"] and summaries[b]["trials"]
    ]
    p_values = [
        statistics.fisher_exact(
            summaries[a]["successes"], summaries[a]["trials"],
            summaries[b]["successes"], summaries[b]["trials"],
        )
        for a, b in pairs
    ]
    significant = statistics.holm(p_values, alpha)
    return [
        {"a": a, "b": b, "p": p, "significant": sig}
        for (a, b), p, sig in zip(pairs, p_values, significant)
    ]


def _percent(x):
    return "-" if x is None else f"{100 * x:.0f}%"


def verdict(report):
    """One paragraph that ranks the candidates and says which gaps are clear."""
    summaries = report["candidates"]
    ranked = sorted(
        (c for c in summaries if summaries[c]["trials"]),
        key=lambda c: (
            -summaries[c]["success_fraction"],
            summaries[c]["lr_sensitivity"] if summaries[c]["lr_sensitivity"]
            is not None else float("inf"),
        ),
    )
    if not ranked:
        return "No trial has finished yet."
    groups = []  # candidates with the same successes in the same trials
    for c in ranked:
        key = (summaries[c]["successes"], summaries[c]["trials"])
        if groups and groups[-1][0] == key:
            groups[-1][1].append(c)
        else:
            groups.append((key, [c]))
    parts = []
    for (successes, trials), names in groups:
        s = summaries[names[0]]
        low, high = s["success_interval"]
        count = (f"{successes}/{trials} ({_percent(s['success_fraction'])}, "
                 f"95% CI {_percent(low)}-{_percent(high)}")
        if len(names) == 1:
            band = _band_text(s)
            parts.append(f"{names[0]} {count}" + (f", {band})" if band else ")"))
        else:
            parts.append(f"tied at {count}): " + ", ".join(
                n + (f" ({_band_text(summaries[n])})" if _band_text(summaries[n])
                     else "") for n in names))
    sentence = (
        f"{'By' if len(groups) == 1 else 'Ranked by'} success "
        f"({report['objective']} "
        f"{objective_lib.comparison_symbol(report['direction'])} "
        f"{report['threshold']:g}): " + "; ".join(parts) + "."
    )
    clear = [c for c in report["comparisons"] if c["significant"]]
    unclear = [c for c in report["comparisons"] if not c["significant"]]

    def order(c):
        a, b = c["a"], c["b"]
        if summaries[a]["success_fraction"] < summaries[b]["success_fraction"]:
            a, b = b, a
        return f"{a} > {b} (p={c['p']:.2g})"

    if clear:
        sentence += (" Statistically clear (Fisher's exact test, Holm-corrected, "
                     "5%): " + ", ".join(order(c) for c in clear) + ".")
    else:
        sentence += (" No difference in success is statistically clear (Fisher's "
                     "exact test, Holm-corrected, 5%).")
    if unclear and clear:
        sentence += " Not clear: " + ", ".join(
            f"{c['a']} vs {c['b']} (p={c['p']:.2g})" for c in unclear) + "."
    failed = {c: s for c, s in summaries.items() if s["failed"]}
    if failed:
        sentence += " Trials that failed with an error count as failures: " + ", ".join(
            f"{c} {s['failed']} ({s['errors'][0]})" for c, s in failed.items()
        ) + ". Fix the cause and re-run the same command: failed trials run again."
    stuck = [c for c, s in summaries.items() if s.get("never_learned")]
    if stuck:
        sentence += (" Never learned (no trial moved off the trivial baseline, "
                     "so no learning-rate sensitivity): " + ", ".join(stuck) + ".")
    missing = sum(s["planned"] - s["trials"] for s in summaries.values())
    if missing > 0:
        sentence += (f" {missing} planned trial(s) have not run yet: re-run the "
                     "same command to finish the study.")
    return sentence


def _band_text(s):
    """The LR band in words: its width in decades and its rates, or the one
    rate where it is a single rate; "" without a band."""
    if s["band_decades"] is None:
        return ""
    low, high = s["band"]
    if s["band_decades"] == 0:
        return f"band: one rate ({low:.2g})"
    return f"band {s['band_decades']:.2f} decades ({low:.2g}-{high:.2g})"


def timing(records):
    """Steps per second, trials per hour and the per-trial overhead."""
    done = [r for r in records if r["status"] == "COMPLETED" and "seconds" in r]
    if not done:
        return None
    total = sum(r["seconds"]["total"] for r in done)
    train = sum(r["seconds"]["train"] for r in done)
    steps = sum(r["steps_run"] for r in done)
    # Trials that trained an already compiled model: the steady cost, without
    # each model's one compilation.
    reused = [r for r in done if r.get("reused_compiled_model")]
    reused_total = sum(r["seconds"]["total"] for r in reused)
    reused_train = sum(r["seconds"]["train"] for r in reused)
    return {
        "trials": len(done),
        "seconds": total,
        "mean_trial_seconds": total / len(done),
        "steps_per_second": steps / train if train else None,
        "trials_per_hour": 3600 * len(done) / total if total else None,
        "overhead_fraction": 1 - train / total if total else None,
        "reused_trials": len(reused),
        "reused_overhead_fraction": (1 - reused_train / reused_total
                                     if reused_total else None),
    }


def build_report(directory, threshold=None):
    """The report of a finished or partial study directory, as a dict.

    `threshold` reads the same trials at another level of success.
    """
    settings = load_settings(directory)
    threshold = settings.threshold if threshold is None else float(threshold)
    records = read_results(directory)
    planned = settings.planned_trials // len(settings.candidates)
    summaries, trials = {}, {}
    for name in settings.candidates:
        mine = [r for r in records if r["candidate"] == name]
        baseline = _baseline(settings, mine)
        summaries[name] = candidate_summary(mine, settings, threshold, baseline, planned)
        trials[name] = sorted(
            ({k: r.get(k) for k in ("config", "seed", "value", "diverged",
                                    "steps_to_threshold", "steps_run", "status")}
             | {"hyperparameters": r["hyperparameters"]} for r in mine),
            key=lambda r: (r["config"], r["seed"]),
        )
    report = {
        "directory": os.path.abspath(directory),
        "description": settings.description,
        "details": settings.details,
        "objective": settings.objective,
        "direction": settings.direction,
        "threshold": threshold,
        "baseline": settings.baseline,
        "protocol": settings.protocol,
        "learning_rates": settings.grid if settings.protocol == "sweep" else None,
        "learning_rate_range": list(settings.learning_rate_range),
        "seeds": settings.seeds,
        "steps": settings.steps,
        "eval_every": settings.eval_every,
        "optimizer": settings.optimizer,
        "candidates": summaries,
        "comparisons": comparisons(summaries),
        "timing": timing(records),
        "importance": None,
        "trials": trials,
    }
    if settings.protocol == "random":
        from keras_rnninit.tuning import importance

        report["importance"] = importance.by_candidate(records, settings, summaries)
    report["verdict"] = verdict(report)
    return report


COLUMNS = [
    ("candidate", "candidate"),
    ("success", "success (95% CI)"),
    ("diverged", "diverged"),
    ("failed", "errors"),
    ("lr_sensitivity", "LR sensitivity"),
    ("band", "LR band (decades)"),
    ("steps", "median steps"),
    ("best", "best"),
]


def _row(name, s):
    low, high = s["success_interval"]
    sensitivity = "never learned" if s.get("never_learned") else "-"
    if s["lr_sensitivity"] is not None:
        sensitivity = f"{s['lr_sensitivity']:.3g}"
        if s["lr_sensitivity_seeds"]:
            a, b = s["lr_sensitivity_seeds"]
            sensitivity += f" ({a:.3g}-{b:.3g})"
    band = "-"
    if s["band_decades"] == 0:
        band = f"one rate ({s['band'][0]:.2g})"
    elif s["band_decades"] is not None:
        band = f"{s['band_decades']:.2f} ({s['band'][0]:.2g}-{s['band'][1]:.2g})"
    return [
        name,
        f"{s['successes']}/{s['trials']} {_percent(s['success_fraction'])} "
        f"({_percent(low)}-{_percent(high)})",
        f"{s['diverged']}/{s['trials']}",
        f"{s['failed']}/{s['trials']}" if s["failed"] else "-",
        sensitivity,
        band,
        "-" if s["median_steps_to_threshold"] is None
        else f"{s['median_steps_to_threshold']:.0f}",
        "-" if s["best"] is None else f"{s['best']:.4g}",
    ]


def _title(report):
    return f"Sensitivity: {report['description']}"


def cost(timing):
    """One sentence: trials, time, steps/s, trials/hour, per-trial overhead."""
    t = timing
    return (
        # Summed over the trials: with --jobs they overlap in wall time.
        f"{t['trials']} trials, {t['seconds'] / 60:.1f} min of trial time: "
        f"{t['mean_trial_seconds']:.1f} s a trial, "
        f"{t['trials_per_hour']:.0f} trials/hour, "
        f"{t['steps_per_second']:.0f} steps/s while training; per-trial "
        f"overhead (build, compile, validation) "
        f"{100 * t['overhead_fraction']:.1f}% of trial time"
        + (f" ({100 * t['reused_overhead_fraction']:.1f}% in the "
           f"{t['reused_trials']} trials that reused a compiled model)"
           if t.get("reused_overhead_fraction") is not None else "")
        + "."
    )


def markdown(report):
    symbol = objective_lib.comparison_symbol(report["direction"])
    baseline = (f"trivial baseline {report['baseline']:.4g}"
                if report["baseline"] is not None
                else "baseline: each candidate's objective at initialization")
    if report["protocol"] == "sweep":
        grid = ", ".join(f"{lr:g}" for lr in report["learning_rates"])
        protocol = (f"learning-rate sweep over {grid}, {report['seeds']} seeds "
                    "each, every other hyperparameter at the candidate's default")
    else:
        low, high = report["learning_rate_range"]
        protocol = (f"random search, {report['seeds']} seeds per configuration, "
                    f"learning rate {low:g}..{high:g}")
    lines = [
        f"# {_title(report)}",
        "",
        f"Success: {report['objective']} {symbol} {report['threshold']:g} ({baseline}). "
        f"Protocol: {protocol}; at most {report['steps']} optimizer steps a trial, "
        f"validated every {report['eval_every']}, stopped once the threshold is "
        "reached or at the first NaN/inf (diverged, counted as a failure).",
        "",
        "LR sensitivity (Wortsman et al. 2023): mean over the grid of "
        "min(objective, baseline) minus its best, averaged over seeds (range "
        "over single seeds in brackets); 0 is insensitive. A candidate none of "
        "whose trials moved off the trivial baseline (by a tenth of the way to "
        "the threshold) reads 'never learned': it is insensitive only because "
        "it never trains. LR band: the widest "
        "run of adjacent grid learning rates where at least half the seeds "
        "succeed. Intervals: 95% Wilson.",
        "",
        "| " + " | ".join(h for _, h in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(_row(n, s)) + " |"
              for n, s in report["candidates"].items()]
    lines += ["", "## Verdict", "", report["verdict"], ""]
    if report["details"]:
        lines += ["## Candidates", ""]
        lines += [f"- {k}: {v}" for k, v in report["details"].items()] + [""]
    if report["importance"]:
        lines += ["## Hyperparameter importance", ""]
        for name, imp in report["importance"].items():
            if isinstance(imp, dict):
                lines.append(f"- {name}: " + ", ".join(
                    f"{k} {v:.2f}" for k, v in imp.items()))
            else:
                lines.append(f"- {name}: {imp}")
        lines.append("")
    if report["timing"]:
        lines += ["## Cost", "", cost(report["timing"]), ""]
    lines += ["## Every trial", "",
              "| candidate | learning rate | seed | objective | steps to threshold |",
              "|---|---|---|---|---|"]
    for name, rows in report["trials"].items():
        for r in rows:
            value = ("diverged" if r["diverged"] else "failed"
                     if r["status"] == "FAILED" else f"{r['value']:.4g}")
            lines.append(
                f"| {name} | {r['hyperparameters']['learning_rate']:.3g} | "
                f"{r['seed']} | {value} | {r['steps_to_threshold'] or '-'} |"
            )
    return "\n".join(lines) + "\n"


def terminal_table(report, width=None):
    """The table and the verdict as text for the terminal's width."""
    import io
    import shutil
    import sys

    from rich.console import Console
    from rich.table import Table

    if width is None:
        # Into a file or a pipe nothing is cut: the table is as wide as it
        # needs, each sentence one line.
        width = (shutil.get_terminal_size((100, 24)).columns
                 if sys.stdout.isatty() else 10_000)
    table = Table(title=_title(report))
    for _, header in COLUMNS:
        table.add_column(header)
    for name, s in report["candidates"].items():
        table.add_row(*_row(name, s))
    buffer = io.StringIO()
    console = Console(file=buffer, width=width)
    console.print(table)
    console.print(report["verdict"])
    if report["timing"]:
        console.print("Cost: " + cost(report["timing"]))
    return buffer.getvalue()


def plot(report, path):
    """Objective and success fraction against learning rate, to `path`."""
    figure(report).savefig(path, dpi=110)
    return path


def figure(report):
    """The report's plot as a matplotlib `Figure`."""
    # A bare Figure: no pyplot state, so a notebook's own plots are untouched.
    import matplotlib
    from matplotlib.figure import Figure

    minimize = report["direction"] == "min"
    sweep = report["protocol"] == "sweep"
    fig = Figure(figsize=(11 if sweep else 7, 6))
    axes = fig.subplots(1, 2 if sweep else 1, squeeze=False)[0]
    ax = axes[0]
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    finite = [r["value"] for rows in report["trials"].values() for r in rows
              if objective_lib.is_finite(r["value"])]
    references = [report["threshold"]] + [
        s["baseline"] for s in report["candidates"].values() if s["baseline"]]
    values = finite + references
    # Diverged trials are drawn as x beyond the worst value, on the worse side.
    spread = (max(values) - min(values)) or 1.0
    worst = (max(values) * 1.5) if minimize else (min(values) - 0.05 * spread)
    count = len(report["trials"])
    same = _coinciding_lines(report) if sweep else {}
    for i, (name, rows) in enumerate(report["trials"].items()):
        color = colors[i % len(colors)]
        s = report["candidates"][name]
        # A small offset per candidate along the learning rate, so that equal
        # values (all diverged at one rate, two lines at the baseline) stay
        # visible side by side.
        dodge = 10 ** (0.02 * (i - (count - 1) / 2))
        if sweep and s["by_learning_rate"]:
            points = sorted(s["by_learning_rate"].values(),
                            key=lambda v: v["learning_rate"])
            points = [p for p in points if p["median"] is not None]
            lrs = [p["learning_rate"] * dodge for p in points]
            label = f"{name} (median of seeds)"
            if name in same:
                label += f"; same line as {', '.join(same[name])}"
            ax.plot(lrs, [p["median"] for p in points], color=color,
                    marker=MARKERS[i % len(MARKERS)], label=label)
            ax.fill_between(lrs, [p["min"] for p in points],
                            [p["max"] for p in points], color=color, alpha=0.15)
        else:
            ok = [r for r in rows if objective_lib.is_finite(r["value"])]
            ax.scatter([r["hyperparameters"]["learning_rate"] * dodge for r in ok],
                       [r["value"] for r in ok], color=color, label=name,
                       marker=MARKERS[i % len(MARKERS)], alpha=0.7)
        diverged = {}
        for r in rows:
            if r["diverged"]:
                lr = r["hyperparameters"]["learning_rate"]
                diverged[lr] = diverged.get(lr, 0) + 1
        # Diverged trials: above (or below) every value, one row per
        # candidate, so that no marker hides another.
        row = worst * 1.3 ** i if minimize else worst - 0.04 * spread * i
        for lr, n in diverged.items():
            ax.scatter([lr * dodge], [row], color=color, marker="x", s=40)
            ax.annotate(str(n), (lr * dodge, row), color=color, fontsize=7,
                        xytext=(3, -3), textcoords="offset points")
    if any(r["diverged"] for rows in report["trials"].values() for r in rows):
        ax.scatter([], [], color="gray", marker="x",
                   label="diverged (seeds), one row per candidate")
    ax.axhline(report["threshold"], color="black", ls="--", lw=1,
               label=f"success threshold {report['threshold']:g}")
    if report["baseline"] is not None:
        ax.axhline(report["baseline"], color="gray", ls=":", lw=1,
                   label=f"trivial baseline {report['baseline']:.3g}")
    # With no finished trial there is nothing on a log axis (matplotlib fails).
    if finite or any(r["diverged"] for rows in report["trials"].values() for r in rows):
        ax.set_xscale("log")
    else:
        ax.text(0.5, 0.5, "no trial finished", ha="center", transform=ax.transAxes)
    if minimize and min(values) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"best {report['objective']} "
                  f"({'lower' if minimize else 'higher'} is better)")
    ax.set_title(_title(report), fontsize=9)
    _legend_below(ax)
    if sweep:
        ax = axes[1]
        count = len(report["candidates"])
        fractions = {
            name: tuple((v["learning_rate"], v["successes"] / v["seeds"])
                        for v in sorted(s["by_learning_rate"].values(),
                                        key=lambda v: v["learning_rate"]))
            for name, s in report["candidates"].items()}
        for i, (name, points) in enumerate(fractions.items()):
            # A small offset per candidate, across and up, so that equal
            # fractions stay visible; the legend names the equal lines.
            dodge = 10 ** (0.015 * (i - (count - 1) / 2))
            lift = 0.012 * (i - (count - 1) / 2)
            equal = [o for o, q in fractions.items() if o != name and q == points]
            ax.plot([lr * dodge for lr, _ in points], [f + lift for _, f in points],
                    color=colors[i % len(colors)], marker=MARKERS[i % len(MARKERS)],
                    label=name + (f" (same as {', '.join(equal)})" if equal else ""))
        if any(s["by_learning_rate"] for s in report["candidates"].values()):
            ax.set_xscale("log")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("fraction of seeds that succeed")
        _legend_below(ax)
    fig.text(0.01, 0.01, textwrap.fill(headline(report), 160), fontsize=8,
             va="bottom")
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def _legend_below(ax):
    """The legend under the axes, outside them: it covers no data."""
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13),
              ncol=2, frameon=False)


MARKERS = ("o", "s", "^", "D", "v", "P", "*", "h")


def _coinciding_lines(report, tolerance=0.05):
    """Candidate -> the others whose median line lies on its own (within
    `tolerance`, relative, at every learning rate): one hides the other."""
    lines = {}
    for name, s in report["candidates"].items():
        # The line drawn: the rates where some seed did not diverge.
        points = {v["learning_rate"]: v["median"]
                  for v in s["by_learning_rate"].values()
                  if objective_lib.is_finite(v["median"])}
        if points:
            lines[name] = points

    def close(a, b):
        return a.keys() == b.keys() and all(
            abs(a[lr] - b[lr]) <= tolerance * max(abs(a[lr]), abs(b[lr]), 1e-12)
            for lr in a)

    return {name: others for name in lines
            if (others := [o for o in lines if o != name
                           and close(lines[name], lines[o])])}


def headline(report):
    """The verdict in one sentence: each candidate's successes, and which
    differences are clear."""
    summaries = report["candidates"]
    counts = ", ".join(
        f"{c} {s['successes']}/{s['trials']}"
        + (" (never learned)" if s.get("never_learned") else "")
        for c, s in summaries.items() if s["trials"])
    if not counts:
        return "Verdict: no trial has finished yet."
    clear = []
    for c in report["comparisons"]:
        if c["significant"]:
            a, b = c["a"], c["b"]
            if summaries[a]["success_fraction"] < summaries[b]["success_fraction"]:
                a, b = b, a
            clear.append(f"{a} > {b} (p={c['p']:.2g})")
    return (f"Verdict: success ({report['objective']} "
            f"{objective_lib.comparison_symbol(report['direction'])} "
            f"{report['threshold']:g}) {counts}. "
            + ("Clear (Fisher, Holm-corrected): " + ", ".join(clear) + "."
               if clear else "No difference in success is statistically clear."))


def write_report(directory, threshold=None):
    """Builds the report and writes JSON, Markdown and PNG into `directory`.

    With a `threshold` other than the study's, the files are named
    `sensitivity_<threshold>.*` so that the default report stays.
    """
    report = build_report(directory, threshold)
    stem = REPORT_NAME if threshold is None else f"{REPORT_NAME}_{threshold:g}"
    paths = {kind: os.path.join(directory, f"{stem}.{ext}")
             for kind, ext in (("json", "json"), ("markdown", "md"), ("png", "png"))}
    with open(paths["json"], "w") as f:
        json.dump(report, f, indent=1)
    with open(paths["markdown"], "w") as f:
        f.write(markdown(report))
    plot(report, paths["png"])
    return report, paths
