"""Sequence generation at equal parameter counts: Clockwork vs tanh RNN vs LSTM.

The sequence-generation experiment of Koutnik et al. 2014 (arXiv 1402.3511),
on the `"waveform"` task: from a constant input, emit the default 320-sample
multi-rate waveform (five sines, periods 4 to 160 steps). Every family gets
one recurrent layer and a `Dense(1)` head, sized with
`models.units_for_parameters` to about 100, 250, 500 and 1000 parameters
(Clockwork: 8 modules, periods 1..128, counting only the recurrent blocks it
uses: the paper's point that a CW-RNN has fewer parameters than an SRN with
as many units). Each (family, size) is trained with Adam (clip
norm 1) for `--steps` steps from `--seeds` seeds; the score is the final
normalized MSE (1.0: the mean; the task counts as solved at 0.05).

Learning rate, one per (family, size), by a short sweep: each rate of
`--learning-rates` trains one model (seed 1000, not one of the reported
seeds) for a fifth of `--steps`; the rate with the lowest mean NMSE over the
second half of that run is used for every seed.

The default budget (8000 steps per run, six sweep runs of 1600 steps, 3
seeds, 12 sizes: about 400K steps of 0.4 to 1.2 ms each on JAX at these
sizes, plus one to two seconds per run to build and compile 108 models) is
estimated at 8 to 10 minutes on a 2-core CPU, from the step costs of short
runs.

    KERAS_BACKEND=jax python benchmarks/clockwork_generation.py
    KERAS_BACKEND=jax python benchmarks/clockwork_generation.py --steps 100 \\
        --seeds 1 --parameters 100,1000          # a smoke run

Resumable: every finished run (and sweep run) is stored in the JSON file at
once and not run again; a run with other settings (steps, length, rates,
modules) refuses to mix with it unless `--overwrite`. Writes
`benchmarks/results/clockwork_generation.{json,md,png}` (or under
`BENCHMARK_RESULTS_DIR`).
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

if os.environ.get("KERAS_BACKEND") == "jax":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

from keras_rnninit import models  # noqa: E402
from keras_rnninit import tasks  # noqa: E402
from keras_rnninit.tasks.waveform import SUCCESS_NMSE  # noqa: E402
from keras_rnninit.tasks.waveform import multirate_signal  # noqa: E402

FAMILIES = ("clockwork", "tanh-rnn", "lstm")
LABELS = {"clockwork": "Clockwork", "tanh-rnn": "tanh RNN", "lstm": "LSTM"}
CLIPNORM = 1.0
SWEEP_SEED = 1000
# Stored runs are reused only when these settings match; families, sizes
# and seeds can be added to a finished run.
COMPARED = ("steps", "eval_every", "sweep_steps", "length", "learning_rates",
            "num_modules", "clipnorm")


def _floats(text):
    return [float(v) for v in text.split(",") if v]


def _ints(text):
    return [int(v) for v in text.split(",") if v]


def nmse(prediction, target):
    return float(np.mean((prediction - target) ** 2) / np.var(target))


class Curve(keras.callbacks.Callback):
    """NMSE of the generated sequence every epoch (`eval_every` steps);
    stops at the first non-finite value."""

    def __init__(self, x, target, eval_every):
        super().__init__()
        self.x, self.target, self.eval_every = x, target, eval_every
        self.points = []
        self.prediction = None
        self.epoch_seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()

    def record(self, step):
        prediction = np.asarray(self.model.predict_on_batch(self.x))[0, :, 0]
        value = nmse(prediction, self.target)
        self.points.append([step, value if math.isfinite(value) else None])
        self.prediction = prediction
        return value

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self.epoch_start)
        if not math.isfinite(self.record((epoch + 1) * self.eval_every)):
            self.model.stop_training = True


def train_run(task, family, units, learning_rate, seed, steps, eval_every,
              num_modules):
    """One training run; returns its record (curve, final NMSE, output)."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    hp = {"num_modules": num_modules} if family == "clockwork" else {}
    model = models.build_model(
        family, task, units=units, layers=1, optimizer="adam",
        learning_rate=learning_rate, clipnorm=CLIPNORM, seed=seed, **hp)
    x, y = next(iter(task.test))
    x, target = np.asarray(x), np.asarray(y)[0, :, 0]
    curve = Curve(x, target, eval_every)
    curve.set_model(model)
    curve.record(0)
    # One epoch is `eval_every` steps on copies of the single sequence.
    xs = np.repeat(x, eval_every, axis=0)
    ys = np.repeat(np.asarray(y), eval_every, axis=0)
    start = time.perf_counter()
    model.fit(xs, ys, batch_size=1, epochs=max(1, steps // eval_every),
              shuffle=False, verbose=0, callbacks=[curve])
    seconds = time.perf_counter() - start
    final = curve.points[-1][1]
    # The first epoch also compiles: the steady cost comes from the others.
    steady = curve.epoch_seconds[1:]
    step_seconds = float(np.median(steady)) / eval_every if steady else None
    return {
        "family": family,
        "units": units,
        "learning_rate": learning_rate,
        "seed": seed,
        "steps": curve.points[-1][0],
        "parameters": models.parameter_count(family, units, **hp),
        "stored_parameters": model.count_params(),
        "initial_nmse": curve.points[0][1],
        "final_nmse": final,
        "best_nmse": min((v for _, v in curve.points if v is not None),
                         default=None),
        "diverged": final is None,
        "curve": curve.points,
        "output": [round(float(v), 5) for v in curve.prediction],
        "seconds": seconds,
        "step_seconds": step_seconds,
    }


def sweep_score(run):
    """Mean NMSE over the second half of a sweep run (inf if it diverged)."""
    values = [v for _, v in run["curve"][len(run["curve"]) // 2:]]
    if run["diverged"] or not values or any(v is None for v in values):
        return math.inf
    return float(np.mean(values))


def load(path, settings, overwrite):
    if overwrite or not os.path.exists(path):
        return {"runs": {}, "sweeps": {}}
    with open(path) as f:
        previous = json.load(f)
    stored = previous.get("settings", {})
    different = [k for k in COMPARED if stored.get(k) != settings[k]]
    if different:
        sys.exit(
            f"{path} holds runs made with other settings "
            f"({', '.join(f'{k}={stored.get(k)}' for k in different)}); pass "
            "--overwrite to start afresh, or set BENCHMARK_RESULTS_DIR to "
            "write elsewhere.")
    return {"runs": previous.get("runs", {}), "sweeps": previous.get("sweeps", {})}


def summarize(state, settings):
    """One row per (family, parameters) with the final NMSE over seeds."""
    rows = []
    for family in settings["families"]:
        for parameters in settings["parameters"]:
            runs = [r for r in state["runs"].values()
                    if r["family"] == family and r["target"] == parameters]
            if not runs:
                continue
            finals = [r["final_nmse"] for r in runs]
            finite = [v for v in finals if v is not None]
            rows.append({
                "family": family,
                "target": parameters,
                "units": runs[0]["units"],
                "parameters": runs[0]["parameters"],
                "stored": runs[0]["stored_parameters"],
                "learning_rate": runs[0]["learning_rate"],
                "seeds": len(runs),
                "mean": float(np.mean(finite)) if len(finite) == len(finals)
                else None,
                "min": min(finite) if finite else None,
                "max": max(finite) if len(finite) == len(finals) else None,
                "solved": sum(v is not None and v <= settings["threshold"]
                              for v in finals),
                "diverged": len(finals) - len(finite),
                "seconds": float(np.mean([r["seconds"] for r in runs])),
            })
    return rows


def _nmse_cell(row):
    if row is None:
        return "-"
    if row["mean"] is None:
        return f"{row['diverged']} of {row['seeds']} diverged"
    return f"{row['mean']:.3g} ({row['min']:.3g}..{row['max']:.3g})"


def write(state, settings, plot):
    rows = summarize(state, settings)
    by_key = {(r["family"], r["target"]): r for r in rows}
    pivot = [
        {"family": LABELS.get(f, f), **{
            str(p): _nmse_cell(by_key.get((f, p))) for p in settings["parameters"]}}
        for f in settings["families"]
    ]
    table = _results.markdown_table(
        pivot, [("family", "family", "s")] + [
            (str(p), f"~{p} parameters", "s") for p in settings["parameters"]])
    details = _results.markdown_table(rows, [
        ("family", "family", "s"), ("target", "target", "d"),
        ("units", "units", "d"), ("parameters", "parameters used", "d"),
        ("stored", "stored", "d"), ("learning_rate", "learning rate", ".0e"),
        ("seeds", "seeds", "d"), ("mean", "NMSE mean", ".3g"),
        ("min", "min", ".3g"), ("max", "max", ".3g"),
        ("solved", "solved (<= 0.05)", "d"), ("diverged", "diverged", "d"),
        ("seconds", "s / run", ".1f")])
    grid = settings["learning_rates"]
    edges = [f"{LABELS.get(r['family'], r['family'])} ~{r['target']}"
             for r in rows if r["learning_rate"] in (min(grid), max(grid))]
    total = sum(r["seconds"] for r in state["runs"].values()) + sum(
        r["seconds"] for r in state["sweeps"].values())
    notes = (
        f"Final normalized MSE (mean, min..max over seeds) after "
        f"{settings['steps']} Adam steps (clip norm {CLIPNORM}) on the "
        f"{settings['length']}-sample default waveform of the `waveform` task; "
        "1.0 is the mean predictor, 0.05 counts as solved. One recurrent layer "
        "and a Dense(1) head; Clockwork has "
        f"{settings['num_modules']} modules and its parameter count leaves out "
        "the recurrent blocks it does not use (the paper's count; `stored` "
        "below is `count_params()`). Learning rate per row from a sweep over "
        f"{settings['learning_rates']} ({settings['sweep_steps']} steps, seed "
        f"{SWEEP_SEED}, lowest mean NMSE over the second half)"
        + (f"; at an edge of that grid: {', '.join(edges)}" if edges else "")
        + f". Training time of all runs and sweeps: {total / 60:.1f} min.\n\n"
        "Paper (numbers unconfirmed here): CW-RNN far below SRN and LSTM at "
        "every size; third-party replications report, at about 800 "
        "parameters, CW-RNN MSE about 2e-3 against LSTM about 9e-2.")
    payload = {"settings": settings, "summary": rows, "runs": state["runs"],
               "sweeps": state["sweeps"]}
    paths = _results.write(
        settings["name"], payload, table + "\n\n" + details,
        "Clockwork RNN sequence generation at equal parameter counts", notes)
    if plot and rows:
        paths += (plot_results(state, settings, rows),)
    return paths


def plot_results(state, settings, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure

    families = [f for f in settings["families"]
                if any(r["family"] == f for r in rows)]
    largest = max(settings["parameters"])
    target = multirate_signal(settings["length"])
    fig = matplotlib.figure.Figure(figsize=(10, 3.2 * (len(families) + 1)))
    axes = fig.subplots(len(families) + 1, 1)
    for ax, family in zip(axes, families):
        runs = [r for r in state["runs"].values() if r["family"] == family
                and r["target"] == largest and r["final_nmse"] is not None]
        ax.plot(target, color="black", linewidth=1.0, label="target")
        if runs:
            best = min(runs, key=lambda r: r["final_nmse"])
            ax.plot(best["output"], color="tab:red", linewidth=1.0,
                    label=f"generated (seed {best['seed']})")
            ax.set_title(
                f"{LABELS.get(family, family)}, {best['parameters']} parameters: "
                f"best of {len(runs)} seed{'s' if len(runs) > 1 else ''}, "
                f"NMSE {best['final_nmse']:.3g}")
        ax.set_xlabel("step")
        ax.legend(loc="upper right", fontsize=8)
    ax = axes[-1]
    for family in families:
        fam_rows = [r for r in rows if r["family"] == family
                    and r["mean"] is not None]
        if not fam_rows:
            continue
        x = [r["parameters"] for r in fam_rows]
        mean = np.array([r["mean"] for r in fam_rows])
        low = mean - np.array([r["min"] for r in fam_rows])
        high = np.array([r["max"] for r in fam_rows]) - mean
        ax.errorbar(x, mean, yerr=[low, high], marker="o", capsize=3,
                    label=LABELS.get(family, family))
    ax.axhline(settings["threshold"], color="gray", linestyle="--",
               linewidth=0.8, label="solved (0.05)")
    ax.axhline(1.0, color="gray", linestyle=":", linewidth=0.8,
               label="mean predictor")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters (Clockwork: used blocks only)")
    ax.set_ylabel("final NMSE (mean, min..max)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(_results.RESULTS_DIR, f"{settings['name']}.png")
    fig.savefig(path, dpi=110)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8000,
                        help="optimizer steps per run (default: %(default)s; "
                             "about 8 to 10 minutes in all on a 2-core CPU, JAX)")
    parser.add_argument("--eval-every", type=int, default=100,
                        help="steps between two points of the NMSE curve")
    parser.add_argument("--seeds", type=int, default=3,
                        help="seeds per (family, size) (default: %(default)s)")
    parser.add_argument("--parameters", type=_ints, default=[100, 250, 500, 1000],
                        help="comma-separated parameter budgets "
                             "(default: 100,250,500,1000)")
    parser.add_argument("--families", default=",".join(FAMILIES),
                        help="comma-separated families (default: %(default)s)")
    parser.add_argument("--learning-rates", type=_floats,
                        default=[3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
                        help="the learning rates of the sweep")
    parser.add_argument("--length", type=int, default=320,
                        help="samples of the waveform (default: %(default)s)")
    parser.add_argument("--num-modules", type=int, default=8,
                        help="Clockwork modules (default: %(default)s)")
    parser.add_argument("--name", default="clockwork_generation",
                        help="results file name (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard the stored runs and start afresh")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    args = parser.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    unknown = [f for f in families if f not in models.LAYER_KINDS]
    if unknown:
        parser.error(f"unknown families {unknown}; choose from "
                     f"{sorted(models.LAYER_KINDS)}")
    for name in ("steps", "eval_every", "seeds", "length", "num_modules"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.eval_every > args.steps:
        parser.error("--eval-every must be at most --steps")
    eval_every = args.eval_every
    sweep_steps = max(eval_every, (args.steps // 5) // eval_every * eval_every)
    settings = {
        "name": args.name, "steps": args.steps // eval_every * eval_every,
        "eval_every": eval_every, "sweep_steps": sweep_steps,
        "length": args.length, "families": families,
        "parameters": args.parameters, "learning_rates": args.learning_rates,
        "num_modules": args.num_modules, "clipnorm": CLIPNORM,
        "threshold": SUCCESS_NMSE,
    }
    task = tasks.get("waveform", length=args.length)
    path = os.path.join(_results.RESULTS_DIR, f"{args.name}.json")
    state = load(path, settings, args.overwrite)
    print(f"backend {keras.backend.backend()}, {len(families)} families x "
          f"{len(args.parameters)} sizes x {args.seeds} seeds, "
          f"{settings['steps']} steps per run", flush=True)
    for family in families:
        hp = {"num_modules": args.num_modules} if family == "clockwork" else {}
        for parameters in args.parameters:
            units = models.units_for_parameters(family, parameters, **hp)
            scores = {}
            for lr in args.learning_rates:
                key = f"{family}/{parameters}/lr={lr:g}"
                if key not in state["sweeps"]:
                    run = train_run(task, family, units, lr, SWEEP_SEED,
                                    sweep_steps, eval_every, args.num_modules)
                    del run["output"]
                    run["target"] = parameters
                    state["sweeps"][key] = run
                    write(state, settings, plot=False)
                scores[lr] = sweep_score(state["sweeps"][key])
            print(f"{LABELS.get(family, family):>9} ~{parameters:<5} sweep: "
                  + ", ".join(f"{lr:.0e} {v:.3g}" for lr, v in scores.items()),
                  flush=True)
            lr = min(args.learning_rates, key=lambda v: scores[v])
            for seed in range(args.seeds):
                key = f"{family}/{parameters}/seed={seed}"
                if key in state["runs"]:
                    continue
                run = train_run(task, family, units, lr, seed, settings["steps"],
                                eval_every, args.num_modules)
                run["target"] = parameters
                state["runs"][key] = run
                final = run["final_nmse"]
                print(f"{LABELS.get(family, family):>9} ~{parameters:<5} "
                      f"units {units:<3} ({run['parameters']} params) lr {lr:.0e} seed {seed}: "
                      f"NMSE {run['initial_nmse']:.3f} -> "
                      f"{'diverged' if final is None else format(final, '.4f')} "
                      f"({run['seconds']:.1f} s)", flush=True)
                write(state, settings, plot=False)
    paths = write(state, settings, plot=not args.no_plot)
    rows = summarize(state, settings)
    print()
    print(_results.markdown_table(rows, [
        ("family", "family", "s"), ("parameters", "params", "d"),
        ("learning_rate", "lr", ".0e"), ("mean", "NMSE mean", ".3g"),
        ("min", "min", ".3g"), ("max", "max", ".3g"),
        ("solved", "solved", "d")]))
    print("\n" + "\n".join(paths))


if __name__ == "__main__":
    main()
