"""Runs a study: every trial in this process, N at a time (`--jobs`), or as
the chief or a worker of a distributed study.

Whatever the process's part, a trial's lifecycle is the same: the oracle
(`PlanOracle`, in this process or the chief) hands it out, a `StudyTuner`
runs it and writes its `result.json`, the oracle records its end (and the
progress line), and takes back the trial of a process that is gone. This
module only chooses the part (`distributed.take_part`, with the workers of
`--jobs` from `jobs`) and starts it.
"""

import contextlib
import io
import os
import sys

import keras_tuner

from keras_rnninit.tuning import distributed
from keras_rnninit.tuning import identity as identity_lib
from keras_rnninit.tuning import jobs as jobs_lib
from keras_rnninit.tuning import protocols
from keras_rnninit.tuning import study as study_lib
from keras_rnninit.tuning.candidates import StudyError
from keras_rnninit.tuning.oracle import PlanOracle


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
    names = tuple(c.name for c in candidates)
    if names != settings.candidates:
        raise StudyError(
            f"The candidates {list(names)} do not match the settings' "
            f"{list(settings.candidates)}."
        )
    jobs_lib.start_job()
    entries = settings.plan(candidates)
    role, workers = distributed.role(), None
    if role is None and jobs != 1:
        workers = _local_workers(settings, entries, overwrite, jobs, command, log)
        role = workers and workers.role
    # Alone, as the chief or as a worker: held while the study runs.
    with distributed.take_part(role, settings.directory, workers) as part:
        # A job runs its chief's own command: there is nothing to compare.
        current = None if jobs_lib.is_job() else study_lib.current_identity(
            settings, candidates, entries, data, context)
        _search(part, settings, candidates, entries, data, current, overwrite,
                tf_strategy, log, fit_verbose, workers.plan.jobs if workers else 1)
    if jobs_lib.is_job():
        sys.exit(0)  # a job ends with its trials; its parent goes on
    return settings.directory


def _local_workers(settings, entries, overwrite, jobs, command, log):
    """The `jobs.Workers` that run the study's trials `jobs` at a time, or
    None when one process is enough. Says the choice in one line."""
    try:
        plan = jobs_lib.choose(jobs_lib.parse(jobs))
    except ValueError as e:
        raise StudyError(f"jobs: {e}") from None
    done = 0 if overwrite else len(study_lib.finished_trials(settings.directory) & {
        protocols.entry_key(values) for values in entries})
    plan = plan.for_study(len(entries) - done, settings.steps)
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


def _search(part, settings, candidates, entries, data, current, overwrite,
            tf_strategy, log, fit_verbose, jobs):
    if part.is_worker:
        # It waits for its chief, and refuses a study that is not its own.
        if not part.join(lambda recorded: [] if current is None else
                         identity_lib.check(settings.directory, recorded, current)):
            return
    else:
        study_lib.prepare_directory(settings, current, overwrite, log)
        finished = len(study_lib.finished_trials(settings.directory) & {
            protocols.entry_key(values) for values in entries})
        if finished == len(entries):
            log(f"{settings.directory}: all {finished} trials finished; "
                "nothing to run.")
        elif finished:
            log(f"{settings.directory}: resuming, {finished} of {len(entries)} "
                f"trials finished, {len(entries) - finished} to run.")
    study_lib.reuse_compiled_programs()
    jobs_lib.limit_threads()
    oracle = PlanOracle(
        entries, keras_tuner.Objective(settings.objective, settings.direction),
        baseline=settings.baseline, seed=settings.seed,
    )
    if not part.is_worker:
        oracle.ended = study_lib.Progress(settings, entries, log, jobs).trial_ended
    # keras-tuner prints "Reloading Tuner from ..." itself: the lines above
    # say what is resumed.
    with contextlib.redirect_stdout(io.StringIO()):
        tuner = study_lib.StudyTuner(
            oracle, settings, candidates, data, log=log,
            fit_verbose=fit_verbose, directory=settings.directory,
            project_name=study_lib.PROJECT, overwrite=False,
            distribution_strategy=tf_strategy,
        )
    oracle_file = os.path.join(settings.directory, study_lib.PROJECT, "oracle.json")
    if not part.is_worker and not tuner.oracle.trials and os.path.exists(oracle_file):
        # keras-tuner reloads a project from the tuner's own state file: a
        # chief resuming a study that another tuner id ran would start over.
        tuner.oracle.reload()
    if not part.is_worker:
        part.release_orphans(tuner.oracle)
    with study_lib.writing(settings.directory):  # keras-tuner's own files
        part.search(tuner)  # trains here, serves the workers, or works for the chief
    if not part.is_worker:
        # The chief's saved oracle otherwise still lists its last trial as
        # running, and a re-run would train it again.
        tuner.save()
