"""Initialization schemes: what a study compares on a model of your own.

A scheme names the initializers it sets in each kind of recurrent layer:
the input kernel (`kernel`), the recurrent kernel (`recurrent`) and the bias
(`bias`). `apply_scheme(model, scheme)` rebuilds a Sequential or functional
model with them, nothing else changed, and says what it set in which layer.

```python
copy, applied = apply_scheme(model, "chrono")
describe_applied(applied)
# "lstm (LSTM): recurrent_initializer Orthogonal(seed=None, gain=1.0),
#  bias_initializer Chrono(max_timesteps=50, seed=None, layer=None),
#  unit_forget_bias False"
```

Built-in schemes (`SCHEMES`; `register_scheme` adds yours):
- `chrono`: orthogonal recurrent kernel and `Chrono` gate biases in LSTM and
  GRU layers (Tallec and Ollivier, 2018);
- `npinit`: `NPInit` recurrent kernel and `RandomWalkNormal` input kernel
  (np-RNN, Talathi and Vartak, 2015);
- `irnn`: identity recurrent kernel and `N(0, 0.001^2)` input kernel (IRNN,
  Le et al., 2015).

How a name resolves (`get`): `scheme:NAME` is always a scheme; so is a bare
name in the registry. A scheme's name can never be a Keras initializer
identifier (`register_scheme` refuses `"orthogonal"`, `"identity"`, ...),
so any other name is a Keras initializer identifier, and means the scheme
that sets only the recurrent kernel. Chrono's `max_timesteps` comes from each
layer's input length, or from the name: `chrono(max_timesteps=500)`.
"""

import dataclasses
import json
import os
import re

import keras

from keras_rnninit import catalog
from keras_rnninit import chrono  # registers keras_rnninit>Chrono
from keras_rnninit import initializers  # noqa: F401  and NPInit, IRNN, ...

# A scheme's key for each weight, and the layer-config key it sets.
WEIGHTS = {
    "kernel": "kernel_initializer",
    "recurrent": "recurrent_initializer",
    "bias": "bias_initializer",
}
# Layer kinds a scheme can name; "*" is every recurrent layer the scheme
# does not name, including cells of your own ("rnn").
LAYER_KINDS = ("simple_rnn", "lstm", "gru", "indrnn", "clockwork", "rnn", "*")
PREFIX = "scheme:"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_CALL = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)\((.*)\)$", re.DOTALL)
_CHRONO = ("Chrono", "keras_rnninit>Chrono")


def _is_chrono(identifier):
    if isinstance(identifier, str):
        return identifier in _CHRONO
    return isinstance(identifier, dict) and identifier.get("class_name") in _CHRONO


def _needs_max_timesteps(identifier):
    if isinstance(identifier, str):
        return identifier in _CHRONO
    return _is_chrono(identifier) and "max_timesteps" not in (
        identifier.get("config") or {}
    )


def _with_max_timesteps(identifier, max_timesteps):
    """`identifier` with Chrono's `max_timesteps` filled in where missing."""
    if not _needs_max_timesteps(identifier):
        return identifier
    config = {} if isinstance(identifier, str) else dict(identifier.get("config") or {})
    config["max_timesteps"] = max_timesteps
    return {"class_name": "keras_rnninit>Chrono", "config": config}


def _serializable(identifier, where):
    """A Keras initializer identifier that JSON can hold: a name or a config."""
    if isinstance(identifier, keras.initializers.Initializer):
        return keras.initializers.serialize(identifier)
    if isinstance(identifier, str):
        return identifier
    if isinstance(identifier, dict) and "class_name" in identifier:
        return json.loads(json.dumps(identifier))
    raise ValueError(
        f"{where} must be a Keras initializer, its name or its config dict. "
        f"Received: {identifier!r}"
    )


class _SchemeError(ValueError):
    """A scheme that cannot apply to a layer, named: raised as it is."""


def resolve_initializer(identifier, max_timesteps=None, where="initializer"):
    """A Keras initializer from an identifier; Chrono without
    `max_timesteps` takes `max_timesteps`."""
    if _needs_max_timesteps(identifier):
        if max_timesteps is None:
            raise _SchemeError(
                f"{where}: Chrono needs max_timesteps, and the layer's input "
                "length is not fixed: name it, e.g. chrono(max_timesteps=500)."
            )
        identifier = _with_max_timesteps(identifier, max_timesteps)
    try:
        initializer = keras.initializers.get(identifier)
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"Unknown initializer {identifier!r} ({where}): "
            f"{str(e).strip().splitlines()[0]}"
        ) from None
    if initializer is None:
        raise ValueError(f"Unknown initializer {identifier!r} ({where}).")
    return initializer


def is_keras_initializer(name):
    """Whether `keras.initializers.get(name)` knows the string `name`."""
    try:
        return keras.initializers.get(name) is not None
    except (ValueError, TypeError):
        return False


def initializer_text(initializer):
    """`Class(arg=value, ...)`: an initializer and its whole config."""
    config = initializer.get_config()
    arguments = ", ".join(f"{k}={v!r}" for k, v in config.items())
    return f"{type(initializer).__name__}({arguments})"


@dataclasses.dataclass(frozen=True)
class Scheme:
    """What an initialization scheme sets in each kind of recurrent layer.

    Args:
        name: the name a study and its report use; a registered scheme's
            name is never a Keras initializer identifier (see the module
            docstring).
        description: one line for `--help` and the report.
        layers: `{kind: {weight: initializer}}`. A kind is one of
            `LAYER_KINDS` (`"lstm"`, `"gru"`, `"simple_rnn"`, `"indrnn"`,
            `"clockwork"`, `"rnn"` for other cells, `"*"` for every kind
            not named); a weight is `"kernel"`, `"recurrent"` or `"bias"`;
            an initializer is a Keras initializer, its name or its config
            dict (`{"class_name": "keras_rnninit>Chrono", "config": {}}`:
            a Chrono without `max_timesteps` takes each layer's input
            length). A weight a scheme does not name keeps the model's own
            initializer. Setting an LSTM's bias also sets
            `unit_forget_bias=False`, which would otherwise replace the
            forget-gate bias with ones.
        max_timesteps: Chrono's `max_timesteps` for every layer, or None:
            each layer's input length.

    Example:

    ```python
    register_scheme(Scheme(
        "orthogonal-chrono-gru", "orthogonal, chrono biases, GRU only",
        {"gru": {"recurrent": "orthogonal",
                 "bias": {"class_name": "keras_rnninit>Chrono", "config": {}}}},
    ))
    ```
    """

    name: str
    description: str
    layers: dict
    max_timesteps: float = None
    recurrent_only: bool = dataclasses.field(default=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(
                "A scheme's name must be letters, digits, '_', '-' or '.', "
                f"starting with a letter. Received: name={self.name!r}"
            )
        if not isinstance(self.layers, dict) or not self.layers:
            raise ValueError(
                f"Scheme {self.name!r} needs `layers`, a dict {{kind: {{weight: "
                f"initializer}}}}. Received: layers={self.layers!r}"
            )
        layers = {}
        for kind, weights in self.layers.items():
            if kind not in LAYER_KINDS:
                raise ValueError(
                    f"Scheme {self.name!r}: unknown layer kind {kind!r}. "
                    f"Kinds: {list(LAYER_KINDS)}"
                )
            if not isinstance(weights, dict) or not weights or (
                set(weights) - set(WEIGHTS)
            ):
                raise ValueError(
                    f"Scheme {self.name!r}, {kind!r}: a dict of weights "
                    f"{list(WEIGHTS)} to initializers. Received: {weights!r}"
                )
            layers[kind] = {}
            for weight, identifier in weights.items():
                where = f"scheme {self.name!r}, {kind} {weight}"
                identifier = _serializable(identifier, where)
                resolve_initializer(identifier, max_timesteps=2, where=where)
                layers[kind][weight] = identifier
        object.__setattr__(self, "layers", layers)
        if self.max_timesteps is not None:
            chrono.Chrono(self.max_timesteps)  # the same check and message

    @classmethod
    def for_recurrent_initializer(cls, identifier, name=None):
        """The scheme a bare Keras initializer stands for: it sets the
        recurrent kernel of every recurrent layer and nothing else."""
        initializer = resolve_initializer(identifier)
        name = name or type(initializer).__name__
        return cls(
            name if _NAME.match(name) else "initializer",
            f"the recurrent kernel only ({initializer_text(initializer)})",
            {"*": {"recurrent": identifier}},
            recurrent_only=True,
        )

    def rules(self, kind):
        """`{weight: initializer}` the scheme sets in a layer of `kind`."""
        return self.layers.get(kind, self.layers.get("*", {}))

    def uses_chrono(self):
        return any(
            _is_chrono(i) for weights in self.layers.values() for i in weights.values()
        )

    def with_max_timesteps(self, max_timesteps):
        """This scheme with Chrono's `max_timesteps` fixed for every layer."""
        if not self.uses_chrono():
            raise ValueError(
                f"Scheme {self.name!r} sets no Chrono initializer: "
                "max_timesteps does not apply to it."
            )
        return dataclasses.replace(self, max_timesteps=max_timesteps)

    @property
    def label(self):
        """The name a study and its report use: `name`, or
        `name(max_timesteps=T)` when `max_timesteps` is fixed."""
        if self.max_timesteps is None:
            return self.name
        return f"{self.name}(max_timesteps={self.max_timesteps:g})"

    @property
    def title(self):
        """How messages name it."""
        if self.recurrent_only:
            return f"the recurrent initializer {self.name}"
        return f"scheme {self.label!r}"

    def get_config(self):
        return {
            "name": self.name,
            "description": self.description,
            "layers": self.layers,
            "max_timesteps": self.max_timesteps,
        }

    @classmethod
    def from_config(cls, config):
        if not isinstance(config, dict) or "layers" not in config:
            raise ValueError(
                'A scheme config is a dict {"name": ..., "description": ..., '
                f'"layers": {{...}}}}. Received: {config!r}'
            )
        unknown = set(config) - {"name", "description", "layers", "max_timesteps"}
        if unknown:
            raise ValueError(
                f"A scheme config takes name, description, layers and "
                f"max_timesteps. Received the keys {sorted(unknown)}"
            )
        scheme = cls(
            config.get("name", "custom"), config.get("description", ""),
            config["layers"],
        )
        if config.get("max_timesteps") is None:
            return scheme
        return scheme.with_max_timesteps(config["max_timesteps"])


_CHRONO_BIAS = {"class_name": "keras_rnninit>Chrono", "config": {}}

SCHEMES = {
    scheme.name: scheme
    for scheme in (
        Scheme(
            "chrono",
            catalog.SCHEMES["chrono"],
            {
                "lstm": {"recurrent": "orthogonal", "bias": _CHRONO_BIAS},
                "gru": {"recurrent": "orthogonal", "bias": _CHRONO_BIAS},
            },
        ),
        Scheme(
            "npinit",
            catalog.SCHEMES["npinit"],
            {"*": {"recurrent": "keras_rnninit>NPInit",
                   "kernel": "keras_rnninit>NPInputInit"}},
        ),
        Scheme(
            "irnn",
            catalog.SCHEMES["irnn"],
            {"*": {"recurrent": "keras_rnninit>IRNN",
                   "kernel": {"class_name": "RandomNormal",
                              "config": {"mean": 0.0, "stddev": 0.001}}}},
        ),
    )
}


def register_scheme(scheme, overwrite=False):
    """Adds a `Scheme` (or its config dict) to `SCHEMES`, for `get`, studies
    and `rnninit-tune --initializers`.

    Raises:
        ValueError: not a scheme, its name is a Keras initializer identifier
            (it would be ambiguous), or it is taken (unless `overwrite`).
    """
    if isinstance(scheme, dict):
        scheme = Scheme.from_config(scheme)
    if not isinstance(scheme, Scheme):
        raise ValueError(f"`scheme` must be a Scheme. Received: scheme={scheme!r}")
    if is_keras_initializer(scheme.name):
        raise ValueError(
            f"A scheme cannot be named {scheme.name!r}: that is a Keras "
            "initializer identifier, which names the recurrent kernel alone."
        )
    if scheme.name in SCHEMES and not overwrite:
        raise ValueError(
            f"A scheme named {scheme.name!r} is already registered; pass "
            "overwrite=True to replace it."
        )
    SCHEMES[scheme.name] = scheme
    return scheme


def scheme_names():
    """The names of the registered schemes."""
    return list(SCHEMES)


def _arguments(text, name):
    """`{"max_timesteps": T}` from the inside of `name(max_timesteps=T)`."""
    arguments = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key != "max_timesteps":
            raise ValueError(
                f"Scheme {name!r} takes one argument, max_timesteps=T (Chrono's "
                f"longest dependency). Received: {item!r}"
            )
        try:
            arguments[key] = float(value)
        except ValueError:
            raise ValueError(
                f"max_timesteps must be a number. Received: {item!r}"
            ) from None
        if arguments[key].is_integer():
            arguments[key] = int(arguments[key])
    return arguments


def _registered(name, text):
    call = _CALL.match(name)
    base, arguments = (call.group(1), _arguments(call.group(2), name)) if call else (
        name, {})
    if base not in SCHEMES:
        raise ValueError(
            f"Unknown scheme {text!r}. Schemes: {scheme_names()}"
        )
    scheme = SCHEMES[base]
    if "max_timesteps" in arguments:
        scheme = scheme.with_max_timesteps(arguments["max_timesteps"])
    return scheme


def get(identifier):
    """The `Scheme` an identifier names.

    Accepts a `Scheme`; a scheme config dict (with `"layers"`); `scheme:` and
    a registered name (`scheme:chrono`, `scheme:chrono(max_timesteps=500)`),
    a scheme config as JSON text or a `.json` file holding one; a bare
    registered name (`chrono`, `chrono(max_timesteps=500)`). Anything else is
    a Keras initializer identifier (a name, `package>Name`, a config dict or
    its JSON text): the scheme that sets only the recurrent kernel.

    Raises:
        ValueError: unknown scheme or initializer, or a bad config.
    """
    if isinstance(identifier, Scheme):
        return identifier
    if isinstance(identifier, dict) and "layers" in identifier:
        return Scheme.from_config(identifier)
    if isinstance(identifier, str):
        text = identifier.strip()
        if text.startswith(PREFIX):
            body = text[len(PREFIX):].strip()
            if body.startswith("{"):
                return Scheme.from_config(_json(body, text))
            if body.endswith(".json"):
                if not os.path.isfile(body):
                    raise ValueError(f"No scheme file {body!r} ({text!r}).")
                with open(body) as f:
                    return Scheme.from_config(_json(f.read(), body))
            return _registered(body, text)
        base = _CALL.match(text).group(1) if _CALL.match(text) else text
        if base in SCHEMES:
            return _registered(text, text)
        if text.startswith("{"):
            identifier = _json(text, text)
            if "layers" in identifier:
                return Scheme.from_config(identifier)
    if not _needs_max_timesteps(identifier):
        try:
            keras.initializers.get(identifier)
        except (ValueError, TypeError) as e:
            raise ValueError(
                f"{identifier!r} is neither a scheme ({', '.join(SCHEMES)}) "
                f"nor a Keras initializer ({str(e).strip().splitlines()[0]})"
            ) from None
    return Scheme.for_recurrent_initializer(
        identifier, name=initializer_label(identifier))


def _json(text, what):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{what!r} is not valid JSON: {e}") from None


def initializer_label(identifier):
    """A short report name for an initializer identifier."""
    if isinstance(identifier, dict):
        return identifier.get("class_name", "initializer").split(">")[-1]
    if isinstance(identifier, keras.initializers.Initializer):
        return type(identifier).__name__
    text = str(identifier)
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text).get("class_name", text)
        except json.JSONDecodeError:
            return text
    return text.split(">")[-1]


# Applying a scheme -----------------------------------------------------------


def _layer_classes():
    from keras_rnninit.layers import Clockwork
    from keras_rnninit.layers import ClockworkCell
    from keras_rnninit.layers import IndRNN
    from keras_rnninit.layers import IndRNNCell

    return (
        ("lstm", (keras.layers.LSTM, keras.layers.LSTMCell)),
        ("gru", (keras.layers.GRU, keras.layers.GRUCell)),
        ("simple_rnn", (keras.layers.SimpleRNN, keras.layers.SimpleRNNCell)),
        ("indrnn", (IndRNN, IndRNNCell)),
        ("clockwork", (Clockwork, ClockworkCell)),
    )


def layer_kind(cls):
    """The kind of a recurrent layer or cell class (`"rnn"` if none)."""
    for kind, classes in _layer_classes():
        if isinstance(cls, type) and issubclass(cls, classes):
            return kind
    return "rnn"


def _class_of(serialized):
    name = serialized.get("registered_name") or serialized.get("class_name", "")
    cls = keras.saving.get_registered_object(name)
    if cls is None:
        cls = getattr(keras.layers, serialized.get("class_name", ""), None)
    return cls


def _input_length(layer):
    try:
        shape = layer.input.shape
    except (AttributeError, ValueError):
        return None
    return shape[1] if len(shape) >= 3 else None


def _set(config, cls, scheme, max_timesteps, path, applied):
    """Sets the scheme's initializers in a layer config and every nested
    cell or wrapped layer; appends `{layer, class, set}` to `applied`."""
    kind = layer_kind(cls)
    rules = scheme.rules(kind)
    changed = {}
    for weight, key in WEIGHTS.items():
        if weight not in rules or key not in config:
            continue
        initializer = resolve_initializer(
            rules[weight], max_timesteps, where=f"{path}, {weight}")
        config[key] = keras.initializers.serialize(initializer)
        changed[key] = initializer_text(initializer)
    if "bias_initializer" in changed and kind == "lstm" and config.get(
        "unit_forget_bias"
    ):
        config["unit_forget_bias"] = False
        changed["unit_forget_bias"] = False
    if changed:
        applied.append({"layer": path, "class": cls.__name__, "set": changed})
    nested = [(key, config.get(key)) for key in ("cell", "layer", "backward_layer")]
    nested += [(f"cells[{i}]", c) for i, c in enumerate(config.get("cells") or [])]
    for key, inner in nested:
        if isinstance(inner, dict) and isinstance(inner.get("config"), dict):
            _set(inner["config"], _class_of(inner) or type(None), scheme,
                 max_timesteps, f"{path}.{key}", applied)


def _is_recurrent(layer):
    return isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))


def apply_scheme(model, scheme):
    """A copy of `model` with `scheme`'s initializers in its recurrent layers.

    Every `keras.layers.RNN` (SimpleRNN, LSTM, GRU, IndRNN, Clockwork,
    `RNN(cell)`), also inside `Bidirectional`, is rebuilt from its config
    with the initializers the scheme names for its kind; every other layer
    is rebuilt unchanged. The copy has fresh weights; compile it before
    training.

    Args:
        model: a Sequential or functional `keras.Model`.
        scheme: a `Scheme` or anything `get` accepts (a scheme name, a
            Keras initializer identifier: the recurrent kernel only).

    Returns:
        `(copy, applied)`: `applied` lists, for each layer or cell the
        scheme changed, `{"layer": path, "class": name, "set": {config key:
        "Initializer(config)"}}` (`describe_applied` makes it one line).

    Raises:
        ValueError: a subclassed model, a model the scheme changes nothing
            in, an initializer that does not fit a layer (named), or Chrono
            where a layer's input length is unknown and `max_timesteps` not
            given.
    """
    scheme = get(scheme)
    if model.__class__.__name__ not in ("Sequential", "Functional"):
        raise ValueError(
            f"Model {model.name!r} is a subclassed {type(model).__name__}: its "
            "layers cannot be rebuilt from config. Use a Sequential or "
            "functional model."
        )
    applied = []

    def clone(layer):
        config = layer.get_config()
        if _is_recurrent(layer):
            max_timesteps = scheme.max_timesteps or _input_length(layer)
            _set(config, type(layer), scheme, max_timesteps, layer.name, applied)
        return layer.__class__.from_config(config)

    try:
        copy = keras.models.clone_model(model, clone_function=clone)
    except _SchemeError:
        raise
    except Exception as e:
        done = sorted({a["layer"].split(".")[0] for a in applied})
        raise ValueError(
            f"Rebuilding {model.name!r} with {scheme.title} failed "
            f"(after layers {done}): {str(e).strip().splitlines()[0]}"
        ) from None
    if not applied:
        kinds = ("every kind" if "*" in scheme.layers
                 else ", ".join(sorted(scheme.layers)))
        raise ValueError(
            f"Model {model.name!r} has no recurrent layer that "
            f"{scheme.title} sets (it sets {kinds}; recurrent layers: "
            "SimpleRNN, LSTM, GRU, IndRNN, Clockwork, keras.layers.RNN(cell)): "
            "there is nothing to compare."
        )
    return copy, applied


def describe_applied(applied):
    """One line: what a scheme set, layer by layer."""
    return "; ".join(
        f"{a['layer']} ({a['class']}): "
        + ", ".join(f"{key} {value}" for key, value in a["set"].items())
        for a in applied
    )


__all__ = [
    "LAYER_KINDS",
    "SCHEMES",
    "Scheme",
    "apply_scheme",
    "describe_applied",
    "get",
    "register_scheme",
    "scheme_names",
]
