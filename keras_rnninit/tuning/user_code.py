"""A user's model and data, named `MODULE:FUNCTION`, checked before a study."""

import importlib
import inspect
import os
import sys

import keras
import numpy as np

from keras_rnninit.tuning.candidates import StudyError


def load_function(reference, flag):
    """The function named by `MODULE:FUNCTION` (a module path or a `.py` file).

    The current directory is importable, as with `python -m`.
    """
    if not isinstance(reference, str) or reference.count(":") != 1:
        raise StudyError(
            f"{flag} needs MODULE:FUNCTION, e.g. my_models:make_model. "
            f"Received: {reference!r}"
        )
    module_name, function_name = reference.split(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if module_name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(
                os.path.splitext(os.path.basename(module_name))[0], module_name
            )
            if spec is None or not os.path.exists(module_name):
                raise ImportError(f"no file {module_name}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except Exception as e:  # any error in the user's module
        raise StudyError(
            f"{flag}: module {module_name!r} does not import: "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise StudyError(
            f"{flag}: module {module_name!r} has no function {function_name!r}."
        )
    return function


def checked_model_fn(function, flag="--model"):
    """Wraps a model function so a wrong return is one clear error."""

    def model_fn():
        try:
            model = function()
        except Exception as e:
            raise StudyError(
                f"{flag}: {function.__name__}() raised {type(e).__name__}: {e}"
            ) from None
        if not isinstance(model, keras.Model):
            raise StudyError(
                f"{flag}: {function.__name__}() must return a compiled "
                f"keras.Model. Received: {type(model).__name__}"
            )
        if not getattr(model, "compiled", False):
            raise StudyError(
                f"{flag}: {function.__name__}() returned a model that is not "
                "compiled; compile it with its loss and metrics."
            )
        return model

    return model_fn


def _is_dataset(value):
    try:
        import tensorflow as tf
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, tf.data.Dataset)


def _arrays(split, name, flag):
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise StudyError(
            f"{flag}: the {name} data must be a tf.data.Dataset or an (x, y) "
            f"pair of arrays. Received: {type(split).__name__}"
        )
    try:
        x, y = (np.asarray(a) for a in split)
    except Exception as e:
        raise StudyError(f"{flag}: the {name} (x, y) are not arrays: {e}") from None
    if len(x) == 0 or len(x) != len(y):
        raise StudyError(
            f"{flag}: the {name} x and y must be non-empty and of the same "
            f"length. Received: {len(x)} and {len(y)} examples"
        )
    for part, a in (("x", x), ("y", y)):
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            raise StudyError(f"{flag}: the {name} {part} holds NaN or inf.")
    return x, y


def data_provider(function, batch_size, flag="--data"):
    """`seed -> (train, validation)` tf.data datasets from a user's function.

    `function()` returns `(train, validation)`, each a `tf.data.Dataset` of
    `(x, y)` batches or an `(x, y)` pair of arrays. Training arrays are
    batched and shuffled with the trial's seed (so seeds also vary the data
    order); validation arrays stay arrays; a dataset is used as given. If the
    function takes `seed`, it gets it.
    """
    import tensorflow as tf

    takes_seed = "seed" in inspect.signature(function).parameters

    def provide(seed):
        # Called for every trial: a dataset that draws new examples each time
        # it is iterated must not carry one trial's position into the next.
        try:
            value = function(seed=seed) if takes_seed else function()
        except Exception as e:
            raise StudyError(
                f"{flag}: {function.__name__}() raised {type(e).__name__}: {e}"
            ) from None
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise StudyError(
                f"{flag}: {function.__name__}() must return (train, "
                f"validation). Received: {type(value).__name__}"
            )
        train, validation = [
            split if _is_dataset(split) else _arrays(split, name, flag)
            for split, name in zip(value, ("training", "validation"))
        ]
        if not _is_dataset(train):
            train = tf.data.Dataset.from_tensor_slices(train).shuffle(
                len(train[0]), seed=seed, reshuffle_each_iteration=True
            ).batch(batch_size)
        return train, validation

    return provide
