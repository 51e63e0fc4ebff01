"""What a study compares: candidates, each a `build(hp, seed)` of a compiled model.

A candidate is a name and a function that builds and compiles a fresh model
for one trial. The built-in model families are candidates
(`family_candidates`); so is a user's own model with its recurrent layers'
initializer swapped (`initializer_candidates`), rebuilt from its config with
`keras.models.clone_model`, nothing else changed.
"""

import dataclasses
import json

import keras

from keras_rnninit import models


class StudyError(ValueError):
    """The study cannot start: a bad setting, model, or data. One clear line."""


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One thing a study compares.

    Args:
        name: the name the report uses (a family, an initializer).
        build: `(hp, seed) -> compiled keras.Model`. `hp` is a dict with at
            least `learning_rate`, and the optimizer settings the protocol
            sets (`optimizer`, `clipnorm`, `clipvalue`, a scale).
        description: one line for the report.
        optimizer: the candidate's own optimizer name (the sweep keeps it
            when the study does not set one).
        clipnorm: its gradient-norm clipping, or None.
        clipvalue: its elementwise gradient clipping, or None.
        scale: a `models.Hyperparameter` the random protocol varies, or None.
    """

    name: str
    build: object = dataclasses.field(repr=False)
    description: str = ""
    optimizer: str = "adam"
    clipnorm: float = None
    clipvalue: float = None
    scale: object = None


def optimizer_settings(hp):
    """`(optimizer, learning_rate, clipnorm, clipvalue)` from a trial's `hp`."""
    return (
        hp.get("optimizer", "adam"),
        float(hp["learning_rate"]),
        hp.get("clipnorm") or None,
        hp.get("clipvalue") or None,
    )


def family_candidates(task_factory, families, units=None, layers=None):
    """The built-in model families as candidates.

    Args:
        task_factory: `seed -> Task`, the task each trial's model is built
            for (the model only reads its shapes, loss and metric).
        families: names from `models.FAMILIES`.
        units: override of each family's paper units, or None.
        layers: override of each family's paper depth, or None.
    """
    candidates = []
    for name in families:
        spec = models.get_family(name)

        def build(hp, seed, spec=spec):
            optimizer, lr, clipnorm, clipvalue = optimizer_settings(hp)
            extra = {
                p.name: hp[p.name] for p in spec.hyperparameters if p.name in hp
            }
            return models.build_model(
                spec.name, task_factory(seed), units=units, layers=layers,
                optimizer=optimizer, learning_rate=lr, clipnorm=clipnorm,
                clipvalue=clipvalue, seed=seed, **extra,
            )

        depth = layers or spec.layers
        candidates.append(Candidate(
            name=name,
            build=build,
            description=f"{depth} x {units or spec.units}: {spec.description}",
            optimizer=spec.optimizer,
            clipnorm=spec.clipnorm,
            clipvalue=spec.clipvalue,
            scale=spec.scale_hyperparameter,
        ))
    return candidates


def resolve_initializer(identifier):
    """A Keras initializer from a name, `package>Name`, a dict, or JSON text."""
    if isinstance(identifier, str) and identifier.lstrip().startswith("{"):
        try:
            identifier = json.loads(identifier)
        except json.JSONDecodeError as e:
            raise StudyError(f"Initializer {identifier!r} is not valid JSON: {e}")
    try:
        initializer = keras.initializers.get(identifier)
    except (ValueError, TypeError) as e:
        raise StudyError(
            f"Unknown initializer {identifier!r}: {str(e).splitlines()[0]}"
        ) from None
    if initializer is None:
        raise StudyError(f"Unknown initializer {identifier!r}.")
    return initializer


def initializer_label(identifier):
    """A short report name for an initializer identifier."""
    if isinstance(identifier, dict):
        return identifier.get("class_name", "initializer")
    text = str(identifier)
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text).get("class_name", text)
        except json.JSONDecodeError:
            return text
    return text.split(">")[-1]


def _swap(config, initializer):
    """Sets `recurrent_initializer` in a layer config and any nested cell or
    wrapped layer; returns how many were set."""
    count = 0
    if "recurrent_initializer" in config:
        config["recurrent_initializer"] = keras.initializers.serialize(
            keras.initializers.get(keras.initializers.serialize(initializer))
        )
        count += 1
    for key in ("cell", "layer", "backward_layer"):
        nested = config.get(key)
        if isinstance(nested, dict) and isinstance(nested.get("config"), dict):
            count += _swap(nested["config"], initializer)
    for nested in config.get("cells", None) or []:
        if isinstance(nested, dict) and isinstance(nested.get("config"), dict):
            count += _swap(nested["config"], initializer)
    return count


def _is_recurrent(layer):
    return isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))


def with_recurrent_initializer(model, initializer):
    """A copy of `model` whose recurrent layers use `initializer`.

    Every `keras.layers.RNN` (SimpleRNN, LSTM, GRU, IndRNN, any RNN whose
    cell has a `recurrent_initializer`), also inside `Bidirectional`, is
    rebuilt from its config with the new initializer; every other layer is
    rebuilt unchanged. The copy has fresh weights; compile it (`recompile`)
    before training.

    Raises:
        StudyError: the model cannot be cloned (a subclassed model) or has
            no recurrent layer.
    """
    if model.__class__.__name__ not in ("Sequential", "Functional"):
        raise StudyError(
            f"Model {model.name!r} is a subclassed {type(model).__name__}: its "
            "layers cannot be rebuilt from config. Use a Sequential or "
            "functional model."
        )
    swapped = []

    def clone(layer):
        config = layer.get_config()
        if _is_recurrent(layer) and _swap(config, initializer):
            swapped.append(layer.name)
        return layer.__class__.from_config(config)

    try:
        copy = keras.models.clone_model(model, clone_function=clone)
    except Exception as e:
        raise StudyError(
            f"Rebuilding {model.name!r} with the recurrent initializer "
            f"{type(initializer).__name__} failed (after layers "
            f"{swapped}): {str(e).strip().splitlines()[0]}"
        ) from None
    if not swapped:
        raise StudyError(
            f"Model {model.name!r} has no recurrent layer with a "
            "recurrent_initializer (SimpleRNN, LSTM, GRU, IndRNN, "
            "keras.layers.RNN(cell)): there is nothing to compare."
        )
    return copy


def recompile(model, source, optimizer):
    """Compiles `model` with `source`'s loss and metrics and a new `optimizer`."""
    config = source.get_compile_config()
    if config is None:
        raise StudyError(
            f"Model {source.name!r} is not compiled: the model function must "
            "return a compiled model (its loss and metrics are kept)."
        )
    config = dict(config)
    config["optimizer"] = keras.optimizers.serialize(optimizer)
    model.compile_from_config(config)
    return model


def _optimizer_for(source, hp):
    """The trial's optimizer: the user's own with the trial's learning rate,
    or the one the protocol names, with the trial's clipping."""
    name, lr, clipnorm, clipvalue = optimizer_settings(hp)
    if hp.get("optimizer") is None:
        config = source.optimizer.get_config()
        config["learning_rate"] = lr
        return source.optimizer.__class__.from_config(config)
    return models.make_optimizer(name, lr, clipnorm, clipvalue)


def initializer_candidates(model_fn, initializers):
    """One candidate per initializer, over the user's `model_fn`.

    Args:
        model_fn: `() -> compiled keras.Model` with at least one recurrent
            layer. Called once per trial, under the trial's seed.
        initializers: Keras initializer identifiers (`"orthogonal"`,
            `"identity"`, `"keras_rnninit>NPInit"`, a config dict or its
            JSON text).
    """
    candidates = []
    labels = [initializer_label(i) for i in initializers]
    if len(set(labels)) != len(labels):
        raise StudyError(f"An initializer is listed twice: {labels}")
    for identifier, label in zip(initializers, labels):
        resolve_initializer(identifier)

        def build(hp, seed, identifier=identifier):
            source = model_fn()
            model = with_recurrent_initializer(
                source, resolve_initializer(identifier)
            )
            return recompile(model, source, _optimizer_for(source, hp))

        candidates.append(Candidate(
            name=label, build=build,
            description=f"the model's recurrent layers initialized with {label}",
            optimizer=None,
        ))
    return candidates
