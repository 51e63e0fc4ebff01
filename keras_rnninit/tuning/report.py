"""The sensitivity report, rebuilt from a search directory's trial files."""

import glob
import json
import math
import os

import numpy as np

from keras_rnninit.tuning.search import CONFIG_FILE
from keras_rnninit.tuning.search import load_config

REPORT_JSON = "sensitivity.json"
REPORT_MD = "sensitivity.md"
REPORT_PNG = "sensitivity.png"


def _succeeded(value, threshold, direction):
    return value < threshold if direction == "min" else value > threshold


def read_trials(project_dir, objective):
    """Reads every trial of one keras-tuner project.

    Returns a list of dicts with `trial_id`, `status`, `hyperparameters`,
    `value` (the trial's objective, None if it has none) and `diverged`.
    """
    trials = []
    for path in sorted(glob.glob(os.path.join(project_dir, "trial_*", "trial.json"))):
        with open(path) as f:
            trial = json.load(f)
        metrics = trial.get("metrics", {}).get("metrics", {})

        def last(name, metrics=metrics):
            observations = metrics.get(name, {}).get("observations", [])
            if not observations:
                return None
            value = observations[-1]["value"]
            return float(value[0] if isinstance(value, list) else value)

        value = trial.get("score")
        if value is None:
            value = last(objective)
        diverged = last("diverged")
        trials.append({
            "trial_id": trial.get("trial_id"),
            "status": trial.get("status"),
            "hyperparameters": trial.get("hyperparameters", {}).get("values", {}),
            "value": None if value is None else float(value),
            "diverged": bool(diverged) or (
                value is not None and not math.isfinite(float(value))
            ),
        })
    return trials


def family_summary(trials, threshold, direction):
    """Sensitivity figures for one family's finished trials."""
    finished = [t for t in trials if t["status"] == "COMPLETED"]
    failed = [t for t in trials if t["status"] in ("FAILED", "INVALID")]
    healthy = [t for t in finished if not t["diverged"] and t["value"] is not None]
    values = np.array([t["value"] for t in healthy], dtype=float)
    successes = [t for t in healthy if _succeeded(t["value"], threshold, direction)]
    rates = sorted(
        t["hyperparameters"]["learning_rate"] for t in successes
        if "learning_rate" in t["hyperparameters"]
    )
    counted = len(finished) + len(failed)
    summary = {
        "trials": counted,
        "unfinished": len(trials) - counted,
        "diverged": sum(t["diverged"] for t in finished),
        "failed": len(failed),
        "successes": len(successes),
        "success_fraction": (len(successes) / counted) if counted else None,
        "best": None,
        "median": None,
        "iqr": None,
        "lr_band": None,
        "lr_band_decades": None,
    }
    if len(values):
        best = values.min() if direction == "min" else values.max()
        q25, q50, q75 = np.percentile(values, [25, 50, 75])
        summary.update(best=float(best), median=float(q50), iqr=float(q75 - q25))
    if rates:
        summary["lr_band"] = [rates[0], rates[-1]]
        summary["lr_band_decades"] = math.log10(rates[-1] / rates[0])
    return summary


def build_report(directory, threshold=None):
    """The report of a finished or partial search directory, as a dict.

    `threshold` overrides the search's success threshold, to read the same
    trials at another level of success.
    """
    search = load_config(directory)
    objective, direction = search["objective"], search["direction"]
    if threshold is None:
        threshold = search["threshold"]
    families = {}
    points = {}
    for family in search["config"]["families"]:
        trials = read_trials(os.path.join(directory, family), objective)
        families[family] = family_summary(trials, threshold, direction)
        points[family] = [
            {"learning_rate": t["hyperparameters"].get("learning_rate"),
             "value": t["value"], "diverged": t["diverged"],
             "hyperparameters": t["hyperparameters"]}
            for t in trials if t["status"] == "COMPLETED"
        ]
    return {
        "directory": os.path.abspath(directory),
        "task": search["config"]["task"],
        "task_kwargs": search["config"]["task_kwargs"],
        "objective": objective,
        "direction": direction,
        "threshold": threshold,
        "baseline": search["baseline"],
        "learning_rate_range": search["config"]["space"]["learning_rate"],
        "families": families,
        "trials": points,
    }


COLUMNS = [
    ("family", "family"),
    ("trials", "trials"),
    ("successes", "succeeded"),
    ("success_fraction", "success rate"),
    ("diverged", "diverged"),
    ("best", "best"),
    ("median", "median"),
    ("iqr", "IQR"),
    ("lr_band_decades", "LR band (decades)"),
]


def _cell(key, summary):
    value = summary.get(key)
    if value is None:
        return "-"
    if key == "success_fraction":
        return f"{100 * value:.0f}%"
    if key in ("best", "median", "iqr"):
        return f"{value:.4g}"
    if key == "lr_band_decades":
        low, high = summary["lr_band"]
        return f"{value:.2f} ({low:.1e}..{high:.1e})"
    return str(value)


def table_rows(report):
    rows = []
    for family, summary in report["families"].items():
        rows.append([family] + [_cell(k, summary) for k, _ in COLUMNS[1:]])
    return rows


def markdown(report):
    kwargs = ", ".join(f"{k}={v}" for k, v in report["task_kwargs"].items())
    comparison = "<" if report["direction"] == "min" else ">"
    lines = [
        f"# Sensitivity report: {report['task']} ({kwargs})",
        "",
        f"Success: {report['objective']} {comparison} {report['threshold']:g} "
        f"(trivial baseline {report['baseline']:.4g}). Learning rates searched "
        f"over {report['learning_rate_range'][0]:g}..{report['learning_rate_range'][1]:g}. "
        "Diverged trials (NaN or inf) count as failures. The LR band is the span "
        "of learning rates of the successful trials.",
        "",
        "| " + " | ".join(h for _, h in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(report)]
    return "\n".join(lines) + "\n"


def terminal_table(report):
    """The table as text for the terminal (with rich when it is installed)."""
    try:
        import io

        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover
        return markdown(report)
    table = Table(title=f"Sensitivity: {report['task']}, {report['objective']}")
    for _, header in COLUMNS:
        table.add_column(header)
    for row in table_rows(report):
        table.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, width=120).print(table)
    return buffer.getvalue()


def plot(report, path):
    """Plots objective against learning rate, one colour per family, to `path`."""
    # A bare Figure: no pyplot state, so a notebook's own plots are untouched.
    import matplotlib
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    minimize = report["direction"] == "min"
    # Trials far worse than the trivial baseline are drawn at the top edge
    # (^), diverged ones just above it (x), so that the interesting range
    # stays readable.
    cap = 10 * max(report["baseline"], report["threshold"]) if minimize else None
    top = cap * 1.6 if minimize else 1.05
    for i, (family, points) in enumerate(report["trials"].items()):
        color = colors[i % len(colors)]
        ok = [p for p in points if not p["diverged"] and p["learning_rate"]]
        inside = [p for p in ok if cap is None or p["value"] <= cap]
        above = [p for p in ok if cap is not None and p["value"] > cap]
        bad = [p for p in points if p["diverged"] and p["learning_rate"]]
        ax.scatter([p["learning_rate"] for p in inside],
                   [p["value"] for p in inside],
                   color=color, label=family, alpha=0.8)
        if above:
            ax.scatter([p["learning_rate"] for p in above], [cap] * len(above),
                       color=color, marker="^", alpha=0.8)
        if bad:
            ax.scatter([p["learning_rate"] for p in bad], [top] * len(bad),
                       color=color, marker="x", alpha=0.8)
    ax.axhline(report["threshold"], color="black", ls="--", lw=1,
               label=f"success threshold {report['threshold']:g}")
    ax.axhline(report["baseline"], color="gray", ls=":", lw=1,
               label=f"trivial baseline {report['baseline']:.3g}")
    ax.set_xscale("log")
    if report["direction"] == "min":
        ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(
        f"{report['objective']} (x: diverged"
        + (f", ^: above {cap:.3g})" if minimize else ")")
    )
    ax.set_title(f"Hyperparameter sensitivity on {report['task']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def write_report(directory, threshold=None):
    """Builds the report and writes JSON, Markdown and PNG into `directory`.

    With a `threshold` other than the search's, the files are named
    `sensitivity_<threshold>.*` so that the default report stays.
    """
    report = build_report(directory, threshold)
    suffix = "" if threshold is None else f"_{threshold:g}"
    paths = {
        kind: os.path.join(directory, name.replace(".", f"{suffix}.", 1))
        for kind, name in (
            ("json", REPORT_JSON), ("markdown", REPORT_MD), ("png", REPORT_PNG)
        )
    }
    with open(paths["json"], "w") as f:
        json.dump(report, f, indent=2)
    with open(paths["markdown"], "w") as f:
        f.write(markdown(report))
    plot(report, paths["png"])
    return report, paths


__all__ = ["CONFIG_FILE", "build_report", "write_report", "terminal_table"]
