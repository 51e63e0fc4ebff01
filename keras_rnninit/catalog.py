"""The built-in names the command lines list in `--help`, importable
without Keras, so that `--help` answers at once.

The registries (`keras_rnninit.families.FAMILIES`, `keras_rnninit.schemes`,
`keras_rnninit.tasks`) are
what a run checks its arguments against; the tests check that they list
these names.
"""

import sys

# Model family: one line on its activation and initializers.
FAMILIES = {
    "irnn": "ReLU SimpleRNN, recurrent ScaledIdentity(1.0), inputs N(0, 0.001^2)",
    "irnn-scaled": (
        "ReLU SimpleRNN, recurrent ScaledIdentity(gain) (iRNN: gain 0.01), "
        "inputs N(0, 0.001^2)"
    ),
    "np-rnn": "ReLU SimpleRNN, recurrent NPInit, inputs RandomWalkNormal",
    "np-tanh": "tanh SimpleRNN, recurrent NPInit, inputs RandomWalkNormal",
    "tanh-rnn": "tanh SimpleRNN, recurrent Orthogonal, inputs GlorotUniform",
    "lstm": "LSTM, forget-gate bias 1 (unit_forget_bias), Orthogonal / Glorot",
    "lstm-chrono": (
        "LSTM, chrono gate biases Chrono(T_max), T_max the task's length "
        "unless max_timesteps is set, Orthogonal / Glorot"
    ),
    "indrnn": (
        "stacked ReLU IndRNN, u ~ U(0, gamma^(1/T)) clamped to gamma^(1/T),"
        " last layer u ~ U((1/gamma)^(1/T), gamma^(1/T)), inputs "
        "kaiming_uniform(a=8)"
    ),
    "clockwork": "Clockwork RNN, modules with periods 1, 2, 4, ..., Orthogonal / Glorot",
}
# Initialization scheme (`keras_rnninit.schemes`): one line on what it sets.
SCHEMES = {
    "chrono": (
        "LSTM and GRU: orthogonal recurrent kernel, chrono gate biases "
        "(T_max: the layer's input length), unit_forget_bias off; other "
        "layers unchanged (Tallec and Ollivier, 2018, arXiv 1804.11188)"
    ),
    "npinit": (
        "every recurrent layer: NPInit recurrent kernel (per gate block), "
        "RandomWalkNormal input kernel (np-RNN, Talathi and Vartak, 2015, "
        "arXiv 1511.03771)"
    ),
    "irnn": (
        "every recurrent layer: identity recurrent kernel (per gate block), "
        "N(0, 0.001^2) input kernel (IRNN, Le et al., 2015, arXiv 1504.00941)"
    ),
}
# Keras's own initializer identifiers (`keras.initializers.get`) and this
# package's registered initializers, `keras_rnninit>Name`: what
# `rnninit-tune --initializers` is checked against before Keras loads (a test
# keeps both lists in step with Keras and the package).
KERAS_INITIALIZERS = (
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
    "Identity", "IdentityInitializer", "Initializer", "LecunNormal",
    "LecunUniform", "Ones", "Orthogonal", "OrthogonalInitializer",
    "RandomNormal", "RandomUniform", "STFT", "STFTInitializer",
    "TruncatedNormal", "VarianceScaling", "Zeros", "constant",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
    "initializer", "lecun_normal", "lecun_uniform", "normal", "one", "ones",
    "orthogonal", "random_normal", "random_uniform", "stft",
    "truncated_normal", "uniform", "variance_scaling", "zero", "zeros",
)
PACKAGE_INITIALIZERS = tuple(
    f"keras_rnninit>{name}" for name in (
        "ScaledIdentity", "IRNN", "NormalizedPositiveDefinite", "NPInit",
        "RandomWalkNormal", "NPInputInit", "Chrono"))
TASKS = ("adding", "multiplication", "copy", "mnist", "permuted-mnist", "digits",
         "waveform")
# Each task's objective and direction, so that a threshold no model can
# reach is refused before Keras loads.
TASK_OBJECTIVES = {
    "adding": ("val_mse", "min"), "multiplication": ("val_mse", "min"),
    "copy": ("val_accuracy", "max"), "mnist": ("val_accuracy", "max"),
    "permuted-mnist": ("val_accuracy", "max"), "digits": ("val_accuracy", "max"),
    "waveform": ("val_nmse", "min"),
}
OPTIMIZERS = ("adam", "sgd", "rmsprop")
# Study protocols (`keras_rnninit.tuning.protocols`).
PROTOCOLS = ("sweep", "random")
# Distribution strategies (`keras_rnninit.tuning.strategy`).
STRATEGIES = ("auto", "default", "mirrored", "multiworker", "tpu")


def families():
    """Family name -> description: the registry's once it is loaded (it may
    hold families a program registered), else the built-ins above."""
    registry = sys.modules.get("keras_rnninit.families")
    if registry is None:
        return dict(FAMILIES)
    return {name: spec.description for name, spec in registry.FAMILIES.items()}


def schemes():
    """Scheme name -> description: the registry's once it is loaded, else
    the built-ins above."""
    registry = sys.modules.get("keras_rnninit.schemes")
    if registry is None:
        return dict(SCHEMES)
    return {name: s.description for name, s in registry.SCHEMES.items()}


def tasks():
    """Task names: the registry's once it is loaded, else the built-ins."""
    registry = sys.modules.get("keras_rnninit.tasks")
    return list(registry.names()) if registry is not None else list(TASKS)


def unknown_name(kind, name, valid, listed_by="rnninit-tune --help",
                 listing=None):
    """The one line for a `kind` name that is not among `valid`: the closest
    valid name, and where they are listed (or `listing`, said instead)."""
    import difflib

    valid = list(valid)
    text = str(name)
    close = difflib.get_close_matches(text, valid, n=1, cutoff=0.6)
    if not close:  # the same name in other letter case, or a prefix of one
        close = [v for v in valid if v.lower() == text.lower()] or [
            v for v in valid if len(text) >= 3 and v.startswith(text)]
    hint = f"did you mean {close[0]!r}? " if close else ""
    listing = listing or f"{listed_by} lists them ({', '.join(valid)})"
    return f"unknown {kind} {name!r}: {hint}{listing}."
