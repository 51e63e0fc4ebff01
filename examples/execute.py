"""Runs the notebooks and saves them with their outputs, as the docs show them.

    KERAS_BACKEND=jax python examples/execute.py [NAME ...]

Run it from a checkout whose package the kernel imports (an editable
install, or `PYTHONPATH` set to the checkout), after changing a notebook or
what it shows. Each notebook (all of them without NAME) runs top to bottom
in a fresh kernel, in a temporary directory, in full mode except the ones in
`QUICK` (see there), on the backend of `KERAS_BACKEND` (`jax` unless set:
the fastest here for these models). A notebook that raises is not written.

The saved outputs leave out what would change on every run or belongs to
this machine: the cells' execution timestamps, the kernel's stderr (backend
log lines and warnings) and the random name of the notebook's temporary
directory.
"""

import argparse
import os
import pathlib
import re
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient

EXAMPLES = pathlib.Path(__file__).resolve().parent
# Sequential MNIST needs MNIST, which the machines that run this script
# cannot download: its quick mode, on tensorflow-datasets' mock data, runs
# instead, and the notebook says so.
QUICK = {"sequential_mnist"}
TIMEOUT = 3600  # seconds per cell


def clean(nb, tmp):
    """Drops stderr and timestamps, joins a cell's consecutive stdout
    outputs into one, and makes `<tmp>/rnninit_NAME_x1y2z3` read
    `/tmp/rnninit_NAME_XXXXXXXX` in every output."""
    workdir = re.compile(re.escape(tmp) + r"/(rnninit_\w+?_)[\w]{8}\b")
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                continue
            if output.output_type == "stream":
                output.text = workdir.sub(r"/tmp/\1XXXXXXXX", output.text)
                if outputs and outputs[-1].output_type == "stream":
                    outputs[-1].text += output.text
                    continue
            for key, value in output.get("data", {}).items():
                if key.startswith("text/") and isinstance(value, str):
                    output.data[key] = workdir.sub(r"/tmp/\1XXXXXXXX", value)
            outputs.append(output)
        cell.outputs = outputs
    text = nbformat.writes(nb)
    for leak in (tmp, str(EXAMPLES.parent), os.path.expanduser("~")):
        if leak in text:
            raise RuntimeError(f"an output still names the local path {leak}")


def execute(name):
    path = EXAMPLES / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    os.environ["RNNINIT_QUICK"] = "1" if name in QUICK else "0"
    with tempfile.TemporaryDirectory(prefix="rnninit_execute_") as tmp:
        # The kernel inherits this environment: its tempfile.mkdtemp() lands
        # in `tmp`, whose name clean() then takes out of the outputs.
        os.environ["TMPDIR"] = tmp
        client = NotebookClient(
            nb,
            timeout=TIMEOUT,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": tmp}},
        )
        client.execute()
        clean(nb, tmp)
    nbformat.write(nb, path)


def main():
    names = sorted(p.stem for p in EXAMPLES.glob("*.ipynb"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=names, metavar="NAME",
                        help=f"notebooks to run (default: all): {', '.join(names)}")
    args = parser.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # The width of the tables that `rnninit-tune report` prints in a cell
    # (80 columns, a pipe's default, would cut their headings short).
    os.environ["COLUMNS"] = "120"
    for name in args.names or names:
        started = time.time()
        mode = "quick" if name in QUICK else "full"
        print(f"{name} ({mode} mode, {os.environ['KERAS_BACKEND']})...",
              end=" ", flush=True)
        execute(name)
        print(f"{time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
