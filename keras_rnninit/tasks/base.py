"""The `Task` record: datasets plus what a model needs to know about them."""

import dataclasses

from keras_rnninit import objective as objective_lib


@dataclasses.dataclass
class Task:
    """A learning problem as batched `tf.data` datasets and its metadata.

    Every dataset yields `(x, y)` batches; `x` is float32 of shape
    `(batch, T, F)` with `(T, F) == input_shape`. `y` is float32 of shape
    `(batch, output_size)` for regression tasks, int32 class indices of shape
    `(batch,)` for classification, or, for tasks with one target per step
    (`sequence_output=True`), `(batch, T)` class indices (the copy-memory
    task) or `(batch, T, output_size)` values (the waveform task).

    Args:
        name: the registry name of the task, e.g. `"adding"`.
        train: batched training `tf.data.Dataset`.
        validation: batched validation `tf.data.Dataset`.
        test: batched test `tf.data.Dataset`.
        input_shape: `(T, F)`, steps and features per step.
        output_size: units of the output head.
        head_activation: `"linear"` or `"softmax"`.
        loss: a Keras loss name, e.g. `"mse"`.
        metric: a Keras metric name, e.g. `"mse"` or `"accuracy"`, or one
            of `keras_rnninit.metrics` (`"nmse"`); compile with
            `metrics=[keras_rnninit.metrics.get(task.metric)]`.
        direction: `"min"` or `"max"`, whether lower or higher `metric` is
            better.
        baseline: the score of `metric` a trivial model reaches (e.g. a
            constant prediction, or a guess); a model that learnt nothing
            scores this.
        success_threshold: the score of `metric` counted as solving the task
            (e.g. MSE 0.01 on the adding problem).
        sequence_output: whether `y` has one target per step, so that the
            model must return a sequence.
        loss_baseline: the value of `loss` of the same trivial model, when it
            differs from `baseline`.
        description: one line on what the task is.
        config: the arguments the task was made with.
    """

    name: str
    train: object
    validation: object
    test: object
    input_shape: tuple
    output_size: int
    head_activation: str
    loss: str
    metric: str
    direction: str
    baseline: float
    success_threshold: float
    sequence_output: bool = False
    loss_baseline: float = None
    description: str = ""
    config: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        objective_lib.check_direction(self.direction)
        if self.head_activation not in ("linear", "softmax"):
            raise ValueError(
                "`head_activation` must be 'linear' or 'softmax'. "
                f"Received: head_activation={self.head_activation!r}"
            )
        self.input_shape = tuple(int(d) for d in self.input_shape)
        if self.loss_baseline is None and self.loss == self.metric:
            self.loss_baseline = self.baseline

    @property
    def timesteps(self):
        """`T`, the number of steps of each input sequence."""
        return self.input_shape[0]

    @property
    def objective(self):
        """The Keras log name to tune on, e.g. `"val_mse"`."""
        return f"val_{self.metric}"

    @property
    def objective_direction(self):
        """`"min"` or `"max"`: the direction of `objective`."""
        return self.direction

    def objective_spec(self):
        """`(name, direction)`, as `keras_tuner.Objective(name, direction)`."""
        return self.objective, self.direction

    def is_better(self, a, b):
        """Whether score `a` of `metric` is strictly better than `b`."""
        return objective_lib.better(a, b, self.direction)

    def solved(self, score):
        """Whether `score` of `metric` reaches `success_threshold` (`<=` / `>=`)."""
        return objective_lib.reached(score, self.success_threshold, self.direction)

    def summary(self):
        """A one-line description with the baseline and the threshold."""
        return (
            f"{self.name}: input {self.input_shape}, {self.metric} "
            f"({self.direction}), baseline {self.baseline:.4g}, "
            f"success {objective_lib.comparison_symbol(self.direction)} "
            f"{self.success_threshold:.4g}"
        )


class DatasetUnavailableError(FileNotFoundError):
    """Raised when a task's data has no available source; says which exist."""
