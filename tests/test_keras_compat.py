import pathlib
import re

import pytest

from keras_rnninit import _keras_compat
from keras_rnninit.version import KERAS_REQUIREMENT

PACKAGE = pathlib.Path(_keras_compat.__file__).parent
# Private Keras names: its source tree, and the underscored attributes of
# layers and cells that a subclass has no public way to reach.
INTERNALS = re.compile(
    r"keras\.src\b|\._tracker\b|_call_has_training_arg|\._trainable_variables"
    r"|\._non_trainable_variables|\._track_variable|\._untrack_variable")


@pytest.mark.parametrize("version", ["3.12.0", "3.15.1", "3.99.2.dev20270101"])
def test_versions_in_the_tested_range_are_accepted(version):
    _keras_compat.check_keras_version(version)


@pytest.mark.parametrize("version", ["2.15.0", "3.10.0", "3.11.3", "4.0.0", "4.1.0rc1"])
def test_versions_outside_the_tested_range_fail_with_one_line(version):
    with pytest.raises(ImportError) as info:
        _keras_compat.check_keras_version(version)
    message = str(info.value)
    assert "\n" not in message
    assert repr(version) in message and f"keras{KERAS_REQUIREMENT}" in message


def test_setup_declares_the_range_the_package_checks():
    setup = (PACKAGE.parent / "setup.py").read_text()
    assert '"keras" + version["KERAS_REQUIREMENT"]' in setup


def test_keras_internals_are_reached_only_through_the_compat_module():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}"
        for path in PACKAGE.rglob("*.py") if path.name != "_keras_compat.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if INTERNALS.search(line)
    ]
    assert not offenders, offenders
