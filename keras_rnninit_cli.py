"""The entry points of `rnninit-tune` and `rnninit-train`.

They live outside the `keras_rnninit` package on purpose: importing the
package registers its layers with Keras, which imports a backend (seconds).
`--help` is answered from the argument parsers alone, which need only the
built-in names of `keras_rnninit.catalog`; everything else runs the
package's own `main`, after TensorFlow has been imported with its start-up
log lines dropped (on the TensorFlow backend Keras would import it first).
"""

import importlib
import importlib.util
import os
import sys
import types

HELP_FLAGS = ("-h", "--help")
INTERRUPTED = (130, 143)  # SIGINT, SIGTERM: see keras_rnninit/_interrupts.py


def stop_at_once():
    """The first step of every command line: until its run starts, Ctrl-C
    or SIGTERM ends the process at once and silently (see
    `keras_rnninit/_interrupts.py`)."""
    _standalone("keras_rnninit._interrupts").stop_at_once()


def tune():
    stop_at_once()
    # Every usage error is one line, given before a backend is imported.
    cli = _light("keras_rnninit.tuning.cli")
    _, args = cli.check_command_line(sys.argv[1:])
    cli.split_cpu(args)  # --cpu-replicas: before the backend starts
    return _main("keras_rnninit.tuning.cli", _tune_parser)


def train():
    stop_at_once()
    argv = sys.argv[1:]
    if not any(flag in argv for flag in HELP_FLAGS):
        # A usage error is one line, given before a backend is imported.
        _train_parser(argv).parse_args(argv)
    return _main("keras_rnninit.train", _train_parser)


def _train_parser(argv):
    return _light("keras_rnninit.train_arguments").make_parser()


def _tune_parser(argv):
    cli = _light("keras_rnninit.tuning.cli")
    return cli.report_parser() if argv[:1] == ["report"] else cli.search_parser()


def _main(module, parser):
    argv = sys.argv[1:]
    if any(flag in argv for flag in HELP_FLAGS):
        # argparse prints the help and exits 0.
        parser(argv).parse_args(argv[1:] if argv[:1] == ["report"] else argv)
    # Keras imports TensorFlow (on its TensorFlow backend) before the
    # package's own code runs: TensorFlow's start-up lines are dropped first.
    _standalone("keras_rnninit._quiet").import_tensorflow()
    code = importlib.import_module(module).main()
    if code in INTERRUPTED:
        # Stopped by a signal, with everything finished saved: leave now.
        # A normal exit joins the backend's worker threads, which can still
        # be busy with the interrupted step for minutes on a long sequence.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _standalone(module):
    """`module`, a file of `keras_rnninit` that imports only the standard
    library, loaded before its package (whose import loads a backend)."""
    if module in sys.modules:
        return sys.modules[module]
    package = importlib.util.find_spec("keras_rnninit").submodule_search_locations[0]
    spec = importlib.util.spec_from_file_location(
        module, os.path.join(package, module.rpartition(".")[2] + ".py"))
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    sys.modules[module] = loaded
    return loaded


def _light(module):
    """Imports `module` without running `keras_rnninit/__init__.py`."""
    if "keras_rnninit" not in sys.modules:
        spec = importlib.util.find_spec("keras_rnninit")
        package = types.ModuleType("keras_rnninit")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules["keras_rnninit"] = package
    return importlib.import_module(module)
