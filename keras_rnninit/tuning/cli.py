"""`rnninit-tune`: hyperparameter-sensitivity searches from the command line."""

import argparse
import os
import signal
import sys
import time

EPILOG = """\
Rebuild a report from a finished or partial search directory (optionally
at another success threshold):
  rnninit-tune report DIR [--threshold 0.05]

Resuming: re-running the same command continues the search in --directory,
keeping every finished trial (an interrupted trial is run again);
--overwrite starts over.

Distributed search with keras-tuner's chief and workers (one directory,
shared by all processes; the chief serves family i on port --oracle-port + i):
  rnninit-tune --tuner-id chief  --oracle-port 8000 ...   # the oracle
  rnninit-tune --tuner-id tuner0 --oracle-port 8000 ...   # a worker
  rnninit-tune --tuner-id tuner1 --oracle-port 8000 ...   # another worker
--oracle-ip defaults to 127.0.0.1 (this machine). The same can be set with
KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT.
Give every process a --timeout: a worker whose chief is gone waits for it.
"""


def _csv(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def _floats(text):
    values = []
    for item in _csv(text):
        values.append(0.0 if item.lower() == "none" else float(item))
    return values


def search_parser():
    from keras_rnninit.tuning.search import DEFAULT_FAMILIES
    from keras_rnninit.tuning.search import TUNERS
    from keras_rnninit.tuning.strategy import STRATEGIES

    p = argparse.ArgumentParser(
        prog="rnninit-tune",
        description=(
            "Measure how sensitive each RNN initialization is to its "
            "hyperparameters: the same keras-tuner search for every model "
            "family on one task, then a report of how many trials succeed, "
            "and over how wide a band of learning rates."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("task")
    g.add_argument("--task", default="adding",
                   help="task name (adding, multiplication, copy, mnist, "
                        "permuted-mnist, digits; default: %(default)s)")
    g.add_argument("--length", type=int, default=30,
                   help="sequence length T for tasks that have one "
                        "(default: %(default)s)")
    g.add_argument("--num-train", type=int, default=None,
                   help="training examples (default: the task's own)")
    g.add_argument("--num-validation", type=int, default=None,
                   help="validation examples (default: the task's own)")
    g.add_argument("--task-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="any other task argument, e.g. --task-arg data_dir=/data "
                        "(repeatable; values are parsed as numbers when they can be)")
    g = p.add_argument_group("models")
    g.add_argument("--families", default=",".join(DEFAULT_FAMILIES),
                   help="comma-separated model families (irnn, irnn-scaled, np-rnn, "
                        "np-tanh, tanh-rnn, lstm, indrnn, clockwork; "
                        "default: %(default)s)")
    g.add_argument("--units", type=int, default=100,
                   help="hidden units per layer (default: %(default)s)")
    g.add_argument("--layers", type=int, default=1,
                   help="recurrent layers (default: %(default)s)")
    g = p.add_argument_group("search")
    g.add_argument("--tuner", choices=TUNERS, default="random",
                   help="keras-tuner algorithm (default: %(default)s)")
    g.add_argument("--trials", type=int, default=5,
                   help="trials per family (default: %(default)s)")
    g.add_argument("--epochs", type=int, default=3,
                   help="epochs per trial: the fixed training budget "
                        "(default: %(default)s)")
    g.add_argument("--steps-per-epoch", type=int, default=None,
                   help="batches per epoch (default: one pass over the data)")
    g.add_argument("--batch-size", type=int, default=32,
                   help="batch size (default: %(default)s)")
    g.add_argument("--seed", type=int, default=0,
                   help="seed of data, tuner and initializers (default: %(default)s)")
    g = p.add_argument_group("hyperparameter space (shared by all families)")
    g.add_argument("--space", default=None, metavar="FILE",
                   help="a JSON or YAML file with keys learning_rate [low, high], "
                        "clipnorm [values], optimizer [names], init_scale "
                        "true/false, grid_points; flags below override it")
    g.add_argument("--learning-rate", default=None, metavar="LOW,HIGH",
                   help="learning-rate range, sampled log-uniformly "
                        "(default: 1e-5,1e-1)")
    g.add_argument("--clipnorms", default=None, metavar="V,V,...",
                   help="gradient-clip norms to choose from; 0 or none = no "
                        "clipping (default: 0,1,10)")
    g.add_argument("--optimizers", default=None, metavar="NAME,...",
                   help="optimizers to choose from: adam, sgd, rmsprop "
                        "(default: adam,sgd)")
    g.add_argument("--no-init-scale", action="store_true",
                   help="do not search the families' initializer scales "
                        "(iRNN gain, np-RNN input scale, IndRNN gamma)")
    g.add_argument("--grid-points", type=int, default=None,
                   help="learning rates per decade range for --tuner grid "
                        "(default: 5)")
    g = p.add_argument_group("report")
    g.add_argument("--threshold", type=float, default=None,
                   help="success threshold on the objective (default: the "
                        "task's, e.g. MSE 0.01 on the adding problem)")
    g.add_argument("--directory", default=None,
                   help="search directory: trials, checkpoints, report "
                        "(default: rnninit_runs/<task>)")
    g.add_argument("--overwrite", action="store_true",
                   help="delete the directory's previous trials and start over")
    g.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="0: quiet, 1: progress bars, 2: one line per epoch "
                        "(default: %(default)s)")
    g = p.add_argument_group("distribution")
    g.add_argument("--strategy", choices=STRATEGIES, default="auto",
                   help="how each trial trains: auto (mirrored on 2+ GPUs, TPU "
                        "when reachable, else default), default (one device), "
                        "mirrored, multiworker (needs TF_CONFIG), tpu. "
                        "TensorFlow uses tf.distribute; JAX uses "
                        "keras.distribution.DataParallel (default: %(default)s)")
    g.add_argument("--cpu-replicas", type=int, default=None,
                   help="split the CPU into N logical devices (TensorFlow), e.g. "
                        "to try --strategy mirrored on a machine without GPUs")
    g.add_argument("--tuner-id", default=None,
                   help="keras-tuner distributed search: 'chief' for the oracle, "
                        "any other name for a worker (sets KERASTUNER_TUNER_ID)")
    g.add_argument("--oracle-ip", default=None,
                   help="the chief's address (default: 127.0.0.1 when "
                        "--tuner-id is given)")
    g.add_argument("--oracle-port", type=int, default=None,
                   help="the chief's first port (default: 8000 when --tuner-id "
                        "is given)")
    g.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="stop with an error after this wall-clock time")
    return p


def report_parser():
    p = argparse.ArgumentParser(
        prog="rnninit-tune report",
        description="Rebuild the sensitivity report (JSON, Markdown, PNG) of a "
                    "finished or partial search directory, and print its table.",
    )
    p.add_argument("directory", help="a search directory made by rnninit-tune")
    p.add_argument("--threshold", type=float, default=None,
                   help="read the trials at another success threshold; the "
                        "files are then named sensitivity_<threshold>.*")
    return p


def _task_kwargs(args):
    kwargs = {}
    if args.task in ("adding", "multiplication", "copy"):
        kwargs["length"] = args.length
    if args.num_train is not None:
        kwargs["num_train"] = args.num_train
    if args.num_validation is not None:
        kwargs["num_validation"] = args.num_validation
    for item in args.task_arg:
        if "=" not in item:
            raise ValueError(f"--task-arg needs KEY=VALUE. Received: {item!r}")
        key, value = item.split("=", 1)
        for parse in (int, float):
            try:
                value = parse(value)
                break
            except ValueError:
                pass
        kwargs[key.strip()] = value
    return kwargs


def _space(args):
    from keras_rnninit.tuning.space import SearchSpace

    space = SearchSpace.from_file(args.space) if args.space else SearchSpace()
    config = space.to_dict()
    if args.learning_rate is not None:
        config["learning_rate"] = _floats(args.learning_rate)
    if args.clipnorms is not None:
        config["clipnorm"] = _floats(args.clipnorms)
    if args.optimizers is not None:
        config["optimizer"] = _csv(args.optimizers)
    if args.no_init_scale:
        config["init_scale"] = False
    if args.grid_points is not None:
        config["grid_points"] = args.grid_points
    return SearchSpace.from_dict(config)


def _set_distributed_env(args):
    if args.tuner_id is None:
        return None
    os.environ["KERASTUNER_TUNER_ID"] = args.tuner_id
    os.environ["KERASTUNER_ORACLE_IP"] = args.oracle_ip or "127.0.0.1"
    port = args.oracle_port if args.oracle_port is not None else 8000
    os.environ["KERASTUNER_ORACLE_PORT"] = str(port)
    return port


def _split_cpu(replicas):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * replicas
    )


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


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "report":
        parser = report_parser()
        args = parser.parse_args(argv[1:])
        from keras_rnninit.tuning.search import SearchConfigError

        try:
            print_report(args.directory, args.threshold)
        except SearchConfigError as e:
            parser.error(str(e))
        return 0

    parser = search_parser()
    args = parser.parse_args(argv)
    _start_timeout(args.timeout)
    if args.cpu_replicas:
        _split_cpu(args.cpu_replicas)
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # Each trial builds a new model: TF's retracing warnings are expected.
        tf.get_logger().setLevel("ERROR")
    from keras_rnninit.tuning import search as search_lib
    from keras_rnninit.tuning.space import SpaceError
    from keras_rnninit.tuning.strategy import StrategyError

    started = time.time()
    try:
        port = _set_distributed_env(args)
        config = search_lib.SearchConfig(
            directory=args.directory or os.path.join("rnninit_runs", args.task),
            task=args.task,
            task_kwargs=_task_kwargs(args),
            families=_csv(args.families),
            tuner=args.tuner,
            trials=args.trials,
            epochs=args.epochs,
            steps_per_epoch=args.steps_per_epoch,
            batch_size=args.batch_size,
            units=args.units,
            layers=args.layers,
            space=_space(args),
            threshold=args.threshold,
            seed=args.seed,
        )
        keras.utils.set_random_seed(args.seed)
        search_lib.run_search(
            config, overwrite=args.overwrite, strategy=args.strategy,
            verbose=args.verbose, oracle_port=port,
        )
    except (SpaceError, StrategyError, search_lib.SearchConfigError) as e:
        parser.error(str(e))
    if search_lib.is_worker():
        print(f"worker {os.environ['KERASTUNER_TUNER_ID']} done in "
              f"{time.time() - started:.0f} s")
        return 0
    print(f"\nSearch finished in {time.time() - started:.0f} s.")
    print_report(config.directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
