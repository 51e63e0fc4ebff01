"""Sequence generation: emit one fixed waveform from a constant input."""

import numpy as np

from keras_rnninit.tasks import _common
from keras_rnninit.tasks.base import Task

# The default waveform: sines from slow to fast (periods in steps), the slow
# ones louder, as in audio. Each component carries more than 6% of the
# variance, so the success threshold (NMSE 0.05) cannot be met by a model
# that leaves any one of them out.
WAVEFORM_PERIODS = (160.0, 64.0, 25.0, 10.0, 4.0)
WAVEFORM_AMPLITUDES = (1.0, 0.8, 0.6, 0.5, 0.4)
WAVEFORM_PHASES = (0.0, 1.0, 2.0, 3.0, 4.0)
DEFAULT_LENGTH = 320
SUCCESS_NMSE = 0.05


def normalize_signal(signal):
    """`signal` shifted to zero mean and scaled to `max |s| = 1`."""
    signal = np.asarray(signal, dtype="float64")
    signal = signal - signal.mean()
    return signal / np.abs(signal).max()


def multirate_signal(length=DEFAULT_LENGTH):
    """The default target of the `"waveform"` task, as a float32 array.

    `s(t) = sum_k a_k sin(2 pi t / P_k + phi_k)` for `t = 0 .. length - 1`,
    with periods `P = (160, 64, 25, 10, 4)` steps, amplitudes
    `a = (1, 0.8, 0.6, 0.5, 0.4)` and phases `phi = (0, 1, 2, 3, 4)` radians,
    then shifted to zero mean and divided by its largest magnitude (so it
    lies in `[-1, 1]`).
    """
    length = _common.check_positive_int("length", length, minimum=2)
    t = np.arange(length, dtype="float64")[:, None]
    s = np.sum(
        np.asarray(WAVEFORM_AMPLITUDES)
        * np.sin(2 * np.pi * t / np.asarray(WAVEFORM_PERIODS)
                 + np.asarray(WAVEFORM_PHASES)),
        axis=1,
    )
    return normalize_signal(s).astype("float32")


def _check_signal(signal, length, normalize):
    """The target as float32 `(length,)`, and `length`; raises on bad input."""
    try:
        values = np.asarray(signal, dtype="float64")
    except (TypeError, ValueError):
        raise ValueError(
            "`signal` must be a 1-D array of numbers. "
            f"Received: signal of type {type(signal).__name__}"
        ) from None
    if values.ndim != 1:
        raise ValueError(
            "`signal` must be a 1-D array of samples. "
            f"Received: signal with shape {values.shape}"
        )
    if values.size == 0:
        raise ValueError("`signal` must not be empty. Received: signal with 0 samples")
    if not np.all(np.isfinite(values)):
        raise ValueError(
            "`signal` must be finite. Received: signal with "
            f"{int(np.sum(~np.isfinite(values)))} NaN or infinite sample(s)"
        )
    if length is None:
        length = len(values)
    length = _common.check_positive_int("length", length, minimum=2)
    if length > len(values):
        raise ValueError(
            f"`length` must be at most the number of samples of `signal` "
            f"({len(values)}). Received: length={length!r}"
        )
    values = values[:length]
    if np.ptp(values) == 0:
        raise ValueError(
            "`signal` must not be constant over the first `length` samples: "
            "its variance is the NMSE's denominator. Received: all samples "
            f"equal to {values[0]!r}"
        )
    target = normalize_signal(values) if normalize else values
    return target.astype("float32"), values, length


def waveform(
    length=None,
    signal=None,
    normalize=True,
    num_train=100,
    batch_size=1,
    seed=None,
):
    """Generate one fixed waveform from a constant input (Clockwork RNN).

    The sequence-generation experiment of the Clockwork RNN paper: the
    network sees the same input at every step and must emit the target
    waveform, one sample per step (`sequence_output=True`), so its weights
    encode the whole sequence. The input is all ones, shape `(length, 1)`:
    Keras recurrent layers need an input to count the steps, and a constant
    carries no timing information, so the timing has to come from the
    recurrence (the paper's networks have no input); with ones rather than
    zeros the input kernel acts as a second bias instead of dead weight in
    the parameter count.

    The default target is `multirate_signal(length)`: five sines with
    periods 160, 64, 25, 10 and 4 steps, normalized to zero mean and
    `max |s| = 1`. `signal=` takes a 1-D array instead (e.g. a short audio
    clip); its first `length` samples are used, normalized the same way
    unless `normalize=False`.

    There is nothing to generalize to: train, validation and test hold the
    same single sequence (a generation task). The loss is MSE; the metric is
    the normalized MSE `MSE / Var(target)` (`keras_rnninit.metrics.NMSE`),
    so that predicting the mean scores the baseline 1.0 whatever the scale
    of the signal. The task counts as solved at NMSE 0.05, i.e. 95% of the
    variance reproduced; each sine of the default waveform carries more
    than 6% of it, so a model that leaves any one component out (such as
    the fastest, the hardest) does not pass.

    Args:
        length: `T`, samples of the waveform (>= 2). Default: 320, the
            paper's length, or every sample of `signal`.
        signal: `None` for the default waveform, or a 1-D array of at least
            `length` finite samples, not all equal.
        normalize: whether to shift `signal` to zero mean and scale it to
            `max |s| = 1` (the default waveform always is).
        num_train: copies of the sequence per training epoch.
        batch_size: copies per batch. Identical copies give the gradient of
            one, so 1 (the default) is the cheapest.
        seed: accepted for a common interface; the task is deterministic.

    Returns:
        A `Task` with `input_shape=(length, 1)` and targets of shape
        `(batch, length, 1)`; `loss_baseline` is the target's variance (the
        MSE of predicting its mean).

    Example:

    ```python
    task = keras_rnninit.tasks.get("waveform")
    x, y = next(iter(task.train))  # (1, 320, 1) ones, (1, 320, 1) target
    ```

    Reference:
    - [Koutnik et al., 2014](https://arxiv.org/abs/1402.3511), "A Clockwork
      RNN", section 4.1.
    """
    if not isinstance(normalize, bool):
        raise ValueError(
            f"`normalize` must be True or False. Received: normalize={normalize!r}"
        )
    num_train = _common.check_positive_int("num_train", num_train)
    batch_size = _common.check_positive_int("batch_size", batch_size)
    seed = _common.check_seed(seed)
    if signal is None:
        length = DEFAULT_LENGTH if length is None else length
        target = multirate_signal(length)
        length, raw = len(target), None
    else:
        target, raw, length = _check_signal(signal, length, normalize)

    def dataset(copies):
        import tensorflow as tf

        x = tf.ones((length, 1), tf.float32)
        y = tf.constant(target[:, None])
        ds = tf.data.Dataset.from_tensors((x, y)).repeat(copies)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    variance = float(np.var(target.astype("float64")))
    return Task(
        name="waveform",
        train=dataset(num_train),
        validation=dataset(1),
        test=dataset(1),
        input_shape=(length, 1),
        output_size=1,
        head_activation="linear",
        loss="mse",
        metric="nmse",
        direction="min",
        baseline=1.0,
        success_threshold=SUCCESS_NMSE,
        sequence_output=True,
        loss_baseline=variance,
        description=f"emit one fixed waveform of {length} samples from a "
                    "constant input",
        config={
            "length": length,
            "signal": None if raw is None else [float(v) for v in raw],
            "normalize": normalize,
            "num_train": num_train,
            "batch_size": batch_size,
            "seed": seed,
        },
    )
