"""The study core: what a study is, and how one trial runs and is recorded.

`StudySettings` defines a study; `StudyTuner` runs one planned trial on
keras-tuner: it builds the candidate's model (`build(hp, seed) -> compiled
keras.Model`), takes the data (`seed -> (train, validation)`), trains for at
most `steps` optimizer steps, validates every `eval_every` steps, stops once
the objective reaches the threshold (recording the steps it took) or at the
first NaN / inf, and writes `result.json` beside keras-tuner's `trial.json`:
its hyperparameters, seed, curve and timings. `Progress` writes a line per
finished trial. `Study` is one run of a study, and its `run` the lifecycle
of every trial (claim, run, record, reissue) whatever the process's part;
which part a process takes, alone, the chief or a worker, is `runner`'s
business, and reaches this module only as the `part` it passes to `run`.
"""

import contextlib
import dataclasses
import glob
import io
import json
import math
import os
import shutil
import time

import keras
import keras_tuner

from keras_rnninit import _files
from keras_rnninit import _interrupts
from keras_rnninit import _keras_compat
from keras_rnninit import objective as objective_lib
from keras_rnninit.tuning import estimate
from keras_rnninit.tuning import identity as identity_lib
from keras_rnninit.tuning import oracle as oracle_lib
from keras_rnninit.tuning import protocols
from keras_rnninit.tuning.candidates import StudyError
from keras_rnninit.tuning.compiled_models import CompiledModels
from keras_rnninit.tuning.oracle import RESULT_FILE
from keras_rnninit.tuning.space import SearchSpace

STUDY_FILE = "study.json"
PROJECT = "trials"
# Large enough to take few calls, small enough to stay in cache: on CPU, 1000
# sequences validate 1.6x faster in batches of 250 than in one batch.
VALIDATION_BATCH = 250


def _minutes(seconds):
    """`12.3 min`, or `40 s` under a minute (never "0 min")."""
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


@dataclasses.dataclass
class StudySettings:
    """What defines a study; written to `<directory>/study.json`.

    Re-running a study with the same settings resumes it; other settings in
    the same directory are refused (`overwrite=True` starts over).

    Args:
        directory: where trials and the report go.
        candidates: the candidate names, in order (for the record).
        objective: the Keras log name to read, e.g. `"val_mse"`.
        direction: `"min"` or `"max"`.
        threshold: the objective value that counts as success.
        baseline: the objective of a trivial model (predict the mean, guess
            the class), or None to use each trial's objective at
            initialization (Wortsman et al.'s loss_0).
        protocol: `"sweep"` or `"random"`.
        learning_rates: the sweep's grid size.
        learning_rate_range: `(low, high)` of the grid or the random range.
        seeds: independent seeds per configuration.
        trials: configurations per candidate (random protocol).
        steps: optimizer steps per trial at most.
        eval_every: steps between validations.
        optimizer: one optimizer for every candidate, or None for each
            candidate's own (the paper's, for the built-in families).
        clipnorm: one clip norm for every candidate, or None for each own.
        space: the random protocol's `SearchSpace`.
        seed: the study seed every trial's seed derives from.
        description: what the study is, for the report (task, model).
        details: more for the report (e.g. candidate descriptions).
    """

    directory: str
    candidates: tuple
    objective: str
    direction: str
    threshold: float
    baseline: float = None
    protocol: str = "sweep"
    learning_rates: int = 7
    learning_rate_range: tuple = (1e-4, 1e-1)
    seeds: int = 3
    trials: int = 10
    steps: int = 2000
    eval_every: int = 100
    optimizer: str = None
    clipnorm: float = None
    space: SearchSpace = dataclasses.field(default_factory=SearchSpace)
    seed: int = 0
    description: str = ""
    details: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.candidates = tuple(self.candidates)
        self.learning_rate_range = tuple(float(v) for v in self.learning_rate_range)
        if isinstance(self.space, dict):
            self.space = SearchSpace.from_dict(self.space)
        if not self.candidates:
            raise StudyError("Nothing to compare: the study has no candidate.")
        if len(set(self.candidates)) != len(self.candidates):
            raise StudyError(f"A candidate is listed twice: {list(self.candidates)}")
        try:
            objective_lib.check_direction(self.direction)
        except ValueError as e:
            raise StudyError(str(e)) from None
        if self.protocol not in protocols.PROTOCOLS:
            raise StudyError(
                f"Unknown protocol {self.protocol!r}. Expected one of: "
                f"{', '.join(protocols.PROTOCOLS)}."
            )
        for name in ("learning_rates", "seeds", "trials", "steps", "eval_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise StudyError(f"{name} must be an integer >= 1. Received: {value!r}")
        if self.eval_every > self.steps:
            raise StudyError(
                f"eval_every ({self.eval_every}) must not exceed steps ({self.steps})."
            )
        low, high = self.learning_rate_range
        if not (0 < low <= high) or not math.isfinite(high):
            raise StudyError(
                "The learning-rate range needs 0 < low <= high. Received: "
                f"{low:g}, {high:g}"
            )
        for name in ("threshold", "baseline"):
            value = getattr(self, name)
            if value is not None and not objective_lib.is_finite(value):
                raise StudyError(f"{name} must be a finite number. Received: {value!r}")
        if self.threshold is None:
            raise StudyError("The study needs a success threshold (--threshold).")

    @property
    def planned_trials(self):
        """How many trials the plan holds: candidates x configurations x
        seeds."""
        per_candidate = (self.learning_rates if self.protocol == "sweep"
                         else self.trials)
        return len(self.candidates) * per_candidate * self.seeds

    @property
    def grid(self):
        return protocols.learning_rate_grid(
            *self.learning_rate_range, self.learning_rates
        )

    def to_dict(self):
        config = dataclasses.asdict(self)
        config["candidates"] = list(self.candidates)
        config["learning_rate_range"] = list(self.learning_rate_range)
        config["space"] = self.space.to_dict()
        return config

    @classmethod
    def from_dict(cls, config):
        return cls(**config)

    def defining(self):
        """The settings a resumed study must share with the original."""
        config = self.to_dict()
        for key in ("directory", "details", "description"):
            config.pop(key)
        if config["protocol"] == "sweep":
            config.pop("trials")
            config.pop("space")
        else:
            config.pop("learning_rates")
        return config

    def plan(self, candidates):
        return protocols.plan(
            candidates, self.protocol, self.grid,
            SearchSpace.from_dict({
                **self.space.to_dict(),
                "learning_rate": list(self.learning_rate_range),
            }) if self.protocol == "random" else None,
            self.trials, self.seeds, self.optimizer, self.clipnorm, self.seed,
        )


def load_settings(directory):
    """The `StudySettings` saved in `directory`."""
    path = os.path.join(directory, STUDY_FILE)
    if not os.path.exists(path):
        raise StudyError(
            f"{directory} is not a study directory: {STUDY_FILE} is missing."
        )
    with open(path) as f:
        return StudySettings.from_dict(json.load(f)["settings"])


class StudyWriteError(keras_tuner.errors.FatalError):
    """A study's file could not be written (a full disk, a read-only
    directory): the study stops, every finished trial kept."""


@contextlib.contextmanager
def writing(directory):
    """Turns a failed write under `directory` into a `StudyWriteError`,
    which stops the search (keras-tuner would record a failed trial and go
    on)."""
    try:
        yield
    except OSError as e:
        raise StudyWriteError(
            f"writing to {directory} failed: {e.strerror or e}") from e


def _write_json(path, value):
    """Writes `value` to `path` whole or not at all (a kill or a full disk
    leaves the previous file)."""
    with _files.written_whole(path) as temporary:
        with open(temporary, "w") as f:
            json.dump(value, f, indent=1)


def finished_results(directory):
    """The `result.json` of every trial that finished: written last by a
    trial, so that one a kill tore is not finished (`oracle.read_result`)."""
    results = (oracle_lib.read_result(os.path.dirname(path)) for path in
               glob.glob(os.path.join(directory, PROJECT, "trial_*", RESULT_FILE)))
    return [r for r in results if r is not None]


def finished_trials(directory):
    """The keys (`protocols.entry_key`) of the trials that finished."""
    return {protocols.entry_key(r["hyperparameters"])
            for r in finished_results(directory)}


class TrialMonitor(keras.callbacks.Callback):
    """Validates every epoch (`eval_every` steps), stops when solved or
    diverged, and keeps the curve and the time spent validating.

    It calls `evaluate` itself rather than passing `validation_data` to
    `fit`: the same numbers, at about a third of the cost per pass (measured
    on JAX, 1000 sequences of 50 steps: 22 ms against 75 ms).
    """

    def __init__(self, objective, direction, threshold, eval_every, validation):
        super().__init__()
        self.validation = validation
        self.objective = objective
        self.direction = direction
        self.threshold = threshold
        self.eval_every = eval_every
        self.curve = []
        self.best = None
        self.steps_to_threshold = None
        self.diverged = False
        self.validation_seconds = 0.0
        self.epoch_seconds = []
        self.epoch_validation_seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        _interrupts.raise_if_received()

    def _validate(self, logs):
        start = time.perf_counter()
        results = self.model.evaluate(verbose=0, return_dict=True, **self.validation)
        seconds = time.perf_counter() - start
        self.validation_seconds += seconds
        self.epoch_validation_seconds.append(seconds)
        logs.update({f"val_{name}": value for name, value in results.items()})

    def train_step_seconds(self):
        """The steady cost of one step, from the periods after the first
        (which also traces and compiles); None with a single period."""
        periods = [
            total - validation for total, validation in zip(
                self.epoch_seconds[1:], self.epoch_validation_seconds[1:])
        ]
        if not periods:
            return None
        return max(0.0, min(periods) if len(periods) < 3 else
                   sorted(periods)[len(periods) // 2]) / self.eval_every

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        self._validate(logs)
        self.epoch_seconds.append(time.perf_counter() - self._epoch_start)
        if self.objective not in logs:
            raise StudyError(
                f"The objective {self.objective!r} is not among the model's "
                f"logs: {sorted(logs)}. Choose one of those (--objective)."
            )
        step = (epoch + 1) * self.eval_every
        loss, value = logs.get("loss"), logs[self.objective]
        self.curve.append([step, _float(loss), _float(value)])
        if not (objective_lib.is_finite(loss) and objective_lib.is_finite(value)):
            self.diverged = True
            self.model.stop_training = True
            return
        if objective_lib.better(value, self.best, self.direction):
            self.best = float(value)
        if objective_lib.reached(value, self.threshold, self.direction):
            self.steps_to_threshold = step
            self.model.stop_training = True


def _float(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


class Progress:
    """A line per finished trial, with the time left: written by the process
    that holds the oracle (the study's only process, or its chief), for the
    trials of every process.

    Args:
        study: the `Study`.
        log: where the lines go.
        jobs: how many trials run at a time.
    """

    def __init__(self, study, log, jobs=1):
        self.study = study
        self.log = log
        self.jobs = jobs
        self.started = time.time()
        self.ran = []  # the results of the trials this run finished
        self.done = finished_trials(study.directory)

    def trial_ended(self, trial_dir, hyperparameters):
        result = oracle_lib.read_result(trial_dir, hyperparameters)
        if result is None:
            return  # it failed: keras-tuner said why
        self.done.add(protocols.entry_key(hyperparameters))
        done = len(self.done)
        self.ran.append(result)
        hp = result["hyperparameters"]
        if result["diverged"]:
            outcome = "diverged"
        elif result["steps_to_threshold"]:
            outcome = (f"{result['value']:.4g}, reached the threshold at step "
                       f"{result['steps_to_threshold']}")
        else:
            outcome = f"best {result['value']:.4g}"
        elapsed = time.time() - self.started
        s, entries = self.study.settings, self.study.entries
        left = estimate.seconds_left(
            self.ran, [(e["candidate"], e["config"]) for e in entries
                       if protocols.entry_key(e) not in self.done],
            s.steps, self.jobs)
        self.log(
            f"[{done}/{len(entries)}] {result['candidate']} "
            f"lr={hp['learning_rate']:.3g} seed={result['seed']}: "
            f"{s.objective} {outcome} "
            f"({result['seconds']['total']:.1f} s; {_minutes(elapsed)} so far, "
            f"about {_minutes(left)} left)"
        )


class StudyTuner(keras_tuner.Tuner):
    """Runs one planned trial: build, train with `TrialMonitor`, record."""

    def __init__(self, oracle, study, log=print, fit_verbose=0, **kwargs):
        super().__init__(oracle=oracle, hypermodel=None, **kwargs)
        self.study = study
        self.log = log
        self.fit_verbose = fit_verbose
        self.compiled = CompiledModels()

    def run_trial(self, trial, *args, **kwargs):
        s = self.study.settings
        hp = dict(trial.hyperparameters.values)
        earlier = oracle_lib.read_result(self.get_trial_dir(trial.trial_id), hp)
        if earlier is not None:
            # It finished before a kill that came before keras-tuner heard.
            self.log(f"{hp['candidate']} lr={hp['learning_rate']:.3g} "
                     f"seed={hp['seed']}: finished earlier; completed from its "
                     f"{RESULT_FILE}")
            return {s.objective: oracle_lib.reported_objective(
                earlier, s.baseline, s.direction)}
        seed = protocols.training_seed(s.seed, hp["seed"])
        start = time.perf_counter()
        keras.utils.set_random_seed(seed)
        train, validation = self.study.data(seed)
        with keras_tuner.engine.tuner.maybe_distribute(self.distribution_strategy):
            fresh = self.study.candidates[hp["candidate"]].build(hp, seed)
        model = fresh
        if self.distribution_strategy is None:
            model = self.compiled.take(fresh)
        built = time.perf_counter()
        # Arrays are evaluated in large batches; a dataset as it is batched.
        if isinstance(validation, tuple):
            evaluate = dict(x=validation[0], y=validation[1],
                            batch_size=VALIDATION_BATCH)
            first_batch = (validation[0][:VALIDATION_BATCH],
                           validation[1][:VALIDATION_BATCH])
        else:
            evaluate = dict(x=validation)
            first_batch = next(iter(validation.take(1).as_numpy_iterator()))
        # A fresh model and a kept one must see the same training batches.
        # (Its optimizer's variables are made here: under the strategy.)
        with keras_tuner.engine.tuner.maybe_distribute(self.distribution_strategy):
            _keras_compat.build_for_fit(model, first_batch)
        initial = None
        if s.baseline is None:
            initial = _float(model.evaluate(verbose=0, return_dict=True, **evaluate)
                             .get(s.objective.removeprefix("val_")))
        monitor = TrialMonitor(s.objective, s.direction, s.threshold, s.eval_every,
                               evaluate)
        fit_start = time.perf_counter()
        model.fit(
            train.repeat(),
            steps_per_epoch=s.eval_every, epochs=s.steps // s.eval_every,
            callbacks=[monitor], verbose=self.fit_verbose, shuffle=False,
        )
        end = time.perf_counter()
        steps_run = len(monitor.curve) * s.eval_every
        step_seconds = monitor.train_step_seconds()
        if step_seconds is None:
            step_seconds = (end - fit_start - monitor.validation_seconds) / max(
                1, steps_run)
        result = {
            "candidate": hp["candidate"],
            "config": hp["config"],
            "seed": hp["seed"],
            "training_seed": seed,
            "hyperparameters": hp,
            "value": None if monitor.diverged else monitor.best,
            "diverged": monitor.diverged,
            "steps_run": steps_run,
            "steps_to_threshold": monitor.steps_to_threshold,
            "initial": initial,
            "curve": monitor.curve,
            "reused_compiled_model": model is not fresh,
            "seconds": {
                "total": end - start,
                "build": built - start,
                "validation": monitor.validation_seconds,
                "train": step_seconds * steps_run,
                "step": step_seconds,
            },
        }
        trial_dir = self.get_trial_dir(trial.trial_id)
        with writing(trial_dir):
            os.makedirs(trial_dir, exist_ok=True)
            _write_json(os.path.join(trial_dir, RESULT_FILE), result)
        return {s.objective: oracle_lib.reported_objective(
            result, s.baseline, s.direction)}

    def save_model(self, trial_id, model, step=0):
        pass  # A study keeps results, not weights.

    def load_model(self, trial):
        raise NotImplementedError("A study keeps results, not weights.")


class Study:
    """One run of a study: its settings, candidates, data and plan, built
    once (by `run_study`) and the only way they reach this module.

    `run` is the lifecycle of every trial, whatever this process's part:
    the oracle (`PlanOracle`, here or in the chief) hands a trial out, a
    `StudyTuner` runs it and writes its `result.json`, the oracle records its
    end (and `Progress` the line), and the oracle's process takes back the
    trial of a process that is gone.

    Args:
        settings: a `StudySettings`.
        candidates: `Candidate`s, named as `settings.candidates`.
        data: `seed -> (train, validation)`.
        context: what else decides the trials, as JSON data (part of the
            identity).
    """

    def __init__(self, settings, candidates, data, context=None):
        names = tuple(c.name for c in candidates)
        if names != settings.candidates:
            raise StudyError(
                f"The candidates {list(names)} do not match the settings' "
                f"{list(settings.candidates)}."
            )
        self.settings = settings
        self.directory = settings.directory
        self.candidates = {c.name: c for c in candidates}
        self.data = data
        self.context = context
        self.entries = settings.plan(candidates)

    def finished(self):
        """How many of the planned trials have finished."""
        return len(finished_trials(self.directory)
                   & {protocols.entry_key(values) for values in self.entries})

    def identity(self):
        """This run's identity (`identity.study_identity`): each candidate's
        model as built for its first planned trial, and the first trial's
        data."""
        s, first = self.settings, {}
        for values in self.entries:
            first.setdefault(values["candidate"], values)
        models = {
            name: c.build(dict(first[name]),
                          protocols.training_seed(s.seed, first[name]["seed"]))
            for name, c in self.candidates.items() if name in first
        }
        seed = protocols.training_seed(s.seed, self.entries[0]["seed"])
        # As a trial does: a dataset's shuffle order depends on the global seed.
        keras.utils.set_random_seed(seed)
        train, validation = self.data(seed)
        return identity_lib.study_identity(
            s.defining(), models, identity_lib.describe_data(train, validation),
            keras.backend.backend(), self.context)

    def run(self, part, overwrite=False, check=True, tf_strategy=None,
            log=print, fit_verbose=0, jobs=1):
        """Runs (or resumes) the trials this process takes part in.

        Args:
            part: this process's part (`distributed.take_part`): alone, the
                chief or a worker.
            check: compare this run's identity with the study's; False in a
                process that its chief started with its own command.
            jobs: how many trials run at a time, for the time left.
            overwrite, tf_strategy, log, fit_verbose: as for `run_study`.
        """
        current = self.identity() if check else None
        if part.is_worker:
            # It waits for its chief, and refuses a study that is not its own.
            if not part.join(lambda recorded: [] if current is None else
                             identity_lib.check(self.directory, recorded, current)):
                return
        else:
            self._prepare(current, overwrite, log)
        reuse_compiled_programs()
        s = self.settings
        oracle = oracle_lib.PlanOracle(
            self.entries, keras_tuner.Objective(s.objective, s.direction),
            baseline=s.baseline, seed=s.seed,
        )
        if not part.is_worker:
            oracle.ended = Progress(self, log, jobs).trial_ended
        # keras-tuner prints "Reloading Tuner from ..." itself: the lines of
        # `_prepare` say what is resumed.
        with contextlib.redirect_stdout(io.StringIO()):
            tuner = StudyTuner(
                oracle, self, log=log, fit_verbose=fit_verbose,
                directory=self.directory, project_name=PROJECT,
                overwrite=False, distribution_strategy=tf_strategy,
            )
        if not part.is_worker:
            if not tuner.oracle.trials and os.path.exists(
                    os.path.join(self.directory, PROJECT, "oracle.json")):
                # keras-tuner reloads a project from the tuner's own state
                # file: a chief resuming a study that another tuner id ran
                # would start over.
                tuner.oracle.reload()
            part.release_orphans(tuner.oracle)
        # Trains here, serves the workers, or works for the chief.
        with writing(self.directory):  # keras-tuner's own files
            part.search(tuner)
        if not part.is_worker:
            # The saved oracle otherwise still lists its last trial as
            # running, and a rerun would train it again.
            tuner.save()

    def _prepare(self, current, overwrite, log):
        """Checks a rerun against the study the directory holds (or starts a
        new one there), records the settings and identity in `study.json`,
        and says what is resumed."""
        path = os.path.join(self.directory, STUDY_FILE)
        if overwrite and os.path.isdir(self.directory):
            shutil.rmtree(self.directory)
        if os.path.exists(path):
            with open(path) as f:
                stored = json.load(f)
            recorded = stored.get("identity")
            if recorded is None:
                recorded = {
                    "settings": StudySettings.from_dict(stored["settings"]).defining(),
                    "backend": stored.get("backend"),
                }
                log(f"note: {self.directory} was made before studies recorded "
                    "their models, data and library versions; they are recorded "
                    "now and checked on every later run.")
            for line in identity_lib.check(self.directory, recorded, current):
                log(line)
        with writing(self.directory):
            os.makedirs(self.directory, exist_ok=True)
            _write_json(path, {"settings": self.settings.to_dict(),
                               "backend": keras.backend.backend(),
                               "keras": keras.__version__,
                               "identity": current})
        finished, planned = self.finished(), len(self.entries)
        if finished == planned:
            log(f"{self.directory}: all {finished} trials finished; nothing to run.")
        elif finished:
            log(f"{self.directory}: resuming, {finished} of {planned} trials "
                f"finished, {planned - finished} to run.")


def compilation_cache():
    """Where studies keep JAX's compiled programs: one per-user cache,
    `$XDG_CACHE_HOME/keras-rnninit/jax` (`~/.cache/...`), shared by every
    study, so that `--overwrite` or deleting a study never pulls it from
    under a running process."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "keras-rnninit", "jax")


def reuse_compiled_programs():
    """On JAX, keeps compiled programs across trials and studies.

    Every trial builds a new model, so Keras traces and compiles its train and
    test steps anew; the programs are the same from one learning rate or seed
    to the next, so JAX's compilation cache (`compilation_cache()`) turns all
    but the first compile of each candidate into a look-up. A cache the user
    configured is kept.
    """
    if keras.backend.backend() != "jax":
        return
    import jax

    if jax.config.jax_compilation_cache_dir:
        return
    jax.config.update("jax_compilation_cache_dir", compilation_cache())
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
