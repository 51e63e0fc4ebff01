"""`rnninit-tune`: hyperparameter-sensitivity studies from the command line."""

import argparse
import importlib.util
import json
import math
import os
import re
import signal
import sys
import tempfile
import time

from keras_rnninit import _interrupts
from keras_rnninit import _quiet
from keras_rnninit import catalog
from keras_rnninit import objective as objective_lib
from keras_rnninit._command_line import COUNT
from keras_rnninit._command_line import FINITE
from keras_rnninit._command_line import Parser
from keras_rnninit._command_line import number
from keras_rnninit.tuning import distributed
from keras_rnninit.tuning import strategy as strategy_lib

DEFAULT_FAMILIES = "irnn,irnn-scaled,np-rnn"
DEFAULT_INITIALIZERS = "glorot_uniform,orthogonal,identity,keras_rnninit>NPInit"
# Flags that mean something only for `--model`; `None` when not given.
MODEL_ONLY_FLAGS = ("--data", "--initializers", "--objective", "--direction",
                    "--baseline")

EPILOG = """\
Your own model (any Sequential or functional Keras model with recurrent
layers): every recurrent layer is rebuilt with each initializer, nothing else
changed, and the initializers are compared:
  rnninit-tune --model my_models:make_model --data my_data:load \\
      --initializers 'orthogonal,identity,keras_rnninit>NPInit' --threshold 0.05
(Quote the list: an unquoted > is a shell redirection.)
make_model() returns a compiled model (its loss, metrics and optimizer are
kept; each trial sets the learning rate); load() returns (train, validation),
each a tf.data.Dataset of batches or an (x, y) pair of arrays.

Rebuild a report from a finished or partial study (optionally at another
success threshold):
  rnninit-tune report DIR [--threshold 0.05]

Resuming: re-running the same command continues the study in --directory,
keeping every finished trial; the interrupted one runs again with its own
hyperparameters and seed, so the answer is the one an uninterrupted study
gives. --overwrite starts over.

Distributed study with keras-tuner's chief and workers (one directory,
shared by all processes; start them in any order):
  rnninit-tune --tuner-id chief  --oracle-port 8000 ...   # the oracle
  rnninit-tune --tuner-id tuner0 --oracle-port 8000 ...   # a worker
The chief's id is 'chief'; each worker's is its own name without 'chief'.
--oracle-ip defaults to 127.0.0.1. The same can be set with
KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT.
A worker runs the chief's command with another --tuner-id (any other
difference is refused). The trial of a worker that dies goes to another
worker; a chief that dies stops its workers within seconds: start the chief,
then the workers, again with the same commands to resume. On one machine,
--jobs does all of this for you.
"""


def _csv(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def _floats(text):
    return [0.0 if item.lower() == "none" else float(item) for item in _csv(text)]


def _jobs(text):
    """An argparse type: `--jobs`, a count or `auto`."""
    from keras_rnninit.tuning import jobs

    try:
        return jobs.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def fail(message, code=2):
    """Stops with one line: `rnninit-tune: error: message`."""
    print(f"rnninit-tune: error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def choice(kind, valid):
    """An argparse type: one of `valid`, else `unknown`'s line."""

    def parse(text):
        if text not in valid:
            raise argparse.ArgumentTypeError(catalog.unknown_name(kind, text, valid))
        return text

    parse.__name__ = kind
    return parse


def search_parser():
    task_names = ", ".join(catalog.tasks())
    family_names = ", ".join(catalog.families())
    p = Parser(
        prog="rnninit-tune",
        description=(
            "Measure how sensitive each RNN initialization is to its "
            "hyperparameters: for every model family (or every initializer of "
            "your own model), the same learning-rate sweep over several seeds, "
            "then a report of how often each succeeds, with intervals, over "
            "how wide a band of learning rates, and which differences are "
            "statistically clear."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("task (built-in families)")
    g.add_argument("--task", default="adding",
                   help=f"a registered task: {task_names} (default: %(default)s)")
    g.add_argument("--length", type=COUNT, default=50,
                   help="sequence length T for tasks that have one "
                        "(default: %(default)s)")
    g.add_argument("--num-train", type=COUNT, default=None,
                   help="training examples per epoch (default: the task's own)")
    g.add_argument("--num-validation", type=COUNT, default=None,
                   help="validation examples (default: the task's own)")
    g.add_argument("--task-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="any other task argument, e.g. --task-arg data_dir=/data "
                        "(repeatable; numbers and true/false are parsed)")
    g.add_argument("--families", default=DEFAULT_FAMILIES,
                   help=f"comma-separated model families: {family_names} "
                        "(default: %(default)s)")
    g.add_argument("--units", type=COUNT, default=None,
                   help="units per recurrent layer for every family (default: "
                        "each family's paper setting, e.g. 100 for IRNN, 128 "
                        "for IndRNN)")
    g.add_argument("--layers", type=COUNT, default=None,
                   help="recurrent layers for every family (default: each "
                        "family's paper setting, e.g. 2 for IndRNN)")
    g = p.add_argument_group("your own model")
    g.add_argument("--model", default=None, metavar="MODULE:FUNCTION",
                   help="a function returning a compiled Keras model with "
                        "recurrent layers; replaces --families")
    g.add_argument("--data", default=None, metavar="MODULE:FUNCTION",
                   help="a function returning (train, validation) for --model")
    g.add_argument("--initializers", default=None, metavar="INIT,INIT,...",
                   help="what to compare on --model: initialization schemes "
                        f"({', '.join(catalog.schemes())}, chrono(max_timesteps=T)"
                        ", scheme:NAME, scheme:FILE.json), each setting the "
                        "weights it names in each recurrent layer, or Keras "
                        "initializer identifiers or JSON configs, which set the "
                        f"recurrent kernel only (default: {DEFAULT_INITIALIZERS})")
    g.add_argument("--objective", default=None,
                   help="the Keras log to read for --model, e.g. val_loss, "
                        "val_accuracy (default: val_loss)")
    g.add_argument("--direction", type=choice("direction", ("min", "max")),
                   default=None, metavar="{min,max}",
                   help="whether lower (min) or higher (max) --objective is "
                        "better (default: max for accuracy, else min)")
    g.add_argument("--baseline", type=FINITE, default=None,
                   help="the objective of a trivial model, for --model "
                        "(default: each trial's objective at initialization)")
    g = p.add_argument_group("protocol")
    g.add_argument("--protocol", type=choice("protocol", catalog.PROTOCOLS),
                   default="sweep", metavar="{" + ",".join(catalog.PROTOCOLS) + "}",
                   help="sweep: a learning-rate grid x seeds, everything else at "
                        "its default; random: random configurations x seeds, "
                        "with hyperparameter importance (default: %(default)s)")
    g.add_argument("--learning-rates", type=COUNT, default=5, metavar="N",
                   help="learning rates in the sweep's log-spaced grid "
                        "(default: %(default)s)")
    g.add_argument("--learning-rate", default="1e-4,1e-1", metavar="LOW,HIGH",
                   help="the grid's (or the random search's) learning-rate "
                        "range (default: %(default)s)")
    g.add_argument("--seeds", type=COUNT, default=3,
                   help="independent seeds (initialization and data order) per "
                        "configuration (default: %(default)s)")
    g.add_argument("--trials", type=COUNT, default=10,
                   help="random protocol: configurations per candidate "
                        "(default: %(default)s)")
    g.add_argument("--optimizer", default=None,
                   type=choice("optimizer", catalog.OPTIMIZERS + ("paper",)),
                   metavar="{" + ",".join(catalog.OPTIMIZERS + ("paper",)) + "}",
                   help="one optimizer for every family, so that only the "
                        "initialization differs; 'paper' gives each family its "
                        "paper's (SGD for IRNN and np-RNN, Adam for IndRNN). "
                        "(default: adam; with --model, the model's own)")
    g.add_argument("--clipnorm", type=number(float, low=0), default=None,
                   help="one gradient-clip norm for every candidate; 0 = none "
                        "(default: 1 with one --optimizer for all, each "
                        "family's paper setting with --optimizer paper)")
    g.add_argument("--space", default=None, metavar="FILE",
                   help="random protocol: a JSON or YAML file with keys "
                        "clipnorm [values], optimizer [names], init_scale "
                        "true/false; the flags below override it")
    g.add_argument("--clipnorms", default=None, metavar="V,V,...",
                   help="random protocol: clip norms to draw from; 0 or none = "
                        "no clipping (default: 0,1,10)")
    g.add_argument("--optimizers", default=None, metavar="NAME,...",
                   help="random protocol: optimizers to draw from (default: "
                        "adam,sgd)")
    g.add_argument("--no-init-scale", action="store_true",
                   help="random protocol: do not vary the families' initializer "
                        "scales (iRNN gain, np-RNN input scale, IndRNN gamma)")
    g = p.add_argument_group("budget")
    g.add_argument("--steps", type=COUNT, default=2000,
                   help="optimizer steps per trial at most; a trial stops "
                        "earlier once it reaches the threshold (default: "
                        "%(default)s)")
    g.add_argument("--eval-every", type=COUNT, default=200,
                   help="steps between validations: the resolution of the "
                        "steps to the threshold (default: %(default)s)")
    g.add_argument("--batch-size", type=COUNT, default=32,
                   help="batch size (default: %(default)s)")
    g.add_argument("--seed", type=number(int, low=0), default=0,
                   help="the study seed every trial's seed derives from "
                        "(default: %(default)s)")
    g = p.add_argument_group("report")
    g.add_argument("--threshold", type=FINITE, default=None,
                   help="success threshold on the objective (default: the "
                        "task's, e.g. MSE 0.01 on the adding problem; required "
                        "with --model)")
    g.add_argument("--force", action="store_true",
                   help="accept a threshold that a trivial model already reaches")
    g.add_argument("--directory", default=None,
                   help="study directory: trials and report (default: "
                        "rnninit_runs/<task> or rnninit_runs/<model function>)")
    g.add_argument("--overwrite", action="store_true",
                   help="delete the directory's previous trials and start over")
    g.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="0: only the final table and files, 1: a line per "
                        "trial, 2: also Keras's progress inside each trial "
                        "(default: %(default)s)")
    g = p.add_argument_group("distribution")
    g.add_argument("--strategy", type=choice("strategy", catalog.STRATEGIES),
                   default="auto", metavar="{" + ",".join(catalog.STRATEGIES) + "}",
                   help="how each trial trains: auto (mirrored on 2+ GPUs, TPU "
                        "when reachable, else default), default (one device), "
                        "mirrored, multiworker (needs TF_CONFIG), tpu. "
                        "TensorFlow uses tf.distribute; JAX uses "
                        "keras.distribution.DataParallel (default: %(default)s)")
    g.add_argument("--cpu-replicas", type=COUNT, default=None, metavar="N",
                   help="split the CPU into N devices for --strategy mirrored "
                        "(TensorFlow's logical devices, JAX's host devices), "
                        "e.g. to try data parallelism on a machine without "
                        "GPUs; not on PyTorch")
    g.add_argument("--jobs", type=_jobs, default="auto", metavar="{N,auto}",
                   help="trials run at a time on this machine, each in a "
                        "process of its own (a chief and N workers on "
                        "loopback); auto: one per core on CPUs, one per GPU on "
                        "GPUs, no more than the memory available holds (about "
                        "1.2 GiB each), 1 on a TPU host or with --tuner-id, "
                        "--cpu-replicas or a --strategy other than auto or "
                        "default; 1 runs them in this process. The answer is "
                        "the same for every N (default: %(default)s)")
    g.add_argument("--tuner-id", default=None,
                   help="keras-tuner distributed study: 'chief' for the chief "
                        "(the oracle), or a worker's own name without 'chief', "
                        "e.g. tuner0 (sets KERASTUNER_TUNER_ID)")
    g.add_argument("--oracle-ip", default=None,
                   help="the chief's address (default: 127.0.0.1 when "
                        "--tuner-id is given)")
    g.add_argument("--oracle-port", type=number(int, low=1, high=65535), default=None,
                   help="the chief's port (default: 8000 when --tuner-id is "
                        "given)")
    g.add_argument("--timeout", type=number(float, above=0), default=None,
                   metavar="SECONDS",
                   help="stop with an error after this wall-clock time (a "
                        "worker waits for a chief that has not started yet)")
    return p


def report_parser():
    p = Parser(
        prog="rnninit-tune report",
        description="Rebuild the sensitivity report (JSON, Markdown, PNG) of a "
                    "finished or partial study directory, and print its table.",
    )
    p.add_argument("directory", help="a study directory made by rnninit-tune")
    p.add_argument("--threshold", type=FINITE, default=None,
                   help="read the trials at another success threshold; the "
                        "files are then named sensitivity_<threshold>.*")
    return p


def _value(text):
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def _task_kwargs(args):
    from keras_rnninit import tasks

    accepted = tasks.parameters(args.task) if args.task in tasks.names() else {}
    kwargs = {}
    if "length" in accepted:
        kwargs["length"] = args.length
    if args.num_train is not None:
        kwargs["num_train"] = args.num_train
    if args.num_validation is not None:
        kwargs["num_validation"] = args.num_validation
    kwargs.update(args.task_arguments)
    return kwargs


def _task_arguments(items, parser):
    """The `--task-arg KEY=VALUE` items as a dict of parsed values."""
    kwargs = {}
    for item in items:
        key, _, value = item.partition("=")
        if not _ or not key.strip():
            parser.error(f"--task-arg needs KEY=VALUE. Received: {item!r}")
        kwargs[key.strip()] = _value(value)
    return kwargs


def _space(args, parser):
    from keras_rnninit.tuning.space import SearchSpace
    from keras_rnninit.tuning.space import SpaceError

    try:
        space = SearchSpace.from_file(args.space) if args.space else SearchSpace()
        config = space.to_dict()
        if args.clipnorms is not None:
            try:
                config["clipnorm"] = _floats(args.clipnorms)
            except ValueError:
                parser.error("--clipnorms needs numbers V,V,... Received: "
                             f"{args.clipnorms!r}")
        if args.optimizers is not None:
            config["optimizer"] = _csv(args.optimizers)
        if args.no_init_scale:
            config["init_scale"] = False
        return SearchSpace.from_dict(config)
    except SpaceError as e:
        parser.error(str(e))


def default_directory(args):
    """`rnninit_runs/<task>`, or `rnninit_runs/<module>.<function>` for
    `--model`: a model function of the same name in another module is
    another study."""
    if not args.model:
        return os.path.join("rnninit_runs", args.task)
    module, function = args.model.split(":")
    if module.endswith(".py"):
        module = os.path.splitext(os.path.basename(module))[0]
    return os.path.join("rnninit_runs", f"{module}.{function}")


def directory_problem(directory):
    """Why a study cannot be written to `directory`, or None."""
    if os.path.exists(directory) and not os.path.isdir(directory):
        return f"--directory {directory} is a file, not a directory"
    existing = os.path.abspath(directory)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"--directory {directory}: {existing} is a file, not a directory"
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as e:
        return f"--directory {directory} is not writable ({e.strerror} in {existing})"
    return None


def _reference(text, flag):
    """Why `MODULE:FUNCTION` names nothing, or None: looked up, not imported
    (a user's module may import a backend)."""
    module, sep, function = text.partition(":")
    if not sep or not module or not function or ":" in function:
        return (f"{flag} needs MODULE:FUNCTION, e.g. my_models:make_model. "
                f"Received: {text!r}")
    if module.endswith(".py"):
        return None if os.path.isfile(module) else f"{flag}: no file {module!r}."
    top = module.split(".")[0]
    if os.getcwd() not in sys.path:  # as `user_code.load_function` imports
        sys.path.insert(0, os.getcwd())
    try:
        found = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return (f"{flag}: no module named {top!r} in the current directory or "
                "on the Python path.")
    return None


def _objective(args):
    """The study's objective and direction, where known before Keras loads."""
    if args.model:
        return args.objective, args.direction or (
            "max" if "acc" in args.objective else "min")
    return catalog.TASK_OBJECTIVES.get(args.task, (None, None))


def initializer_problem(item):
    """Why an `--initializers` item names nothing, or None: checked against
    the built-in schemes and initializers before Keras loads. Names of
    another package (`mypackage>MyInit`), which the user's module registers
    when it is imported, are checked later."""
    text = item.strip()
    body = text[len("scheme:"):].strip() if text.startswith("scheme:") else None
    if body is not None and body.endswith(".json"):
        if not os.path.isfile(body):
            return f"--initializers: no scheme file {body!r} ({text!r})."
        return None
    if (body or text).startswith("{"):
        try:
            config = json.loads(body or text)
        except json.JSONDecodeError as e:
            return f"--initializers: {text!r} is not valid JSON: {e}"
        if body is not None or "layers" in config or not isinstance(config, dict):
            return None  # a scheme config: checked where it is built
        name = config.get("class_name")
    else:
        name = re.sub(r"\(.*\)$", "", body or text, flags=re.DOTALL).strip()
    schemes = list(catalog.schemes())
    if body is not None or name in schemes:
        if name in schemes:
            return None
        return "--initializers: " + catalog.unknown_name(
            "scheme", name, schemes, "rnninit-tune --help")
    if not isinstance(name, str):
        return f"--initializers: {text!r} has no class_name."
    if ">" in name and not name.startswith("keras_rnninit>"):
        return None
    known = catalog.KERAS_INITIALIZERS + catalog.PACKAGE_INITIALIZERS
    if name in known:
        return None
    # A class name (JSON config) is matched to class names, an identifier
    # to identifiers.
    camel = name[:1].isupper()
    close = schemes + [n for n in known if ">" in n or n[0].isupper() == camel]
    return "--initializers: " + catalog.unknown_name(
        "scheme or initializer", name, close, listing=(
            f"the schemes are {', '.join(schemes)} (rnninit-tune --help); the "
            "initializers are Keras's own (keras.initializers, e.g. orthogonal, "
            f"glorot_uniform, identity) and {', '.join(catalog.PACKAGE_INITIALIZERS)}"))


def check_arguments(args, parser):
    """Checks everything in `args` that needs no backend, so that a usage
    error is one line and comes at once; fills in what the run reads
    (`learning_rate_range`, `search_space`, `task_arguments`, `directory`)."""
    try:
        low, high = _floats(args.learning_rate)
    except ValueError:
        parser.error(f"--learning-rate needs LOW,HIGH. Received: {args.learning_rate!r}")
    if not (0 < low <= high < math.inf):
        parser.error("--learning-rate needs 0 < LOW <= HIGH, finite. Received: "
                     f"{args.learning_rate!r}")
    args.learning_rate_range = (low, high)
    if args.eval_every > args.steps:
        parser.error(f"--eval-every ({args.eval_every}) must not exceed --steps "
                     f"({args.steps}).")
    if args.model:
        if args.initializers is None:
            args.initializers = DEFAULT_INITIALIZERS
        if args.objective is None:
            args.objective = "val_loss"
        if args.data is None:
            parser.error("--model needs --data MODULE:FUNCTION too.")
        for text, flag in ((args.model, "--model"), (args.data, "--data")):
            problem = _reference(text, flag)
            if problem:
                parser.error(problem)
        if not _csv(args.initializers):
            parser.error("--initializers names no initializer. Received: "
                         f"{args.initializers!r}")
        for item in _csv(args.initializers):
            problem = initializer_problem(item)
            if problem:
                parser.error(problem)
    else:
        for flag in MODEL_ONLY_FLAGS:
            if getattr(args, flag[2:]) is not None:
                parser.error(f"{flag} goes with --model; the built-in families "
                             "each have their paper's initialization and "
                             "objective (choose them with --families).")
        if args.task not in catalog.tasks():
            parser.error("--task: " + catalog.unknown_name(
                "task", args.task, catalog.tasks()))
        families = _csv(args.families)
        if not families:
            parser.error(f"--families names no family. Received: {args.families!r}")
        for family in families:
            if family not in catalog.families():
                parser.error("--families: " + catalog.unknown_name(
                    "family", family, catalog.families()))
    objective, direction = _objective(args)
    if args.threshold is not None and objective and not args.force:
        problem = objective_lib.threshold_problem(
            args.threshold, objective, direction,
            args.baseline if args.model else None)
        if problem:
            parser.error(f"--threshold: {problem} (or keep it with --force).")
    args.task_arguments = _task_arguments(args.task_arg, parser)
    args.search_space = _space(args, parser)
    args.directory = args.directory or default_directory(args)
    problem = directory_problem(args.directory)
    if problem:
        parser.error(problem)
    problem = strategy_lib.check_cpu_replicas(args.cpu_replicas, args.strategy)
    if problem:
        parser.error(problem)
    try:
        distributed.check_arguments(args)
    except distributed.DistributedError as e:
        parser.error(str(e))


def check_command_line(argv):
    """Parses and checks a command line before any backend is imported;
    exits 2 with one line on a usage error. Returns `(parser, args)`."""
    if argv[:1] == ["report"]:
        parser = report_parser()
        args = parser.parse_args(argv[1:])
        if not os.path.isdir(args.directory):
            parser.error(f"{args.directory} is not a directory.")
        return parser, args
    parser = search_parser()
    args = parser.parse_args(argv)
    check_arguments(args, parser)
    problem = rerun_problem(args, argv)
    if problem:
        parser.error(problem)
    return parser, args


def rerun_problem(args, argv):
    """Why this command cannot resume the study in `--directory`, from what
    its `study.json` records and the command line fixes (settings, backend),
    before any backend loads; None when those agree. The models and the
    data are compared once they are built. A distributed study's processes
    are checked against their chief instead."""
    from keras_rnninit.tuning import identity

    path = os.path.join(args.directory, "study.json")
    if (args.overwrite or args.tuner_id or os.environ.get("KERASTUNER_TUNER_ID")
            or not os.path.isfile(path)):
        return None
    try:
        with open(path) as f:
            recorded = json.load(f)
    except (OSError, ValueError):
        return None  # the study's own check says what is wrong with it
    settings = _settings(args)
    settings.pop("space")
    settings.pop("trials" if args.protocol == "sweep" else "learning_rates")
    if not args.model:
        settings["candidates"] = _csv(args.families)
    if args.threshold is not None:
        settings["threshold"] = args.threshold
    try:
        identity.check_settings(args.directory, recorded, settings,
                                os.environ.get("KERAS_BACKEND"), partial=True)
    except identity.StudyMismatch as e:
        if e.recorded_backend is None:
            return str(e)
        return (f"{e} Resume it with: "
                f"{resume_command(argv, args.directory, e.recorded_backend)}")
    return None


def _set_distributed_env(args):
    os.environ.update(distributed.environment(args))


def split_cpu(args):
    """`--cpu-replicas`: splits the CPU before the backend starts, which
    fixes its devices."""
    if getattr(args, "cpu_replicas", None):
        strategy_lib.split_cpu(args.cpu_replicas)


def _start_timeout(seconds):
    if not seconds:
        return

    def expire(signum, frame):
        print(f"rnninit-tune: error: stopped after --timeout {seconds:g} s",
              file=sys.stderr, flush=True)
        os._exit(3)

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def print_report(directory, threshold=None):
    from keras_rnninit.tuning import report as report_lib

    report, paths = report_lib.write_report(directory, threshold)
    print(report_lib.terminal_table(report))
    for kind, path in paths.items():
        print(f"{kind:9s} {path}")
    return report


def _settings(args):
    settings = dict(
        protocol=args.protocol,
        learning_rates=args.learning_rates,
        learning_rate_range=args.learning_rate_range,
        seeds=args.seeds,
        trials=args.trials,
        steps=args.steps,
        eval_every=args.eval_every,
        clipnorm=args.clipnorm,
        seed=args.seed,
        space=args.search_space,
    )
    # Families: one optimizer for all unless --optimizer paper; a user's
    # model: its own optimizer unless --optimizer names one.
    optimizer = args.optimizer or (None if args.model else "adam")
    if optimizer not in (None, "paper"):
        settings["optimizer"] = optimizer
    return settings


def run(args, argv=()):
    """Runs the study `args` (checked by `check_arguments`) describe, from
    the command line `argv`; returns its directory."""
    import keras

    from keras_rnninit.tuning import jobs
    from keras_rnninit.tuning import strategy as strategy_lib
    from keras_rnninit.tuning import studies

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # Each trial builds a new model: TF's retracing warnings are expected.
        tf.get_logger().setLevel("ERROR")
    strategy = args.strategy
    if args.jobs != 1 and jobs.visible_gpus():
        # One GPU per job: none for this process, which only serves them.
        os.environ.update(jobs.NO_MEMORY_GRAB)
        strategy = "default"
    tf_strategy, jax_distribution = strategy_lib.select_strategy(strategy)
    if jax_distribution is not None:
        keras.distribution.set_distribution(jax_distribution)
    settings = _settings(args)
    log = print if args.verbose else (lambda *a, **k: None)
    if tf_strategy is not None or jax_distribution is not None:
        log("each trial trains with "
            f"{strategy_lib.describe(tf_strategy, jax_distribution)}")
    common = dict(
        overwrite=args.overwrite, tf_strategy=tf_strategy, log=log,
        fit_verbose=2 if args.verbose == 2 else 0, force=args.force,
        batch_size=args.batch_size, jobs=args.jobs,
        command=_interrupts.program("rnninit-tune", "keras_rnninit.tuning") + argv,
    )
    if args.model:
        from keras_rnninit.tuning import user_code

        model_fn = user_code.load_function(args.model, "--model")
        data_fn = user_code.load_function(args.data, "--data")
        _, direction = _objective(args)
        study = studies.study_initializers(
            args.directory, model_fn, data_fn, _csv(args.initializers),
            objective=args.objective, direction=direction,
            threshold=args.threshold, baseline=args.baseline,
            description=f"{args.model}, recurrent initializers",
            **common, **settings,
        )
    else:
        study = studies.study_families(
            args.directory, task=args.task, task_kwargs=_task_kwargs(args),
            families=_csv(args.families), units=args.units, layers=args.layers,
            threshold=args.threshold, **common, **settings,
        )
    return study.directory


def resume_command(argv, directory, backend=None):
    """The command that, pasted into a fresh shell, resumes this study: the
    same arguments with `--directory` explicit and without `--overwrite`,
    in this working directory, on the study's backend."""
    if backend is None:
        import keras

        backend = keras.backend.backend()
    args = [a for a in argv if a != "--overwrite"]
    if not any(a == "--directory" or a.startswith("--directory=") for a in args):
        args += ["--directory", directory]
    return _interrupts.pasteable(
        _interrupts.program("rnninit-tune", "keras_rnninit.tuning") + args,
        backend)


def _saved(directory):
    """'11 of 18 trials saved in DIR', read from the directory."""
    from keras_rnninit.tuning import study as study_lib

    try:
        settings = study_lib.load_settings(directory)
    except Exception:  # stopped before the study was recorded
        return f"nothing saved yet in {directory}"
    done = len(study_lib.finished_trials(directory))
    return f"{done} of {settings.planned_trials} trials saved in {directory}"


def _finished(directory):
    """How many trials in `directory` have a result (0 for a new study)."""
    from keras_rnninit.tuning import study as study_lib

    if not os.path.isdir(directory):
        return 0
    return len(study_lib.finished_trials(directory))


def _left(directory):
    """How many planned trials have no result in `directory`."""
    from keras_rnninit.tuning import study as study_lib

    try:
        planned = study_lib.load_settings(directory).planned_trials
    except Exception:  # stopped before the study was recorded
        return "all"
    return planned - len(study_lib.finished_trials(directory))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, args = check_command_line(argv)
    split_cpu(args)
    _quiet.import_tensorflow()
    from keras_rnninit.tuning import identity
    from keras_rnninit.tuning import jobs
    from keras_rnninit.tuning.candidates import StudyError

    if argv[:1] == ["report"]:
        try:
            print_report(args.directory, args.threshold)
        except StudyError as e:
            fail(str(e))
        return 0

    _start_timeout(args.timeout)
    _set_distributed_env(args)
    from keras_rnninit.tuning.runner import is_worker
    from keras_rnninit.tuning.strategy import StrategyError
    from keras_rnninit.tuning.study import StudyWriteError

    started = time.time()
    _interrupts.handle_signals()
    try:
        finished_before = 0 if args.overwrite else _finished(args.directory)
        directory = run(args, argv)
    except identity.StudyMismatch as e:
        if e.recorded_backend is None:
            fail(str(e))
        fail(f"{e} Resume it with: "
             f"{resume_command(argv, args.directory, e.recorded_backend)}")
    except (StrategyError, StudyError, distributed.DistributedError) as e:
        fail(str(e))
    except StudyWriteError as e:
        fail(f"{e}; {_saved(args.directory)}: free space (or fix the "
             "permissions) and rerun the same command to resume.", code=1)
    except _interrupts.Aborted as e:
        if isinstance(e, distributed.ChiefGone):
            e = (f"{e}; {_saved(args.directory)}, {_left(args.directory)} to "
                 "run. To resume: start the chief again with its command, then "
                 f"this worker: {resume_command(argv, args.directory)}")
        print(f"rnninit-tune: error: {e}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        # Stopped inside a trial, as by Ctrl-C: leave now rather than wait
        # seconds for the backend's threads (see keras_rnninit_cli).
        os._exit(1)
    except KeyboardInterrupt as e:
        if jobs.is_job():  # its parent says it
            return _interrupts.stop(e)
        return _interrupts.stopped(
            e, "rnninit-tune", _saved(args.directory),
            resume_command(argv, args.directory))
    if is_worker():
        print(f"worker {os.environ['KERASTUNER_TUNER_ID']} done in "
              f"{time.time() - started:.0f} s")
        return 0
    # A rerun with nothing left has said so (the runner's "nothing to run").
    if args.verbose and _finished(directory) > finished_before:
        print(f"\nStudy finished in {time.time() - started:.0f} s.")
    print_report(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
