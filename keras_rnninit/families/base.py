"""What a model family is: `FamilySpec`, its `Hyperparameter`s, and the
helpers the families share (per-layer seeds, a `SimpleRNN` layer maker)."""

import dataclasses

import keras


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


def layer_seed(seed, index, offset):
    """The seed of one initializer (`offset`) of layer `index`, or None."""
    return None if seed is None else int(seed) + 1000 * index + offset


def simple_rnn(activation, kernel, recurrent):
    """A `make_layer` for `SimpleRNN` with initializer factories."""

    def make_layer(units, hp, task, index, num_layers, return_sequences, seed):
        return keras.layers.SimpleRNN(
            units,
            activation=activation,
            kernel_initializer=kernel(hp, layer_seed(seed, index, 1)),
            recurrent_initializer=recurrent(hp, layer_seed(seed, index, 2)),
            bias_initializer="zeros",
            return_sequences=return_sequences,
            seed=layer_seed(seed, index, 3),
            name=f"rnn_{index}",
        )

    return make_layer
