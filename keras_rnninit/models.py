"""The seeds' model families, built and compiled for a task by one function.

```python
task = keras_rnninit.tasks.get("adding", length=200)
model = build_model("np-rnn", task, units=100, learning_rate=1e-4, clipnorm=1.0)
model.fit(task.train, validation_data=task.validation, epochs=10)
```

Each family in `FAMILIES` is a `FamilySpec`: the recurrent layer it stacks,
its initializers, and the hyperparameters it accepts, among which the
initializer scale a sensitivity search varies (`FamilySpec.scale`).
"""

import dataclasses
import numbers

import keras

from keras_rnninit import _checks
from keras_rnninit import catalog
from keras_rnninit import metrics as metrics_lib
from keras_rnninit.initializers import NormalizedPositiveDefinite
from keras_rnninit.initializers import RandomWalkNormal
from keras_rnninit.initializers import ScaledIdentity

OPTIMIZERS = catalog.OPTIMIZERS
# Hyperparameters every family takes, and the optimizers they apply to.
OPTIMIZER_HYPERPARAMETERS = {"momentum": ("sgd",)}


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """A hyperparameter of a family, with its default and search range.

    Args:
        name: the keyword `build_model` takes.
        default: its default value.
        min_value: low end of a sensible search range (numeric ones).
        max_value: high end of the range.
        sampling: `"log"` or `"linear"`, how to sample the range.
        description: what it sets.
    """

    name: str
    default: object
    min_value: float = None
    max_value: float = None
    sampling: str = "linear"
    description: str = ""


@dataclasses.dataclass(frozen=True)
class FamilySpec:
    """A model family: its recurrent layer, initializers and hyperparameters.

    Args:
        name: the key in `FAMILIES`.
        description: one line: activation and initializers.
        hyperparameters: the family's own hyperparameters (`Hyperparameter`).
        scale: name of the initializer-scale hyperparameter a sensitivity
            search varies, or `None` if the family has none.
        reference: the paper.
        make_layer: `(units, hp, task, index, num_layers, return_sequences,
            seed) -> keras.layers.Layer`.
        units: the paper's units per recurrent layer.
        layers: the paper's number of stacked recurrent layers.
        optimizer: the paper's optimizer (`"adam"`, `"sgd"`, `"rmsprop"`).
        clipnorm: the paper's gradient-norm clipping, or `None`.
        clipvalue: the paper's elementwise gradient clipping, or `None`.
    """

    name: str
    description: str
    hyperparameters: tuple
    scale: str = None
    reference: str = ""
    make_layer: object = dataclasses.field(default=None, repr=False)
    units: int = 100
    layers: int = 1
    optimizer: str = "adam"
    clipnorm: float = None
    clipvalue: float = None

    def paper_settings(self):
        """`{units, layers, optimizer, clipnorm, clipvalue}` from the paper."""
        return {
            "units": self.units,
            "layers": self.layers,
            "optimizer": self.optimizer,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
        }

    @property
    def scale_hyperparameter(self):
        """The `Hyperparameter` named by `scale`, or `None`."""
        if self.scale is None:
            return None
        return self.hyperparameter(self.scale)

    def hyperparameter(self, name):
        for hp in self.hyperparameters:
            if hp.name == name:
                return hp
        raise ValueError(
            f"Family {self.name!r} has no hyperparameter {name!r}. "
            f"Its hyperparameters: {self.hyperparameter_names()}"
        )

    def hyperparameter_names(self):
        return [hp.name for hp in self.hyperparameters]

    def defaults(self):
        """`{name: default}` of the family's hyperparameters."""
        return {hp.name: hp.default for hp in self.hyperparameters}


def _seed(seed, index, offset):
    return None if seed is None else int(seed) + 1000 * index + offset


def _simple_rnn(activation, kernel, recurrent):
    """A `make_layer` for `SimpleRNN` with initializer factories."""

    def make_layer(units, hp, task, index, num_layers, return_sequences, seed):
        return keras.layers.SimpleRNN(
            units,
            activation=activation,
            kernel_initializer=kernel(hp, _seed(seed, index, 1)),
            recurrent_initializer=recurrent(hp, _seed(seed, index, 2)),
            bias_initializer="zeros",
            return_sequences=return_sequences,
            seed=_seed(seed, index, 3),
            name=f"rnn_{index}",
        )

    return make_layer


def _irnn_input(hp, seed):
    return keras.initializers.RandomNormal(stddev=hp["input_stddev"], seed=seed)


def _np_input(hp, seed):
    return RandomWalkNormal(scale=hp["input_scale"], seed=seed)


def _np_recurrent(hp, seed):
    return NormalizedPositiveDefinite(seed=seed)


def _glorot_input(hp, seed):
    return keras.initializers.GlorotUniform(seed=seed)


def _orthogonal_recurrent(hp, seed):
    return keras.initializers.Orthogonal(gain=hp["recurrent_gain"], seed=seed)


def _lstm(units, hp, task, index, num_layers, return_sequences, seed):
    return keras.layers.LSTM(
        units,
        kernel_initializer=keras.initializers.GlorotUniform(seed=_seed(seed, index, 1)),
        recurrent_initializer=keras.initializers.Orthogonal(seed=_seed(seed, index, 2)),
        unit_forget_bias=True,
        return_sequences=return_sequences,
        seed=_seed(seed, index, 3),
        name=f"lstm_{index}",
    )


def indrnn_recurrent_range(timesteps, gamma, last_layer):
    """`(low, high)` of IndRNN's uniform recurrent initialization.

    Every layer draws `u ~ U(0, gamma^(1/T))`; the last layer, to keep long
    memory, draws `u ~ U((1/gamma)^(1/T), gamma^(1/T))` (the authors' code,
    `eps = 1/gamma`).
    """
    high = gamma ** (1.0 / timesteps)
    low = (1.0 / gamma) ** (1.0 / timesteps) if last_layer else 0.0
    return low, high


def _indrnn(units, hp, task, index, num_layers, return_sequences, seed):
    from keras_rnninit.layers.indrnn import IndRNN

    timesteps = task.input_shape[0]
    gamma = hp["gamma"]
    last = index == num_layers - 1
    low, high = indrnn_recurrent_range(timesteps, gamma, last)
    # The layer's own defaults give the same range and the bound
    # (`RecurrentBound(gamma ** (1 / T))`); the explicit initializer only
    # adds the seed. Input weights as in the authors' code:
    # kaiming_uniform(a=8), i.e. U(+-sqrt(3 * (2 / 65) / fan_in)), small
    # enough that u near 1 does not make h_T grow with T at the start.
    return IndRNN(
        units,
        activation="relu",
        kernel_initializer=keras.initializers.VarianceScaling(
            scale=2.0 / 65.0,
            mode="fan_in",
            distribution="uniform",
            seed=_seed(seed, index, 1),
        ),
        recurrent_initializer=keras.initializers.RandomUniform(
            minval=low, maxval=high, seed=_seed(seed, index, 2)
        ),
        timesteps=timesteps,
        gamma=gamma,
        long_memory=last,
        return_sequences=return_sequences,
        seed=_seed(seed, index, 3),
        name=f"indrnn_{index}",
    )


def _clockwork(units, hp, task, index, num_layers, return_sequences, seed):
    from keras_rnninit.layers.clockwork import Clockwork

    return Clockwork(
        units,
        num_modules=hp["num_modules"],
        activation=hp["activation"],
        kernel_initializer=keras.initializers.GlorotUniform(seed=_seed(seed, index, 1)),
        recurrent_initializer=keras.initializers.Orthogonal(seed=_seed(seed, index, 2)),
        return_sequences=return_sequences,
        seed=_seed(seed, index, 3),
        name=f"clockwork_{index}",
    )


_INPUT_STDDEV = Hyperparameter(
    "input_stddev", 0.001, 1e-4, 1e-1, "log",
    "standard deviation of the N(0, s^2) input weights (the IRNN paper's 0.001)",
)
_INPUT_SCALE = Hyperparameter(
    "input_scale", 1.0, 0.1, 10.0, "log",
    "multiplier of the random-walk input initialization (RandomWalkNormal)",
)
_RECURRENT_GAIN = Hyperparameter(
    "recurrent_gain", 1.0, 0.5, 2.0, "linear",
    "gain of the orthogonal recurrent initialization",
)

_IRNN_REF = "Le et al., 2015, arXiv 1504.00941"
_NP_REF = "Talathi and Vartak, 2015, arXiv 1511.03771"
# The IRNN paper's setting, which its tanh-RNN and LSTM baselines share:
# 100 units, plain SGD, gradients clipped at norm 1.
_IRNN_PAPER = {"units": 100, "layers": 1, "optimizer": "sgd", "clipnorm": 1.0}
# np-RNN: 100 units, SGD (the paper does not give a clipping value).
_NP_PAPER = {"units": 100, "layers": 1, "optimizer": "sgd"}

FAMILIES = {
    "irnn": FamilySpec(
        "irnn",
        catalog.FAMILIES["irnn"],
        (_INPUT_STDDEV,),
        scale="input_stddev",
        reference=_IRNN_REF,
        make_layer=_simple_rnn(
            "relu", _irnn_input, lambda hp, seed: ScaledIdentity(1.0)
        ),
        **_IRNN_PAPER,
    ),
    "irnn-scaled": FamilySpec(
        "irnn-scaled",
        catalog.FAMILIES["irnn-scaled"],
        (
            Hyperparameter(
                "gain", 0.01, 1e-3, 1.0, "log", "multiplier of the identity"
            ),
            _INPUT_STDDEV,
        ),
        scale="gain",
        reference=_IRNN_REF,
        make_layer=_simple_rnn(
            "relu", _irnn_input, lambda hp, seed: ScaledIdentity(hp["gain"])
        ),
        **_IRNN_PAPER,
    ),
    "np-rnn": FamilySpec(
        "np-rnn",
        catalog.FAMILIES["np-rnn"],
        (_INPUT_SCALE,),
        scale="input_scale",
        reference=_NP_REF,
        make_layer=_simple_rnn("relu", _np_input, _np_recurrent),
        **_NP_PAPER,
    ),
    "np-tanh": FamilySpec(
        "np-tanh",
        catalog.FAMILIES["np-tanh"],
        (_INPUT_SCALE,),
        scale="input_scale",
        reference=_NP_REF,
        make_layer=_simple_rnn("tanh", _np_input, _np_recurrent),
        **_NP_PAPER,
    ),
    "tanh-rnn": FamilySpec(
        "tanh-rnn",
        catalog.FAMILIES["tanh-rnn"],
        (_RECURRENT_GAIN,),
        scale="recurrent_gain",
        reference="Elman, 1990",
        make_layer=_simple_rnn("tanh", _glorot_input, _orthogonal_recurrent),
        **_IRNN_PAPER,
    ),
    "lstm": FamilySpec(
        "lstm",
        catalog.FAMILIES["lstm"],
        (),
        scale=None,
        reference="Hochreiter and Schmidhuber, 1997",
        make_layer=_lstm,
        **_IRNN_PAPER,
    ),
    "indrnn": FamilySpec(
        "indrnn",
        catalog.FAMILIES["indrnn"],
        (
            Hyperparameter(
                "gamma", 2.0, 1.1, 10.0, "log",
                "largest gradient growth over T steps: |u| <= gamma^(1/T) "
                "(2 for the adding problem, 5 for MNIST)",
            ),
        ),
        scale="gamma",
        reference="Li et al., 2018, arXiv 1803.04831",
        make_layer=_indrnn,
        # The adding model of the paper: 2 x 128, Adam; the authors' code
        # clips each gradient element at 10.
        units=128,
        layers=2,
        optimizer="adam",
        clipvalue=10.0,
    ),
    "clockwork": FamilySpec(
        "clockwork",
        catalog.FAMILIES["clockwork"],
        (
            Hyperparameter(
                "num_modules", 8, 2, 16, "linear",
                "number of modules (periods 1, 2, ..., 2^(num_modules - 1)); "
                "must divide units",
            ),
            Hyperparameter("activation", "tanh", description="hidden activation"),
        ),
        scale=None,
        reference="Koutnik et al., 2014, arXiv 1402.3511",
        make_layer=_clockwork,
        units=128,
        optimizer="sgd",
    ),
}


def register_family(spec, overwrite=False):
    """Adds a `FamilySpec` to `FAMILIES`, for `build_model`, studies and CLIs.

    Example:

    ```python
    def make_layer(units, hp, task, index, num_layers, return_sequences, seed):
        return keras.layers.GRU(units, return_sequences=return_sequences)

    register_family(FamilySpec("gru", "GRU, Keras defaults", (),
                               make_layer=make_layer))
    ```

    Raises:
        ValueError: not a `FamilySpec`, no `make_layer`, or the name is taken
            (unless `overwrite`).
    """
    if not isinstance(spec, FamilySpec):
        raise ValueError(
            f"`spec` must be a FamilySpec. Received: spec={spec!r}"
        )
    if not callable(spec.make_layer):
        raise ValueError(
            f"FamilySpec {spec.name!r} needs a callable `make_layer`. "
            f"Received: make_layer={spec.make_layer!r}"
        )
    if spec.name in FAMILIES and not overwrite:
        raise ValueError(
            f"A family named {spec.name!r} is already registered; pass "
            "overwrite=True to replace it."
        )
    FAMILIES[spec.name] = spec
    return spec


def family_names():
    """The names of the registered families."""
    return list(FAMILIES)


def get_family(family):
    """The `FamilySpec` of `family`; a `ValueError` lists the valid names."""
    if family not in FAMILIES:
        raise ValueError(
            f"Unknown model family: family={family!r}. "
            f"Available families: {list(FAMILIES)}"
        )
    return FAMILIES[family]


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
        keras.initializers.GlorotNormal(seed=_seed(seed, layers, 4))
        if np_family
        else keras.initializers.GlorotUniform(seed=_seed(seed, layers, 4))
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


# The recurrent layer each family stacks, for `parameter_count`.
LAYER_KINDS = {
    "irnn": "simple_rnn",
    "irnn-scaled": "simple_rnn",
    "np-rnn": "simple_rnn",
    "np-tanh": "simple_rnn",
    "tanh-rnn": "simple_rnn",
    "lstm": "lstm",
    "indrnn": "indrnn",
    "clockwork": "clockwork",
}
PARAMETER_COUNTS = ("effective", "stored")


def _layer_kind(family):
    kinds = sorted(set(LAYER_KINDS.values()))
    if family in kinds:
        return family
    if family not in LAYER_KINDS:
        raise ValueError(
            f"No parameter count for family={family!r}. Known: "
            f"{sorted(LAYER_KINDS)} and the layer kinds {kinds}"
        )
    return LAYER_KINDS[family]


def _num_modules(kind, num_modules):
    if kind != "clockwork":
        if num_modules is not None:
            raise ValueError(
                "`num_modules` applies only to Clockwork. Received: "
                f"num_modules={num_modules!r}"
            )
        return 1
    if num_modules is None:
        return FAMILIES["clockwork"].defaults()["num_modules"]
    return _checks.positive_int(num_modules, "num_modules")


def parameter_count(family, units, input_size=1, output_size=1,
                    num_modules=None, count="effective"):
    """Parameters of one recurrent layer of `family` with a `Dense` head.

    The model is `Input((T, input_size))`, one recurrent layer of `units`
    units and `Dense(output_size)`: `build_model(family, task, units,
    layers=1)` for a task with `input_size` features and `output_size`
    outputs.

    Args:
        family: a family name (`"tanh-rnn"`, `"lstm"`, `"clockwork"`, ...)
            or a layer kind: `"simple_rnn"`, `"lstm"`, `"indrnn"`,
            `"clockwork"`.
        units: units of the recurrent layer.
        input_size: features per input step.
        output_size: units of the head.
        num_modules: Clockwork's modules (default: the family's, 8), with
            periods 1, 2, 4, ...; `units` must be a multiple of it.
        count: `"effective"` (default): the weights training can change.
            Clockwork's recurrent kernel is stored in full but only the
            blocks where a slower module feeds a faster one (or itself) are
            used, `units^2 (g + 1) / (2 g)` of them for `g` modules; the
            paper counts those. `"stored"`: every weight, as
            `model.count_params()` reports.

    Returns:
        The number of parameters, an int.

    Reference:
    - [Koutnik et al., 2014](https://arxiv.org/abs/1402.3511), the
      equal-parameter comparison of its section 4.
    """
    kind = _layer_kind(family)
    modules = _num_modules(kind, num_modules)
    _checks.positive_int(units, "units")
    _checks.positive_int(input_size, "input_size")
    _checks.positive_int(output_size, "output_size")
    if count not in PARAMETER_COUNTS:
        raise ValueError(
            f"`count` must be one of {list(PARAMETER_COUNTS)}. "
            f"Received: count={count!r}"
        )
    if units % modules:
        raise ValueError(
            f"`units` must be a multiple of num_modules={modules} for "
            f"Clockwork. Received: units={units!r}"
        )
    n, f = int(units), int(input_size)
    head = n * output_size + output_size
    if kind == "simple_rnn":
        return f * n + n * n + n + head
    if kind == "lstm":
        return 4 * (f * n + n * n + n) + head
    if kind == "indrnn":
        return f * n + 2 * n + head
    recurrent = n * n
    if count == "effective":
        # Module i receives from modules i..g-1 (periods ascending).
        size = n // modules
        recurrent = size * size * modules * (modules + 1) // 2
    return f * n + recurrent + n + head


def units_for_parameters(family, parameters, input_size=1, output_size=1,
                         num_modules=None, count="effective"):
    """The units whose model has the parameter count closest to `parameters`.

    For equal-parameter comparisons, as in the Clockwork RNN paper (about
    100, 250, 500 and 1000 parameters for a 1-input, 1-output network). The
    model and the arguments are those of `parameter_count`; Clockwork's
    units go in steps of `num_modules`. On a tie the smaller model wins.

    Returns:
        The number of units, an int (at least one unit, or one unit per
        Clockwork module, even when that model exceeds `parameters`).

    Example:

    ```python
    units_for_parameters("lstm", 1000)       # 15 units: 1036 parameters
    units_for_parameters("clockwork", 1000)  # 40 units: 1021 used, 1721 stored
    units_for_parameters("clockwork", 1000, num_modules=4)  # 36 units: 919
    ```
    """
    _checks.positive_int(parameters, "parameters")
    modules = _num_modules(_layer_kind(family), num_modules)

    def size(units):
        return parameter_count(family, units, input_size, output_size,
                               num_modules, count)

    units = modules
    while size(units + modules) <= parameters:
        units += modules
    larger = units + modules
    if abs(size(larger) - parameters) < abs(size(units) - parameters):
        return larger
    return units
