"""The module map of ARCHITECTURE.md, checked against the code: layers, no import cycle, no
private name used across modules, every module documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import reportlib

PACKAGE = Path(reportlib.__file__).parent
ROOT = PACKAGE.parents[1]
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def layers_of_the_notes() -> list[set[str]]:
    """The layers as ARCHITECTURE.md's table gives them (lowest first): the backticked
    module names in the second column of each row whose first cell starts with a number."""
    layers = []
    for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.match(r"\d+\.", cells[0]):
            layers.append(set(re.findall(r"`(\w+)`", cells[1])))
    return layers


#: the layers of ARCHITECTURE.md, lowest first: a module may import only from its own layer
#: or lower ones
LAYERS = layers_of_the_notes()


def imports_of(module: str) -> dict[str, set[str]]:
    """reportlib modules imported by ``module`` -> the names it takes from each."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.setdefault(node.module.split(".")[0], set()).update(
                    a.name for a in node.names
                )
            else:
                for alias in node.names:
                    found.setdefault(alias.name, set())
        elif isinstance(node, ast.Import | ast.ImportFrom):  # absolute: reportlib.x
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                names = [a.name for a in node.names]
            for name in names:
                if name and name.startswith("reportlib."):
                    found.setdefault(name.split(".")[1], set())
    return found


def layer_of(module: str) -> int:
    for number, layer in enumerate(LAYERS):
        if module in layer:
            return number
    raise AssertionError(f"{module} is in no layer of ARCHITECTURE.md")


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_only_from_its_layer_or_below(module):
    for imported in imports_of(module):
        assert layer_of(imported) <= layer_of(module), f"{module} imports {imported}"


def test_the_import_graph_has_no_cycle():
    graph = {m: set(imports_of(m)) for m in MODULES}
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for nxt in graph[module]:
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*path, module, nxt])
            if nxt not in state:
                visit(nxt, [*path, module])
        state[module] = 2

    for module in MODULES:
        if module not in state:
            visit(module, [])


@pytest.mark.parametrize("module", MODULES)
def test_no_private_name_is_used_across_modules(module):
    source = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
    for imported, names in imports_of(module).items():
        private = {n for n in names if n.startswith("_")}
        assert not private, f"{module} imports private {sorted(private)} from {imported}"
    tree = ast.parse(source)
    for node in ast.walk(tree):  # obj._name where obj is not self/cls/a module's own global
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if node.attr.startswith("__") and node.attr.endswith("__"):
                continue
            owner = node.value
            assert isinstance(owner, ast.Name) and owner.id in ("self", "cls"), (
                f"{module}:{node.lineno} reaches into a private attribute {node.attr}"
            )


def test_every_module_is_in_the_package_docstring_and_the_architecture_notes():
    notes = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for module in MODULES:
        assert f":mod:`reportlib.{module}`" in (reportlib.__doc__ or ""), module
        assert f"`{module}`" in notes, module
    assert {m for layer in LAYERS for m in layer} == set(MODULES)  # the table is complete


def test_the_example_backend_of_the_notes_is_the_tested_one():
    notes = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert "test_a_new_backend_is_one_registration" in notes


@pytest.mark.parametrize("module", MODULES)
def test_reportlib_modules_are_imported_at_the_top(module):
    """Function-level imports are kept for heavy third-party packages (llama_cpp, pandas,
    matplotlib) that a CLI call may not need; the dependency graph itself stays visible."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            assert id(node) in top, f"{module}:{node.lineno} imports a reportlib module late"
