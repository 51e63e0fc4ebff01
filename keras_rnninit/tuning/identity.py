"""A study's identity: everything that decides its trials, and how a rerun
is checked against it.

optuna resumes a study by name (`load_if_exists`) and keras-tuner a project
by directory; neither notices when the model, the data or the backend under
that name changed, and both then mix two studies into one answer. Here the
identity of a study is recorded in its `study.json` when it starts:

- the settings (`StudySettings.defining()`: protocol, grid, seeds, budget,
  threshold, ...) and what the caller adds (`context`: the task and its
  arguments, the families, the batch size, the model function's name);
- the Keras backend;
- each candidate's model as built for its first planned trial: its config
  (architecture, initializers; no weights) and its compile config (loss,
  metrics, optimizer class and settings), Keras's per-process layer
  numbering taken out;
- the data: shapes, dtypes and a SHA-256 of the validation arrays and of
  the training data (one pass of it, at most `MAX_BATCHES` batches);
- the versions of the libraries that compute a trial.

A rerun computes the identity again and `check` compares: any difference
that can change a trial refuses the rerun with one line naming it (`the
model changed: layer 'gru' units 16 -> 32`); a patch release of a library
is a warning line. One module computes and compares it: the command line,
the Python API, the workers of a distributed study and the report read it.
"""

import hashlib
import importlib.metadata
import json
import re

from keras_rnninit.tuning.errors import StudyError

# Training batches hashed at most: a pass of a finite dataset up to this.
MAX_BATCHES = 2000
# Libraries whose major or minor release can change a trial's numbers; any
# other difference among the recorded versions is only reported.
DECIDING = ("keras", "keras-rnninit", "tensorflow", "jax", "jaxlib", "torch")
VERSIONS = DECIDING + ("keras-tuner", "numpy")
WAYS_OUT = ("Rerun with --overwrite to start over, or choose another "
            "--directory.")


class StudyMismatch(StudyError):
    """A rerun that is not the study its directory holds.

    `recorded_backend` is set when the backend is what differs, so that a
    command line can print the command that resumes the study.
    """

    def __init__(self, message, recorded_backend=None):
        super().__init__(message)
        self.recorded_backend = recorded_backend


# -- what is recorded -----------------------------------------------------


def versions():
    """The installed versions of `VERSIONS` (absent ones left out)."""
    found = {}
    for name in VERSIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def _collect_names(value, names):
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and name not in names:
            names.append(name)
        for item in value.values():
            _collect_names(item, names)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_names(item, names)


def stable_names(*configs):
    """Maps every `name` in `configs` to the name it would have in a fresh
    process: Keras numbers `gru`, `gru_1`, ... per process, so a model built
    after others is `gru_7`; here the n-th name with the same stem, in
    order of appearance, is `stem`, `stem_1`, ..."""
    names = []
    for config in configs:
        _collect_names(config, names)
    mapping, counts = {}, {}
    for name in names:
        stem = re.sub(r"_\d+$", "", name)
        k = counts.get(stem, 0)
        counts[stem] = k + 1
        mapping[name] = stem if k == 0 else f"{stem}_{k}"
    return mapping


def rename(value, mapping):
    """`value` with every string that is a name replaced by `mapping`'s."""
    if isinstance(value, dict):
        return {key: rename(item, mapping) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rename(item, mapping) for item in value]
    if isinstance(value, str):
        return mapping.get(value, value)
    return value


def _jsonable(value):
    return json.loads(json.dumps(value, default=repr))


def describe_model(model):
    """A compiled model's architecture and compile config, as JSON data."""
    try:
        config = _jsonable(model.get_config())
        compile_config = _jsonable(model.get_compile_config())
    except Exception as e:  # a model that cannot describe itself
        return {"unavailable": f"{type(e).__name__}: {e}"}
    mapping = stable_names(config, compile_config)
    return {"model": rename(config, mapping),
            "compile": rename(compile_config, mapping)}


def _update(digest, array):
    import numpy as np

    array = np.asarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    if array.dtype.kind in "OSU":  # strings: their text
        digest.update(repr(array.tolist()).encode())
    else:
        digest.update(np.ascontiguousarray(array).tobytes())


def describe_arrays(arrays):
    """Shapes, dtypes and content hash of a tuple of arrays."""
    import numpy as np

    digest = hashlib.sha256()
    for a in arrays:
        _update(digest, a)
    return {
        "shapes": [list(np.shape(a)) for a in arrays],
        "dtypes": [str(np.asarray(a).dtype) for a in arrays],
        "sha256": digest.hexdigest(),
    }


def describe_dataset(dataset, max_batches=MAX_BATCHES):
    """The element spec and the content hash of one pass of a `tf.data`
    dataset (at most `max_batches` batches)."""
    import tensorflow as tf

    digest = hashlib.sha256()
    count = 0
    for batch in dataset.take(max_batches).as_numpy_iterator():
        for part in tf.nest.flatten(batch):
            _update(digest, part)
        count += 1
    spec = [
        {"shape": [None if d is None else int(d) for d in s.shape],
         "dtype": s.dtype.name}
        for s in tf.nest.flatten(dataset.element_spec)
    ]
    return {"element_spec": spec, "batches": count, "sha256": digest.hexdigest()}


def describe_data(train, validation):
    """The training dataset and the validation data (arrays or dataset)."""
    return {
        "train": describe_dataset(train),
        "validation": (describe_arrays(validation)
                       if isinstance(validation, tuple)
                       else describe_dataset(validation)),
    }


def study_identity(settings, models, data, backend, context=None):
    """The identity `study.json` records.

    Args:
        settings: the settings that define the study
            (`StudySettings.defining()`).
        models: candidate name -> its model as built for its first trial.
        data: `describe_data` of the first trial's data.
        backend: the Keras backend's name.
        context: more that decides the trials (the task and its arguments,
            the families, the batch size), as JSON data.
    """
    return {
        "settings": _jsonable(settings),
        "context": _jsonable(context or {}),
        "backend": backend,
        "models": {name: describe_model(model) for name, model in models.items()},
        "data": data,
        "versions": versions(),
    }


# -- how a rerun is compared ----------------------------------------------


def _short(value, width=48):
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _differences(old, new, path=()):
    """The paths at which two JSON values differ, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if key not in new:
                yield path + (key,), old[key], "(absent)"
            elif key not in old:
                yield path + (key,), "(absent)", new[key]
            else:
                yield from _differences(old[key], new[key], path + (key,))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _differences(a, b, path + (i,))
    elif old != new:
        yield path, old, new


def _layer_and_rest(root, path):
    """The innermost layer config on `path` (its name) and the keys after it."""
    node, layer, rest = root, None, []
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
        rest.append(key)
        if isinstance(node, dict) and "class_name" in node and isinstance(
                node.get("config"), dict) and "name" in node["config"]:
            layer, rest = node["config"]["name"], []
    return layer, [k for k in rest if k != "config"]


def _model_change(old, path, a, b):
    part, *path = path
    layer, rest = _layer_and_rest(old[part], path)
    where = ".".join(str(k) for k in rest) or "layers"
    if part == "compile":
        return f"the compile config changed: {where} {_short(a)} -> {_short(b)}"
    subject = f"layer '{layer}' " if layer else ""
    return f"the model changed: {subject}{where} {_short(a)} -> {_short(b)}"


def _release(version, parts):
    return tuple(re.findall(r"\d+", version)[:parts])


def check_settings(directory, recorded, settings, backend=None, partial=False):
    """Compares a rerun's settings (`StudySettings.defining()`) and backend
    with the recorded ones; raises `StudyMismatch` naming the first
    difference. With `partial`, `settings` holds some of them (what a
    command line fixes before anything is built) and only those are
    compared; a `backend` of None is not compared."""
    old = recorded.get("backend")
    if backend is not None and old != backend:
        raise StudyMismatch(
            f"{directory} is a study on the {old} backend and this run is on "
            f"{backend}: its trials must all run on one backend.", old)
    # A study recorded before identities were kept has its settings and
    # backend only: the rest is compared from its next run on.
    recorded = _jsonable(recorded.get("settings", {}))
    settings = _jsonable(settings)
    keys = [k for k in settings if k in recorded] if partial else list(
        recorded) + [k for k in settings if k not in recorded]
    for key in keys:
        a, b = recorded.get(key, "(absent)"), settings.get(key, "(absent)")
        if a != b:
            raise StudyMismatch(
                f"{directory} holds a different study: the setting {key} "
                f"changed: {_short(a)} -> {_short(b)}. {WAYS_OUT}")


def check(directory, recorded, current):
    """Compares a rerun's identity with the recorded one.

    Returns the warning lines (differences that cannot change a trial);
    raises `StudyMismatch`, naming the first difference that can.
    """
    def refuse(what, backend=None):
        raise StudyMismatch(
            f"{directory} holds a different study: {what}. {WAYS_OUT}", backend)

    check_settings(directory, recorded, current["settings"], current["backend"])
    if "context" in recorded:
        for path, a, b in _differences(recorded["context"], current["context"]):
            refuse(f"{'.'.join(map(str, path))} changed: {_short(a)} -> "
                   f"{_short(b)}")
    old_models, new_models = recorded.get("models", {}), current["models"]
    for name in new_models:
        if name not in old_models:
            continue  # the candidate list itself is a setting, checked above
        for path, a, b in _differences(old_models[name], new_models[name]):
            refuse(_model_change(old_models[name], path, a, b)
                   + (f" (candidate {name})" if len(new_models) > 1 else ""))
    for path, a, b in _differences(recorded.get("data", current["data"]),
                                   current["data"]):
        split, field = path[0], path[-1]
        what = ("its content" if field == "sha256" else
                f"{'.'.join(map(str, path[1:]))} {_short(a)} -> {_short(b)}")
        refuse(f"the {'training' if split == 'train' else split} data "
               f"changed ({what})")
    warnings = []
    old_versions = recorded.get("versions", {})
    for name, version in current["versions"].items():
        old = old_versions.get(name)
        if old is None or old == version:
            continue
        if name in DECIDING and _release(old, 2) != _release(version, 2):
            refuse(f"it was made with {name} {old} and {name} {version} is "
                   f"installed, which can change its trials (pip install "
                   f"'{name}=={old}' to resume it)")
        warnings.append(
            f"note: {directory} was made with {name} {old}; {version} is "
            "installed (a release that does not change trials); continuing.")
    return warnings
