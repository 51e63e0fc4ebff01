"""Metrics of the papers' tasks that Keras does not ship."""

import keras
from keras import ops

from keras_rnninit.api_export import keras_rnninit_export


@keras_rnninit_export("NMSE")
class NormalizedMSE(keras.metrics.Metric):
    """Mean squared error divided by the variance of the targets.

    `NMSE = sum((y_true - y_pred)^2) / sum((y_true - mean(y_true))^2)`, with
    both sums and the mean taken over every element seen since the last
    reset (all batches of an evaluation, all steps of a sequence), so the
    score does not depend on how the data is batched. Predicting the mean of
    the targets scores 1.0 and a perfect prediction 0.0; it equals
    `1 - R^2`. The result is NaN before any update and when the targets
    are constant.

    Args:
        name: name of the metric instance (default `"nmse"`, the Keras log
            key).
        dtype: data type of the metric result.

    Example:

    ```python
    metric = NormalizedMSE()
    metric.update_state([[0.0], [1.0], [2.0]], [[1.0], [1.0], [1.0]])
    metric.result()  # 1.0: the mean predictor
    model.compile("adam", "mse", metrics=[NormalizedMSE()])
    ```

    Reference:
        - [Koutnik et al., 2014](https://arxiv.org/abs/1402.3511), "A
          Clockwork RNN": the sequence-generation experiment's score.
    """

    def __init__(self, name="nmse", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.count = self._scalar("count")
        self.squared_error = self._scalar("squared_error")
        # The targets' mean and sum of squared deviations from it, merged
        # batch by batch (Chan et al.): `E[y^2] - mean^2` from running sums
        # cancels when the mean is large against the spread.
        self.target_mean = self._scalar("target_mean")
        self.target_deviation = self._scalar("target_deviation")

    def _scalar(self, name):
        return self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name=name
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.convert_to_tensor(y_true, dtype=self.dtype)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        # One target per step may come as (batch, T) for a (batch, T, 1)
        # prediction.
        y_pred = ops.reshape(y_pred, ops.shape(y_true))
        if sample_weight is None:
            weight = ops.ones_like(y_true)
        else:
            weight = ops.convert_to_tensor(sample_weight, dtype=self.dtype)
            while len(weight.shape) < len(y_true.shape):
                weight = ops.expand_dims(weight, -1)
            weight = ops.broadcast_to(weight, ops.shape(y_true))
        count = ops.sum(weight)
        mean = ops.divide_no_nan(ops.sum(weight * y_true), count)
        deviation = ops.sum(weight * ops.square(y_true - mean))
        total = self.count + count
        delta = mean - self.target_mean
        share = ops.divide_no_nan(count, total)
        self.target_deviation.assign_add(
            deviation + ops.square(delta) * self.count * share
        )
        self.target_mean.assign_add(delta * share)
        self.count.assign(total)
        self.squared_error.assign_add(ops.sum(weight * ops.square(y_true - y_pred)))

    def result(self):
        return self.squared_error / self.target_deviation

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


# Metric names a task may give that `keras.metrics.get` does not know.
_METRICS = {"nmse": NormalizedMSE}


def get(identifier):
    """What to pass to `compile(metrics=[...])` for a task's metric name.

    A name of this package (`"nmse"`) gives a new metric instance whose name
    is that log key; anything else is returned unchanged for Keras to
    resolve (`"mse"`, `"accuracy"`, a `Metric`).
    """
    if isinstance(identifier, str) and identifier in _METRICS:
        return _METRICS[identifier](name=identifier)
    return identifier


NMSE = NormalizedMSE

__all__ = ["NMSE", "NormalizedMSE", "get"]
