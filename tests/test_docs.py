"""The API reference (docs/api/*.md) documents every public name.

mkdocstrings renders what the `::: identifier` lines of docs/api/*.md name: an
object, or a module with its members (every public one defined in it, or the
`members:` listed under it). These tests read those lines, resolve them, and
check that every public name of the package and of its public modules is
among what they render, and has a docstring to render. `mkdocs build
--strict` (CI) checks that every identifier exists and every link resolves.
"""

import ast
import importlib
import importlib.util
import inspect
import pathlib
import re
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
# Imported by keras_rnninit/__init__.py but not for users: the export
# decorator, the command lines' catalog of names, the version module.
INTERNAL = {"api_export", "catalog", "version"}
# Public modules that keras_rnninit/__init__.py does not import eagerly.
LAZY = ("tasks", "tuning")


def _public_modules():
    tree = ast.parse((ROOT / "keras_rnninit" / "__init__.py").read_text())
    names = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "keras_rnninit"
        for alias in node.names
    }
    names = {n for n in names if not n.startswith("_")} - INTERNAL
    return ["keras_rnninit"] + [f"keras_rnninit.{n}" for n in sorted(names | set(LAZY))]


def _is_package(module):
    return module.__file__.endswith("__init__.py")


def _public_names(module):
    """`{name: object}`: `__all__`; else the classes and functions of the
    module (a package's re-exports too) whose names do not start with `_`."""
    if hasattr(module, "__all__"):
        return {name: getattr(module, name) for name in module.__all__}
    names = {}
    for name, value in vars(module).items():
        if name.startswith("_") or not (
                inspect.isclass(value) or inspect.isfunction(value)):
            continue
        origin = getattr(value, "__module__", "") or ""
        if origin == module.__name__ or (
                _is_package(module) and origin.startswith("keras_rnninit.")):
            names[name] = value
    return names


def _resolve(identifier):
    parts = identifier.split(".")
    for split in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            value = getattr(value, part)
        return value
    raise ImportError(identifier)


def _directives():
    """`[(page, identifier, members or None)]` of every `:::` line."""
    found = []
    for page in sorted(API.glob("*.md")):
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines):
            match = re.match(r"^::: (\S+)\s*$", line)
            if not match:
                continue
            members, block = None, []
            for following in lines[i + 1:]:
                if following.strip() and not following.startswith(" "):
                    break
                block.append(following)
            listed = re.search(r"^\s+members:\s*\n((?:\s+- \S+\n?)+)",
                               "\n".join(block) + "\n",
                               re.M)
            if listed:
                members = re.findall(r"- (\S+)", listed.group(1))
            elif re.search(r"^\s+members:\s*false", "\n".join(block), re.M):
                members = []
            found.append((page.name, match.group(1), members))
    return found


def _rendered_paths():
    """`[(object, identifier)]` of the classes and functions the API pages
    render, in order: an object; the `members:` of a module; else what
    mkdocstrings renders of it: the names of its `__all__` (imported ones
    too), or the classes and functions defined in it."""
    found = []
    for _, identifier, members in _directives():
        value = _resolve(identifier)
        if inspect.ismodule(value):
            if members is None:
                objects = {f"{identifier}.{n}": v
                           for n, v in _public_names(value).items()
                           if hasattr(value, "__all__")
                           or getattr(v, "__module__", None) == value.__name__}
            else:
                objects = {f"{identifier}.{n}": getattr(value, n) for n in members}
        else:
            objects = {identifier: value}
        # An alias (`NPInit = NormalizedPositiveDefinite`) is an attribute
        # without a docstring of its own: mkdocstrings renders nothing for it.
        found += [(obj, path) for path, obj in objects.items()
                  if (inspect.isclass(obj) or inspect.isfunction(obj))
                  and obj.__name__ == path.rsplit(".", 1)[-1]]
    return found


def _rendered():
    """`{id(object): (object, identifier)}` of what the API pages render."""
    rendered = {}
    for obj, path in _rendered_paths():
        rendered.setdefault(id(obj), (obj, path))
    return rendered


def _api_text():
    return "\n".join(page.read_text() for page in API.glob("*.md"))


def test_every_directive_resolves():
    for page, identifier, members in _directives():
        value = _resolve(identifier)
        for name in members or ():
            assert hasattr(value, name), f"docs/api/{page}: {identifier} has no {name}"


@pytest.mark.parametrize("module_name", _public_modules())
def test_every_public_name_is_in_the_api_reference(module_name):
    module = importlib.import_module(module_name)
    rendered, text = _rendered(), _api_text()
    missing = []
    for name, obj in _public_names(module).items():
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            # A registry or constant: mkdocstrings renders no attribute
            # without a docstring, so the page names it in its text.
            if f"`{name}`" not in text:
                missing.append(f"{name} (name it in the page text)")
        elif id(obj) not in rendered:
            missing.append(name)
        elif getattr(obj, "__name__", name) != name and f"`{name}`" not in text:
            missing.append(
                f"{name} (an alias of {obj.__name__}: name it in the page text)")
    assert not missing, (
        f"{module_name}: not in docs/api/*.md: {', '.join(missing)}; add a "
        f"`::: {module_name}.NAME` line (or a `members:` entry) to the page that "
        "fits")


def test_no_object_is_rendered_twice():
    # Twice would give a reader two entries, and the site two anchors, for
    # one name (a module that re-exports another's names, say).
    seen, twice = {}, []
    for obj, path in _rendered_paths():
        if id(obj) in seen:
            twice.append(f"{path} (also {seen[id(obj)]})")
        seen.setdefault(id(obj), path)
    assert not twice, f"rendered twice in docs/api/*.md: {twice}"


def test_every_rendered_object_has_its_own_docstring():
    # mkdocstrings hides members without a docstring of their own.
    missing = [path for obj, path in _rendered().values()
               if not (obj.__doc__ or "").strip()]
    assert not missing, f"no docstring, so absent from the API reference: {missing}"


def test_the_public_modules_include_the_lazy_ones():
    modules = _public_modules()
    assert {"keras_rnninit.tasks", "keras_rnninit.tuning",
            "keras_rnninit.layers"} <= set(modules)
    assert not any(m.split(".")[-1] in INTERNAL for m in modules)


def _extension(monkeypatch):
    """docs/griffe_keras_docstrings.py, importable without the docs extra
    (its text rules do not need griffe)."""
    if importlib.util.find_spec("griffe") is None:
        stub = types.SimpleNamespace(Extension=object)
        monkeypatch.setitem(sys.modules, "griffe", stub)
    path = ROOT / "docs" / "griffe_keras_docstrings.py"
    spec = importlib.util.spec_from_file_location("griffe_keras_docstrings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_list_after_a_line_of_text_gets_its_blank_line(monkeypatch):
    separate = _extension(monkeypatch).separate_lists
    text = ("Reference:\n- [Paper](url)\n- [Other](url)\n\nSettings:\n"
            "- `u` is kept\n  in a range;\n- `u` starts\n\n```python\nx = 1\n- 2\n```")
    assert separate(text) == (
        "Reference:\n\n- [Paper](url)\n- [Other](url)\n\nSettings:\n\n"
        "- `u` is kept\n  in a range;\n- `u` starts\n\n```python\nx = 1\n- 2\n```")
    # A list indented under its line (an argument's description) stays.
    nested = "Args:\n    x: one of\n        - a\n        - b"
    assert separate(nested) == nested


def test_call_arguments_become_a_titled_list(monkeypatch):
    convert = _extension(monkeypatch).list_call_arguments
    text = ("Summary.\n\nCall arguments:\n    sequence: A 3D tensor,\n"
            "        of shape (batch, steps).\n    training: Boolean.\n\nExample:\n")
    assert convert(text) == (
        "Summary.\n\n**Call arguments:**\n\n- `sequence`: A 3D tensor,\n"
        "  of shape (batch, steps).\n- `training`: Boolean.\n\n\nExample:")


def _notebook_pages_check():
    path = ROOT / ".ci" / "check_notebook_pages.py"
    spec = importlib.util.spec_from_file_location("check_notebook_pages", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_notebook_page_without_its_outputs_fails_the_release_check():
    check = _notebook_pages_check()
    plot = {"output_type": "display_data", "data": {"image/png": "iVBOR"}}
    printed = {"output_type": "stream", "name": "stdout", "text": "1\n"}
    notebook = {"cells": [{"cell_type": "code", "outputs": [printed, plot]}]}
    # The page's stylesheet names the output class and holds PNG data too.
    style = ("<style>.jp-OutputArea-output {} .x {background: "
             "url(data:image/png;base64,iVBOR)}</style>")
    text = '<div class="jp-RenderedText jp-OutputArea-output"><pre>1</pre></div>'
    image = ('<div class="jp-RenderedImage jp-OutputArea-output">'
             '<img alt="" src="data:image/png;base64,iVBOR"></div>')
    assert check.problems(notebook, style + text + image) == []
    # Code only, as mkdocs-jupyter renders a notebook committed without
    # outputs, or a page that lost its image.
    assert len(check.problems(notebook, style + "<pre>print(1)</pre>")) == 2
    assert len(check.problems(notebook, style + text + text)) == 1
    empty = {"cells": [{"cell_type": "code", "outputs": []}]}
    assert check.problems(empty, "<pre>print(1)</pre>")
