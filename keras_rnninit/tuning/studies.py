"""Sensitivity studies of the built-in families, and of any user's model.

```python
from keras_rnninit import tuning

# The built-in families on a registered task.
tuning.study_families("runs/adding", task="adding", task_kwargs={"length": 100},
                      families=["irnn", "np-rnn", "indrnn"], threshold=0.01)

# Your own model: its recurrent layers' initializer swapped, nothing else.
tuning.study_initializers("runs/mine", make_model, ((x, y), (x_val, y_val)),
                          ["orthogonal", "identity", "keras_rnninit>NPInit"],
                          threshold=0.05)
```

Both take the study settings of `StudySettings` as keyword arguments
(`protocol`, `learning_rates`, `learning_rate_range`, `seeds`, `steps`,
`eval_every`, `optimizer`, ...), run the study (resuming it if the directory
holds it) and return its `StudySettings`; `write_report(directory)` writes
the report.
"""

import functools

from keras_rnninit import models
from keras_rnninit import objective as objective_lib
from keras_rnninit import tasks
from keras_rnninit.tuning import candidates as candidates_lib
from keras_rnninit.tuning import report as report_lib
from keras_rnninit.tuning import user_code
from keras_rnninit.tuning.candidates import StudyError
from keras_rnninit.tuning.runner import run_study
from keras_rnninit.tuning.study import StudySettings


def _validation(validation):
    """The validation set as `(x, y)` arrays, which each trial evaluates in
    large batches (a validation pass then costs a few train steps)."""
    import numpy as np
    import tensorflow as tf

    if isinstance(validation, tuple):
        return validation
    if validation.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise StudyError("The validation dataset is infinite (does it .repeat()?).")
    xs, ys = zip(*validation.as_numpy_iterator())
    return np.concatenate(xs), np.concatenate(ys)


def task_factory(task, task_kwargs=None, batch_size=32):
    """`seed -> Task` for a registered task.

    A new task each call: a generated task's training set draws new examples
    each time it is iterated, so a shared one would give a trial data that
    depends on how many trials ran before it.
    """
    task_kwargs = dict(task_kwargs or {})
    if task not in tasks.names():
        raise StudyError(
            f"Unknown task {task!r}. Expected one of: {', '.join(tasks.names())}."
        )

    def make(seed):
        try:
            return tasks.get(task, batch_size=batch_size, seed=seed, **task_kwargs)
        except tasks.DatasetUnavailableError as e:
            raise StudyError(str(e).splitlines()[0]) from None
        except (TypeError, ValueError) as e:
            raise StudyError(f"Task {task!r}: {e}") from None

    return make


def check_threshold(threshold, baseline, direction, objective, force=False):
    """Refuses a threshold no model can reach, or one a trivial model
    already reaches (unless `force`)."""
    problem = objective_lib.threshold_problem(threshold, objective, direction, baseline)
    if problem and not force:
        raise StudyError(f"{problem} (or keep it with --force; in Python, force=True).")


def study_families(directory, task="adding", task_kwargs=None, families=(),
                   units=None, layers=None, batch_size=32, threshold=None,
                   overwrite=False, tf_strategy=None, log=print, fit_verbose=0,
                   force=False, jobs=1, command=None, **settings):
    """Runs a study of built-in families on a registered task.

    Args:
        directory: the study directory.
        task: a name from `keras_rnninit.tasks.names()`.
        task_kwargs: the task's arguments (e.g. `{"length": 100}`).
        families: names from `keras_rnninit.models.FAMILIES`.
        units, layers: override every family's paper units / depth.
        batch_size: training batch size.
        threshold: success threshold (default: the task's).
        jobs, command: trials at a time, each in a process of its own
            (`run_study`).
        **settings: `StudySettings` fields.

    Returns:
        The study's `StudySettings`.
    """
    unknown = [f for f in families if f not in models.FAMILIES]
    if unknown:
        raise StudyError(
            f"Unknown family {', '.join(map(repr, unknown))}. Expected some of: "
            f"{', '.join(models.FAMILIES)}."
        )
    make_task = task_factory(task, task_kwargs, batch_size)
    reference = make_task(settings.get("seed", 0))
    threshold = reference.success_threshold if threshold is None else threshold
    check_threshold(threshold, reference.baseline, reference.direction,
                    reference.objective, force)
    # A model reads only the task's shapes, loss and metric: one task per
    # seed serves every build (the data come fresh from `data` below).
    task_for = functools.cache(make_task)
    candidates = candidates_lib.family_candidates(task_for, families, units, layers)
    length = (task_kwargs or {}).get("length")
    description = f"{task}" + (f" T={length}" if length else "") + (
        f", {settings.get('optimizer') or 'each paper optimizer'}")
    study = StudySettings(
        directory=directory, candidates=[c.name for c in candidates],
        objective=reference.objective, direction=reference.direction,
        threshold=threshold, baseline=reference.baseline,
        description=description,
        details={c.name: c.description for c in candidates},
        **settings,
    )

    validation_sets = {}

    def data(seed):
        t = make_task(seed)
        # The validation arrays are fixed for a seed: made once. (The
        # training set is not shared: it draws new examples each pass.)
        if seed not in validation_sets:
            validation_sets[seed] = _validation(t.validation)
        return t.train, validation_sets[seed]

    context = {"task": task, "task_arguments": dict(task_kwargs or {}),
               "batch_size": batch_size, "units": units, "layers": layers}
    run_study(study, candidates, data, overwrite=overwrite,
              tf_strategy=tf_strategy, log=log, fit_verbose=fit_verbose,
              context=context, jobs=jobs, command=command)
    return study


def preflight(candidate, data, objective):
    """Builds one model, checks the data against it and runs one batch, so
    that a model that does not fit its data fails with one clear line before
    the first trial."""
    import keras

    train, validation = data(0)
    try:
        model = candidate.build({"learning_rate": 1e-3, "optimizer": None}, 0)
    except StudyError:
        raise
    except Exception as e:
        raise StudyError(
            f"Building the model with {candidate.name} failed: "
            f"{type(e).__name__}: {str(e).splitlines()[0]}"
        ) from None
    user_code.check_data(model, train, validation)
    try:
        x, y = next(train.take(1).as_numpy_iterator())
        logs = model.test_on_batch(x, y, return_dict=True)
        keras.backend.clear_session()
    except Exception as e:
        raise StudyError(
            "The data does not fit the model: "
            f"{type(e).__name__}: {str(e).strip().splitlines()[0]}"
        ) from None
    name = objective.removeprefix("val_")
    if name not in logs:
        raise StudyError(
            f"The objective {objective!r} is not among the model's metrics "
            f"({', '.join('val_' + k for k in sorted(logs))})."
        )


def study_initializers(directory, model_fn, data, initializers,
                       objective="val_loss", direction="min", threshold=None,
                       baseline=None, batch_size=32, overwrite=False,
                       tf_strategy=None, log=print, fit_verbose=0, force=False,
                       description=None, jobs=1, command=None, **settings):
    """Runs a study of a user's model across recurrent initializers.

    Args:
        directory: the study directory.
        model_fn: `() -> compiled keras.Model` with at least one recurrent
            layer; its loss and metrics are kept, its optimizer's class and
            settings too (the sweep changes only the learning rate).
        data: `(train, validation)`, each a `tf.data.Dataset` of batches or an
            `(x, y)` pair of arrays, or a function returning that (taking
            `seed` if it wants one).
        initializers: Keras initializer identifiers.
        objective: a Keras log name, e.g. `"val_loss"`, `"val_accuracy"`.
        direction: `"min"` or `"max"`.
        threshold: the objective value that counts as success.
        baseline: the objective of a trivial model, or None for each trial's
            objective at initialization.
        jobs, command: trials at a time, each in a process of its own
            (`run_study`).
        **settings: `StudySettings` fields.

    Returns:
        The study's `StudySettings`.
    """
    if threshold is None:
        raise StudyError(
            "A study of your own model needs a success threshold (--threshold), "
            "e.g. the validation loss that counts as solved."
        )
    check_threshold(threshold, baseline, direction, objective, force)
    data_fn = data if callable(data) else (lambda: data)
    provide = user_code.data_provider(data_fn, batch_size)
    checked = user_code.checked_model_fn(model_fn)
    candidates = candidates_lib.initializer_candidates(checked, list(initializers))
    name = getattr(model_fn, "__name__", "model")
    study = StudySettings(
        directory=directory, candidates=[c.name for c in candidates],
        objective=objective, direction=direction, threshold=threshold,
        baseline=baseline,
        description=description or f"{name}, recurrent initializers",
        details={c.name: c.description for c in candidates},
        **settings,
    )
    for candidate in candidates:
        preflight(candidate, provide, objective)

    def data_for(seed):
        train, validation = provide(seed)
        return train, _validation(validation)

    run_study(study, candidates, data_for, overwrite=overwrite,
              tf_strategy=tf_strategy, log=log, fit_verbose=fit_verbose,
              context={"batch_size": batch_size}, jobs=jobs, command=command)
    return study


def report(directory, threshold=None):
    """Writes the report files of a study directory; returns `(report, paths)`."""
    return report_lib.write_report(directory, threshold)
