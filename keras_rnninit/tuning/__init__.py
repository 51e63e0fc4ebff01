"""Hyperparameter-sensitivity studies on keras-tuner: built-in families or any model."""

import importlib

# Loaded on first use, so that the command line can quiet TensorFlow (which
# the studies' tasks load) before anything imports it.
_EXPORTS = {
    "Candidate": "candidates",
    "StudyError": "candidates",
    "family_candidates": "candidates",
    "initializer_candidates": "candidates",
    "with_recurrent_initializer": "candidates",
    "build_report": "report",
    "write_report": "report",
    "SearchSpace": "space",
    "select_strategy": "strategy",
    "study_families": "studies",
    "study_initializers": "studies",
    "StudySettings": "study",
    "run_study": "runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"keras_rnninit.tuning.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'keras_rnninit.tuning' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
