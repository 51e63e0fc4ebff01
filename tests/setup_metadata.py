"""What setup.py declares, read from the file itself (an installed copy's
metadata can be stale), for the tests of what the README and the notebooks
install."""

import pathlib
import runpy
from unittest import mock

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = pathlib.Path(__file__).resolve().parents[1]


def setup_arguments():
    """The keyword arguments setup.py passes to `setup()`."""
    captured = {}
    with mock.patch("setuptools.setup", lambda **kwargs: captured.update(kwargs)):
        runpy.run_path(str(ROOT / "setup.py"), run_name="setup")
    return captured


def requirements(extras, arguments=None):
    """`{canonical name: Requirement}` of the base install plus `extras`."""
    arguments = arguments or setup_arguments()
    lines = list(arguments["install_requires"])
    for extra in extras:
        lines += arguments["extras_require"][extra]
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}
