"""The seeds' headline comparisons at CPU scale, beside the papers' numbers.

    KERAS_BACKEND=tensorflow python benchmarks/reproduce.py            # CPU scale
    KERAS_BACKEND=tensorflow python benchmarks/reproduce.py --quick    # smoke run
    python benchmarks/reproduce.py --paper-scale --mnist-path mnist.npz  # GPU/TPU

1. Adding problem at T = 100, 200, 500, 1000 (IndRNN paper, Fig. 2): tanh-rnn
   and LSTM (1 x 128, Adam 2e-3), IRNN and np-RNN (1 x 128, Adam 2e-4, clip
   norm 1 as in the IRNN paper), IndRNN (2 x 128, Adam 2e-4, |u| <= 2^(1/T)).
   Which models get below validation MSE 0.01 (the baseline of predicting 1
   is 0.167), and after how many steps. The papers' claim to check: IndRNN
   converges where IRNN and LSTM fail (T = 1000).
2. The offline digits task (scikit-learn's 8x8 digits, 64 steps: a small
   stand-in for sequential MNIST) with IRNN, np-RNN, LSTM and IndRNN.

The CPU-scale budget is a fixed number of optimizer steps per run (far fewer
than the papers' tens of thousands), so a model that does not get below 0.01
here may still converge with more steps: the table says how far each got.
`--paper-scale` runs the papers' settings (adding up to T = 5000 for 60K
steps with lr / 10 every 20K, sequential and permuted MNIST) and is meant for
a machine with a GPU or TPU.

Writes benchmarks/results/reproduction.{json,md} and
reproduction_<experiment>.png (reproduction_quick* with --quick,
reproduction_paper* with --paper-scale).
"""

import argparse
import os
import sys
import time

import keras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

from keras_rnninit import tasks  # noqa: E402
from keras_rnninit.train import train  # noqa: E402

# What PAPERS.md records for the adding problem (the IndRNN paper shows
# these only as figures, for T = 100, 500, 1000, 5000).
PAPER_ADDING = {
    ("irnn", 1000): "fails (IndRNN paper)",
    ("lstm", 1000): "fails (IndRNN paper)",
    ("indrnn", 1000): "converges (IndRNN paper)",
    ("indrnn", 5000): "converges (IndRNN paper)",
}
PAPER_ADDING_NOTE = (
    "IndRNN paper (Li et al., 2018), Fig. 2, figures only: IRNN and LSTM fail "
    "by T = 1000, IndRNN converges up to T = 5000 (2 x 128, Adam 2e-4, lr / 10 "
    "every 20K steps). No per-T numbers are given for the other cells."
)
# Error rates on sequential / permuted MNIST (PAPERS.md); digits is a
# scaled-down stand-in, so these are for orientation only.
PAPER_MNIST = {
    "irnn": "MNIST 95.0% / pMNIST 82% (IRNN, as cited by IndRNN)",
    "indrnn": "MNIST 99.0% / pMNIST 96.0% (6-layer IndRNN + BN)",
    "np-rnn": "sequential MNIST reported; number not in PAPERS.md",
    "lstm": "-",
}

# family -> build_model settings at CPU scale (adding problem).
ADDING_MODELS = {
    "tanh-rnn": dict(units=128, layers=1, learning_rate=2e-3),
    "lstm": dict(units=128, layers=1, learning_rate=2e-3),
    "irnn": dict(units=128, layers=1, learning_rate=2e-4, clipnorm=1.0),
    "np-rnn": dict(units=128, layers=1, learning_rate=2e-4, clipnorm=1.0),
    "indrnn": dict(units=128, layers=2, learning_rate=2e-4, gamma=2.0),
}
DIGITS_MODELS = {
    "irnn": dict(units=128, layers=1, learning_rate=1e-3, clipnorm=1.0),
    "np-rnn": dict(units=128, layers=1, learning_rate=1e-3, clipnorm=1.0),
    "lstm": dict(units=128, layers=1, learning_rate=1e-3),
    "indrnn": dict(units=128, layers=2, learning_rate=1e-3, gamma=5.0),
}
# Optimizer steps per adding run at CPU scale, by T.
CPU_STEPS = {100: 1200, 200: 800, 500: 400, 1000: 250}

QUICK = dict(lengths=(10, 20), steps=20, eval_every=10, units=8, digits_epochs=1,
             digits_train=64)


def count_params(model):
    return int(sum(int(keras.ops.size(w)) for w in model.trainable_weights))


def run(family, task, epochs, patience, stop_when_solved, seed, settings):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    model, result = train(
        family, task, epochs=epochs, patience=patience, verbose=0,
        stop_when_solved=stop_when_solved, seed=seed, **settings,
    )
    result["seconds"] = time.perf_counter() - start
    result["params"] = count_params(model)
    result["settings"] = settings
    return result


def adding_experiment(args, plan, report):
    rows, curves = [], {}
    for length in plan["lengths"]:
        steps = plan["steps"] or CPU_STEPS.get(length, 400)
        eval_every = min(plan["eval_every"], steps)
        task = tasks.get(
            "adding", length=length, num_train=eval_every * args.batch_size,
            num_validation=plan["num_validation"], num_test=plan["num_test"],
            batch_size=args.batch_size, seed=args.seed,
        )
        for family in plan["families"]:
            settings = dict(ADDING_MODELS[family])
            if plan.get("units"):
                settings["units"] = plan["units"]
            if plan.get("lr_decay"):
                settings["lr_decay"] = plan["lr_decay"]
            print(f"adding T={length} {family}: up to {steps} steps ...", flush=True)
            result = run(family, task, steps // eval_every, 0,
                         not args.no_stop, args.seed, settings)
            val = result["history"].get("val_mse", [])
            curves[(length, family)] = (
                [eval_every * (i + 1) for i in range(len(val))], val
            )
            row = {
                "T": length,
                "family": family,
                "params": result["params"],
                "lr": settings["learning_rate"],
                "steps": result["steps"],
                "val_mse": min(val) if val else None,
                "test_mse": result["test_score"],
                "solved": "yes" if result["solved_step"] is not None else "no",
                "solved_step": result["solved_step"],
                "seconds": result["seconds"],
                "paper": PAPER_ADDING.get((family, length), "-"),
            }
            rows.append(row)
            print(f"  test MSE {row['test_mse']:.4f}, below 0.01 after "
                  f"{row['solved_step']} steps, {row['seconds']:.0f} s", flush=True)
            report(rows, None)
    return rows, curves


def digits_experiment(args, plan, report, adding_rows):
    rows, curves = [], {}
    for family in plan["digits_families"]:
        task = tasks.get(
            plan["classification_task"], seed=args.seed,
            **plan["classification_kwargs"],
        )
        settings = dict(DIGITS_MODELS[family])
        if plan.get("units"):
            settings["units"] = plan["units"]
        if plan.get("digits_settings", {}).get(family):
            settings.update(plan["digits_settings"][family])
        print(f"{task.name} {family}: {plan['digits_epochs']} epochs ...", flush=True)
        result = run(family, task, plan["digits_epochs"], plan["digits_patience"],
                     False, args.seed, settings)
        curves[family] = result["history"].get("val_accuracy", [])
        rows.append({
            "task": task.name,
            "family": family,
            "params": result["params"],
            "lr": settings["learning_rate"],
            "epochs": result["epochs_run"],
            "test_accuracy": result["test_score"],
            "baseline": task.baseline,
            "seconds": result["seconds"],
            "paper": PAPER_MNIST.get(family, "-"),
        })
        print(f"  test accuracy {result['test_score']:.4f} "
              f"({result['seconds']:.0f} s)", flush=True)
        report(adding_rows, rows)
    return rows, curves


def plot_adding(curves, name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for length in sorted({t for t, _ in curves}):
        fig, ax = plt.subplots(figsize=(6, 4))
        for (t, family), (steps, val) in curves.items():
            if t == length and val:
                ax.plot(steps, val, label=family)
        ax.axhline(1 / 6, color="gray", ls="--", lw=1, label="baseline 0.167")
        ax.axhline(0.01, color="black", ls=":", lw=1, label="MSE 0.01")
        ax.set_yscale("log")
        ax.set_xlabel("optimizer steps")
        ax.set_ylabel("validation MSE")
        ax.set_title(f"Adding problem, T = {length}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(_results.RESULTS_DIR, f"{name}_adding_T{length}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_classification(curves, baseline, name, task_name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for family, acc in curves.items():
        ax.plot(range(1, len(acc) + 1), acc, label=family)
    ax.axhline(baseline, color="gray", ls="--", lw=1, label="majority class")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title(f"{task_name}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(_results.RESULTS_DIR, f"{name}_{task_name}.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


ADDING_COLUMNS = [
    ("T", "T", "d"), ("family", "family", "s"), ("params", "params", "d"),
    ("lr", "Adam lr", ".0e"), ("steps", "steps run", "d"),
    ("val_mse", "best val MSE", ".4f"), ("test_mse", "test MSE", ".4f"),
    ("solved", "< 0.01", "s"), ("solved_step", "steps to < 0.01", "d"),
    ("seconds", "seconds", ".0f"), ("paper", "paper", "s"),
]
DIGITS_COLUMNS = [
    ("task", "task", "s"), ("family", "family", "s"), ("params", "params", "d"),
    ("lr", "Adam lr", ".0e"), ("epochs", "epochs", "d"),
    ("test_accuracy", "test accuracy", ".4f"), ("baseline", "baseline", ".4f"),
    ("seconds", "seconds", ".0f"), ("paper", "paper (MNIST, for orientation)", "s"),
]


def make_plan(args):
    if args.quick:
        return dict(
            lengths=QUICK["lengths"], steps=QUICK["steps"],
            eval_every=QUICK["eval_every"], units=QUICK["units"],
            num_validation=100, num_test=100,
            families=args.families or list(ADDING_MODELS),
            digits_families=args.digits_families or list(DIGITS_MODELS),
            digits_epochs=QUICK["digits_epochs"], digits_patience=0,
            classification_task="digits",
            classification_kwargs={"num_train": QUICK["digits_train"]},
        )
    if args.paper_scale:
        mnist_kwargs = {"source": args.source}
        if args.mnist_path:
            mnist_kwargs["path"] = args.mnist_path
        if args.data_dir:
            mnist_kwargs["data_dir"] = args.data_dir
        return dict(
            lengths=args.lengths or (100, 500, 1000, 5000), steps=args.steps or 60000,
            eval_every=500, num_validation=1000, num_test=1000,
            lr_decay=(0.1, 20000),
            families=args.families or list(ADDING_MODELS),
            digits_families=args.digits_families or list(DIGITS_MODELS),
            digits_epochs=args.epochs or 200, digits_patience=20,
            classification_task="permuted-mnist" if args.permuted else "mnist",
            classification_kwargs=dict(mnist_kwargs, batch_size=128),
            digits_settings={
                "indrnn": dict(layers=6, gamma=5.0, learning_rate=2e-4,
                               lr_decay=(0.1, 100000)),
                "irnn": dict(units=100, learning_rate=1e-4),
                "np-rnn": dict(units=100, learning_rate=1e-4),
            },
        )
    return dict(
        lengths=args.lengths or (100, 200, 500, 1000), steps=args.steps,
        eval_every=50, num_validation=500, num_test=1000,
        families=args.families or list(ADDING_MODELS),
        digits_families=args.digits_families or list(DIGITS_MODELS),
        digits_epochs=args.epochs or 30, digits_patience=8,
        classification_task="digits", classification_kwargs={},
    )


def csv(kind):
    return lambda text: [kind(s) for s in text.split(",") if s]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_true",
                       help="smoke run: tiny models, T = 10 and 20, a few steps")
    scale.add_argument("--paper-scale", action="store_true",
                       help="the papers' settings (GPU/TPU): adding up to T = 5000 "
                            "for 60K steps, sequential MNIST instead of digits")
    parser.add_argument("--lengths", type=csv(int),
                        help="comma-separated adding lengths T")
    parser.add_argument("--steps", type=int,
                        help="optimizer steps per adding run (default by T: "
                             f"{CPU_STEPS})")
    parser.add_argument("--families", type=csv(str),
                        help=f"adding families, of {list(ADDING_MODELS)}")
    parser.add_argument("--digits-families", type=csv(str),
                        help=f"digits / MNIST families, of {list(DIGITS_MODELS)}")
    parser.add_argument("--epochs", type=int,
                        help="digits / MNIST epochs (default 30; 200 at paper scale)")
    parser.add_argument("--batch-size", type=int, default=50,
                        help="adding batch size")
    parser.add_argument("--skip-adding", action="store_true")
    parser.add_argument("--skip-digits", action="store_true")
    parser.add_argument("--no-stop", action="store_true",
                        help="keep training adding runs after MSE 0.01")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--permuted", action="store_true",
                        help="paper scale: permuted MNIST instead of sequential")
    parser.add_argument("--source", default="auto",
                        help="paper scale: MNIST source (auto, npz, keras-cache, tfds)")
    parser.add_argument("--mnist-path", help="paper scale: an mnist.npz")
    parser.add_argument("--data-dir", help="paper scale: tensorflow_datasets dir")
    args = parser.parse_args(argv)
    for given, valid, flag in ((args.families, ADDING_MODELS, "--families"),
                               (args.digits_families, DIGITS_MODELS,
                                "--digits-families")):
        bad = sorted(set(given or ()) - set(valid))
        if bad:
            parser.error(f"{flag}: unknown {bad}; choose from {list(valid)}")
    plan = make_plan(args)
    name = ("reproduction_quick" if args.quick else
            "reproduction_paper" if args.paper_scale else "reproduction")
    started = time.perf_counter()

    def report(adding_rows, digits_rows, figures=()):
        tables, notes = [], [PAPER_ADDING_NOTE]
        if adding_rows:
            tables.append("## Adding problem\n\n"
                          + _results.markdown_table(adding_rows, ADDING_COLUMNS))
        if digits_rows:
            tables.append(f"## {plan['classification_task']}\n\n"
                          + _results.markdown_table(digits_rows, DIGITS_COLUMNS))
        notes.append(
            f"Settings: {'quick smoke run; ' if args.quick else ''}batch "
            f"{args.batch_size}, validation every {plan['eval_every']} steps, "
            "runs stop once validation MSE < 0.01"
            + (" (disabled)" if args.no_stop else "")
            + f"; total {time.perf_counter() - started:.0f} s."
        )
        tables += [f"![{os.path.basename(f)}]({os.path.basename(f)})" for f in figures]
        _results.write(
            name,
            {"plan": {k: v for k, v in plan.items() if k != "digits_settings"},
             "adding": adding_rows or [], "classification": digits_rows or [],
             "seconds": time.perf_counter() - started},
            "\n\n".join(tables),
            "Reproduction of the seeds' headline comparisons",
            notes="\n\n".join(notes),
        )

    adding_rows, adding_curves = [], {}
    if not args.skip_adding:
        adding_rows, adding_curves = adding_experiment(args, plan, report)
    digits_rows, digits_curves = [], {}
    if not args.skip_digits:
        digits_rows, digits_curves = digits_experiment(args, plan, report, adding_rows)
    figures = plot_adding(adding_curves, name) if adding_curves else []
    if digits_curves:
        figures.append(plot_classification(
            digits_curves, digits_rows[0]["baseline"], name,
            plan["classification_task"]))
    report(adding_rows, digits_rows, figures)
    print(f"wrote {os.path.join(_results.RESULTS_DIR, name)}.{{json,md}} and "
          f"{len(figures)} figures in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
