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

from keras_rnninit.tasks.adding import adding
from keras_rnninit.tasks.base import DatasetUnavailableError
from keras_rnninit.tasks.base import Task
from keras_rnninit.tasks.copy_memory import copy_memory
from keras_rnninit.tasks.digits import digits
from keras_rnninit.tasks.mnist import load_mnist
from keras_rnninit.tasks.mnist import mnist
from keras_rnninit.tasks.mnist import permuted_mnist
from keras_rnninit.tasks.multiplication import multiplication

_REGISTRY = {
    "adding": adding,
    "multiplication": multiplication,
    "copy": copy_memory,
    "mnist": mnist,
    "permuted-mnist": permuted_mnist,
    "digits": digits,
}


def names():
    """The names `get` accepts."""
    return list(_REGISTRY)


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
    "digits",
    "get",
    "load_mnist",
    "mnist",
    "multiplication",
    "names",
    "parameters",
    "permuted_mnist",
]
