"""One model family as a keras-tuner `HyperModel` over the shared space."""

import math

import keras
import keras_tuner

from keras_rnninit import models


def scale_hyperparameter(family):
    """The family's initializer-scale `models.Hyperparameter`, or None."""
    return models.FAMILIES[family].scale_hyperparameter


class FamilyHyperModel(keras_tuner.HyperModel):
    """Builds `family` on `task` with hyperparameters drawn from `space`.

    Its `fit` never lets a diverging trial crash the search: training stops at
    the first NaN or inf loss (`keras.callbacks.TerminateOnNaN`) and the trial
    reports `diverged=1` and, as its objective, the task's trivial baseline.
    """

    def __init__(self, family, task, space, tuner="random", units=100, layers=1,
                 seed=None):
        super().__init__(name=family)
        self.family = family
        self.task = task
        self.space = space
        self.tuner = tuner
        self.units = units
        self.layers = layers
        self.seed = seed

    def build(self, hp):
        if self.tuner == "grid":
            lr = hp.Choice("learning_rate", self.space.grid_learning_rates())
        else:
            low, high = self.space.learning_rate
            lr = hp.Float("learning_rate", low, high, sampling="log")
        optimizer = hp.Choice("optimizer", list(self.space.optimizer))
        clipnorm = hp.Choice("clipnorm", list(self.space.clipnorm))
        extra = {}
        scale = scale_hyperparameter(self.family)
        if self.space.init_scale and scale is not None:
            extra[scale.name] = hp.Float(
                scale.name, scale.min_value, scale.max_value,
                sampling=scale.sampling,
            )
        return models.build_model(
            self.family,
            self.task,
            units=self.units,
            layers=self.layers,
            optimizer=optimizer,
            learning_rate=lr,
            clipnorm=clipnorm or None,
            seed=self.seed,
            **extra,
        )

    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        callbacks = list(callbacks or []) + [keras.callbacks.TerminateOnNaN()]
        history = model.fit(*args, callbacks=callbacks, **kwargs)
        return trial_result(history.history, self.task)


def trial_result(history, task):
    """The metrics a trial reports, from a `History.history` dict."""
    name, direction = task.objective, task.direction
    values = history.get(name, [])
    observed = list(history.get("loss", [])) + list(values)
    finite = [v for v in values if math.isfinite(v)]
    diverged = not finite or any(not math.isfinite(v) for v in observed)
    if diverged:
        return {name: float(task.baseline), "diverged": 1.0}
    best = min(finite) if direction == "min" else max(finite)
    return {name: float(best), "diverged": 0.0}
