"""How long a study has left: the estimate its progress lines print.

A trial costs its build, its training and validation steps, and whatever
else it spends (the first trial of a process also compiles). Its steps are
not known in advance: a trial stops once it reaches the threshold or
diverges. A planned trial whose candidate and learning rate already ran
(with another seed) is expected to take as many steps as they did; any
other, the share of the budget the study's trials have used so far, drawn
towards `BUDGET_FRACTION` while they are few.
"""

import statistics

# The share of its step budget a trial of a learning-rate sweep uses: 0.77
# on average over the 762 sweep trials in benchmarks/results, 0.69 on the
# README's main command.
BUDGET_FRACTION = 0.75
# How many trials' worth of weight that prior has.
PRIOR_TRIALS = 16


def seconds_left(finished, remaining, steps, jobs=1):
    """Seconds until the last of `remaining` trials ends.

    Args:
        finished: the result dicts (`seconds`, `steps_run`, `candidate`,
            `config`) of the trials this process ran, in the order they ran.
        remaining: `(candidate, config)` of each planned trial without a
            result.
        steps: a trial's step budget.
        jobs: trials run at a time.
    """
    if not finished or not remaining:
        return 0.0
    seconds = [r["seconds"] for r in finished]
    per_step = statistics.median(
        (s["validation"] + s["train"]) / max(1, r["steps_run"])
        for s, r in zip(seconds, finished))
    build = statistics.median(s["build"] for s in seconds)
    # The first trial's extra is mostly compiling, which later ones reuse.
    extra = statistics.median(
        [max(0.0, s["total"] - s["build"] - s["validation"] - s["train"])
         for s in seconds[1:]] or [0.0])
    used = {}
    for r in finished:
        used.setdefault((r["candidate"], r["config"]), []).append(
            min(1.0, r["steps_run"] / steps))
    everything = [f for fractions in used.values() for f in fractions]
    share = ((BUDGET_FRACTION * PRIOR_TRIALS + sum(everything))
             / (PRIOR_TRIALS + len(everything)))
    total = 0.0
    for key in remaining:
        fractions = used.get(tuple(key))
        expected = statistics.mean(fractions) if fractions else share
        total += build + extra + per_step * steps * expected
    return total / max(1, jobs)
