"""The committed sensitivity studies, and the summary that compares them.

Runs, each in its own resumable directory under
`benchmarks/results/sensitivity/` (a finished trial is never rerun; an
interrupted run continues where it stopped):

- `adding_T100`, `adding_T200`: the adding problem at T=100 and T=200, the
  families irnn, irnn-scaled, np-rnn, np-tanh, lstm and indrnn at their
  papers' sizes (IndRNN 2 x 128, the others 100 units), a 7-point
  learning-rate sweep 1e-4..1e-1 (half decades) x 3 seeds, at most 2000
  steps a trial. One optimizer for all (Adam, gradient norm clipped at 1) so
  that only the initialization and architecture differ.
- `byo_lstm`, `byo_gru`: a user's own LSTM(64) and GRU(64) on the adding
  problem at T=50 (`byo_models.py`), through the bring-your-own-model path,
  each across the recurrent initializers glorot_uniform, orthogonal (Keras's
  default: with LSTM's forget bias 1 it is the usual initialization),
  identity and NPInit, and the initialization schemes chrono (orthogonal
  recurrent kernel and chrono gate biases, Tallec and Ollivier 2018), npinit
  (NPInit recurrent, np-RNN's input weights) and irnn (identity recurrent,
  IRNN's input weights), the same sweep.

Then writes `benchmarks/results/sensitivity.{md,json}` from the studies'
reports. Run on the JAX backend (the fastest here for these models):

    KERAS_BACKEND=jax python benchmarks/sensitivity.py --jobs 2   # everything
    KERAS_BACKEND=jax python benchmarks/sensitivity.py --only adding_T100
    python benchmarks/sensitivity.py --summary                    # tables only
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _results import RESULTS_DIR as RESULTS  # noqa: E402

ROOT = os.path.join(RESULTS, "sensitivity")
FAMILIES = ["irnn", "irnn-scaled", "np-rnn", "np-tanh", "lstm", "indrnn"]
INITIALIZERS = ["glorot_uniform", "orthogonal", "identity", "keras_rnninit>NPInit",
                "chrono", "npinit", "irnn"]
SWEEP = dict(protocol="sweep", learning_rates=7, learning_rate_range=(1e-4, 1e-1),
             seeds=3, steps=2000, eval_every=100, optimizer="adam", clipnorm=1.0)
ADDING_BASELINE = 2.0 / 12.0


def _family_study(length):
    def run(directory, log):
        from keras_rnninit import tuning

        tuning.study_families(directory, task="adding",
                              task_kwargs={"length": length}, families=FAMILIES,
                              log=log, **SWEEP)
    return run


def _model_study(function):
    def run(directory, log):
        sys.path.insert(0, HERE)
        import byo_models

        from keras_rnninit import tuning

        settings = dict(SWEEP, steps=1000)
        settings.pop("optimizer")  # the model's own Adam(clipnorm=1)
        settings.pop("clipnorm")
        tuning.study_initializers(
            directory, getattr(byo_models, function), byo_models.adding_data,
            INITIALIZERS, objective="val_mse", direction="min", threshold=0.01,
            baseline=ADDING_BASELINE, log=log,
            description=f"your own {function.upper()}(64), adding T=50, "
                        "initializers and schemes",
            **settings)
    return run


STUDIES = {
    "adding_T100": _family_study(100),
    "adding_T200": _family_study(200),
    "byo_lstm": _model_study("lstm"),
    "byo_gru": _model_study("gru"),
}
# Trial minutes of each study in the last run here, for --jobs to start the
# longest first (so that the processes finish close together).
EXPECTED_MINUTES = {"adding_T100": 45, "adding_T200": 75, "byo_lstm": 18,
                    "byo_gru": 18}


def _pct(x):
    return f"{100 * x:.0f}%"


def _family_studies(reports):
    """`(report, candidates, test of a pair)` for each built-in family study."""
    for name in ("adding_T100", "adding_T200"):
        report = reports.get(name)
        if report:
            tests = {frozenset((t["a"], t["b"])): t for t in report["comparisons"]}
            yield report, report["candidates"], (
                lambda a, b, tests=tests: tests.get(frozenset((a, b))))


def _paper_paragraph(reports):
    """Sentences against the np-RNN and IndRNN claims, from the numbers."""
    lines = []
    for report, c, test in _family_studies(reports):

        def compare(a, b):
            t = test(a, b)
            sa, sb = c[a], c[b]
            clear = t and t["significant"]
            return (
                f"{a} {sa['successes']}/{sa['trials']} vs {b} "
                f"{sb['successes']}/{sb['trials']} "
                f"(p={t['p']:.2g}, {'clear' if clear else 'not clear'} after Holm)"
                if t else f"{a} vs {b}: not enough trials"
            )

        band = {k: c[k]["band_decades"] for k in ("np-rnn", "irnn", "irnn-scaled")}
        band_text = ", ".join(
            f"{k} {'none' if v is None else f'{v:.2f}'}" for k, v in band.items())
        done = sum(v["trials"] for v in c.values())
        planned = sum(v["planned"] for v in c.values())
        status = ("" if done >= planned else
                  f" (partial: {done} of {planned} planned trials so far; "
                  "resumable, not final)")
        lines.append(
            f"- {report['description']}{status}: np-RNN against IRNN: "
            f"{compare('np-rnn', 'irnn')}; np-RNN against iRNN: "
            f"{compare('np-rnn', 'irnn-scaled')}. Learning-rate band where at "
            f"least half the seeds succeed (decades): {band_text}. IndRNN: "
            f"{compare('indrnn', 'lstm')}; {compare('indrnn', 'irnn')}."
        )
    for name in ("byo_lstm", "byo_gru"):
        report = reports.get(name)
        if report:
            lines.append(f"- {report['description']} (NPInit, chrono and the "
                         "other schemes against the usual initializers of a "
                         f"gated network): {report['verdict']}")
    return lines


def _scheme_claims(reports):
    """Chrono against Keras's default initialization, and NPInit against it,
    on the user's own gated models."""
    out = []
    for name in ("byo_lstm", "byo_gru"):
        report = reports.get(name)
        if not report:
            continue
        c = report["candidates"]
        tests = {frozenset((t["a"], t["b"])): t for t in report["comparisons"]}
        label = report["description"].split(",")[0]
        for scheme in ("chrono", "npinit", "keras_rnninit>NPInit"):
            short = scheme.split(">")[-1]
            if short not in c or "orthogonal" not in c:
                continue
            t = tests.get(frozenset((short, "orthogonal")))
            a, b = c[short], c["orthogonal"]
            if t and t["significant"]:
                verdict = ("better" if a["successes"] > b["successes"] else "worse")
                verdict += f", clearly (p={t['p']:.2g})"
            else:
                verdict = ("no clear difference"
                           + (f" (p={t['p']:.2g})" if t else ""))
            out.append(
                f"- {label}: {short} {a['successes']}/{a['trials']} against "
                f"Keras's default (orthogonal) {b['successes']}/{b['trials']}: "
                f"{verdict}; LR band {a['band_decades'] or 0:.2f} against "
                f"{b['band_decades'] or 0:.2f} decades.")
    return out


def _claims(reports):
    """One verdict per paper claim and problem length, from the tests."""
    out = []
    for report, c, test in _family_studies(reports):

        def wins(a, b):
            t = test(a, b)
            return bool(t and t["significant"]
                        and c[a]["successes"] > c[b]["successes"])

        label = report["description"].split(",")[0]
        if wins("np-rnn", "irnn") and wins("np-rnn", "irnn-scaled"):
            np_verdict = "supported (np-RNN succeeds clearly more often)"
        elif wins("irnn", "np-rnn") or wins("irnn-scaled", "np-rnn"):
            np_verdict = "contradicted (IRNN or iRNN succeeds clearly more often)"
        elif not any(c[k]["successes"] for k in ("np-rnn", "irnn", "irnn-scaled")):
            np_verdict = ("undecided: none of np-RNN, IRNN, iRNN reaches the "
                          "threshold within the budget")
        else:
            np_verdict = "undecided: the difference is not statistically clear"
        if wins("indrnn", "irnn") and wins("indrnn", "lstm"):
            ind_verdict = "supported (IndRNN succeeds clearly more often than IRNN and LSTM)"
        elif wins("indrnn", "irnn"):
            ind_verdict = ("partly supported: clearly better than IRNN, not "
                           "clearly better than LSTM")
        elif wins("lstm", "indrnn") or wins("irnn", "indrnn"):
            ind_verdict = "contradicted"
        else:
            ind_verdict = "undecided: no clear difference"
        out.append(f"- {label}: np-RNN less sensitive than IRNN/iRNN: "
                   f"{np_verdict}. IndRNN trains where IRNN and LSTM struggle: "
                   f"{ind_verdict}.")
    return out


def _total_minutes(reports):
    return sum(r["timing"]["seconds"] for r in reports.values()
               if r.get("timing")) / 60


def _backend(names):
    backends = set()
    for name in names:
        path = os.path.join(ROOT, name, "study.json")
        if os.path.exists(path):
            with open(path) as f:
                backends.add(json.load(f).get("backend", "?"))
    return " / ".join(sorted(backends)) or "?"


def _made_before_identities(names):
    """Studies whose `study.json` records no study identity: made by a
    version before identities were recorded, and the committed ones before
    the fix that made a trial's batches independent of earlier trials."""
    old = []
    for name in names:
        path = os.path.join(ROOT, name, "study.json")
        if os.path.exists(path):
            with open(path) as f:
                if "identity" not in json.load(f):
                    old.append(name)
    return old


def _made_before_lines(names):
    old = _made_before_identities(names)
    if not old:
        return []
    return [
        "Made before the trial-independence fix: "
        + ", ".join(f"`{n}`" for n in old)
        + " ran before commit 0268f05 (their `study.json` records no study "
        "identity, which every study since records). Before it, on JAX a "
        "trial that built a fresh model trained on the second pass of its "
        "generated data and a trial that reused a compiled model on the "
        "first, so a score depended on the trials run before it in the same "
        "process; each trial still trained on valid draws of the same task, "
        "and the success counts are of the same protocol, but a rerun gives "
        "other per-trial values. Rerun them with `python "
        "benchmarks/sensitivity.py --only " + ",".join(old) + "`.",
        "",
    ]


def _wall_time():
    if not os.path.exists(RUN_RECORD):
        return ""
    with open(RUN_RECORD) as f:
        run = json.load(f)
    return (f"The last full run took {run['wall_seconds'] / 60:.0f} min of wall "
            f"time on {run['cpus']} CPU cores, {run['jobs']} studies at a time "
            f"(`--jobs {run['jobs']}`), {run['backend']} backend.")


def summary(names):
    from keras_rnninit.tuning import report as report_lib

    reports, sections = {}, []
    for name in names:
        directory = os.path.join(ROOT, name)
        if not os.path.exists(os.path.join(directory, "study.json")):
            sections.append(f"## {name}\n\nNot run yet.\n")
            continue
        report, paths = report_lib.write_report(directory)
        reports[name] = report
        md = report_lib.markdown(report)
        body = md.split("## Every trial")[0].split("\n", 1)[1]
        png = os.path.relpath(paths["png"], RESULTS)
        sections.append(f"## {report['description']}\n{body}\n![{name}]({png})\n\n"
                        f"Every trial: `{os.path.relpath(paths['markdown'], RESULTS)}`.\n")
    lines = [
        "# Hyperparameter sensitivity: IRNN, iRNN, np-RNN, np-tanhRNN, LSTM, "
        "IndRNN, and initialization schemes on your own LSTM and GRU",
        "",
        "Regenerated by `benchmarks/sensitivity.py` (each study resumable in "
        "`results/sensitivity/<name>/`). Success is validation MSE <= 0.01 on "
        "the adding problem (predicting 1 scores 0.1667). Every family sees the "
        "same learning-rate grid and the same three training seeds "
        "(initialization and data order); a trial stops when it reaches the "
        "threshold or diverges.",
        "",
        *_made_before_lines(names),
        "## Against the papers",
        "",
        "The np-RNN paper claims that its initialization makes training less "
        "sensitive to hyperparameters than IRNN (success over a wider band of "
        "learning rates); the IndRNN paper that IndRNN trains on long adding "
        "problems where IRNN and LSTM struggle. What these studies show, with "
        "Fisher's exact test on success counts (Holm-corrected over all pairs "
        "of a study):",
        "",
        *_paper_paragraph(reports),
        "",
        "Verdicts (a claim is decided only by a difference that stays clear "
        "after Holm's correction):",
        "",
        *_claims(reports),
        "",
        "Initialization schemes on your own gated model (chrono: Tallec and "
        "Ollivier 2018, arXiv:1804.11188; a scheme sets the recurrent kernel, "
        "the input kernel and the biases it names; a bare initializer only the "
        "recurrent kernel), each against Keras's default (orthogonal recurrent "
        "kernel; LSTM's forget bias 1), Fisher's exact test, Holm-corrected "
        "over all pairs of the study:",
        "",
        *_scheme_claims(reports),
        "",
        f"Total trial time of these studies: {_total_minutes(reports):.0f} min "
        f"on the {_backend(names)} backend (sum of each study's trial times). "
        f"{_wall_time()}",
        "",
        "Limits: CPU budgets of at most 2000 Adam steps a trial (the papers "
        "trained for 10^5-10^6 steps with SGD), 3 seeds per learning rate: a "
        "difference called not clear may still exist at a larger budget.",
        "",
        *sections,
    ]
    with open(os.path.join(RESULTS, "sensitivity.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(RESULTS, "sensitivity.json"), "w") as f:
        json.dump({name: {k: v for k, v in r.items() if k != "trials"}
                   for name, r in reports.items()}, f, indent=1)
    print(f"wrote {os.path.join(RESULTS, 'sensitivity.md')}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None,
                        help=f"comma-separated studies: {', '.join(STUDIES)}")
    parser.add_argument("--summary", action="store_true",
                        help="only rebuild the reports and the summary")
    parser.add_argument("--jobs", type=int, default=1,
                        help="studies run at a time, each in its own process "
                             "with its share of the cores (or a GPU), as a "
                             "job of rnninit-tune --jobs has (2 on a 2-core "
                             "machine; default 1)")
    parser.add_argument("--no-summary", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(STUDIES)
    unknown = [n for n in names if n not in STUDIES]
    if unknown:
        parser.error(f"unknown study {unknown}; expected some of {list(STUDIES)}")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1; received {args.jobs}")
    if not args.summary:
        started = time.time()
        if args.jobs == 1:
            for name in names:
                _run_study(name)
        else:
            _run_in_parallel(names, args.jobs)
        if not args.no_summary and names == list(STUDIES):
            _record_run(time.time() - started, args.jobs)
    if not args.no_summary:
        summary(list(STUDIES))


def _run_study(name):
    started = time.time()
    print(f"== {name}", flush=True)
    STUDIES[name](os.path.join(ROOT, name), lambda *a: print(*a, flush=True))
    print(f"== {name} done in {(time.time() - started) / 60:.1f} min", flush=True)


def _run_in_parallel(names, jobs):
    """Runs the studies `jobs` at a time, each in a process of its own, and
    prints their lines prefixed by the study's name.

    Each process has the share of the machine that a job of `rnninit-tune
    --jobs` has (`jobs.choose(jobs).environment(slot)`: its threads, its
    cores or its GPU), so that studies side by side do not oversubscribe
    the cores; a study that ends hands its share to the next.
    """
    import subprocess
    import threading

    from keras_rnninit.tuning import jobs as jobs_lib

    plan = jobs_lib.choose(jobs)
    print(f"{plan}, one study each", flush=True)
    pending = sorted(names, key=lambda n: -EXPECTED_MINUTES[n])
    free, running, failed = list(range(jobs)), [], []

    def relay(name, process):
        for line in process.stdout:
            print(f"[{name}] {line}", end="", flush=True)

    while pending or running:
        while pending and free:
            name, slot = pending.pop(0), free.pop(0)
            process = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--only", name,
                 "--no-summary"], stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True,
                env={**os.environ, **plan.environment(slot)})
            thread = threading.Thread(target=relay, args=(name, process))
            thread.start()
            running.append((name, process, thread, slot))
        time.sleep(1)
        for entry in list(running):
            name, process, thread, slot = entry
            if process.poll() is not None:
                thread.join()
                running.remove(entry)
                free.append(slot)
                if process.returncode:
                    failed.append(name)
    if failed:
        sys.exit(f"studies that failed (rerun to resume them): {', '.join(failed)}")


RUN_RECORD = os.path.join(ROOT, "run.json")


def _record_run(seconds, jobs):
    """Keeps the wall time of the last run of every study, for the summary."""
    import keras

    with open(RUN_RECORD, "w") as f:
        json.dump({"wall_seconds": round(seconds), "jobs": jobs,
                   "backend": keras.backend.backend(),
                   "cpus": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    main()
