"""The seeds' model families, built and compiled for a task by one function.

```python
task = keras_rnninit.tasks.get("adding", length=200)
model = build_model("np-rnn", task, units=100, learning_rate=1e-4, clipnorm=1.0)
model.fit(task.train, validation_data=task.validation, epochs=10)
```

Each family in `FAMILIES` is a `FamilySpec`: the recurrent layer it stacks,
its initializers, and the hyperparameters it accepts, among which the
initializer scale a sensitivity search varies (`FamilySpec.scale`). The
families and their registry live in `keras_rnninit.families`, one module
each, and the parameter counts in `keras_rnninit.families.parameters`; this
module builds and compiles their models (`build_model`, `make_optimizer`)
and keeps every name it has always offered.
"""

import numbers

import keras

from keras_rnninit import _checks
from keras_rnninit import catalog
from keras_rnninit import metrics as metrics_lib
from keras_rnninit.families import FAMILIES
from keras_rnninit.families import FamilySpec
from keras_rnninit.families import Hyperparameter
from keras_rnninit.families import family_names
from keras_rnninit.families import get_family
from keras_rnninit.families import indrnn_recurrent_range
from keras_rnninit.families import register_family
from keras_rnninit.families.base import layer_seed
from keras_rnninit.families.parameters import LAYER_KINDS
from keras_rnninit.families.parameters import PARAMETER_COUNTS
from keras_rnninit.families.parameters import parameter_count
from keras_rnninit.families.parameters import units_for_parameters

OPTIMIZERS = catalog.OPTIMIZERS
# Hyperparameters every family takes, and the optimizers they apply to.
OPTIMIZER_HYPERPARAMETERS = {"momentum": ("sgd",)}


def _learning_rate(learning_rate, lr_decay):
    if lr_decay is None:
        return learning_rate
    if isinstance(lr_decay, dict):
        lr_decay = (lr_decay.get("factor"), lr_decay.get("steps"))
    if not isinstance(lr_decay, (tuple, list)) or len(lr_decay) != 2:
        raise ValueError(
            "`lr_decay` must be None or (factor, steps), e.g. (0.1, 20000) to "
            f"divide the learning rate by 10 every 20000 steps. Received: "
            f"lr_decay={lr_decay!r}"
        )
    factor, steps = lr_decay
    if (
        isinstance(factor, bool)
        or not isinstance(factor, numbers.Real)
        or not 0 < factor <= 1
    ):
        raise ValueError(
            f"The factor of `lr_decay` must be in (0, 1]. Received: "
            f"lr_decay={lr_decay!r}"
        )
    _checks.positive_int(steps, "lr_decay steps")
    return keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=int(steps), decay_rate=float(factor),
        staircase=True,
    )


def make_optimizer(
    optimizer="adam",
    learning_rate=1e-3,
    clipnorm=None,
    clipvalue=None,
    lr_decay=None,
    momentum=None,
):
    """A Keras optimizer by name, with clipping and step decay.

    Args:
        optimizer: `"adam"`, `"sgd"` or `"rmsprop"`.
        learning_rate: initial learning rate.
        clipnorm: clip each gradient to this norm (`None`: no clipping).
        clipvalue: clip each gradient element to `[-clipvalue, clipvalue]`.
        lr_decay: `None` or `(factor, steps)`: multiply the learning rate by
            `factor` every `steps` optimizer steps (a staircase
            `ExponentialDecay`); IndRNN's adding runs use `(0.1, 20000)`.
        momentum: SGD momentum (`"sgd"` only; default 0).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"Unknown optimizer: optimizer={optimizer!r}. "
            f"Available optimizers: {list(OPTIMIZERS)}"
        )
    _checks.positive_number(learning_rate, "learning_rate")
    _checks.positive_number(clipnorm, "clipnorm", allow_none=True)
    _checks.positive_number(clipvalue, "clipvalue", allow_none=True)
    kwargs = {
        "learning_rate": _learning_rate(learning_rate, lr_decay),
        "clipnorm": clipnorm,
        "clipvalue": clipvalue,
    }
    if optimizer == "sgd":
        if momentum is not None:
            if isinstance(momentum, bool) or not 0 <= momentum < 1:
                raise ValueError(
                    f"`momentum` must be in [0, 1). Received: momentum={momentum!r}"
                )
        return keras.optimizers.SGD(momentum=momentum or 0.0, **kwargs)
    if momentum is not None:
        raise ValueError(
            f"`momentum` applies only to optimizer='sgd'. Received: "
            f"momentum={momentum!r} with optimizer={optimizer!r}"
        )
    if optimizer == "adam":
        return keras.optimizers.Adam(**kwargs)
    return keras.optimizers.RMSprop(**kwargs)


def build_model(
    family,
    task,
    units=None,
    layers=None,
    optimizer="adam",
    learning_rate=1e-3,
    clipnorm=None,
    clipvalue=None,
    lr_decay=None,
    seed=None,
    **hp,
):
    """Builds and compiles a model of `family` for `task`.

    The model is `Input(task.input_shape)`, `layers` recurrent layers of
    `units` units (all but the last return sequences; the last too when the
    task has one target per step), and a head
    `Dense(task.output_size, activation=task.head_activation)`. It is
    compiled with `task.loss` and `task.metric`.

    Families (`FAMILIES`):
    - `"irnn"`: ReLU `SimpleRNN`, recurrent `ScaledIdentity(1.0)`, inputs
      `N(0, input_stddev^2)` (0.001 as in the IRNN paper).
    - `"irnn-scaled"`: as `"irnn"` with `ScaledIdentity(gain)`, `gain=0.01`
      (iRNN).
    - `"np-rnn"`: ReLU `SimpleRNN`, recurrent `NPInit`, inputs
      `RandomWalkNormal(scale=input_scale)`, head Glorot normal.
    - `"np-tanh"`: as `"np-rnn"` with tanh.
    - `"tanh-rnn"`: tanh `SimpleRNN`, `Orthogonal(recurrent_gain)` recurrent
      and Glorot uniform inputs.
    - `"lstm"`: `LSTM` with the forget-gate bias at 1.
    - `"lstm-chrono"`: `LSTM` with `Chrono(max_timesteps)` gate biases
      (default: the task's sequence length) and `unit_forget_bias=False`.
    - `"indrnn"`: stacked ReLU `IndRNN` with `timesteps=T` of the task and
      `gamma` (2): `u ~ U(0, gamma^(1/T))`, the last layer
      `u ~ U((1/gamma)^(1/T), gamma^(1/T))`, `u` clamped to
      `[-gamma^(1/T), gamma^(1/T)]` after every update; input weights
      `kaiming_uniform(a=8)` as in the authors' code.
    - `"clockwork"`: `Clockwork` with `num_modules` modules (8).

    Args:
        family: a key of `FAMILIES`.
        task: a `keras_rnninit.tasks.Task`.
        units: units per recurrent layer (default: the family's paper
            setting, `FAMILIES[family].units`, e.g. 128 for IndRNN).
        layers: number of stacked recurrent layers (default: the family's
            paper setting, e.g. 2 for IndRNN on the adding problem).
        optimizer: `"adam"`, `"sgd"` or `"rmsprop"`.
        learning_rate: initial learning rate.
        clipnorm: gradient clipping by norm (`None`: none).
        clipvalue: gradient clipping by value (`None`: none).
        lr_decay: `None` or `(factor, steps)`: the learning rate is
            multiplied by `factor` every `steps` optimizer steps.
        seed: integer seed of every initializer, or `None`.
        **hp: the family's hyperparameters (`FAMILIES[family].defaults()`),
            and `momentum` for `optimizer="sgd"`.

    Returns:
        A compiled `keras.Model`.

    Raises:
        ValueError: unknown family, or a hyperparameter the family does not
            take (the message lists the ones it takes), or a bad value.

    Example:

    ```python
    task = keras_rnninit.tasks.get("adding", length=100)
    model = build_model("irnn-scaled", task, units=100, gain=0.05)
    ```
    """
    spec = get_family(family)
    valid = spec.hyperparameter_names() + list(OPTIMIZER_HYPERPARAMETERS)
    unknown = sorted(set(hp) - set(valid))
    if unknown:
        raise ValueError(
            f"Unknown hyperparameter(s) {unknown} for family {family!r}. "
            f"Valid: {sorted(valid)} (and the arguments units, layers, "
            "optimizer, learning_rate, clipnorm, clipvalue, lr_decay, seed)"
        )
    units = spec.units if units is None else units
    layers = spec.layers if layers is None else layers
    _checks.positive_int(units, "units")
    _checks.positive_int(layers, "layers")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"`seed` must be None or an integer. Received: seed={seed!r}")
    values = spec.defaults()
    values.update({k: v for k, v in hp.items() if k in values})
    for param in spec.hyperparameters:
        if param.min_value is not None:
            check = (_checks.positive_int if isinstance(param.default, int)
                     else _checks.positive_number)
            check(values[param.name], param.name)
    optimizer_obj = make_optimizer(
        optimizer, learning_rate, clipnorm, clipvalue, lr_decay,
        momentum=hp.get("momentum"),
    )

    inputs = keras.Input(task.input_shape, name="sequence")
    x = inputs
    for index in range(layers):
        return_sequences = index < layers - 1 or task.sequence_output
        layer = spec.make_layer(
            units, values, task, index, layers, return_sequences, seed
        )
        x = layer(x)
    np_family = family in ("np-rnn", "np-tanh")
    head_init = (
        keras.initializers.GlorotNormal(seed=layer_seed(seed, layers, 4))
        if np_family
        else keras.initializers.GlorotUniform(seed=layer_seed(seed, layers, 4))
    )
    outputs = keras.layers.Dense(
        task.output_size,
        activation=task.head_activation,
        kernel_initializer=head_init,
        name="head",
    )(x)
    model = keras.Model(inputs, outputs, name=f"{family}_{task.name}".replace("-", "_"))
    model.compile(
        optimizer=optimizer_obj, loss=task.loss,
        metrics=[metrics_lib.get(task.metric)],
    )
    return model


__all__ = [
    "FAMILIES",
    "LAYER_KINDS",
    "OPTIMIZERS",
    "OPTIMIZER_HYPERPARAMETERS",
    "PARAMETER_COUNTS",
    "FamilySpec",
    "Hyperparameter",
    "build_model",
    "family_names",
    "get_family",
    "indrnn_recurrent_range",
    "make_optimizer",
    "parameter_count",
    "register_family",
    "units_for_parameters",
]
