"""Runs a study: every trial in this process, N at a time (`--jobs`), or as
the chief or a worker of a distributed study.

This module only chooses the process's part (`distributed.take_part`, with
the workers of `--jobs` from `jobs`) and hands it to the study
(`study.Study.run`), whose trials have one lifecycle whatever the part.
"""

import os
import sys

from keras_rnninit.tuning import distributed
from keras_rnninit.tuning import jobs as jobs_lib
from keras_rnninit.tuning import study as study_lib
from keras_rnninit.tuning.candidates import StudyError


def is_worker():
    """Whether this process is a worker of a distributed study
    (`distributed.role`)."""
    role = distributed.role()
    return role is not None and not role.is_chief


def run_study(settings, candidates, data, overwrite=False, tf_strategy=None,
              log=print, fit_verbose=0, context=None, jobs=1, command=None):
    """Runs (or resumes) a study; returns its directory.

    A rerun in a directory that holds a study resumes it when it is the
    same study (`identity`: the settings, `context`, the backend, every
    candidate's model and compile config, the data and the libraries'
    releases), and is refused with one line naming the difference otherwise.

    Args:
        settings: a `StudySettings`.
        candidates: `Candidate`s, named as `settings.candidates`.
        data: `seed -> (train, validation)`: `train` a dataset (repeated),
            `validation` a dataset or `(x, y)` arrays.
        overwrite: delete the directory's previous trials first.
        tf_strategy: a `tf.distribute.Strategy` each trial builds under.
        log: where the one-line-per-trial progress goes.
        fit_verbose: Keras `fit` verbosity inside each trial.
        context: what else decides the trials, as JSON data (the task and
            its arguments, the batch size): part of the identity.
        jobs: how many trials run at a time, each in a process of its own
            (`jobs.choose`): a count, or `"auto"` for what this machine
            has; 1 runs them in this process. Each job is this program
            started again (`command`), as a keras-tuner worker.
        command: the command that starts this program again (default: the
            one that started it).
    """
    study = study_lib.Study(settings, candidates, jobs_lib.with_threads(data),
                            context)
    jobs_lib.start_job()
    role, workers = distributed.role(), None
    if role is None and jobs != 1:
        workers = _local_workers(study, overwrite, jobs, command, log)
        role = workers and workers.role
    # Alone, as the chief or as a worker: held while the study runs.
    with distributed.take_part(role, study.directory, workers) as part:
        # A job runs its chief's own command: there is nothing to compare.
        study.run(part, overwrite, check=not jobs_lib.is_job(),
                  tf_strategy=tf_strategy, log=log, fit_verbose=fit_verbose,
                  jobs=workers.plan.jobs if workers else 1)
    if jobs_lib.is_job():
        sys.exit(0)  # a job ends with its trials; its parent goes on
    return settings.directory


def _local_workers(study, overwrite, jobs, command, log):
    """The `jobs.Workers` that run the study's trials `jobs` at a time, or
    None when one process is enough. Says the choice in one line."""
    try:
        plan = jobs_lib.choose(jobs_lib.parse(jobs))
    except ValueError as e:
        raise StudyError(f"jobs: {e}") from None
    left = len(study.entries) - (0 if overwrite else study.finished())
    plan = plan.for_study(left, study.settings.steps)
    log(f"{plan}")
    if plan.jobs == 1:
        return None
    if plan.gpus:  # this process builds models too
        os.environ.update(jobs_lib.NO_MEMORY_GRAB)
    try:
        command = command or jobs_lib.this_program()
    except ValueError as e:
        raise StudyError(str(e)) from None
    role = distributed.Role(distributed.CHIEF, distributed.DEFAULT_IP,
                            jobs_lib.free_port(distributed.DEFAULT_IP))
    return jobs_lib.Workers(command, plan, role)
