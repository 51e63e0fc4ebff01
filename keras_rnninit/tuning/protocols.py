"""The trials a study runs, planned in full before the first one starts.

Every trial is one (candidate, configuration, seed). Its hyperparameters and
its seed are derived from the study seed, the candidate's name and the
configuration index, never from a random state that earlier trials advanced:
an interrupted study resumes to the same trials, and a candidate's trials do
not depend on which candidates ran before it.

- `sweep`: a log-spaced grid of learning rates, every other hyperparameter
  at the candidate's defaults (its paper's, for the built-in families).
- `random`: configurations drawn at random from a `SearchSpace` (learning
  rate, optimizer, clip norm, and the candidate's initializer scale).

Each configuration runs with `seeds` independent seeds (initialization and
data order); the seed-th trial of every candidate and learning rate shares
its training seed, so the comparison is paired.
"""

import hashlib
import math

import numpy as np

from keras_rnninit import catalog

PROTOCOLS = catalog.PROTOCOLS


def derive_seed(*parts):
    """A seed in [0, 2^31) from any parts, stable across processes."""
    text = "/".join(str(p) for p in parts)
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % (2**31)


def learning_rate_grid(low, high, count):
    """`count` log-spaced learning rates from `low` to `high`, 3 digits each."""
    if count == 1:
        return [float(f"{math.sqrt(low * high):.3g}")]
    step = math.log10(high / low) / (count - 1)
    return [float(f"{low * 10 ** (i * step):.3g}") for i in range(count)]


COMMON_CLIPNORM = 1.0


def optimizer_defaults(candidate, optimizer=None, clipnorm=None):
    """The sweep's optimizer settings for `candidate`.

    One optimizer for every candidate comes with one clipping for every
    candidate (`clipnorm`, 1 unless given), so that only the models differ;
    without one, each candidate keeps its own optimizer and clipping (the
    paper's, for a built-in family; the model's own, for a user's model,
    whose optimizer None means "as compiled").
    """
    if optimizer is not None:
        return {"optimizer": optimizer,
                "clipnorm": COMMON_CLIPNORM if clipnorm is None else clipnorm,
                "clipvalue": 0.0}
    if candidate.optimizer is None:
        return {"optimizer": None, "clipnorm": None, "clipvalue": None}
    return {"optimizer": candidate.optimizer,
            "clipnorm": (candidate.clipnorm if clipnorm is None else clipnorm) or 0.0,
            "clipvalue": candidate.clipvalue or 0.0}


def _sample(rng, low, high, sampling):
    if sampling == "log":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return float(rng.uniform(low, high))


def _configurations(candidate, protocol, learning_rates, space, trials,
                    optimizer, clipnorm, study_seed):
    if protocol == "sweep":
        for index, lr in enumerate(learning_rates):
            yield index, {"learning_rate": lr,
                          **optimizer_defaults(candidate, optimizer, clipnorm)}
        return
    for index in range(trials):
        rng = np.random.default_rng(derive_seed(study_seed, candidate.name, index))
        low, high = space.learning_rate
        values = {
            "learning_rate": float(f"{_sample(rng, low, high, 'log'):.4g}"),
            "optimizer": str(rng.choice(list(space.optimizer))),
            "clipnorm": float(rng.choice(list(space.clipnorm))),
            "clipvalue": 0.0,
        }
        scale = candidate.scale
        if space.init_scale and scale is not None:
            values[scale.name] = float(
                f"{_sample(rng, scale.min_value, scale.max_value, scale.sampling):.4g}"
            )
        yield index, values


def plan(candidates, protocol="sweep", learning_rates=(), space=None, trials=0,
         seeds=3, optimizer=None, clipnorm=None, study_seed=0):
    """Every trial of a study, in the order they run.

    Seed-major: all candidates and configurations with seed 0 first, then
    seed 1, ..., so that a study stopped early still compares every
    candidate over the whole grid.

    Returns:
        A list of dicts: `candidate`, `config` (index), `seed` (index), and
        the hyperparameters (`learning_rate`, `optimizer`, `clipnorm`,
        `clipvalue`, a scale); `optimizer` None means the candidate's own.
    """
    per_candidate = {
        c.name: list(_configurations(
            c, protocol, learning_rates, space, trials, optimizer, clipnorm,
            study_seed,
        ))
        for c in candidates
    }
    entries = []
    for seed in range(seeds):
        for candidate in candidates:
            for index, values in per_candidate[candidate.name]:
                entries.append({
                    "candidate": candidate.name, "config": index, "seed": seed,
                    **values,
                })
    return entries


def entry_key(values):
    """The identity of a planned trial: (candidate, config, seed)."""
    return (values["candidate"], int(values["config"]), int(values["seed"]))


def training_seed(study_seed, seed_index):
    """The seed of a trial's initialization and data order."""
    return derive_seed(study_seed, "seed", seed_index)
