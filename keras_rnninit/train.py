"""Trains one model family on one task and reports its test score.

    python -m keras_rnninit.train --family irnn --task adding --length 100

Shows Keras's progress bar, stops early when the validation objective stops
improving, writes checkpoints (`last.keras` after every epoch, `best.keras`
at the best validation score) plus `history.json` and `result.json` into
`--output-dir`, and prints the test score next to the task's trivial
baseline. `--resume` continues from `last.keras`. The saved models load
with `keras.models.load_model(path)` once `keras_rnninit` is imported.
"""

import json
import math
import os
import sys

import keras

from keras_rnninit import _files
from keras_rnninit import _interrupts
from keras_rnninit import _quiet

_quiet.import_tensorflow()  # before the tasks load it, to drop its log lines

from keras_rnninit import models  # noqa: E402
from keras_rnninit import tasks  # noqa: E402
from keras_rnninit.train_arguments import make_parser  # noqa: E402,F401

_TASK_FLAGS = {
    "length": "length",
    "num_train": "num_train",
    "num_validation": "num_validation",
    "num_test": "num_test",
    "batch_size": "batch_size",
    "rows": "rows",
    "source": "source",
    "mnist_path": "path",
    "data_dir": "data_dir",
}


class ThresholdMonitor(keras.callbacks.Callback):
    """Records when the validation metric first reaches the task's threshold.

    After each epoch, if `logs[task.objective]` reaches
    `task.success_threshold`, stores the epoch and the optimizer step count
    in `solved_epoch` / `solved_step` (the first time only) and, with
    `stop=True`, stops training.
    """

    def __init__(self, task, stop=False):
        super().__init__()
        self.task = task
        self.stop = stop
        self.solved_epoch = None
        self.solved_step = None

    def on_train_batch_begin(self, batch, logs=None):
        _interrupts.raise_if_received()

    def on_epoch_end(self, epoch, logs=None):
        score = (logs or {}).get(self.task.objective)
        if self.solved_epoch is None and score is not None and self.task.solved(
            float(score)
        ):
            self.solved_epoch = epoch + 1
            self.solved_step = int(
                keras.ops.convert_to_numpy(self.model.optimizer.iterations)
            )
            if self.stop:
                self.model.stop_training = True


class Checkpoints(keras.callbacks.Callback):
    """After each epoch: `last.keras`, `best.keras` when the validation
    objective is the best so far, and the epoch's logs appended to
    `history.json`, kept across resumed runs.

    Each file is written whole or not at all: a kill leaves the previous
    one, and Ctrl-C or SIGTERM waits until the epoch's files are written.
    A resumed run's best is the best in `history.json`.
    """

    def __init__(self, output_dir, task):
        super().__init__()
        self.output_dir = output_dir
        self.task = task
        self.history_path = os.path.join(output_dir, "history.json")
        self.epochs = read_history(self.history_path)
        self.best = None
        for entry in self.epochs:
            self._keep_if_best(entry.get(task.objective))

    def _keep_if_best(self, score):
        """Whether `score` beats the best so far (which it then becomes)."""
        if score is None or not (self.best is None
                                 or self.task.is_better(score, self.best)):
            return False
        self.best = score
        return True

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        entry = {"epoch": epoch + 1}
        entry.update({k: float(v) for k, v in logs.items()})
        entry["step"] = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        score = entry.get(self.task.objective)
        with _interrupts.deferred():
            self._save(os.path.join(self.output_dir, "last.keras"))
            if self._keep_if_best(score):
                self._save(os.path.join(self.output_dir, "best.keras"))
            self.epochs = [e for e in self.epochs if e["epoch"] < epoch + 1] + [entry]
            with _files.written_whole(self.history_path) as temporary:
                with open(temporary, "w") as f:
                    json.dump(self.epochs, f, indent=1)

    def _save(self, path):
        with _files.written_whole(path) as temporary:
            self.model.save(temporary)


def read_history(path):
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        return json.load(f)


def parse_hp(items):
    """`["gain=0.05", "num_modules=4"]` -> `{"gain": 0.05, "num_modules": 4}`."""
    hp = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--hp takes NAME=VALUE. Received: --hp {item!r}")
        for convert in (int, float):
            try:
                value = convert(text)
                break
            except ValueError:
                continue
        else:
            value = text
        hp[name.strip().replace("-", "_")] = value
    return hp


def train(
    family,
    task,
    epochs=10,
    patience=5,
    output_dir=None,
    resume=False,
    verbose=1,
    stop_when_solved=False,
    callbacks=(),
    **model_kwargs,
):
    """Trains `family` on `task`; returns a result dict (scores, baseline).

    Args:
        family: a key of `keras_rnninit.models.FAMILIES`.
        task: a `keras_rnninit.tasks.Task`.
        epochs: the most epochs to train.
        patience: early-stopping patience in epochs (`0`: no early stop);
            the best weights are restored.
        output_dir: where `last.keras`, `best.keras`, `history.json` and
            `result.json` go (`None`: no files).
        resume: continue from `output_dir/last.keras` if it exists.
        verbose: Keras's `verbose` for `fit` (1: progress bar).
        stop_when_solved: stop once the validation score reaches
            `task.success_threshold`.
        callbacks: extra Keras callbacks.
        **model_kwargs: passed to `build_model`.
    """
    monitor = ThresholdMonitor(task, stop=stop_when_solved)
    cbs = [monitor, *callbacks]
    initial_epoch = 0
    model = None
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
        last = os.path.join(output_dir, "last.keras")
        history_path = os.path.join(output_dir, "history.json")
        if resume and os.path.isfile(last):
            model = keras.models.load_model(last)
            if tuple(model.input_shape[1:]) != task.input_shape:
                raise ValueError(
                    f"{last} expects inputs {tuple(model.input_shape[1:])}, but "
                    f"the task gives {task.input_shape}: use the same task "
                    "flags to resume, or another --output-dir."
                )
            initial_epoch = len(read_history(history_path))
        elif not resume and os.path.isfile(history_path):
            os.remove(history_path)
        cbs.append(Checkpoints(output_dir, task))
    if model is None:
        model = models.build_model(family, task, **model_kwargs)
    if patience:
        cbs.append(
            keras.callbacks.EarlyStopping(
                monitor=task.objective,
                mode=task.direction,
                patience=patience,
                restore_best_weights=True,
            )
        )
    history = {}
    if initial_epoch < epochs:
        history = model.fit(
            task.train,
            validation_data=task.validation,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=cbs,
            verbose=verbose,
            shuffle=False,  # the tasks' datasets reshuffle themselves
        ).history
    scores = model.evaluate(task.test, return_dict=True, verbose=0)
    score = float(scores[task.metric])
    result = {
        "family": family,
        "task": task.name,
        "task_config": task.config,
        "model": {k: v for k, v in model_kwargs.items()},
        "metric": task.metric,
        "direction": task.direction,
        "test_score": score,
        "test_loss": float(scores["loss"]),
        "baseline": task.baseline,
        "success_threshold": task.success_threshold,
        "solved": task.solved(score),
        "solved_epoch": monitor.solved_epoch,
        "solved_step": monitor.solved_step,
        "steps": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "epochs_run": initial_epoch + len(history.get("loss", [])),
        "history": {k: [float(v) for v in vs] for k, vs in history.items()},
    }
    if output_dir is not None:
        with open(os.path.join(output_dir, "result.json"), "w") as f:
            json.dump(result, f, indent=1, default=str)
    return model, result


def format_result(result):
    better = "lower" if result["direction"] == "min" else "higher"
    score, baseline = result["test_score"], result["baseline"]
    verdict = "solved" if result["solved"] else "not solved"
    return (
        f"test {result['metric']}: {score:.4f}   baseline: {baseline:.4f}   "
        f"({better} is better; solved at {result['success_threshold']:.4g}: "
        f"{verdict})"
    )


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        hp = parse_hp(args.hp)
        if args.momentum is not None:
            hp["momentum"] = args.momentum
        if (args.lr_decay is None) != (args.lr_decay_steps is None):
            raise ValueError(
                "--lr-decay and --lr-decay-steps go together. Received: "
                f"--lr-decay {args.lr_decay}, --lr-decay-steps {args.lr_decay_steps}"
            )
        lr_decay = (
            None if args.lr_decay is None else (args.lr_decay, args.lr_decay_steps)
        )
        for name in ("epochs", "patience"):
            value = getattr(args, name)
            if value < 0:
                raise ValueError(f"--{name} must be >= 0. Received: {value}")
        task_kwargs = {"seed": args.seed}
        for flag, key in _TASK_FLAGS.items():
            value = getattr(args, flag)
            if value is not None:
                task_kwargs[key] = value
        task = tasks.get(args.task, **task_kwargs)
        model_kwargs = dict(
            units=args.units,
            layers=args.layers,
            optimizer=args.optimizer,
            learning_rate=args.learning_rate,
            clipnorm=args.clipnorm,
            clipvalue=args.clipvalue,
            lr_decay=lr_decay,
            seed=args.seed,
            **hp,
        )
        # Fail on a bad family hyperparameter before any file is written.
        models.build_model(args.family, task, **model_kwargs)
    except tasks.DatasetUnavailableError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        parser.error(str(e))
    keras.backend.clear_session()
    keras.utils.set_random_seed(args.seed)
    output_dir = args.output_dir or os.path.join(
        "runs", f"{args.family}_{args.task}"
    )
    print(task.summary())
    _interrupts.handle_signals()
    try:
        _, result = train(
            args.family,
            task,
            epochs=args.epochs,
            patience=args.patience,
            output_dir=output_dir,
            resume=args.resume,
            verbose=2 if args.quiet else 1,
            stop_when_solved=args.stop_when_solved,
            **model_kwargs,
        )
    except KeyboardInterrupt as e:
        command = _interrupts.program("rnninit-train", "keras_rnninit.train") + [
            a for a in argv if a != "--resume"] + ["--resume"]
        return _interrupts.stopped(
            e, "rnninit-train",
            f"the last finished epoch is saved in {output_dir}",
            _interrupts.pasteable(command, keras.backend.backend()))
    print(format_result(result))
    if result["solved_step"] is not None:
        print(
            f"validation {task.metric} reached {task.success_threshold:.4g} "
            f"after {result['solved_step']} steps (epoch {result['solved_epoch']})"
        )
    print(f"checkpoints and logs in {output_dir}")
    return 0 if math.isfinite(result["test_score"]) else 1


if __name__ == "__main__":
    sys.exit(main())
