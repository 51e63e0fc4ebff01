"""Checks of the example notebooks' structure.

The notebooks themselves run in CI with nbmake, in quick mode and offline:

    RNNINIT_QUICK=1 KERAS_BACKEND=tensorflow python -m pytest --nbmake examples/

These tests only read the files, so they are fast on every backend.
"""

import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = (
    "quickstart",
    "adding_problem",
    "sequential_mnist",
    "sensitivity",
    "your_own_model",
)
COLAB = (
    "https://colab.research.google.com/github/keras-rnninit/keras-rnninit/"
    "blob/main/examples/{}.ipynb"
)


def _read(name):
    return nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)


def _code(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_every_notebook_is_listed():
    assert sorted(p.stem for p in EXAMPLES.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_valid_and_without_outputs(name):
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in _code(nb):
        assert cell.outputs == [], f"{name}: a code cell has outputs"
        assert cell.execution_count is None


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_colab_badge_opens_this_notebook(name):
    first = _read(name).cells[0]
    assert first.cell_type == "markdown"
    assert COLAB.format(name) in first.source
    assert "colab-badge.svg" in first.source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_first_code_cell_installs_only_when_missing(name):
    source = _code(_read(name))[0].source
    assert 'importlib.util.find_spec("keras_rnninit") is None' in source
    guard, install = source.index("find_spec"), source.index("%pip install")
    assert guard < install
    assert "git+https://github.com/keras-rnninit/keras-rnninit" in source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_quick_mode_and_temporary_directory(name):
    setup = _code(_read(name))[1].source
    assert 'os.environ.get("RNNINIT_QUICK", "0") == "1"' in setup
    assert "tempfile.mkdtemp(" in setup
    # The backend is chosen before Keras is imported.
    assert setup.index("KERAS_BACKEND") < setup.index("import keras")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_cites_a_paper(name):
    text = "\n".join(c.source for c in _read(name).cells if c.cell_type == "markdown")
    assert "https://arxiv.org/abs/" in text


def test_quick_mnist_uses_mock_data():
    source = "\n".join(c.source for c in _code(_read("sequential_mnist")))
    quick_branch = source[source.index("if QUICK:") : source.index("else:")]
    assert "tfds.testing.mock_data(" in quick_branch
