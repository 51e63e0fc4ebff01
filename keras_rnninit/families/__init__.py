"""The model families: one module each, one registry.

A family is a `FamilySpec`: the recurrent layer it stacks, its
initializers, the hyperparameters it takes and its paper's settings.
`keras_rnninit.models.build_model(name, task)` builds and compiles one.

```python
spec = keras_rnninit.families.get_family("np-rnn")
spec.paper_settings()  # {"units": 100, "layers": 1, "optimizer": "sgd", ...}
```

Modules: `irnn` (irnn, irnn-scaled), `np_rnn` (np-rnn, np-tanh),
`tanh_rnn`, `lstm` (lstm, lstm-chrono), `indrnn`, `clockwork`; `base`
holds `FamilySpec` and `Hyperparameter`, `parameters` the parameter counts.
"""

from keras_rnninit.families import clockwork
from keras_rnninit.families import indrnn
from keras_rnninit.families import irnn
from keras_rnninit.families import lstm
from keras_rnninit.families import np_rnn
from keras_rnninit.families import tanh_rnn
from keras_rnninit.families.base import FamilySpec
from keras_rnninit.families.base import Hyperparameter
from keras_rnninit.families.indrnn import indrnn_recurrent_range

FAMILIES = {
    spec.name: spec
    for spec in (
        irnn.IRNN,
        irnn.IRNN_SCALED,
        np_rnn.NP_RNN,
        np_rnn.NP_TANH,
        tanh_rnn.TANH_RNN,
        lstm.LSTM,
        lstm.LSTM_CHRONO,
        indrnn.INDRNN,
        clockwork.CLOCKWORK,
    )
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


__all__ = [
    "FAMILIES",
    "FamilySpec",
    "Hyperparameter",
    "family_names",
    "get_family",
    "indrnn_recurrent_range",
    "register_family",
]
