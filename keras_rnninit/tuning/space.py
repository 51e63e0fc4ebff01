"""The hyperparameter space every family is searched over."""

import dataclasses
import json
import math
import os

OPTIMIZERS = ("adam", "sgd", "rmsprop")


class SpaceError(ValueError):
    """The search space is empty or malformed."""


@dataclasses.dataclass
class SearchSpace:
    """The same space for every family, so their sensitivities compare.

    Args:
        learning_rate: `(low, high)`, sampled log-uniformly.
        clipnorm: gradient-clip norms to choose from; `0` means no clipping.
        optimizer: optimizer names to choose from (`adam`, `sgd`, `rmsprop`).
        init_scale: whether each family's initializer scale (e.g. iRNN's
            `gain`, np-RNN's `input_scale`, IndRNN's `gamma`) is searched too,
            over the range its family declares.
        grid_points: for `--tuner grid`, how many log-spaced learning rates.
    """

    learning_rate: tuple = (1e-5, 1e-1)
    clipnorm: tuple = (0.0, 1.0, 10.0)
    optimizer: tuple = ("adam", "sgd")
    init_scale: bool = True
    grid_points: int = 5

    def __post_init__(self):
        self.learning_rate = tuple(float(v) for v in self.learning_rate)
        self.clipnorm = tuple(float(v) for v in self.clipnorm)
        self.optimizer = tuple(str(v) for v in self.optimizer)
        self.validate()

    def validate(self):
        if len(self.learning_rate) != 2:
            raise SpaceError(
                "learning_rate must be a (low, high) pair. "
                f"Received: {self.learning_rate}"
            )
        low, high = self.learning_rate
        if not (0 < low < high) or not math.isfinite(high):
            raise SpaceError(
                "learning_rate needs 0 < low < high (a non-empty range). "
                f"Received: low={low}, high={high}"
            )
        if not self.clipnorm:
            raise SpaceError("clipnorm is empty: give at least one value (0 = none).")
        if any(v < 0 or not math.isfinite(v) for v in self.clipnorm):
            raise SpaceError(
                f"clipnorm values must be finite and >= 0. Received: {self.clipnorm}"
            )
        if not self.optimizer:
            raise SpaceError(
                f"optimizer is empty: give at least one of {', '.join(OPTIMIZERS)}."
            )
        unknown = [o for o in self.optimizer if o not in OPTIMIZERS]
        if unknown:
            raise SpaceError(
                f"Unknown optimizer(s) {unknown}. Expected some of "
                f"{', '.join(OPTIMIZERS)}."
            )
        if int(self.grid_points) < 1:
            raise SpaceError(f"grid_points must be >= 1. Received: {self.grid_points}")

    @property
    def decades(self):
        low, high = self.learning_rate
        return math.log10(high / low)

    def grid_learning_rates(self):
        low, high = self.learning_rate
        n = int(self.grid_points)
        if n == 1:
            return [low]
        step = math.log10(high / low) / (n - 1)
        return [float(f"{low * 10 ** (i * step):.3g}") for i in range(n)]

    def to_dict(self):
        return {
            "learning_rate": list(self.learning_rate),
            "clipnorm": list(self.clipnorm),
            "optimizer": list(self.optimizer),
            "init_scale": self.init_scale,
            "grid_points": self.grid_points,
        }

    @classmethod
    def from_dict(cls, config):
        if not isinstance(config, dict):
            raise SpaceError(f"A search space must be a mapping. Received: {config!r}")
        unknown = set(config) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise SpaceError(
                f"Unknown search-space key(s) {sorted(unknown)}. Expected: "
                f"{', '.join(f.name for f in dataclasses.fields(cls))}."
            )
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            lr = config["learning_rate"]
            config["learning_rate"] = (lr.get("min"), lr.get("max"))
        try:
            return cls(**config)
        except (TypeError, ValueError) as e:
            if isinstance(e, SpaceError):
                raise
            raise SpaceError(f"Malformed search space {config}: {e}") from e

    @classmethod
    def from_file(cls, path):
        """Reads a space from a `.json`, `.yaml` or `.yml` file."""
        if not os.path.exists(path):
            raise SpaceError(f"Search-space file not found: {path}")
        with open(path) as f:
            text = f.read()
        if path.endswith((".yaml", ".yml")):
            import yaml

            config = yaml.safe_load(text)
        else:
            config = json.loads(text)
        if not config:
            raise SpaceError(f"The search-space file {path} is empty.")
        return cls.from_dict(config)
