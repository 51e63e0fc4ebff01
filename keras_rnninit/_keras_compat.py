"""The Keras internals this package relies on, in one place.

Keras keeps some things private that a recurrent layer needs: the dropout
mixin of its own RNN cells, whether a cell's `call` takes `training`, a
layer's own variable lists and its variable tracker. Each is reached here
only, and importing this module checks that the installed Keras is in the
range the package is tested on (`version.KERAS_REQUIREMENT`), failing with
one line that says what to install otherwise.
"""

import re
import sys

import keras

from keras_rnninit.version import KERAS_REQUIREMENT


def _release(text):
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def check_keras_version(version=keras.__version__):
    """Raises ImportError when `version` is outside `KERAS_REQUIREMENT`."""
    lower, upper = re.fullmatch(r">=([\d.]+),<([\d.]+)", KERAS_REQUIREMENT).groups()
    if not _release(lower) <= _release(version) < _release(upper):
        raise ImportError(
            f"keras-rnninit needs Keras {KERAS_REQUIREMENT} and found Keras "
            f"{version!r}; install a supported one: "
            f"pip install 'keras{KERAS_REQUIREMENT}'")


check_keras_version()

try:
    from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell  # noqa: F401
except ImportError as e:  # pragma: no cover - only on an untested Keras
    raise ImportError(
        f"keras-rnninit could not find Keras's DropoutRNNCell in Keras "
        f"{keras.__version__!r} ({e}); install Keras{KERAS_REQUIREMENT} "
        "as tested, or report the version") from e


def cell_takes_training(cell):
    """Whether `cell.call` takes a `training` argument (Keras checks once)."""
    return getattr(cell, "_call_has_training_arg", False)


def no_autocast():
    """A context in which float variables read as their own dtype.

    Inside a mixed-precision layer's call, Keras reads variables cast to the
    compute dtype, and on torch `variable.assign` writes into that cast
    copy, so the write is lost (a stateful RNN's states stay at zero).
    """
    from keras.src.backend import AutocastScope

    return AutocastScope(None)


def own_variables(layer):
    """The variables a layer created itself (not its sublayers'), in the
    order Keras saves them."""
    return list(layer._trainable_variables) + list(layer._non_trainable_variables)


def set_variable_tracked(layer, variable, tracked):
    """Lists `variable` among `layer`'s non-trainable variables, or unlists
    it. Keras's RNN keeps its stateful `states` out of that list."""
    tracker = layer._tracker
    listed = tracker.is_in_store("non_trainable_variables", variable)
    if tracked and not listed:
        locked = tracker.locked
        tracker.unlock()
        layer._track_variable(variable)
        if locked:
            tracker.lock()
    elif not tracked and listed:
        layer._untrack_variable(variable)


def layer_creating_weight(max_depth=32):
    """The layer whose `build` is creating a weight right now, or None.

    An initializer runs inside `Layer.add_weight`, called from the layer's
    `build`; Keras's `LSTMCell` with `unit_forget_bias=True` calls it from a
    function `build` defines, which closes over the cell. Either way the
    first caller frame whose `self` is a layer names it (the initializer's
    own frames are skipped: it is not a layer; TensorFlow runs the
    initializer a dozen frames below `add_weight`). None when the initializer is
    called directly, or when Keras creates the weight later, outside `build`
    (a variable made in a stateless scope).
    """
    frame = sys._getframe(1)
    for _ in range(max_depth):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        if isinstance(owner, keras.layers.Layer):
            return owner
        frame = frame.f_back
    return None


def build_for_fit(model, batch):
    """Builds what `fit` builds from its first batch, from `batch` instead.

    A model whose compiled loss and metrics are not built yet makes `fit` (on
    JAX and PyTorch) draw a batch from the training data and then start the
    data over: a dataset that reshuffles or draws new examples on each pass
    then trains on its second pass, and a model that is already built on its
    first. Building from another batch (a validation batch) first makes the
    training data a model sees the same either way.
    """
    model._symbolic_build(data_batch=tuple(batch))
