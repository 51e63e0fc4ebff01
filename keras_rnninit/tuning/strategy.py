"""Choosing how each trial's training is distributed across devices.

Importable without a backend (Keras is imported where it is used), so that
the command line checks `--cpu-replicas` and splits the CPU before the
backend starts.
"""

import json
import os
import re

from keras_rnninit import catalog

STRATEGIES = catalog.STRATEGIES
_HOST_DEVICES = "--xla_force_host_platform_device_count"


class StrategyError(ValueError):
    """A requested distribution strategy cannot be built on this machine."""


def configured_backend():
    """The Keras backend a run will use, read as Keras reads it (the
    `KERAS_BACKEND` variable, else `keras.json`), without importing Keras."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def check_cpu_replicas(replicas, strategy, backend=None):
    """Why `--cpu-replicas replicas` cannot work with `--strategy strategy`
    on `backend`, or None."""
    backend = backend or configured_backend()
    if replicas is None:
        return None
    if backend not in ("tensorflow", "jax"):
        return (f"--cpu-replicas is not available on the {backend} backend: it "
                "splits the CPU for TensorFlow's and JAX's data parallelism. "
                "Drop it, or use KERAS_BACKEND=tensorflow or jax.")
    if strategy != "mirrored":
        return (f"--cpu-replicas {replicas} splits the CPU for --strategy "
                f"mirrored, which it needs; --strategy {strategy} would train "
                "on one device.")
    return None


def split_cpu(replicas):
    """Splits the CPU into `replicas` devices for the configured backend.

    It must run before the backend starts: TensorFlow fixes its devices at
    its first operation (the command lines import it early, `_quiet`), and
    JAX reads its host device count (`XLA_FLAGS`) when it first looks for
    devices.
    """
    from keras_rnninit import _quiet

    if configured_backend() == "jax":
        flags = re.sub(rf"{_HOST_DEVICES}=\S*", "", os.environ.get("XLA_FLAGS", ""))
        os.environ["XLA_FLAGS"] = f"{flags.strip()} {_HOST_DEVICES}={replicas}".strip()
    else:
        _quiet.import_tensorflow(cpu_devices=replicas)


def _tpu_resolver():
    """Returns a connected TPU cluster resolver, or None when no TPU is reachable."""
    import tensorflow as tf

    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return resolver
    except (ValueError, RuntimeError, tf.errors.OpError):
        return None


def _tensorflow_strategy(name):
    import tensorflow as tf

    if name == "auto":
        if len(tf.config.list_logical_devices("GPU")) > 1:
            return tf.distribute.MirroredStrategy()
        if os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR"):
            resolver = _tpu_resolver()
            if resolver is not None:
                return tf.distribute.TPUStrategy(resolver)
        return None
    if name == "default":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise StrategyError(
                "--strategy multiworker needs the TF_CONFIG environment variable "
                "that describes the cluster (see tf.distribute."
                "MultiWorkerMirroredStrategy); it is not set."
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    # name == "tpu"
    resolver = _tpu_resolver()
    if resolver is None:
        raise StrategyError(
            "--strategy tpu was requested but no TPU is reachable from this "
            "machine (TPUClusterResolver found none). Use --strategy auto or "
            "default to train without one."
        )
    return tf.distribute.TPUStrategy(resolver)


def _jax_distribution(name):
    import jax
    import keras

    devices = jax.devices()
    if name in ("auto", "mirrored"):
        if name == "auto" and len(devices) < 2:
            return None
        return keras.distribution.DataParallel(devices=devices)
    if name == "default":
        return None
    if name == "tpu":
        if not any(d.platform == "tpu" for d in devices):
            raise StrategyError(
                "--strategy tpu was requested but JAX sees no TPU device "
                f"(devices: {[str(d) for d in devices]})."
            )
        return keras.distribution.DataParallel(devices=devices)
    raise StrategyError(
        "--strategy multiworker is only available on the TensorFlow backend. "
        "On JAX, run keras-tuner's chief/worker search instead (--tuner-id)."
    )


def select_strategy(name="auto"):
    """Builds the distribution for `name`, one of `STRATEGIES`.

    Returns `(tf_strategy, jax_distribution)`: on TensorFlow, a
    `tf.distribute.Strategy` for keras-tuner's `distribution_strategy=` (or
    None for the default strategy); on JAX, a `keras.distribution.Distribution`
    to set before the search (or None). `"auto"` picks mirrored when more than
    one GPU is visible, a TPU when one is reachable, else the default.

    Raises:
        StrategyError: the strategy cannot be built here. Nothing falls back
            silently to another strategy.
    """
    if name not in STRATEGIES:
        raise StrategyError(
            f"Unknown strategy {name!r}. Expected one of {', '.join(STRATEGIES)}."
        )
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow_strategy(name), None
    if backend == "jax":
        return None, _jax_distribution(name)
    if name in ("auto", "default"):
        return None, None
    raise StrategyError(
        f"--strategy {name} is not available on the {backend} backend; only "
        "'auto' and 'default' are. Use KERAS_BACKEND=tensorflow or jax."
    )


def describe(tf_strategy, jax_distribution):
    """A short human-readable description of the chosen distribution."""
    import keras

    if tf_strategy is not None:
        return (
            f"{type(tf_strategy).__name__} over "
            f"{tf_strategy.num_replicas_in_sync} replica(s)"
        )
    if jax_distribution is not None:
        return f"{type(jax_distribution).__name__} over {len(jax_distribution.device_mesh.devices.flatten())} device(s)"
    return f"default ({keras.backend.backend()}, one device)"
