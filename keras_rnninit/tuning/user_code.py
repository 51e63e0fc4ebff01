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


def _first_batch(split, name, flag):
    """`(x, y)` of the first batch of a dataset, or the arrays themselves."""
    if not _is_dataset(split):
        return split
    try:
        batch = next(iter(split.take(1).as_numpy_iterator()))
    except StopIteration:
        raise StudyError(f"{flag}: the {name} dataset is empty.") from None
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise StudyError(
            f"{flag}: the {name} dataset must give (x, y) batches. Received "
            f"batches of {type(batch).__name__}")
    return batch[0], batch[1]


def _shape(shape):
    """`(n, 6, 2)`: a shape, any batch size shown as n."""
    dims = ["n" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _examples_shape(a):
    """The shape of a batch of examples, its size shown as n (a message
    about one batch must not read as the size of the whole split)."""
    return _shape((None,) + tuple(a.shape[1:]))


def _loss_name(model):
    loss = model.loss
    if isinstance(loss, (list, tuple, dict)):
        return None  # several outputs: each its own loss, not checked here
    if isinstance(loss, str):
        return loss
    return getattr(loss, "name", None) or getattr(loss, "__name__", None)


def check_data(model, train, validation, flag="--data"):
    """Checks `(train, validation)` against a compiled model before the first
    trial, one clear line for each mistake: inputs that do not have the
    model's input shape, targets that do not have the shape its output and
    loss need (Keras would broadcast them silently), class labels out of
    range, values that are not finite, an empty split."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return  # several inputs or outputs: Keras's own checks apply
    expected_in = tuple(model.inputs[0].shape)
    expected_out = tuple(model.outputs[0].shape)
    loss = _loss_name(model) or ""
    for split, name in ((train, "training"), (validation, "validation")):
        x, y = (np.asarray(a) for a in _first_batch(split, name, flag))
        for part, a in (("inputs", x), ("targets", y)):
            if a.dtype.kind in "fc" and not np.isfinite(a).all():
                raise StudyError(f"{flag}: the {name} {part} hold NaN or inf.")
        if x.ndim != len(expected_in) or any(
                e is not None and e != r for e, r in zip(expected_in[1:], x.shape[1:])):
            raise StudyError(
                f"{flag}: the {name} inputs x have shape {_examples_shape(x)} and "
                f"the model takes {_shape(expected_in)}.")
        _check_targets(y, expected_out, loss, name, flag)


def _check_targets(y, expected, loss, name, flag):
    received, wanted = tuple(y.shape[1:]), tuple(expected[1:])
    if "sparse" in loss:
        classes = expected[-1]
        if received not in (wanted[:-1], wanted[:-1] + (1,)):
            raise StudyError(
                f"{flag}: the {name} targets y have shape {_examples_shape(y)}; "
                f"with loss {loss!r} and the model's output "
                f"{_shape(expected)} they must be class indices of shape "
                f"{_shape((None,) + wanted[:-1])}.")
        if y.dtype.kind == "f" and not np.all(y == np.round(y)):
            raise StudyError(
                f"{flag}: the {name} targets y must be class indices with loss "
                f"{loss!r}; they hold fractions (e.g. {y.flat[0]!r}).")
        if classes is not None and y.size and (y.min() < 0 or y.max() >= classes):
            raise StudyError(
                f"{flag}: the {name} targets y hold class {int(y.max() if y.max() >= classes else y.min())}; "
                f"the model's output has {classes} classes (0 to {classes - 1}).")
        return
    # Keras drops a trailing 1 of the output to match (n,) targets.
    if received == wanted or (wanted[-1:] == (1,) and received == wanted[:-1]):
        return
    raise StudyError(
        f"{flag}: the {name} targets y have shape {_examples_shape(y)} and the "
        f"model's output is {_shape(expected)} (loss {loss!r}): Keras would "
        f"broadcast them; give targets of shape {_shape((None,) + wanted)}.")


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
            if len(train[0]) < batch_size:
                raise StudyError(
                    f"{flag}: the training data has {len(train[0])} examples, "
                    f"fewer than the batch size {batch_size} (--batch-size).")
            train = tf.data.Dataset.from_tensor_slices(train).shuffle(
                len(train[0]), seed=seed, reshuffle_each_iteration=True
            ).batch(batch_size)
        return train, validation

    return provide
