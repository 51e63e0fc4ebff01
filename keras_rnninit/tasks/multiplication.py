"""The multiplication problem: the product of the two marked values."""

from keras_rnninit.tasks.adding import marked_task

# For a, b ~ U(0, 1) independent, the best constant prediction is
# E[ab] = 1/4 and its MSE is Var(ab) = E[a^2] E[b^2] - E[ab]^2
# = 1/9 - 1/16 = 7/144 ~ 0.0486.
MULTIPLICATION_BASELINE_MSE = 7.0 / 144.0
# The same fraction of the baseline as MSE 0.01 is of the adding problem's
# 1/6: 0.06 * 7/144 ~ 0.0029.
MULTIPLICATION_SUCCESS_MSE = 0.06 * MULTIPLICATION_BASELINE_MSE


def multiplication(
    length=100,
    num_train=10000,
    num_validation=1000,
    num_test=1000,
    batch_size=50,
    seed=None,
    fresh=True,
):
    """The multiplication problem of the np-RNN paper.

    The inputs are those of the adding problem (`length` steps of
    `(value, marker)`, values U(0, 1), two marked steps, one in each half);
    the target is the product of the two marked values. The best constant
    prediction, `E[ab] = 1/4`, has the baseline MSE
    `Var(ab) = 1/9 - 1/16 = 7/144 ~ 0.0486`; the task counts as solved below
    MSE `0.06 * 7/144 ~ 0.0029` (the ratio of 0.01 to the adding problem's
    1/6).

    Args:
        length: `T`, steps per sequence (>= 2).
        num_train: training examples per epoch.
        num_validation: validation examples (fixed).
        num_test: test examples (fixed).
        batch_size: examples per batch.
        seed: integer seed of all three splits, or `None`.
        fresh: if `True`, new training examples every epoch; if `False`,
            the same `num_train` examples reshuffled.

    Returns:
        A `Task`.

    Example:

    ```python
    task = keras_rnninit.tasks.get("multiplication", length=150, seed=0)
    ```

    Reference:
    - [Talathi and Vartak, 2015](https://arxiv.org/abs/1511.03771).
    """
    return marked_task(
        "multiplication",
        lambda a, b: a * b,
        MULTIPLICATION_BASELINE_MSE,
        MULTIPLICATION_SUCCESS_MSE,
        "product of the two marked values of a sequence of U(0, 1) values",
        length,
        num_train,
        num_validation,
        num_test,
        batch_size,
        seed,
        fresh,
    )
