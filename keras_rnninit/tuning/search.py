"""The sensitivity search: the same keras-tuner search for each family."""

import contextlib
import dataclasses
import json
import os
import shutil

import keras
import keras_tuner

from keras_rnninit import models
from keras_rnninit import tasks
from keras_rnninit.tuning import strategy as strategy_lib
from keras_rnninit.tuning.hypermodel import FamilyHyperModel
from keras_rnninit.tuning.space import SearchSpace

TUNERS = ("random", "grid", "bayesian")
CONFIG_FILE = "search.json"
DEFAULT_FAMILIES = ("irnn", "irnn-scaled", "np-rnn")


class SearchConfigError(ValueError):
    """The search cannot start with these settings."""


@dataclasses.dataclass
class SearchConfig:
    """Everything that defines a search; written to `<directory>/search.json`.

    A search directory holds one keras-tuner project per family; re-running
    the same search resumes it, keeping every finished trial.
    """

    directory: str = "rnninit_runs/adding"
    task: str = "adding"
    task_kwargs: dict = dataclasses.field(default_factory=lambda: {"length": 30})
    families: tuple = DEFAULT_FAMILIES
    tuner: str = "random"
    trials: int = 5
    epochs: int = 3
    steps_per_epoch: int = None
    batch_size: int = 32
    units: int = 100
    layers: int = 1
    space: SearchSpace = dataclasses.field(default_factory=SearchSpace)
    threshold: float = None
    seed: int = 0

    def __post_init__(self):
        self.families = tuple(self.families)
        unknown = [f for f in self.families if f not in models.FAMILIES]
        if not self.families:
            raise SearchConfigError("No family to search: --families is empty.")
        if unknown:
            raise SearchConfigError(
                f"Unknown family {', '.join(unknown)}. Expected some of: "
                f"{', '.join(models.FAMILIES)}."
            )
        if len(set(self.families)) != len(self.families):
            raise SearchConfigError(f"A family is listed twice: {self.families}")
        if self.task not in tasks.names():
            raise SearchConfigError(
                f"Unknown task {self.task!r}. Expected one of: "
                f"{', '.join(tasks.names())}."
            )
        if self.tuner not in TUNERS:
            raise SearchConfigError(
                f"Unknown tuner {self.tuner!r}. Expected one of: {', '.join(TUNERS)}."
            )
        for name in ("trials", "epochs", "batch_size", "units", "layers"):
            if int(getattr(self, name)) < 1:
                raise SearchConfigError(
                    f"{name} must be >= 1. Received: {getattr(self, name)}"
                )
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise SearchConfigError(
                f"steps_per_epoch must be >= 1. Received: {self.steps_per_epoch}"
            )

    def to_dict(self):
        config = dataclasses.asdict(self)
        config["families"] = list(self.families)
        config["space"] = self.space.to_dict()
        return config

    @classmethod
    def from_dict(cls, config):
        config = dict(config)
        config["space"] = SearchSpace.from_dict(config.get("space", {}))
        return cls(**config)

    def defining(self):
        """The settings a resumed search must share with the original."""
        config = self.to_dict()
        for key in ("directory", "trials"):
            config.pop(key)
        return config


def load_config(directory):
    path = os.path.join(directory, CONFIG_FILE)
    if not os.path.exists(path):
        raise SearchConfigError(
            f"{directory} is not a search directory: {CONFIG_FILE} is missing."
        )
    with open(path) as f:
        return json.load(f)


def _prepare_directory(config, overwrite):
    path = os.path.join(config.directory, CONFIG_FILE)
    if overwrite and os.path.isdir(config.directory):
        shutil.rmtree(config.directory)
    if os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        previous = SearchConfig.from_dict(saved["config"]).defining()
        if previous != config.defining():
            changed = sorted(
                k for k in previous if previous[k] != config.defining().get(k)
            )
            raise SearchConfigError(
                f"{config.directory} holds a different search (differs in: "
                f"{', '.join(changed)}). Re-run with --overwrite to start over, "
                "or choose another --directory."
            )
    os.makedirs(config.directory, exist_ok=True)


def write_search_file(config, task):
    payload = {
        "config": config.to_dict(),
        "objective": task.objective,
        "direction": task.direction,
        "baseline": float(task.baseline),
        "threshold": float(
            config.threshold if config.threshold is not None
            else task.success_threshold
        ),
        "backend": keras.backend.backend(),
    }
    with open(os.path.join(config.directory, CONFIG_FILE), "w") as f:
        json.dump(payload, f, indent=2)
    return payload


def make_task(config):
    try:
        return tasks.get(
            config.task, batch_size=config.batch_size, seed=config.seed,
            **config.task_kwargs
        )
    except (TypeError, ValueError) as e:
        raise SearchConfigError(f"Task {config.task!r}: {e}") from e


def _tuner_class(name):
    return {
        "random": keras_tuner.RandomSearch,
        "grid": keras_tuner.GridSearch,
        "bayesian": keras_tuner.BayesianOptimization,
    }[name]


def make_tuner(config, family, task, tf_strategy=None):
    hypermodel = FamilyHyperModel(
        family, task, config.space, tuner=config.tuner, units=config.units,
        layers=config.layers, seed=config.seed,
    )
    return _tuner_class(config.tuner)(
        hypermodel,
        objective=keras_tuner.Objective(task.objective, task.direction),
        max_trials=config.trials,
        seed=config.seed,
        directory=config.directory,
        project_name=family,
        overwrite=False,
        distribution_strategy=tf_strategy,
        # A trial that raises is a failure to report, not a reason to stop.
        max_consecutive_failed_trials=max(3, config.trials),
    )


@contextlib.contextmanager
def _oracle_port(base_port, index):
    """keras-tuner's chief serves one family at a time: one port each."""
    if base_port is None:
        yield
        return
    previous = os.environ.get("KERASTUNER_ORACLE_PORT")
    os.environ["KERASTUNER_ORACLE_PORT"] = str(int(base_port) + index)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("KERASTUNER_ORACLE_PORT", None)
        else:
            os.environ["KERASTUNER_ORACLE_PORT"] = previous


def is_worker():
    return "KERASTUNER_ORACLE_IP" in os.environ and (
        os.environ.get("KERASTUNER_TUNER_ID", "").lower() != "chief"
    )


def run_search(config, overwrite=False, strategy="default", verbose=1,
               oracle_port=None, log=print):
    """Runs (or resumes) the search and returns the search file's content.

    Args:
        config: a `SearchConfig`.
        overwrite: start over, deleting the directory's previous trials.
        strategy: one of `strategy.STRATEGIES`.
        verbose: keras-tuner / Keras verbosity (0, 1 or 2).
        oracle_port: keras-tuner distributed search: the chief serves family
            `i` on port `oracle_port + i`; None when not distributed.
        log: where progress lines go.
    """
    tf_strategy, jax_distribution = strategy_lib.select_strategy(strategy)
    task = make_task(config)
    if is_worker():
        os.makedirs(config.directory, exist_ok=True)
    else:
        _prepare_directory(config, overwrite)
    payload = write_search_file(config, task) if not is_worker() else None
    log(
        f"Task {task.name}: objective {task.objective} ({task.direction}), "
        f"baseline {task.baseline:.4g}; distribution: "
        f"{strategy_lib.describe(tf_strategy, jax_distribution)}"
    )
    previous = keras.distribution.distribution()
    if jax_distribution is not None:
        keras.distribution.set_distribution(jax_distribution)
    try:
        train = task.train
        if config.steps_per_epoch is not None:
            train = train.repeat()
        for index, family in enumerate(config.families):
            log(f"[{index + 1}/{len(config.families)}] family {family}: "
                f"{config.trials} trial(s) with the {config.tuner} tuner")
            with _oracle_port(oracle_port, index):
                tuner = make_tuner(config, family, task, tf_strategy)
                tuner.search(
                    train,
                    validation_data=task.validation,
                    epochs=config.epochs,
                    steps_per_epoch=config.steps_per_epoch,
                    # The task's datasets are already shuffled.
                    shuffle=False,
                    verbose=verbose,
                )
                if not is_worker():
                    # The chief's saved oracle otherwise still lists its last
                    # trial as running, and a re-run would train it again.
                    tuner.save()
    finally:
        if jax_distribution is not None:
            keras.distribution.set_distribution(previous)
    return payload
