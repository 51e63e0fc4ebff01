"""Tasks of the IRNN, np-RNN, IndRNN and Clockwork RNN papers, on `tf.data`.

`get(name, **kwargs)` returns a `Task`: train / validation / test datasets of
`(x, y)` batches and what a model needs (input shape, output size, head
activation, loss, metric and its direction, the trivial baseline score).

```python
task = keras_rnninit.tasks.get("adding", length=200, seed=0)
model.fit(task.train, validation_data=task.validation)
```
"""

import inspect

try:
    import tensorflow  # noqa: F401
except ImportError:
    raise ImportError(
        "keras_rnninit.tasks needs TensorFlow (its datasets are tf.data, on "
        "every backend): pip install 'keras-rnninit[tasks]'"
    ) from None

from keras_rnninit.tasks.adding import adding
from keras_rnninit.tasks.base import DatasetUnavailableError
from keras_rnninit.tasks.base import Task
from keras_rnninit.tasks.copy_memory import copy_memory
from keras_rnninit.tasks.digits import digits
from keras_rnninit.tasks.mnist import load_mnist
from keras_rnninit.tasks.mnist import load_mnist_pickle
from keras_rnninit.tasks.mnist import mnist
from keras_rnninit.tasks.mnist import permuted_mnist
from keras_rnninit.tasks.multiplication import multiplication
from keras_rnninit.tasks.waveform import waveform

_REGISTRY = {
    "adding": adding,
    "multiplication": multiplication,
    "copy": copy_memory,
    "mnist": mnist,
    "permuted-mnist": permuted_mnist,
    "digits": digits,
    "waveform": waveform,
}


def register(name, factory, overwrite=False):
    """Adds a task factory under `name`, for `get`, the study and the CLIs.

    `factory(**kwargs)` returns a `Task`; its keyword arguments (with
    defaults) are the ones `get(name, ...)` and `rnninit-tune --task-arg`
    accept. It should take `batch_size` and `seed`: the sensitivity study
    passes them.

    Example:

    ```python
    def noisy_adding(length=100, noise=0.1, batch_size=32, seed=None):
        ...
        return keras_rnninit.tasks.Task(...)

    keras_rnninit.tasks.register("noisy-adding", noisy_adding)
    ```

    Raises:
        ValueError: `name` is taken (unless `overwrite`) or not a string, or
            `factory` is not callable.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"A task name must be a non-empty string. Received: name={name!r}")
    if not callable(factory):
        raise ValueError(f"`factory` must be callable. Received: factory={factory!r}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(
            f"A task named {name!r} is already registered; pass overwrite=True "
            "to replace it."
        )
    _REGISTRY[name] = factory
    return factory


def names():
    """The names `get` accepts."""
    return list(_REGISTRY)


def describe(name):
    """The first line of task `name`'s docstring, for help texts."""
    doc = (_factory(name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else name


def parameters(name):
    """The keyword arguments task `name` accepts, with their defaults."""
    factory = _factory(name)
    return {
        p.name: p.default for p in inspect.signature(factory).parameters.values()
    }


def _factory(name):
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown task: name={name!r}. Available tasks: {names()}"
        )
    return _REGISTRY[name]


def get(name, **kwargs):
    """Makes the task `name` (see `names()`) with `kwargs`.

    Common keyword arguments: `length` (`T`, for "adding", "multiplication"
    and "copy"), `num_train`, `num_validation`, `num_test`, `batch_size`,
    `seed`. Each task's own function documents the rest.

    Raises:
        ValueError: unknown `name`, or an argument the task does not take
            (the message lists the ones it takes), or a bad value.
    """
    factory = _factory(name)
    accepted = parameters(name)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"Task {name!r} does not take the argument(s) {unknown}. "
            f"Its arguments: {sorted(accepted)}"
        )
    return factory(**kwargs)


__all__ = [
    "DatasetUnavailableError",
    "Task",
    "adding",
    "copy_memory",
    "describe",
    "digits",
    "get",
    "load_mnist",
    "load_mnist_pickle",
    "mnist",
    "multiplication",
    "names",
    "parameters",
    "permuted_mnist",
    "register",
    "waveform",
]
