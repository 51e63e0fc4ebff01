"""TensorFlow's start-up log lines, kept out of the command lines' output.

TensorFlow prints C++ log lines while it loads (oneDNN notices, CUDA probes,
"All log messages before absl::InitializeLog()", a failed `cuInit`), before
`TF_CPP_MIN_LOG_LEVEL` can take effect. The command lines import it here,
with standard error captured at the file-descriptor level, and pass on every
line but those informational and warning ones and the failed GPU probe.
Unless the user set `TF_CPP_MIN_LOG_LEVEL`, the command lines also set it
to 3, so that the C++ log stays quiet while models compile and train;
`TF_CPP_MIN_LOG_LEVEL=0` keeps every line. (Other values cannot tell the
user's choice from JAX's: importing JAX sets it to 1.)
"""

import os
import re
import sys
import tempfile

_NOISE = re.compile(
    r"^([IW]\d{4} [\d:.]+ +\d+ \S+:\d+\]"
    r"|E\d{4} .*failed call to cuInit"  # a CPU-only machine has no GPU
    r"|WARNING: All log messages before absl::InitializeLog\(\))"
)


def import_tensorflow(cpu_devices=None):
    """Imports TensorFlow (if installed), dropping its start-up log lines.

    Args:
        cpu_devices: split the CPU into this many logical devices first
            (`--cpu-replicas`): TensorFlow fixes its devices at its first
            operation, which this import runs.
    """
    # gRPC (keras-tuner's chief and workers) logs informational lines, such
    # as a worker's connection closing when a study stops: errors only.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    if "tensorflow" in sys.modules:
        if cpu_devices:
            _split_cpu(sys.modules["tensorflow"], cpu_devices)
        return
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        _import(cpu_devices)
        return
    # 3, not 2: on its TensorFlow backend, every Keras RNN's graph makes
    # grappler log harmless "empty op name" lines at error level while the
    # model compiles. Real failures still raise Python exceptions.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            _import(cpu_devices)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if not _NOISE.match(line):
                    print(line, file=sys.stderr)


def _import(cpu_devices=None):
    _triton_first()
    try:
        import tensorflow as tf
    except ImportError:
        return
    if cpu_devices:
        _split_cpu(tf, cpu_devices)
    # Probing the devices and loading tf.data print more of the same.
    tf.config.list_physical_devices()
    tf.data.Dataset.range(1)


def _triton_first():
    """On the PyTorch backend, loads Triton (if installed) before TensorFlow.

    Both carry LLVM and register its command-line options; when Triton
    comes second (Keras's torch backend imports it through torch) the
    process aborts ("LLVM ERROR: inconsistency in registered CommandLine
    options"), while in the other order both load (triton 3.9, TensorFlow
    2.21).
    """
    import importlib.util

    if os.environ.get("KERAS_BACKEND") == "torch" and importlib.util.find_spec(
            "triton") is not None:
        import triton  # noqa: F401


def _split_cpu(tf, devices):
    cpu = tf.config.list_physical_devices("CPU")[0]
    config = [tf.config.LogicalDeviceConfiguration()] * devices
    if len(tf.config.get_logical_device_configuration(cpu) or [None]) != devices:
        tf.config.set_logical_device_configuration(cpu, config)
