"""Sequential and permuted MNIST at an equal wall-clock budget per model.

The IndRNN paper's deep model (Li et al. 2018, arXiv 1803.04831, Table 3:
6 IndRNN layers of 128 units with batch normalization, Adam 2e-4; 99.0%
on sequential MNIST, 96.0% on permuted MNIST) against IRNN (Le et al.
2015, arXiv 1504.00941: 95-97% / 82%), np-RNN (Talathi and Vartak 2015)
and LSTM, each trained for the same minutes. Each run keeps its validation
accuracy curve and its test accuracy in `<directory>/result.json`; a
finished run is not run again. A run with `checkpoint_minutes` in its
settings (the hours-long one) saves its model, optimizer state and curve
that often and resumes from them after any stop, losing at most the steps
since the last checkpoint; the others start over.
"""

import json
import math
import os
import time

import keras

from keras_rnninit import _interrupts

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


def fraction_done(directory, settings):
    """How much of a run is done: 1.0 once its result is written, else the
    share of its budget its checkpoint holds (0.0 without one)."""
    if read(directory) is not None:
        return 1.0
    path = os.path.join(directory, CHECKPOINT_STATE)
    if not os.path.exists(path):
        return 0.0
    with open(path) as f:
        state = json.load(f)
    used = (state["elapsed"] if settings.get("validation_in_budget", True)
            else state["training"])
    return min(0.99, used / (60 * settings["minutes"]))


def read(directory):
    path = os.path.join(directory, RESULT_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


CHECKPOINT_STATE = "checkpoint.json"


def run(directory, name, mnist_path, settings, seed=0, log=print):
    """Trains model `name` for `settings["minutes"]` and writes its result:
    the validation accuracy every `minutes / evaluations`, the test accuracy
    at the end.

    `settings` may also hold `validation_in_budget` (default True: the
    minutes are wall clock, validation included; False: training time
    only), `checkpoint_minutes` (resume from a checkpoint saved that often)
    and `max_steps` (stop there too, for tests).
    """
    from keras_rnninit import deep_indrnn
    from keras_rnninit import models
    from keras_rnninit import tasks

    permuted = name.endswith("-permuted")
    family = name.removesuffix("-permuted")
    task_kwargs = {k: settings[k] for k in ("num_train", "num_validation",
                                            "num_test") if k in settings}
    # Before the data: tf.data's shuffle order depends on the global seed.
    keras.utils.set_random_seed(seed)
    task = tasks.get("permuted-mnist" if permuted else "mnist", path=mnist_path,
                     rows=settings["rows"], batch_size=settings["batch_size"],
                     seed=seed, **task_kwargs)
    say = lambda text: log(f"{name}: {text}")  # noqa: E731
    checkpoint = Checkpoint(directory, settings.get("checkpoint_minutes"))
    model, state = checkpoint.restore()
    if model is None:
        if family == "indrnn":
            hp = dict(SETTINGS[name])
            model = deep_indrnn(task.input_shape, num_classes=task.output_size)
            model.compile(optimizer=models.make_optimizer(
                "adam", hp.pop("learning_rate"), **hp),
                loss=task.loss, metrics=["accuracy"])
        else:
            model = models.build_model(family, task, optimizer="adam", seed=seed,
                                       **SETTINGS[name])
    budget = 60 * settings["minutes"]
    clock = WallClock(budget, budget / settings["evaluations"], task.validation,
                      log=say, count_validation=settings.get(
                          "validation_in_budget", True),
                      max_steps=settings.get("max_steps"), checkpoint=checkpoint)
    # Keras builds a fresh model's compiled loss and metrics on a batch it
    # takes from the training data (a reloaded model's are built): built
    # here on a validation batch, a run and its resumed copy see the same
    # training batches.
    model.evaluate(task.validation.take(1), verbose=0)
    train = task.train.repeat()
    if state:
        clock.restore(state)
        # The batches the checkpointed steps took, so that the run goes on
        # with the data it would have seen.
        train = train.skip(clock.steps)
        say(f"resumed from its checkpoint: {clock.steps} steps, "
            f"{clock.budget_used / 60:.1f} of {settings['minutes']:g} min")
    else:
        say(f"training for {settings['minutes']:g} min "
            f"({model.count_params()} parameters)")
    if not clock.finished():
        model.fit(train, steps_per_epoch=settings["chunk"], epochs=10**9,
                  callbacks=[clock], verbose=0, shuffle=False)
    test = model.evaluate(task.test, verbose=0, return_dict=True)
    result = {
        "name": name,
        "label": LABELS[name],
        "task": task.name,
        "settings": {**settings, **SETTINGS[name], "seed": seed},
        "parameters": model.count_params(),
        "steps": clock.steps,
        "epochs": clock.steps / int(task.train.cardinality()),
        "seconds": clock.elapsed,
        "training_seconds": clock.training,
        "sessions": clock.sessions,
        "diverged_at": clock.diverged_at,
        "curve": clock.curve,
        "test_accuracy": float(test["accuracy"]),
        "test_loss": float(test["loss"]),
        "num_test": settings.get("num_test") or "all",
        "baseline": task.baseline,
    }
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, RESULT_FILE), "w") as f:
        json.dump(result, f, indent=1)
    checkpoint.remove()
    say(f"test accuracy {result['test_accuracy']:.4f} after {clock.steps} steps")
    return result


class Checkpoint:
    """The model (weights and optimizer state) and the clock's state of a
    resumable run, saved every `minutes` of training.

    The model goes to a new file first and `checkpoint.json`, which names
    it, is replaced after it: a stop at any moment leaves a pair that
    belongs together.
    """

    def __init__(self, directory, minutes):
        self.directory, self.seconds = directory, minutes and 60 * minutes
        self.path = os.path.join(directory, CHECKPOINT_STATE)

    def restore(self):
        """`(model, clock state)`, or `(None, None)` without a checkpoint."""
        if not self.seconds or not os.path.exists(self.path):
            return None, None
        with open(self.path) as f:
            state = json.load(f)
        model = keras.saving.load_model(os.path.join(self.directory,
                                                     state["model"]))
        return model, state

    def save(self, model, state):
        os.makedirs(self.directory, exist_ok=True)
        name = f"checkpoint-{state['steps']}.keras"
        model.save(os.path.join(self.directory, name))
        old = self._model_name()
        with open(self.path + ".tmp", "w") as f:
            json.dump({**state, "model": name}, f)
        os.replace(self.path + ".tmp", self.path)
        if old and old != name:
            os.remove(os.path.join(self.directory, old))

    def remove(self):
        old = self._model_name()
        if old:
            os.remove(os.path.join(self.directory, old))
            os.remove(self.path)

    def _model_name(self):
        if not os.path.exists(self.path):
            return None
        with open(self.path) as f:
            return json.load(f)["model"]


class WallClock(keras.callbacks.Callback):
    """Stops training after `budget` seconds and validates every `interval`
    seconds, at the end of a `chunk`-step epoch (where the model's weights
    are current on every backend).

    `count_validation`: the budget counts validation time too (else
    training time only). `checkpoint`: saved at an epoch end once its
    interval has passed. Its clock carries over a resumed run's seconds.
    """

    def __init__(self, budget, interval, validation, log=print,
                 count_validation=True, max_steps=None, checkpoint=None):
        super().__init__()
        self.budget, self.interval = budget, interval
        self.validation, self.log = validation, log
        self.count_validation, self.max_steps = count_validation, max_steps
        self.checkpoint = checkpoint
        self.curve, self.steps = [], 0
        self.elapsed = self.training = 0.0
        self.diverged_at = None
        self.sessions = 0
        self.last = self.saved = 0.0

    def state(self):
        return {"steps": self.steps, "elapsed": self.elapsed,
                "training": self.training, "curve": self.curve,
                "diverged_at": self.diverged_at, "last": self.last,
                "sessions": self.sessions}

    def restore(self, state):
        for key in ("steps", "elapsed", "training", "curve", "diverged_at",
                    "last", "sessions"):
            setattr(self, key, state[key])
        self.saved = self.budget_used

    @property
    def budget_used(self):
        return self.elapsed if self.count_validation else self.training

    def finished(self):
        return (self.diverged_at is not None or self.budget_used >= self.budget
                or (self.max_steps is not None and self.steps >= self.max_steps))

    def on_train_begin(self, logs=None):
        self.sessions += 1
        self.tick = time.perf_counter()

    def _advance(self, training):
        now = time.perf_counter()
        self.elapsed += now - self.tick
        if training:
            self.training += now - self.tick
        self.tick = now

    def on_train_batch_end(self, batch, logs=None):
        # A signal's interrupt can be swallowed where it lands (in JAX's
        # conversion of the logs): raised here, the run stops after this step.
        _interrupts.raise_if_received()
        self.steps += 1
        self._advance(training=True)
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            # A NaN model predicts one class from here on: stop, and say so.
            self.diverged_at = self.steps
            self.log(f"training loss {float(loss)} at step {self.steps}: "
                     "diverged, stopped")
        if self.finished():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self._advance(training=True)
        if self.model.stop_training or self.budget_used - self.last >= self.interval:
            self.last = self.budget_used
            accuracy = float(self.model.evaluate(
                self.validation, verbose=0, return_dict=True)["accuracy"])
            self._advance(training=False)
            self.curve.append([self.steps, round(self.budget_used, 1), accuracy])
            self.log(f"{self.budget_used / 60:.1f} min, {self.steps} steps: "
                     f"validation accuracy {accuracy:.4f}")
        if (self.checkpoint and self.checkpoint.seconds and not
                self.model.stop_training and
                self.budget_used - self.saved >= self.checkpoint.seconds):
            self.saved = self.budget_used
            with _interrupts.deferred():  # a checkpoint is written whole
                self.checkpoint.save(self.model, self.state())
            self._advance(training=False)


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


def gap_budget(result, target):
    """`(steps, hours)` at which the validation curve's trend reaches
    `target` accuracy, or None when it does not head there.

    The trend: a power law of the error in steps, `1 - accuracy = a *
    steps^b`, fitted (least squares in log-log) to the second half of the
    curve; hours at the run's own training seconds per step.
    """
    import numpy as np

    points = [(s, a) for s, _, a in result["curve"] if 0 < a < 1 and s > 0]
    points = points[len(points) // 2:]
    if len(points) < 3 or not result["steps"]:
        return None
    x = np.log([s for s, _ in points])
    y = np.log([1 - a for _, a in points])
    slope, intercept = np.polyfit(x, y, 1)
    if slope > -0.05:  # flat: no budget follows from it
        return None
    steps = float(np.exp((np.log(1 - target) - intercept) / slope))
    per_step = result.get("training_seconds", result["seconds"]) / result["steps"]
    return steps, steps * per_step / 3600


def hours_verdict(result, name="indrnn"):
    """`(verdict, reason)` of an hours-long run against its paper's test
    accuracy: confirmed when reached, else undecided with the budget the
    curve's trend asks for (a budget cannot refute a paper that trained to
    convergence)."""
    paper = PAPER_ACCURACY[name]
    ours = result["test_accuracy"]
    hours = result.get("training_seconds", result["seconds"]) / 3600
    if ours >= paper:
        return "confirmed", (f"{100 * ours:.2f}% >= {100 * paper:.1f}% after "
                             f"{hours:.1f} h of training")
    epochs = (f", {result['epochs']:.1f} epochs" if "epochs" in result else "")
    text = (f"{100 * ours:.2f}% on the full test set after {hours:.1f} h of "
            f"training ({result['steps']} steps{epochs}), below "
            f"{100 * paper:.1f}%")
    gap = gap_budget(result, paper)
    if gap is None:
        return "undecided", (text + "; the validation curve has flattened, so "
                             "no budget follows from its trend")
    steps, more = gap
    return "undecided", (
        text + f"; the validation curve's trend (a power law of the error in "
        f"steps, fitted to its second half) reaches {100 * paper:.1f}% after "
        f"about {steps:,.0f} steps, {more:.0f} h of training here")


def plot_hours(results, path):
    """Validation accuracy against steps and against hours of training,
    with the papers' test accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2))
    by_steps, by_hours = fig.subplots(1, 2, sharey=True)
    for name, r in results.items():
        if not r["curve"]:
            continue
        steps, seconds, accuracy = zip(*r["curve"])
        test = r["test_accuracy"]
        label = LABELS[name] + (": running" if math.isnan(test) else
                                f": test {100 * test:.2f}%")
        by_steps.plot(steps, accuracy, marker=".", label=label)
        by_hours.plot([s / 3600 for s in seconds], accuracy, marker=".",
                      label=label)
        if name in PAPER_ACCURACY:
            for ax in (by_steps, by_hours):
                ax.axhline(PAPER_ACCURACY[name], color="gray", ls="--", lw=1)
    by_steps.set_xlabel("optimizer steps (batch 64)")
    by_hours.set_xlabel("hours of training (validation excluded)")
    by_steps.set_ylabel("validation accuracy")
    by_steps.set_title("Sequential MNIST for hours; dashed: the paper's test "
                       "accuracy (99.0%)", fontsize=9)
    by_hours.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


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
