"""The study-based experiments of `reproduce.py`, and what their trials show.

- The adding problem of the IndRNN paper (Li et al. 2018, arXiv 1803.04831,
  Fig. 2): IndRNN, IRNN, np-RNN, LSTM and tanh RNN, a short learning-rate
  sweep at T = 100, one study per family and rate at longer T, through
  `keras_rnninit.tuning.study_families`.
- The fixed-setting comparison of the np-RNN paper (Talathi and Vartak 2015,
  arXiv 1511.03771): IRNN, iRNN, np-RNN, np-tanhRNN (and LSTM) on the adding
  and multiplication problems at one learning rate.
- The chrono claim (Tallec and Ollivier 2018, arXiv 1804.11188): the chrono
  LSTM against the usual LSTM on the copy task and the adding problem.

Each study directory resumes by itself; the functions below read its
trials back (`tuning.report.read_results`) into tables, verdicts and plots.
"""

import dataclasses
import functools
import math
import os
import statistics as stats
import sys

import _reproduction_plan as plans

from keras_rnninit import objective as objective_lib
from keras_rnninit.tuning import statistics

BATCH_SIZE = 32
THRESHOLD = 0.01
BASELINE = 1 / 6
# "Learned": halfway from the trivial baseline to a perfect score (for
# the adding problem a best MSE under half the baseline of always
# predicting 1). At T >= 500 a CPU budget may end before the threshold;
# this weaker, stated form of the claim (the failing models of the IndRNN
# paper's Fig. 2 stay at the baseline) is what such a budget can decide.
LEARNED = BASELINE / 2
ALPHA = 0.05
COLORS = {"indrnn": "tab:red", "irnn": "tab:blue", "irnn-scaled": "tab:cyan",
          "np-rnn": "tab:green", "np-tanh": "tab:olive", "lstm": "tab:purple",
          "tanh-rnn": "tab:gray", "lstm-chrono": "tab:orange"}
LABELS = {"indrnn": "IndRNN", "irnn": "IRNN", "irnn-scaled": "iRNN",
          "np-rnn": "np-RNN", "np-tanh": "np-tanhRNN", "lstm": "LSTM",
          "tanh-rnn": "tanh RNN", "lstm-chrono": "chrono LSTM"}


@dataclasses.dataclass(frozen=True)
class Study:
    """One study directory: families x rates x seeds on one task.

    Args:
        directory: where it is stored.
        task: `"adding"`, `"multiplication"` or `"copy"`.
        length: the task's `T`.
        families: the candidates.
        steps: optimizer steps per trial at most.
        grid: `(low, high, count)` of the learning rates.
        seeds: seeds per rate.
        units: every family's units, or None for each paper's.
        optimizer: one optimizer for all, or None for each paper's.
        clipnorm: one clip norm for all, or None for each paper's.
    """

    directory: str
    task: str
    length: int
    families: tuple
    steps: int
    grid: tuple
    seeds: int
    units: int = None
    optimizer: str = "adam"
    clipnorm: float = 1.0

    @property
    def planned(self):
        return len(self.families) * self.grid[2] * self.seeds

    def seconds(self):
        """The most it can take: every trial at its full budget."""
        return plans.study_seconds(self.families, self.length, self.steps,
                                   self.grid[2] * self.seeds, self.task)


def label(family):
    return LABELS.get(family, family)


def run(study, plan, log=print):
    """Runs (or resumes) one study. With `plan.lr_decay`, every model's
    learning rate follows the step decay of the IndRNN paper (the study
    tool itself has no schedule)."""
    from keras_rnninit import tuning

    low, high, count = study.grid
    settings = dict(protocol="sweep", learning_rates=count,
                    learning_rate_range=(low, high), seeds=study.seeds,
                    steps=study.steps,
                    eval_every=min(plan.eval_every, study.steps),
                    optimizer=study.optimizer, clipnorm=study.clipnorm)
    task_kwargs = {"length": study.length, "num_validation": plan.num_validation}
    if plan.lr_decay is None:
        tuning.study_families(study.directory, task=study.task,
                              task_kwargs=task_kwargs,
                              families=list(study.families), units=study.units,
                              batch_size=BATCH_SIZE, log=log, **settings)
    else:
        _run_with_decay(study, task_kwargs, plan.lr_decay, log, settings)


def _run_with_decay(study, task_kwargs, lr_decay, log, settings):
    from keras_rnninit import models
    from keras_rnninit.tuning import candidates as candidates_lib
    from keras_rnninit.tuning import runner
    from keras_rnninit.tuning import studies
    from keras_rnninit.tuning import study as study_lib

    make_task = studies.task_factory(study.task, task_kwargs, BATCH_SIZE)
    reference = make_task(0)
    factor, every = lr_decay

    def decayed(build):
        def build_decayed(hp, seed):
            model = build(hp, seed)
            name, lr, clipnorm, clipvalue = candidates_lib.optimizer_settings(hp)
            optimizer = models.make_optimizer(name, lr, clipnorm, clipvalue,
                                              lr_decay=lr_decay)
            return candidates_lib.recompile(model, model, optimizer)
        return build_decayed

    candidates = [
        dataclasses.replace(c, build=decayed(c.build), description=(
            f"{c.description}; lr x {factor:g} every {every} steps"))
        for c in candidates_lib.family_candidates(
            functools.cache(make_task), list(study.families), study.units)]
    settings_ = study_lib.StudySettings(
        directory=study.directory, candidates=[c.name for c in candidates],
        objective=reference.objective, direction=reference.direction,
        threshold=reference.success_threshold, baseline=reference.baseline,
        description=(f"{study.task} T={task_kwargs['length']}, "
                     f"{study.optimizer or 'each paper optimizer'}, lr x "
                     f"{factor:g} every {every} steps"),
        details={c.name: c.description for c in candidates}, **settings)

    def data(seed):
        t = make_task(seed)
        return t.train, t.validation

    runner.run_study(settings_, candidates, data, log=log)


def read(directory):
    """`(settings, records)` of a study directory, `(None, [])` if absent."""
    from keras_rnninit.tuning import report
    from keras_rnninit.tuning import study

    if not os.path.exists(os.path.join(directory, study.STUDY_FILE)):
        return None, []
    settings = study.load_settings(directory)
    try:
        return settings, report.read_results(directory)
    except ValueError:  # a trial file half written by a running study
        print(f"cannot read {directory} now: a trial file is being written; "
              "rebuild the report when it has finished", file=sys.stderr)
        return settings, []


def finished(study):
    """How many of the study's planned trials have finished."""
    settings, records = read(study.directory)
    if settings is None or not _same(settings, study):
        return 0
    return sum(r["status"] == "COMPLETED" for r in records)


def _same(settings, study):
    return (settings.steps, tuple(settings.candidates), settings.seeds,
            settings.learning_rates, settings.learning_rate_range,
            settings.optimizer) == (
        study.steps, tuple(study.families), study.seeds, study.grid[2],
        tuple(float(v) for v in study.grid[:2]), study.optimizer)


def is_complete(study):
    """Whether every planned trial of this study has finished."""
    return finished(study) == study.planned


def seed_failure(record, spec):
    """Why one trial did not learn, or None if it did: it failed or
    diverged, its best value never passed the "learned" threshold (halfway
    from the baseline to a perfect score), or most of its validations were
    worse than the memoryless baseline by that same margin (a model that
    sits above the baseline has not trained, whatever one validation
    reached)."""
    if record["status"] == "FAILED":
        return "failed"
    if record.get("diverged"):
        return "diverged"
    _, direction, baseline = task_threshold(spec)
    learned = learned_threshold(spec)
    if not objective_lib.reached(record.get("value"), learned, direction):
        return "never learned"
    worse = 2 * baseline - learned  # the baseline's mirror of `learned`
    values = [v for _, _, v in record.get("curve") or ()]
    above = sum(not objective_lib.is_finite(v) or
                not objective_lib.reached(v, worse, direction) for v in values)
    if values and above > len(values) / 2:
        return "above the baseline"
    return None


def failures(study, spec):
    """`{seed: why}` of a study's seeds that did not learn (`seed_failure`)."""
    _, records = read(study.directory)
    return {r["seed"]: why for r in records
            if (why := seed_failure(r, spec)) is not None}


def mostly_failed(study, spec):
    """`failures` of a finished study when they are most of its planned
    trials, else {}: such a rate counts like a diverged one, and the next
    lower rate runs."""
    out = failures(study, spec)
    return out if len(out) > study.planned / 2 else {}


def failures_text(failed, seeds):
    """`"3/4 did not learn (2 never learned, 1 diverged)"`."""
    if not failed:
        return f"0/{seeds} did not learn"
    kinds = {}
    for why in failed.values():
        kinds[why] = kinds.get(why, 0) + 1
    return (f"{len(failed)}/{seeds} did not learn ("
            + ", ".join(f"{n} {why}" for why, n in kinds.items()) + ")")


def rate_reasons(plan, root, experiment, family, chain_studies):
    """`{rate: why it ran}` for a family's chain: a start rate, or added
    because most seeds did not learn at every rate above it."""
    spec = plan.studies[experiment]
    starts = [resolve_rate(plan, root, r, family) for r in spec["rates"][family]]
    out, above = {}, None
    for s in chain_studies:
        rate = s.grid[0]
        if any(r is not None and math.isclose(rate, r) for r in starts):
            out[rate] = "start rate"
        elif above is not None:
            out[rate] = (f"added: most seeds did not learn at every rate above "
                         f"(at {above.grid[0]:.3g}: "
                         f"{failures_text(failures(above, spec), above.planned)})")
        if above is None or rate < above.grid[0]:
            above = s
    return out


def rates_to_grid_end(rate):
    """How many rates the rule can still add below `rate`, down to the grid's
    end (`LOWEST_RATE`), `rate` included."""
    n = 0
    while rate is not None:
        n, rate = n + 1, plans.lower_rate(rate)
    return n


# One family's studies in a per-family experiment: its start rates (each
# run), then, while most seeds did not learn (`mostly_failed`) at every
# rate tried, the next lower rate, until one learns or the grid ends.

def family_study(plan, root, experiment, family, rate):
    spec = plan.studies[experiment]
    return Study(
        directory=os.path.join(root, experiment, family, plans.rate_name(rate)),
        task=spec["task"], length=spec["length"], families=(family,),
        steps=spec["steps"], grid=(rate, rate, 1), seeds=spec["seeds"],
        units=plans.units_of(spec, family))


def sweep_study(plan, root, experiment):
    spec = plan.studies[experiment]
    return Study(directory=os.path.join(root, experiment), task=spec["task"],
                 length=spec["length"], families=tuple(spec["families"]),
                 steps=spec["steps"], grid=spec["grid"], seeds=spec["seeds"],
                 units=None)


def resolve_rate(plan, root, rate, family):
    """A start rate: a number, or `"best:<experiment>"`, the family's best
    rate there once its chain has finished (None before)."""
    if not isinstance(rate, str):
        return rate
    source = rate.removeprefix("best:")
    studies, done = chain(plan, root, source, family)
    if not done:
        return None
    records = [r for s in studies for r in read(s.directory)[1]]
    spec = plan.studies[source]
    best = family_summary(records, family, task_threshold(spec))["best"]
    return best and best["learning_rate"]


def chain(plan, root, experiment, family):
    """`(studies, done)`: the family's studies in `experiment` so far and
    whether its chain asks for no more (`studies` is empty while a start
    rate waits for another experiment)."""
    spec = plan.studies[experiment]
    if "grid" in spec:
        return [sweep_study(plan, root, experiment)], is_complete(
            sweep_study(plan, root, experiment))
    rates = []
    for rate in spec["rates"][family]:
        resolved = resolve_rate(plan, root, rate, family)
        if resolved is None:
            return [], False
        if resolved not in rates:
            rates.append(resolved)
    while True:
        studies = [family_study(plan, root, experiment, family, r) for r in rates]
        if not all(is_complete(s) for s in studies):
            return studies, False
        lower = plans.lower_rate(min(rates))
        if lower is None or any(not mostly_failed(s, spec) for s in studies):
            return studies, True
        rates.append(lower)


def task_threshold(spec):
    """`(threshold, direction, baseline)` of a study experiment's task, as
    the task defines them (the copy task's depend on T)."""
    return _task_threshold(spec["task"], spec["length"])


@functools.cache
def _task_threshold(task, length):
    from keras_rnninit import tasks

    t = tasks.get(task, length=length, num_validation=8, num_test=8, seed=0)
    return t.success_threshold, t.direction, t.baseline


def learned_threshold(spec):
    """Halfway from the trivial baseline to a perfect score."""
    _, direction, baseline = task_threshold(spec)
    return (baseline + 1) / 2 if direction == "max" else baseline / 2


def _best_value(record, direction="min"):
    value = record.get("value")
    if objective_lib.is_finite(value):
        return value
    return math.inf if direction == "min" else -math.inf


def family_summary(records, family, threshold, direction="min"):
    """One family's trials: per learning rate, the best rate, per-seed steps.

    `threshold` is a number, or `(threshold, direction, baseline)`. The best
    rate has the most seeds reaching the threshold, ties going to the better
    median best value, then to fewer diverged or failed trials (each counts
    as the worst value, so a median can tie at infinity).
    """
    if isinstance(threshold, tuple):
        threshold, direction, _ = threshold
    sign = 1 if direction == "min" else -1
    mine = [r for r in records if r["candidate"] == family]
    by_lr = {}
    for r in mine:
        by_lr.setdefault(float(r["hyperparameters"]["learning_rate"]), []).append(r)
    rates = {}
    for lr, rs in sorted(by_lr.items(), reverse=True):
        rs = sorted(rs, key=lambda r: r["seed"])
        values = [_best_value(r, direction) for r in rs]
        finite = [v for v in values if math.isfinite(v)]
        rates[lr] = {
            "learning_rate": lr,
            "seeds": len(rs),
            "successes": sum(objective_lib.reached(v, threshold, direction)
                             for v in values),
            "median": stats.median(values) if values else sign * math.inf,
            "finite": finite,
            "diverged": sum(bool(r.get("diverged")) for r in rs),
            "failed": sum(r["status"] == "FAILED" for r in rs),
            "trials": rs,
        }
    best = max(rates.values(),
               key=lambda v: (v["successes"], -sign * v["median"],
                              -v["diverged"] - v["failed"]), default=None)
    return {
        "family": family,
        "trials": len(mine),
        "successes": sum(v["successes"] for v in rates.values()),
        "rates": rates,
        "best": best,
        "direction": direction,
        "threshold": threshold,
    }


def counts(summary, at_best):
    """`(successes, trials)`: at the best rate, or over every rate."""
    if at_best:
        best = summary["best"]
        return (best["successes"], best["seeds"]) if best else (0, 0)
    return summary["successes"], summary["trials"]


def seed_outcome(record, threshold, steps, direction="min"):
    """How one trial ended: steps to the threshold, or why not."""
    if record["status"] == "FAILED":
        return "failed (error)"
    if record.get("diverged"):
        return f"diverged at step {record['steps_run']}"
    if objective_lib.reached(record.get("value"), threshold, direction):
        return str(record.get("steps_to_threshold") or record["steps_run"])
    return f"not within {steps} steps"


def mean_sd(values):
    """`"mean ± sd"` of the finite values (sd over seeds), or `"-"`."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{stats.mean(values):.3g} ± {stats.stdev(values):.2g}"


def smallest_clear(k_other, n):
    """The fewest successes out of `n` that differ clearly (Fisher, 5%) from
    `k_other` out of `n`, or None if none does."""
    for k in range(k_other + 1, n + 1):
        if statistics.fisher_exact(k, n, k_other, n) < ALPHA:
            return k
    return None


def beats_verdict(tally, subject, rivals, steps, deciding, complete, threshold,
                  symbol="<=", metric="MSE"):
    """`subject` reaches the threshold where every one of `rivals` fails.

    `tally`: family -> `(successes, trials)`. Fisher's exact test against
    each rival; all differences clear: "confirmed" (an intersection of
    tests, so no correction); "refuted" when a rival succeeds at least as
    often as the subject (and at least once); else "undecided", with what
    would decide it.
    """
    if not complete:
        return "undecided", "the studies have not finished (rerun to resume)"
    k, n = tally[subject]
    tests = {f: statistics.fisher_exact(k, n, *tally[f]) for f in rivals}
    text = f"{label(subject)} {k}/{n}, " + ", ".join(
        f"{label(f)} {tally[f][0]}/{tally[f][1]} (p={tests[f]:.2g})"
        for f in rivals) + f" at {metric} {symbol} {threshold:.4g}"
    more = f"; expected to decide with {deciding} steps" if deciding else ""
    others = [f for f in rivals if tally[f][0] >= max(k, 1)]
    if others:
        return "refuted", (f"{' and '.join(label(f) for f in others)} reached "
                           f"it at least as often: {text}")
    if all(p < ALPHA for p in tests.values()):
        return "confirmed", f"{text}, all clear (Fisher's exact test, 5%)"
    if k == 0:
        return "undecided", (f"{label(subject)} did not reach {metric} "
                             f"{symbol} {threshold:.4g} within {steps} steps"
                             f"{more}")
    need = max((smallest_clear(tally[f][0], n) or n + 1) for f in rivals)
    closest = max(tally[f][0] / tally[f][1] for f in rivals)
    seeds = statistics.seeds_to_separate(k / n, closest, ALPHA)
    return "undecided", (
        f"{text}: not clear with {n} trials each"
        + (f"; {label(subject)} would need {need} of {n}" if need <= n else "")
        + (f"; at the success rates seen here, {seeds} seeds each would make "
           "it clear 80% of the time" if seeds and seeds > n else "")
        + more)


def converges_verdict(summary, steps, deciding, complete, metric="MSE"):
    """Every seed reaches the threshold at the family's best rate. A CPU
    budget cannot refute it (the papers trained far longer)."""
    if not complete:
        return "undecided", "the study has not finished (rerun to resume it)"
    best = summary["best"]
    symbol = objective_lib.comparison_symbol(summary["direction"])
    threshold = summary["threshold"]
    if best and best["successes"] == best["seeds"]:
        return "confirmed", (f"{best['successes']}/{best['seeds']} seeds at lr "
                             f"{best['learning_rate']:.3g}")
    got = f"{best['successes']}/{best['seeds']}" if best else "0"
    values = ", ".join(f"{v:.3g}" for v in best["finite"]) if best else ""
    return "undecided", (
        f"{got} seeds reached {metric} {symbol} {threshold:.4g} within {steps} "
        "steps at the best rate" + (f" (best per seed: {values})" if values else "")
        + (f"; expected to decide with {deciding} steps" if deciding else ""))


def sign_test(wins, n):
    """Two-sided exact binomial (sign) test of `wins` out of `n` pairs."""
    if n == 0:
        return 1.0
    tail = min(wins, n - wins)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(tail + 1)) / 2 ** n)


def paired_wins(records, a, b, direction="min"):
    """`(wins of a, pairs)`: the (study, seed) pairs where `a`'s best value
    is better than `b`'s (a diverged run is the worst), ties left out."""
    wins = pairs = 0
    for study_records in records:
        best = {}
        for r in study_records:
            best[(r["candidate"], r["seed"])] = _best_value(r, direction)
        for (family, seed), value in best.items():
            if family != a or (b, seed) not in best:
                continue
            other = best[(b, seed)]
            if value == other:
                continue
            pairs += 1
            wins += value < other if direction == "min" else value > other
    return wins, pairs


def np_verdict(pooled, records, complete):
    """The np-RNN paper's claim: np-RNN beats IRNN and iRNN at one fixed
    setting. The test: the best MSE of paired runs (same study and seed,
    successes included), a sign test against each rival; both clearly
    better: "confirmed", one clearly worse: "refuted". The pooled success
    counts are reported beside it. (Before issue 22 the sign test was used
    only when no run succeeded, so that three successes in 18 runs, no
    clear count, would have hidden the paired evidence.)"""
    if not complete:
        return "undecided", "not every study has finished (rerun to resume)"
    rivals = ("irnn", "irnn-scaled")
    parts, verdicts = [], []
    for f in rivals:
        wins, pairs = paired_wins(records, "np-rnn", f)
        p = sign_test(wins, pairs)
        parts.append(f"lower best MSE than {label(f)} in {wins} of {pairs} "
                     f"paired runs (sign test p={p:.2g})")
        verdicts.append("better" if p < ALPHA and wins > pairs / 2 else
                        "worse" if p < ALPHA else "unclear")
    successes = ", ".join(f"{label(f)} {pooled[f]['successes']}/"
                          f"{pooled[f]['trials']}"
                          for f in ("np-rnn",) + rivals)
    text = f"np-RNN had a {'; a '.join(parts)}; at the threshold: {successes}"
    if all(v == "better" for v in verdicts):
        return "confirmed", text
    if "worse" in verdicts:
        return "refuted", text
    return "undecided", text


def plot_studies(summaries, title, steps, baseline, threshold, ylabel, path,
                 log_scale=True):
    """The validation objective against optimizer steps, every family at
    its best rate, one line per seed (the IndRNN paper's Fig. 2)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for family, summary in summaries.items():
        best = summary["best"]
        if not best:
            continue
        text = f"{label(family)} (lr {best['learning_rate']:.3g})"
        for r in best["trials"]:
            points = [(s, v) for s, _, v in r.get("curve") or ()
                      if objective_lib.is_finite(v)]
            if points:
                ax.plot(*zip(*points), color=COLORS.get(family), lw=1.2,
                        alpha=0.85, label=text)
                text = None
    ax.axhline(baseline, color="gray", ls="--", lw=1,
               label=f"baseline {baseline:.4g}")
    ax.axhline(threshold, color="black", ls=":", lw=1,
               label=f"success {threshold:.4g}")
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlim(0, steps)
    ax.set_xlabel("optimizer steps")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_np(table, lengths, thresholds, baselines, path):
    """Best validation MSE against T for each family (mean, min..max of the
    finite runs), one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2))
    axes = fig.subplots(1, len(table), squeeze=False)[0]
    for ax, (task, by_family) in zip(axes, table.items()):
        for i, (family, by_length) in enumerate(by_family.items()):
            xs, means, lows, highs = [], [], [], []
            for length in lengths:
                finite = by_length.get(length, {}).get("finite") or []
                if finite:
                    mean = stats.mean(finite)
                    # A small offset per family keeps the bars apart.
                    xs.append(length * 1.03 ** (i - 2))
                    means.append(mean)
                    lows.append(mean - min(finite))
                    highs.append(max(finite) - mean)
            if xs:
                ax.errorbar(xs, means, yerr=[lows, highs], marker="o",
                            capsize=3, color=COLORS.get(family),
                            label=label(family))
        if task in baselines:
            ax.axhline(baselines[task], color="gray", ls="--", lw=1,
                       label=f"baseline {baselines[task]:.3g}")
            ax.axhline(thresholds[task], color="black", ls=":", lw=1,
                       label=f"success {thresholds[task]:.2g}")
        ax.set_xscale("log")
        ax.set_xticks(list(lengths), [str(t) for t in lengths])
        ax.set_yscale("log")
        ax.set_xlabel("T")
        ax.set_ylabel("best validation MSE (mean, min..max over seeds)")
        ax.set_title(f"{task} problem, one learning rate for all", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
