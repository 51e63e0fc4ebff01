"""One compiled model per architecture, reused across a study's trials.

Every trial builds a fresh model for its seed and learning rate, and Keras
would trace (on JAX also compile) its train and test steps anew: seconds a
trial, a quarter of a short one. Those steps depend on the architecture, the
loss, the metrics and the optimizer's kind and clipping, not on the initial
weights or the learning rate. So the first model of each architecture is
kept, and a later trial's fresh model only lends it its initial state
(weights, random-seed state, optimizer slots and learning rate): the kept
model then trains exactly as the fresh one would have (tested on JAX and
TensorFlow). PyTorch runs eagerly, with nothing to save: there, every trial
keeps its fresh model.
"""

import collections
import json

import keras


class CompiledModels:
    """Keeps up to `capacity` compiled models, one per architecture."""

    def __init__(self, capacity=8):
        self.capacity = capacity
        self._models = collections.OrderedDict()

    def take(self, model):
        """`model`'s initial state in the kept model of its architecture, or
        `model` itself (then kept) when there is none yet."""
        if keras.backend.backend() not in ("jax", "tensorflow"):
            return model
        key = signature(model)
        if key is None:
            return model
        kept = self._models.get(key)
        if kept is not None and copy_state(model, kept):
            self._models.move_to_end(key)
            return kept
        self._models[key] = model
        self._models.move_to_end(key)
        while len(self._models) > self.capacity:
            self._models.popitem(last=False)
        return model


def signature(model):
    """What the compiled steps depend on, as text; None if not comparable.

    The model's and compile configs, without initializers (they only set the
    initial state, which is copied) and without a constant learning rate (a
    variable the optimizer reads), with layer and model names replaced by
    their order of appearance (Keras numbers them per process).
    """
    try:
        compile_config = model.get_compile_config()
        config = model.get_config()
    except Exception:  # A model that cannot describe itself is not reused.
        return None
    if compile_config is None:
        return None
    names = {}
    _collect_names(config, names)
    _collect_names(compile_config, names)
    stripped = _strip(config, names), _strip(compile_config, names)
    return json.dumps(stripped, sort_keys=True, default=repr)


def _collect_names(value, names):
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and name not in names:
            names[name] = f"<{len(names)}>"
        for item in value.values():
            _collect_names(item, names)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_names(item, names)


def _strip(value, names):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.endswith("_initializer"):
                continue
            if key == "learning_rate" and isinstance(item, (int, float)):
                continue
            out[key] = _strip(item, names)
        return out
    if isinstance(value, (list, tuple)):
        return [_strip(item, names) for item in value]
    if isinstance(value, str):
        return names.get(value, value)
    return value


def copy_state(source, target):
    """Assigns `source`'s variables and optimizer state to `target`.

    Returns False, changing nothing, when the two do not line up variable for
    variable (shape and dtype).
    """
    for model in (source, target):
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    pairs = list(zip(source.variables, target.variables)) + list(
        zip(source.optimizer.variables, target.optimizer.variables))
    if (len(source.variables) != len(target.variables)
            or len(source.optimizer.variables) != len(target.optimizer.variables)
            or any(tuple(s.shape) != tuple(t.shape) or s.dtype != t.dtype
                   for s, t in pairs)):
        return False
    for s, t in pairs:
        t.assign(s.value)
    target.stop_training = False
    return True
