"""The error a study raises when it cannot start, importable without Keras
(the command line checks a rerun against its study before a backend
loads)."""


class StudyError(ValueError):
    """The study cannot start: a bad setting, model, or data. One clear line."""
