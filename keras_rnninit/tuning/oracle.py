"""The oracle of a study: a fixed plan of trials, served in order, each run
once.

`run_study` plans every trial up front (`protocols.plan`); `PlanOracle`
serves that plan to keras-tuner's tuners, in one process or as the chief of
a distributed study. A trial is finished when its `result.json` exists (the
last file a trial writes, whole or not at all); keras-tuner's own
`trial.json` and `oracle.json` can lag behind it after a kill, so the
oracle completes such a trial from its `result.json` instead of training it
again, and `trial.json` always agrees with `result.json`.
"""

import glob
import json
import os

import keras_tuner

from keras_rnninit.tuning import protocols

RESULT_FILE = "result.json"
TRIAL_FILE = "trial.json"
COMPLETED = keras_tuner.engine.trial.TrialStatus.COMPLETED
ENDED = (COMPLETED, keras_tuner.engine.trial.TrialStatus.FAILED)


def read_result(trial_dir, hyperparameters=None):
    """The `result.json` of the finished trial in `trial_dir`, or None when
    there is none, it is torn, or it holds other `hyperparameters` (a dict
    of planned values; None accepts any)."""
    try:
        with open(os.path.join(trial_dir, RESULT_FILE)) as f:
            result = json.load(f)
        key = protocols.entry_key(result["hyperparameters"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if hyperparameters is not None and key != protocols.entry_key(hyperparameters):
        return None
    return result


def reported_objective(result, baseline, direction):
    """The finite objective keras-tuner records for a finished trial.

    Its best value; a diverged trial (no value) reports the worst finite
    one: the baseline, else its objective at initialization, else 1e30 on
    the losing side. `result.json` keeps that it diverged.
    """
    if result["value"] is not None:
        return float(result["value"])
    if baseline is not None:
        return float(baseline)
    if result.get("initial") is not None:
        return float(result["initial"])
    return 1e30 if direction == "min" else -1e30


class PlanOracle(keras_tuner.Oracle):
    """A keras-tuner oracle that serves a fixed plan of trials, in order.

    A planned trial that finished, or that is running or queued for retry by
    keras-tuner (interrupted), is never served again; one orphaned by a
    worker that died is: at once when the chief learns of it (`release`),
    else in the next run. So a resumed or distributed study runs exactly the
    trials an uninterrupted one would, the interrupted one again with its
    own hyperparameters. A trial that failed with an error in an earlier run
    is tried once more in each new run. While the only trials left run on
    other workers, a worker that asks is told to wait (`IDLE`), so that it
    can take over the trial of a worker that dies.

    Args:
        entries: the planned trials' values (`protocols.plan`), in order.
        objective: a `keras_tuner.Objective`.
        baseline: the study's baseline (`reported_objective`), or None.
        **kwargs: for `keras_tuner.Oracle` (e.g. `seed`).
    """

    def __init__(self, entries, objective, baseline=None, **kwargs):
        super().__init__(
            objective=objective,
            # Room for a new run's retries of earlier failures.
            max_trials=10 * len(entries),
            # A trial that raises is recorded as failed; the study goes on.
            max_consecutive_failed_trials=10 * len(entries) + 1, **kwargs,
        )
        self.entries = entries
        self.baseline = baseline
        self._served = set()
        # Called with a trial's directory and values when it has ended here
        # or on a worker (`Progress.trial_ended`).
        self.ended = None

    def reload(self):
        # A kill while keras-tuner writes a trial.json leaves it torn: that
        # trial did not finish, so it is set aside and planned again.
        for path in glob.glob(os.path.join(self._project_dir, "trial_*", TRIAL_FILE)):
            try:
                with open(path) as f:
                    json.load(f)
            except ValueError:
                os.replace(path, path + ".torn")
        oracle_file = self._get_oracle_fname()
        try:
            with open(oracle_file) as f:
                json.load(f)
        except ValueError:
            # Torn the same way: the plan and the trials' own files hold
            # everything a resume needs, so the state is written afresh.
            os.replace(oracle_file, oracle_file + ".torn")
            for path in glob.glob(os.path.join(self._project_dir, "trial_*",
                                               TRIAL_FILE)):
                trial = keras_tuner.engine.trial.Trial.load(path)
                self.trials[trial.trial_id] = trial
            self.start_order = sorted(self.trials)
            self.end_order = sorted(t for t, trial in self.trials.items()
                                    if trial.status != "RUNNING")
            self.save()
        super().reload()
        if self._complete_finished():
            self.save()

    def _complete_finished(self):
        """Completes, from its `result.json`, every trial that finished but
        that keras-tuner's files do not show as completed with that score (a
        kill came between the two); returns whether any was."""
        changed = False
        pattern = os.path.join(self._project_dir, "trial_*", RESULT_FILE)
        for path in sorted(glob.glob(pattern)):
            trial_dir = os.path.dirname(path)
            trial_id = os.path.basename(trial_dir)[len("trial_"):]
            trial = self.trials.get(trial_id)
            result = read_result(trial_dir, trial.hyperparameters.values
                                 if trial is not None else None)
            if result is None:
                continue
            if trial is None:  # its trial.json was torn and set aside
                hyperparameters = self.hyperparameters.copy()
                hyperparameters.values = dict(result["hyperparameters"])
                trial = keras_tuner.engine.trial.Trial(
                    hyperparameters=hyperparameters, trial_id=trial_id,
                    status="RUNNING")
                self.trials[trial_id] = trial
                self.start_order.append(trial_id)
            if trial.status == COMPLETED and trial.score == self._objective(result):
                continue
            self._complete(trial, result)
            changed = True
        return changed

    def _objective(self, result):
        return reported_objective(result, self.baseline, self.objective.direction)

    def _complete(self, trial, result):
        """Records `trial` as completed with the objective of `result`."""
        name = self.objective.name
        trial.metrics = type(trial.metrics)()  # keras-tuner's MetricsTracker
        trial.metrics.register(name, direction=self.objective.direction)
        trial.metrics.update(name, self._objective(result), step=0)
        trial.status = COMPLETED
        self.score_trial(trial)
        self._run_times[trial.trial_id] = max(1, self._run_times[trial.trial_id])
        self._retry_queue = [t for t in self._retry_queue if t != trial.trial_id]
        for tuner_id, ongoing in list(self.ongoing_trials.items()):
            if ongoing.trial_id == trial.trial_id:
                self.ongoing_trials.pop(tuner_id)
        if trial.trial_id not in self.end_order:
            self.end_order.append(trial.trial_id)
        self._save_trial(trial)

    def set_state(self, state):
        # Trials that are gone (torn files) or already ended are neither
        # running nor to retry: keras-tuner saves its state before it takes
        # a trial that ends off its running list.
        current = {t for t, trial in self.trials.items() if trial.status not in ENDED}
        state = dict(state)
        state["ongoing_trials"] = {
            tuner: trial_id for tuner, trial_id in state["ongoing_trials"].items()
            if trial_id in current}
        state["retry_queue"] = [t for t in state["retry_queue"] if t in current]
        super().set_state(state)

    @keras_tuner.synchronized
    def end_trial(self, trial):
        known = self.trials.get(trial.trial_id)
        running = any(t.trial_id == trial.trial_id for t in self.ongoing_trials.values())
        if known is not None and known.status in ENDED and not running:
            return  # ended already: a call repeated after a lost answer
        super().end_trial(trial)
        self._ended(trial)

    def _ended(self, trial):
        if self.ended is not None:
            self.ended(self._get_trial_dir(trial.trial_id),
                       trial.hyperparameters.values)

    @keras_tuner.synchronized
    def release(self, tuner_id):
        """Takes back the trial of a worker that is gone.

        A trial whose `result.json` the worker wrote before it went is
        completed from that file; any other goes first to the next worker
        that asks, under the same trial id.

        Returns:
            `(trial, completed)`: the trial it ran (None if none) and
            whether it was completed from its file.
        """
        self.tuner_ids.discard(tuner_id)
        trial = self.ongoing_trials.pop(tuner_id, None)
        if trial is None:
            return None, False
        result = read_result(self._get_trial_dir(trial.trial_id),
                             trial.hyperparameters.values)
        if result is not None:
            self._complete(trial, result)
            self._ended(trial)
        else:
            self._retry_queue.append(trial.trial_id)
        self.save()
        return trial, result is not None

    @keras_tuner.synchronized
    def workers(self):
        """The ids of the workers that run a trial or asked for one and were
        not yet told that the study is done."""
        return set(self.tuner_ids) | set(self.ongoing_trials)

    @keras_tuner.synchronized
    def outstanding(self):
        """How many planned trials have not completed."""
        done = {protocols.entry_key(t.hyperparameters.values)
                for t in self.trials.values()
                if t.status == COMPLETED and t.hyperparameters.values}
        return sum(protocols.entry_key(v) not in done for v in self.entries)

    def populate_space(self, trial_id):
        # A trial counts if it finished, runs now (on any worker), or waits
        # in keras-tuner's retry queue; one left "RUNNING" by a worker that
        # died and was not released is served again.
        running = {t.trial_id for t in self.ongoing_trials.values()}
        running.update(self._retry_queue)
        done, busy = set(), set()
        for trial in self.trials.values():
            if not trial.hyperparameters.values:
                continue
            key = protocols.entry_key(trial.hyperparameters.values)
            if trial.status == COMPLETED:
                done.add(key)
            elif trial.trial_id in running:
                busy.add(key)
        wait = False
        for values in self.entries:
            key = protocols.entry_key(values)
            if key in done:
                continue
            if key in busy:
                wait = True
                continue
            if key in self._served:  # failed earlier in this run
                continue
            self._served.add(key)
            return {"status": "RUNNING", "values": dict(values)}
        return {"status": "IDLE" if wait else "STOPPED"}
