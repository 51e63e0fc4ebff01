"""The arguments of `rnninit-train`, readable without importing Keras (so
that `rnninit-train --help` answers at once)."""

import argparse

from keras_rnninit import catalog
from keras_rnninit._command_line import COUNT
from keras_rnninit._command_line import Parser
from keras_rnninit._command_line import number

DESCRIPTION = "Trains one model family on one task and reports its test score."


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only where there is one to show."""

    def _get_help_string(self, action):
        if action.required or action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


def make_parser():
    parser = Parser(
        prog="rnninit-train",
        description=DESCRIPTION,
        epilog=(
            "Families: "
            + "; ".join(f"{n}: {d}" for n, d in catalog.families().items())
        ),
        formatter_class=_HelpFormatter,
    )
    g = parser.add_argument_group("task")
    g.add_argument("--task", required=True, choices=catalog.tasks(),
                   help="the problem to train on")
    g.add_argument("--length", type=COUNT,
                   help="sequence length T (adding, multiplication, copy)")
    g.add_argument("--num-train", type=COUNT,
                   help="training examples per epoch (task default if unset)")
    g.add_argument("--num-validation", type=COUNT, help="validation examples")
    g.add_argument("--num-test", type=COUNT, help="test examples")
    g.add_argument("--batch-size", type=COUNT, help="examples per batch")
    g.add_argument("--rows", action="store_true", default=None,
                   help="mnist / permuted-mnist / digits: one image row per step "
                        "instead of one pixel per step")
    g.add_argument("--source",
                   choices=["auto", "npz", "pkl", "keras-cache", "tfds"],
                   help="mnist / permuted-mnist: where the data comes from "
                        "(auto: --mnist-path, Keras's cache, or data already "
                        "prepared by tensorflow_datasets; never downloads)")
    g.add_argument("--mnist-path", help="mnist / permuted-mnist: an mnist.npz "
                   "in Keras's format or the classic mnist.pkl.gz (its own "
                   "50000/10000/10000 split)")
    g.add_argument("--data-dir", help="mnist / permuted-mnist: "
                   "tensorflow_datasets' data directory")
    g = parser.add_argument_group("model")
    g.add_argument("--family", required=True, choices=list(catalog.families()),
                   help="model family (see the list below)")
    g.add_argument("--units", type=COUNT, default=128, help="units per layer")
    g.add_argument("--layers", type=COUNT, default=1,
                   help="stacked recurrent layers")
    g.add_argument("--hp", action="append", metavar="NAME=VALUE",
                   help="a family hyperparameter, repeatable, e.g. --hp gain=0.05 "
                        "(irnn-scaled), --hp input_scale=2 (np-rnn), --hp gamma=5 "
                        "(indrnn), --hp num_modules=4 (clockwork)")
    g = parser.add_argument_group("optimization")
    g.add_argument("--optimizer", default="adam", choices=catalog.OPTIMIZERS,
                   help="optimizer")
    g.add_argument("--learning-rate", type=number(float, above=0), default=1e-3,
                   help="initial learning rate")
    g.add_argument("--momentum", type=number(float, low=0),
                   help="SGD momentum (sgd only)")
    g.add_argument("--clipnorm", type=number(float, above=0),
                   help="clip each gradient to this norm")
    g.add_argument("--clipvalue", type=number(float, above=0),
                   help="clip each gradient element to [-v, v]")
    g.add_argument("--lr-decay", type=number(float, above=0), metavar="FACTOR",
                   help="multiply the learning rate by FACTOR every "
                        "--lr-decay-steps steps (e.g. 0.1)")
    g.add_argument("--lr-decay-steps", type=COUNT, metavar="N",
                   help="optimizer steps between two learning-rate decays")
    g.add_argument("--epochs", type=number(int, low=0), default=10,
                   help="most epochs to train")
    g.add_argument("--patience", type=number(int, low=0), default=5,
                   help="early-stopping patience in epochs on the validation "
                        "objective (0: never stop early)")
    g.add_argument("--stop-when-solved", action="store_true",
                   help="stop once the validation score reaches the task's "
                        "success threshold")
    g.add_argument("--seed", type=number(int, low=0), default=0,
                   help="seed of the data, the initializers and Keras")
    g = parser.add_argument_group("output")
    g.add_argument("--output-dir",
                   help="checkpoints and logs directory (default: "
                        "runs/<family>_<task>)")
    g.add_argument("--resume", action="store_true",
                   help="continue from <output-dir>/last.keras")
    g.add_argument("--quiet", action="store_true",
                   help="one line per epoch instead of a progress bar")
    return parser
