"""Sequential and permuted MNIST at an equal wall-clock budget per model.

The IndRNN paper's deep model (Li et al. 2018, arXiv 1803.04831, Table 3:
6 IndRNN layers of 128 units with batch normalization, Adam 2e-4; 99.0%
on sequential MNIST, 96.0% on permuted MNIST) against IRNN (Le et al.
2015, arXiv 1504.00941: 95-97% / 82%), np-RNN (Talathi and Vartak 2015)
and LSTM, each trained for the same minutes. Each run keeps its validation
accuracy curve and its test accuracy in `<directory>/result.json`; a
finished run is not run again, an interrupted one starts over.
"""

import json
import math
import os
import time

import keras

RESULT_FILE = "result.json"
# Test accuracy in %, sequential / permuted (PAPERS.md).
PAPER = {
    "indrnn": "99.0 (6-layer IndRNN)",
    "indrnn-permuted": "96.0 (6-layer IndRNN)",
    "irnn": "95-97 (IRNN)",
    "np-rnn": "reported, number not in PAPERS.md",
    "lstm": "-",
}
PAPER_ACCURACY = {"indrnn": 0.990, "indrnn-permuted": 0.960, "irnn": 0.95}
# Adam for all; the IndRNN paper's rate and the authors' elementwise clip
# for the deep IndRNN, clip norm 1 (the IRNN paper's) for the others at
# rates that train single-layer ReLU RNNs at 784 steps without diverging.
SETTINGS = {
    "indrnn": dict(learning_rate=2e-4, clipvalue=10.0),
    "indrnn-permuted": dict(learning_rate=2e-4, clipvalue=10.0),
    "irnn": dict(learning_rate=1e-4, clipnorm=1.0),
    "np-rnn": dict(learning_rate=1e-4, clipnorm=1.0),
    "lstm": dict(learning_rate=1e-3, clipnorm=1.0),
}
LABELS = {"indrnn": "IndRNN, 6 x 128 + BN", "indrnn-permuted":
          "IndRNN, 6 x 128 + BN (permuted)", "irnn": "IRNN, 1 x 100",
          "np-rnn": "np-RNN, 1 x 100", "lstm": "LSTM, 1 x 100"}


def read(directory):
    path = os.path.join(directory, RESULT_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def run(directory, name, mnist_path, settings, seed=0, log=print):
    """Trains model `name` for `settings["minutes"]` of wall clock and writes
    its result: the validation accuracy every `minutes / evaluations`, the
    test accuracy at the end."""
    from keras_rnninit import deep_indrnn
    from keras_rnninit import models
    from keras_rnninit import tasks

    permuted = name.endswith("-permuted")
    family = name.removesuffix("-permuted")
    task_kwargs = {k: settings[k] for k in ("num_train", "num_validation",
                                            "num_test") if k in settings}
    task = tasks.get("permuted-mnist" if permuted else "mnist", path=mnist_path,
                     rows=settings["rows"], batch_size=settings["batch_size"],
                     seed=seed, **task_kwargs)
    keras.utils.set_random_seed(seed)
    if family == "indrnn":
        hp = dict(SETTINGS[name])
        model = deep_indrnn(task.input_shape, num_classes=task.output_size)
        model.compile(optimizer=models.make_optimizer("adam", hp.pop("learning_rate"),
                                                      **hp),
                      loss=task.loss, metrics=["accuracy"])
    else:
        model = models.build_model(family, task, optimizer="adam", seed=seed,
                                   **SETTINGS[name])
    budget = 60 * settings["minutes"]
    clock = WallClock(budget, budget / settings["evaluations"], task.validation,
                      log=lambda text: log(f"{name}: {text}"))
    log(f"{name}: training for {settings['minutes']:g} min "
        f"({model.count_params()} parameters)")
    model.fit(task.train.repeat(), steps_per_epoch=settings["chunk"],
              epochs=10**9, callbacks=[clock], verbose=0, shuffle=False)
    test = model.evaluate(task.test, verbose=0, return_dict=True)
    result = {
        "name": name,
        "label": LABELS[name],
        "task": task.name,
        "settings": {**settings, **SETTINGS[name], "seed": seed},
        "parameters": model.count_params(),
        "steps": clock.steps,
        "seconds": clock.elapsed,
        "diverged_at": clock.diverged_at,
        "curve": clock.curve,
        "test_accuracy": float(test["accuracy"]),
        "baseline": task.baseline,
    }
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, RESULT_FILE), "w") as f:
        json.dump(result, f, indent=1)
    log(f"{name}: test accuracy {result['test_accuracy']:.4f} after "
        f"{clock.steps} steps")
    return result


class WallClock(keras.callbacks.Callback):
    """Stops training after `budget` seconds and validates every `interval`
    seconds, at the end of a `chunk`-step epoch (where the model's weights
    are current on every backend)."""

    def __init__(self, budget, interval, validation, log=print):
        super().__init__()
        self.budget, self.interval = budget, interval
        self.validation, self.log = validation, log
        self.curve, self.steps, self.elapsed = [], 0, 0.0
        self.diverged_at = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.last = 0.0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.elapsed = time.perf_counter() - self.start
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            # A NaN model predicts one class from here on: stop, and say so.
            self.diverged_at = self.steps
            self.log(f"training loss {float(loss)} at step {self.steps}: "
                     "diverged, stopped")
            self.model.stop_training = True
        if self.elapsed >= self.budget:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training or self.elapsed - self.last >= self.interval:
            self.last = self.elapsed
            accuracy = float(self.model.evaluate(
                self.validation, verbose=0, return_dict=True)["accuracy"])
            self.curve.append([self.steps, round(self.elapsed, 1), accuracy])
            self.log(f"{self.elapsed / 60:.1f} min, {self.steps} steps: "
                     f"validation accuracy {accuracy:.4f}")


def verdicts(results, minutes):
    """Each model reaches its paper's test accuracy (IndRNN sequential and
    permuted, IRNN sequential at its lower 95%); a shorter budget than the
    papers' cannot refute it."""
    rows = []
    for name, paper in PAPER_ACCURACY.items():
        r = results.get(name)
        if r is None:
            continue
        ours = r["test_accuracy"]
        if ours >= paper:
            rows.append((name, "confirmed",
                         f"{100 * ours:.2f}% >= {100 * paper:.1f}%"))
        else:
            rows.append((name, "undecided", (
                f"{100 * ours:.2f}% after {minutes:g} min on this machine, below "
                f"{100 * paper:.1f}%; the paper trained to convergence on a "
                "GPU (--paper-scale)")))
    return rows


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for name, r in results.items():
        if r["curve"]:
            ax.plot([s / 60 for _, s, _ in r["curve"]], [a for _, _, a in r["curve"]],
                    marker=".", label=f"{LABELS[name]}: test {r['test_accuracy']:.3f}")
    ax.set_xlabel("minutes of training (equal budget)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("Sequential MNIST (and permuted, IndRNN)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
