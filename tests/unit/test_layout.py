"""The package layout keeps its promises: layers import downwards only, one name per module.

docs/architecture.md draws the same layers; a change to one is a change to both.
"""

import ast
from collections import Counter
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[2] / "portal"
# Bottom to top: a module may import from its own layer and the layers below it.
LAYERS = [
    {"portal.config", "portal.clock", "portal.keys", "portal.db", "portal.models"},
    {"portal.web"},
    {"portal.accounts"},
    {"portal.history"},
    {"portal.sessions"},
    {"portal.security"},
    {"portal.views", "portal.schema", "portal.cli", "portal"},
]


def modules():
    """Return {dotted name: path} of every module in the package."""
    found = {}
    for path in sorted(PORTAL.rglob("*.py")):
        parts = path.relative_to(PORTAL.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def unit(name):
    """Return the layer entry a dotted module name belongs to (a package or a root module)."""
    parts = name.split(".")
    candidates = [".".join(parts[:2]), "portal"]
    return next(c for c in candidates if any(c in layer for layer in LAYERS))


def layer_of(name):
    """Return the index of the layer that holds a dotted module name."""
    owner = unit(name)
    return next(index for index, layer in enumerate(LAYERS) if owner in layer)


def imported(path):
    """Return the portal modules (or packages) a module imports, wherever in it."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("portal"):
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("portal"))
    return names


@pytest.mark.parametrize("name", sorted(modules()))
def test_a_module_imports_only_from_its_layer_and_below(name):
    if name == "portal":
        return  # the factory assembles everything
    upward = {target for target in imported(modules()[name])
              if layer_of(target) > layer_of(name)}
    assert upward == set(), f"{name} imports from a layer above it"


def test_packages_of_one_layer_do_not_import_each_other_in_a_cycle():
    edges = {(unit(name), unit(target)) for name, path in modules().items()
             for target in imported(path) if unit(name) != unit(target)}
    assert [(a, b) for a, b in edges if (b, a) in edges and a != "portal"] == []


def test_no_two_modules_share_a_name():
    names = Counter(path.stem for path in PORTAL.rglob("*.py") if path.stem != "__init__")
    assert [name for name, count in names.items() if count > 1] == []


def test_every_package_says_what_it_owns():
    for init in PORTAL.rglob("__init__.py"):
        assert ast.get_docstring(ast.parse(init.read_text())), init
