"""Checks of the example notebooks' structure and of their install cell.

The notebooks themselves run in CI with nbmake, in quick mode and offline:

    RNNINIT_QUICK=1 KERAS_BACKEND=tensorflow python -m pytest --nbmake examples/

They are committed executed, with their outputs (examples/execute.py), for
the docs to show. These tests only read the files, so they are fast on every
backend.
"""

import ast
import importlib.metadata
import importlib.util
import pathlib
import re
import sys
import urllib.parse

import pytest
import setup_metadata
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

nbformat = pytest.importorskip("nbformat")

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = (
    "quickstart",
    "adding_problem",
    "sequential_mnist",
    "sensitivity",
    "your_own_model",
)
# Links that cite a paper or a convention; the project itself has no public
# home yet, so nothing may point to one (a repository, a Colab badge).
CITATION_HOSTS = {"arxiv.org", "doi.org", "keepachangelog.com", "semver.org"}
# What keras_rnninit's modules need beyond Keras, by the distribution that
# brings it.
NEEDS = {"tuning": "keras-tuner", "tasks": "tensorflow"}
INSTALL = re.compile(r'^\s*%pip install -q "\{package\}(\[[^"]+\])"\s*$', re.M)


def _read(name):
    return nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)


def _code(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


SETUP = setup_metadata.setup_arguments()


def _requirements(extras):
    return setup_metadata.requirements(extras, SETUP)


def _install_requirement(name):
    source = _code(_read(name))[0].source
    found = INSTALL.findall(source)
    assert len(found) == 1, (
        f"{name}: expected one `%pip install -q \"{{package}}[...]\"` line")
    return Requirement("keras-rnninit" + found[0])


def _imports(nb):
    """Top-level modules the code cells import, and keras_rnninit's
    submodules they use."""
    modules, submodules = set(), set()
    for cell in _code(nb):
        # IPython magics are not Python: each becomes a `pass` in its place.
        source = "\n".join(
            line[: len(line) - len(line.lstrip())] + "pass"
            if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines())
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for dotted in names:
                parts = dotted.split(".")
                modules.add(parts[0])
                if parts[0] == "keras_rnninit" and len(parts) > 1:
                    submodules.add(parts[1])
    return modules, submodules


def _urls(text):
    return re.findall(r"https?://[^\s\"')>\]]+", text)


def test_every_notebook_is_listed():
    assert sorted(p.stem for p in EXAMPLES.glob("*.ipynb")) == sorted(NOTEBOOKS)


def _execute_script():
    """examples/execute.py, which runs the notebooks and saves their outputs."""
    pytest.importorskip("nbclient")
    path = EXAMPLES / "execute.py"
    spec = importlib.util.spec_from_file_location("execute_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A code cell that prints, plots or displays something, or runs a command.
SHOWS = re.compile(r"\bprint\(|plt\.show\(\)|\bdisplay\(|\.summary\(\)|^!", re.M)


def _text(output):
    if output.output_type == "stream":
        return output.text
    return "\n".join(v for k, v in output.get("data", {}).items()
                     if k.startswith("text/"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_executed_with_their_outputs(name):
    # The docs show the notebooks as committed: examples/execute.py runs
    # them, top to bottom, and saves their outputs.
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    cells = _code(nb)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1)), (
        f"{name}: not run top to bottom: run examples/execute.py {name}")
    for cell in cells:
        assert not [o for o in cell.outputs if o.output_type == "error"], name
        if SHOWS.search(cell.source):
            assert cell.outputs, f"{name}: no output from\n{cell.source[:300]}"
    outputs = [o for c in cells for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{name}: no plot"
    mode = "quick" if name in _execute_script().QUICK else "full"
    assert f", {mode} mode" in _text(cells[1].outputs[0])
    text = "\n".join(_text(o) for o in outputs)
    # Nothing that changes on every run or names the machine's files.
    assert not re.search(r"\d(ms|s)/step", text), f"{name}: a Keras progress bar"
    assert not re.search(r"rnninit_\w+?_(?!XXXXXXXX)\w{8}\b", text), name
    for local in (str(ROOT), "site-packages", str(pathlib.Path.home())):
        assert local not in text, f"{name}: an output names {local}"
    assert (EXAMPLES / f"{name}.ipynb").stat().st_size < 1_000_000


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_title_then_the_install_cell(name):
    cells = _read(name).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    assert cells[1].cell_type == "code" and INSTALL.search(cells[1].source)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_first_code_cell_installs_only_when_missing(name):
    source = _code(_read(name))[0].source
    guard = 'if importlib.util.find_spec("keras_rnninit") is None:'
    assert guard in source
    assert source.index(guard) < source.index("%pip install")
    # A wheel uploaded beside the notebook, else the release by name (none
    # is published yet: then the cell says what to do instead).
    assert 'glob.glob("keras_rnninit-*.whl")' in source
    assert 'wheels[-1] if wheels else "keras-rnninit"' in source
    assert "no release on PyPI yet" in source
    assert source.index("%pip install") < source.rindex(guard) and (
        "raise ModuleNotFoundError(" in source[source.rindex(guard):])
    requirement = _install_requirement(name)
    # Nothing besides the package (Colab's TensorFlow and Keras are left
    # alone when they are within the declared ranges).
    assert requirement.extras, f"{name}: installs no extra"
    unknown = requirement.extras - set(SETUP["extras_require"])
    assert not unknown, f"{name}: setup.py has no extra {sorted(unknown)}"
    assert not requirement.extras & {"test", "docs", "jax", "torch"}
    assert f"pip install -e '.{INSTALL.search(source).group(1)}'" in source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_installed_extras_bring_what_the_notebook_imports(name):
    nb = _read(name)
    required = _requirements(_install_requirement(name).extras)
    modules, submodules = _imports(nb)
    distributions = importlib.metadata.packages_distributions()
    # The kernel running the notebook brings IPython.
    third_party = modules - set(sys.stdlib_module_names) - {"keras_rnninit", "IPython"}
    missing = set()
    for module in third_party:
        names = {canonicalize_name(d) for d in distributions.get(module, [module])}
        if not names & set(required):
            missing.add(module)
    for submodule, distribution in NEEDS.items():
        if submodule in submodules and distribution not in required:
            missing.add(f"keras_rnninit.{submodule} ({distribution})")
    assert not missing, (
        f"{name}: its install cell's extras do not bring {sorted(missing)}")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_install_cell_names_the_declared_keras_and_tensorflow_ranges(name):
    source = _code(_read(name))[0].source
    required = _requirements(["tasks"])
    stated = dict(re.findall(r"\((keras|tensorflow)([<>=!~][^)\s]*)\)", source))
    assert set(stated) == {"keras", "tensorflow"}, f"{name}: states {stated}"
    for distribution, specifier in stated.items():
        assert SpecifierSet(specifier) == required[distribution].specifier, (
            f"{name}: says {distribution}{specifier}; setup.py declares "
            f"{required[distribution].specifier}")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_links_only_to_citations(name):
    text = "\n".join(cell.source for cell in _read(name).cells)
    hosts = {urllib.parse.urlsplit(url).hostname for url in _urls(text)}
    assert hosts <= CITATION_HOSTS, f"{name}: links to {sorted(hosts - CITATION_HOSTS)}"


def test_readme_links_only_to_citations_and_its_own_files():
    text = (ROOT / "README.md").read_text()
    hosts = {urllib.parse.urlsplit(url).hostname for url in _urls(text)}
    assert hosts <= CITATION_HOSTS, (
        f"README.md links to {sorted(hosts - CITATION_HOSTS)}")
    for target in re.findall(r"\]\((?!https?://|#)([^)\s#]+)", text):
        assert (ROOT / target).exists(), f"README.md links to a missing {target}"


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
