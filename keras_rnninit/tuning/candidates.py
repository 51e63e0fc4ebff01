"""What a study compares: candidates, each a `build(hp, seed)` of a compiled model.

A candidate is a name and a function that builds and compiles a fresh model
for one trial. The built-in model families are candidates
(`family_candidates`); so is a user's own model with an initialization
scheme applied to its recurrent layers (`initializer_candidates`; a bare
recurrent initializer is the scheme that sets the recurrent kernel alone),
rebuilt from its config with `keras.models.clone_model`, nothing else
changed.
"""

import dataclasses
import json

import keras

from keras_rnninit import models
from keras_rnninit import schemes as schemes_lib
from keras_rnninit.tuning.errors import StudyError  # noqa: F401  (its home here)


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
            raise StudyError(
                f"Initializer {identifier!r} is not valid JSON: {e}") from None
    try:
        return schemes_lib.resolve_initializer(identifier)
    except ValueError as e:
        raise StudyError(str(e)) from None


def initializer_label(identifier):
    """A short report name for an initializer identifier."""
    return schemes_lib.initializer_label(identifier)


def resolve_scheme(identifier):
    """The `schemes.Scheme` an identifier names: a scheme (`chrono`,
    `scheme:chrono(max_timesteps=500)`, a config), or a Keras initializer
    identifier, the scheme that sets only the recurrent kernel."""
    try:
        return schemes_lib.get(identifier)
    except ValueError as e:
        raise StudyError(str(e)) from None


def with_scheme(model, scheme):
    """`(copy, applied)`: `schemes.apply_scheme`, its errors a `StudyError`."""
    try:
        return schemes_lib.apply_scheme(model, scheme)
    except ValueError as e:
        raise StudyError(str(e)) from None


def with_recurrent_initializer(model, initializer):
    """A copy of `model` whose recurrent layers use `initializer`.

    The scheme that sets only the recurrent kernel (`with_scheme`): every
    `keras.layers.RNN` (SimpleRNN, LSTM, GRU, IndRNN, any RNN whose cell has
    a `recurrent_initializer`), also inside `Bidirectional`, is rebuilt from
    its config with the new initializer; every other layer is rebuilt
    unchanged. The copy has fresh weights; compile it (`recompile`) before
    training.

    Raises:
        StudyError: the model cannot be cloned (a subclassed model) or has
            no recurrent layer.
    """
    scheme = schemes_lib.Scheme.for_recurrent_initializer(
        initializer, name=initializer_label(initializer))
    return with_scheme(model, scheme)[0]


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
    """One candidate per initialization scheme, over the user's `model_fn`.

    Args:
        model_fn: `() -> compiled keras.Model` with at least one recurrent
            layer. Called once per build (each trial, under the trial's
            seed); the first call happens here, to say what each scheme
            sets in which layer.
        initializers: schemes (`"chrono"`, `"npinit"`, `"irnn"`,
            `"chrono(max_timesteps=500)"`, `"scheme:NAME"`, a scheme config
            or a `schemes.Scheme`) and Keras initializer identifiers
            (`"orthogonal"`, `"identity"`, `"keras_rnninit>NPInit"`, a config
            dict or its JSON text), which set the recurrent kernel only.

    Each candidate's description names what its scheme set in each layer.
    """
    resolved = [resolve_scheme(i) for i in initializers]
    labels = [scheme.label for scheme in resolved]
    if len(set(labels)) != len(labels):
        raise StudyError(f"An initializer is listed twice: {labels}")
    # One model says what each scheme sets in which layer. It is also the
    # first build's source, so that model_fn runs once per build as before
    # (the copy's weights are new either way: the source is a template).
    spare = [model_fn()]
    candidates = []
    for scheme in resolved:
        _, applied = with_scheme(spare[0], scheme)

        def build(hp, seed, scheme=scheme):
            source = spare.pop() if spare else model_fn()
            model, _ = with_scheme(source, scheme)
            return recompile(model, source, _optimizer_for(source, hp))

        candidates.append(Candidate(
            name=scheme.label, build=build,
            description=(f"{scheme.description}. Set: "
                         f"{schemes_lib.describe_applied(applied)}"),
            optimizer=None,
        ))
    return candidates
