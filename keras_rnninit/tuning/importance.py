"""Hyperparameter importance of a random-protocol study, through optuna.

Each (configuration, seed) trial becomes a finished optuna trial (its
objective capped at the baseline on the worse side, so diverged trials count
as the baseline) and optuna's evaluator ranks the hyperparameters: fANOVA
(Hutter et al. 2014) when scikit-learn is installed, else PED-ANOVA
(Watanabe et al. 2023). Install with `pip install keras-rnninit[importance]`.
"""

from keras_rnninit import objective as objective_lib

FIXED = ("candidate", "config", "seed")


def _distributions(records):
    from optuna.distributions import CategoricalDistribution
    from optuna.distributions import FloatDistribution

    names = sorted({k for r in records for k in r["hyperparameters"]} - set(FIXED))
    distributions = {}
    for name in names:
        values = [r["hyperparameters"].get(name) for r in records]
        if len(set(map(repr, values))) < 2:
            continue  # held fixed: nothing to attribute
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            low, high = min(values), max(values)
            log = name == "learning_rate" or (low > 0 and high / low > 20)
            if len(set(values)) <= 4:
                distributions[name] = CategoricalDistribution(sorted(set(values)))
            else:
                distributions[name] = FloatDistribution(low, high, log=log and low > 0)
        else:
            distributions[name] = CategoricalDistribution(sorted(set(map(str, values))))
    return distributions


def importances(records, baseline, direction, seed=0):
    """`{hyperparameter: importance}` (summing to 1) over `records`."""
    import optuna

    done = [r for r in records if r["status"] == "COMPLETED"]
    distributions = _distributions(done)
    if len(done) < 4 or not distributions:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize" if direction == "min" else "maximize")
    for r in done:
        params = {}
        for name, dist in distributions.items():
            value = r["hyperparameters"].get(name)
            if isinstance(dist, optuna.distributions.CategoricalDistribution) and \
                    isinstance(dist.choices[0], str):
                value = str(value)
            params[name] = value
        value = objective_lib.worst_of(r["value"], baseline, direction)
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions=distributions, value=float(value),
        ))
    try:
        import sklearn  # noqa: F401

        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    except ImportError:
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))


def by_candidate(records, settings, summaries):
    """Importances for each candidate, or a note of what is missing."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        return {"note": "install keras-rnninit[importance] (optuna) for "
                        "hyperparameter importance"}
    result = {}
    for name in settings.candidates:
        mine = [r for r in records if r["candidate"] == name]
        baseline = summaries[name]["baseline"]
        if baseline is None:
            continue
        value = importances(mine, baseline, settings.direction, seed=settings.seed)
        result[name] = value if value else "too few finished trials"
    return result
