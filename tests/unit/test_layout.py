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
    {"portal.config", "portal.clock", "portal.keys", "portal.db", "portal.models",
     "portal.migrations", "portal.maintenance", "portal.availability", "portal.postgres"},
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
    if len(parts) == 1 or (len(parts) == 2 and name not in modules()):
        return "portal"  # the package itself, or a name it exports (create_app)
    owner = ".".join(parts[:2])
    assert any(owner in layer for layer in LAYERS), f"{owner} is in no layer of LAYERS"
    return owner


def layer_of(name):
    """Return the index of the layer that holds a dotted module name."""
    owner = unit(name)
    return next(index for index, layer in enumerate(LAYERS) if owner in layer)


def imported(path):
    """Return the portal modules (or packages) a module imports, wherever in it."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = absolute(path, node)
            if module.startswith("portal"):
                names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("portal"))
    return names


def absolute(path, node):
    """Return the module an ImportFrom names, resolving a relative one against the file."""
    if not node.level:
        return node.module or ""
    package = path.relative_to(PORTAL.parent).parent.parts
    base = package[:len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


@pytest.mark.parametrize("name", sorted(modules()))
def test_a_module_imports_only_from_its_layer_and_below(name):
    if name == "portal":
        return  # the factory assembles everything
    upward = {target for target in imported(modules()[name])
              if layer_of(target) > layer_of(name)}
    assert upward == set(), f"{name} imports from a layer above it"


def test_no_import_cycles_between_packages():
    edges = {}
    for name, path in modules().items():
        if name != "portal":
            edges.setdefault(unit(name), set()).update(
                unit(target) for target in imported(path) if unit(target) != unit(name))
    assert find_cycle(edges) is None


def find_cycle(edges):
    """Return one cycle of the graph {node: {nodes it imports}} as a list, or None."""
    done, path = set(), []

    def visit(node):
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        path.append(node)
        found = next(filter(None, (visit(n) for n in sorted(edges.get(node, ())))), None)
        path.pop()
        done.add(node)
        return found
    return next(filter(None, (visit(node) for node in sorted(edges))), None)


def test_no_two_modules_share_a_name():
    names = Counter(path.stem for path in PORTAL.rglob("*.py") if path.stem != "__init__")
    assert [name for name, count in names.items() if count > 1] == []


def test_every_package_says_what_it_owns():
    for init in PORTAL.rglob("__init__.py"):
        assert ast.get_docstring(ast.parse(init.read_text())), init


def test_migrations_are_frozen_they_import_nothing_of_the_portal():
    steps = {name: path for name, path in modules().items()
             if name.startswith("portal.migrations.")}
    assert steps and all(imported(path) == set() for path in steps.values())
