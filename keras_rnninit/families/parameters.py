"""Parameter counts of the families' models, for equal-parameter
comparisons (Koutnik et al., 2014, arXiv 1402.3511, section 4)."""

from keras_rnninit import _checks
from keras_rnninit.families.clockwork import CLOCKWORK

# The recurrent layer each family stacks, for `parameter_count`.
LAYER_KINDS = {
    "irnn": "simple_rnn",
    "irnn-scaled": "simple_rnn",
    "np-rnn": "simple_rnn",
    "np-tanh": "simple_rnn",
    "tanh-rnn": "simple_rnn",
    "lstm": "lstm",
    "lstm-chrono": "lstm",
    "indrnn": "indrnn",
    "clockwork": "clockwork",
}
PARAMETER_COUNTS = ("effective", "stored")


def _layer_kind(family):
    kinds = sorted(set(LAYER_KINDS.values()))
    if family in kinds:
        return family
    if family not in LAYER_KINDS:
        raise ValueError(
            f"No parameter count for family={family!r}. Known: "
            f"{sorted(LAYER_KINDS)} and the layer kinds {kinds}"
        )
    return LAYER_KINDS[family]


def _num_modules(kind, num_modules):
    if kind != "clockwork":
        if num_modules is not None:
            raise ValueError(
                "`num_modules` applies only to Clockwork. Received: "
                f"num_modules={num_modules!r}"
            )
        return 1
    if num_modules is None:
        return CLOCKWORK.defaults()["num_modules"]
    return _checks.positive_int(num_modules, "num_modules")


def parameter_count(family, units, input_size=1, output_size=1,
                    num_modules=None, count="effective"):
    """Parameters of one recurrent layer of `family` with a `Dense` head.

    The model is `Input((T, input_size))`, one recurrent layer of `units`
    units and `Dense(output_size)`: `build_model(family, task, units,
    layers=1)` for a task with `input_size` features and `output_size`
    outputs.

    Args:
        family: a family name (`"tanh-rnn"`, `"lstm"`, `"clockwork"`, ...)
            or a layer kind: `"simple_rnn"`, `"lstm"`, `"indrnn"`,
            `"clockwork"`.
        units: units of the recurrent layer.
        input_size: features per input step.
        output_size: units of the head.
        num_modules: Clockwork's modules (default: the family's, 8), with
            periods 1, 2, 4, ...; `units` must be a multiple of it.
        count: `"effective"` (default): the weights training can change.
            Clockwork's recurrent kernel is stored in full but only the
            blocks where a slower module feeds a faster one (or itself) are
            used, `units^2 (g + 1) / (2 g)` of them for `g` modules; the
            paper counts those. `"stored"`: every weight, as
            `model.count_params()` reports.

    Returns:
        The number of parameters, an int.

    Reference:
    - [Koutnik et al., 2014](https://arxiv.org/abs/1402.3511), the
      equal-parameter comparison of its section 4.
    """
    kind = _layer_kind(family)
    modules = _num_modules(kind, num_modules)
    _checks.positive_int(units, "units")
    _checks.positive_int(input_size, "input_size")
    _checks.positive_int(output_size, "output_size")
    if count not in PARAMETER_COUNTS:
        raise ValueError(
            f"`count` must be one of {list(PARAMETER_COUNTS)}. "
            f"Received: count={count!r}"
        )
    if units % modules:
        raise ValueError(
            f"`units` must be a multiple of num_modules={modules} for "
            f"Clockwork. Received: units={units!r}"
        )
    n, f = int(units), int(input_size)
    head = n * output_size + output_size
    if kind == "simple_rnn":
        return f * n + n * n + n + head
    if kind == "lstm":
        return 4 * (f * n + n * n + n) + head
    if kind == "indrnn":
        return f * n + 2 * n + head
    recurrent = n * n
    if count == "effective":
        # Module i receives from modules i..g-1 (periods ascending).
        size = n // modules
        recurrent = size * size * modules * (modules + 1) // 2
    return f * n + recurrent + n + head


def units_for_parameters(family, parameters, input_size=1, output_size=1,
                         num_modules=None, count="effective"):
    """The units whose model has the parameter count closest to `parameters`.

    For equal-parameter comparisons, as in the Clockwork RNN paper (about
    100, 250, 500 and 1000 parameters for a 1-input, 1-output network). The
    model and the arguments are those of `parameter_count`; Clockwork's
    units go in steps of `num_modules`. On a tie the smaller model wins.

    Returns:
        The number of units, an int (at least one unit, or one unit per
        Clockwork module, even when that model exceeds `parameters`).

    Example:

    ```python
    units_for_parameters("lstm", 1000)       # 15 units: 1036 parameters
    units_for_parameters("clockwork", 1000)  # 40 units: 1021 used, 1721 stored
    units_for_parameters("clockwork", 1000, num_modules=4)  # 36 units: 919
    ```
    """
    _checks.positive_int(parameters, "parameters")
    modules = _num_modules(_layer_kind(family), num_modules)

    def size(units):
        return parameter_count(family, units, input_size, output_size,
                               num_modules, count)

    units = modules
    while size(units + modules) <= parameters:
        units += modules
    larger = units + modules
    if abs(size(larger) - parameters) < abs(size(units) - parameters):
        return larger
    return units
