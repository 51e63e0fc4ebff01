"""The Clockwork RNN's sequence-generation claim, read from
`clockwork_generation.py`'s results (Koutnik et al. 2014, arXiv 1402.3511:
at equal parameter counts, CW-RNN generates a waveform with a normalized
MSE far below the SRN's and the LSTM's).

That benchmark is resumable and its results are committed; it runs only
when its JSON is missing. The fair row at ~100 parameters (`fair_verdicts`)
gives Clockwork fewer modules of 2 units, so that it uses about as many
parameters as the LSTM's 101 (8 modules of 1 unit use 61), and judges it
against the committed tanh RNN and LSTM runs at ~100.
"""

import json
import os
import statistics as stats

RIVALS = ("tanh-rnn", "lstm")
LABELS = {"clockwork": "Clockwork", "tanh-rnn": "tanh RNN", "lstm": "LSTM"}


def path(results_dir, name):
    return os.path.join(results_dir, f"{name}.json")


def run(name, args, log=print):
    """Runs clockwork_generation.py in this process with `args`."""
    import clockwork_generation

    log(f"clockwork_generation {' '.join(args)}")
    clockwork_generation.main(["--name", name, *args])


def read(results_dir, name):
    file = path(results_dir, name)
    if not os.path.exists(file):
        return None
    with open(file) as f:
        return json.load(f)


def verdicts(data):
    """One verdict per parameter count, from at least 3 seeds: "confirmed"
    when every Clockwork seed ends below every seed of both the tanh RNN and
    the LSTM (for 3 seeds against 3, the exact one-sided rank test's
    smallest p, 0.05), "refuted" when Clockwork's mean is not below one of
    theirs, else "undecided"."""
    rows = {(r["family"], r["target"]): r for r in data["summary"]}
    finals = {}
    for run in data["runs"].values():
        value = run["final_nmse"]
        finals.setdefault((run["family"], run["target"]), []).append(
            float("inf") if value is None else value)
    out = []
    for size in data["settings"]["parameters"]:
        mine = finals.get(("clockwork", size))
        if not mine or any(("clockwork", size) not in rows or (f, size) not in finals
                           for f in RIVALS):
            continue
        parts, above, separated = [], [], True
        for f in RIVALS:
            theirs = finals[(f, size)]
            ratio = stats.mean(theirs) / stats.mean(mine) if stats.mean(mine) else None
            parts.append(f"{LABELS[f]} {stats.mean(theirs):.3g}"
                         + (f" ({ratio:.0f}x)" if ratio and ratio >= 2 else ""))
            if stats.mean(mine) >= stats.mean(theirs):
                above.append(f)
            separated &= max(mine) < min(theirs)
        used = rows[("clockwork", size)]["parameters"]
        evidence = (f"Clockwork {stats.mean(mine):.3g} ({min(mine):.3g}.."
                    f"{max(mine):.3g}) against " + ", ".join(parts)
                    + f" ({len(mine)} seed{'s' if len(mine) != 1 else ''} each)")
        if len(mine) < 3:
            verdict, reason = "undecided", "fewer than 3 seeds"
        elif separated:
            verdict, reason = "confirmed", "every seed below every rival seed"
        elif above:
            names = " or ".join(LABELS[f] for f in above)
            verdict, reason = "refuted", (
                f"Clockwork's mean is not below {names}'s ({used} parameters "
                f"used against {rows[(above[0], size)]['parameters']})")
        else:
            verdict, reason = "undecided", "below on average, but the seeds overlap"
        out.append({"parameters": size, "used": used, "verdict": verdict,
                    "evidence": evidence, "reason": reason})
    return out


def fair_name(plan_name, modules):
    """The results name of the fair row with `modules` Clockwork modules."""
    return f"{plan_name}/clockwork_m{modules}"


def fair_verdicts(main, fair, size=100):
    """`verdicts` of the Clockwork runs of `fair` (one module count) against
    the rivals' runs of `main` at `size` parameters (the same steps, rates
    and waveform), or None when one side is missing."""
    if main is None or fair is None:
        return None
    compared = ("steps", "eval_every", "sweep_steps", "length", "learning_rates",
                "clipnorm")
    if any(main["settings"][k] != fair["settings"][k] for k in compared):
        raise ValueError("the fair Clockwork row was run with other settings "
                         "than clockwork_generation.json")

    def keep(data, families):
        return {k: r for k, r in data["runs"].items()
                if r["family"] in families and r["target"] == size}

    merged = {
        "settings": {**main["settings"], "parameters": [size]},
        "summary": [r for r in main["summary"]
                    if r["family"] in RIVALS and r["target"] == size]
        + [r for r in fair["summary"]
           if r["family"] == "clockwork" and r["target"] == size],
        "runs": {**keep(main, RIVALS), **keep(fair, ("clockwork",))},
    }
    rows = verdicts(merged)
    for r in rows:
        r["modules"] = fair["settings"]["num_modules"]
    return rows
