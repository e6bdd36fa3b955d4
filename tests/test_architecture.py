"""The layer map of ARCHITECTURE.md, checked against the code: every module in its package's
layer, imports only downwards or within a package, no import cycle, no private name used
across modules (``self._x`` included), heavy packages imported late."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import reportlib

PACKAGE = Path(reportlib.__file__).parent
ROOT = PACKAGE.parents[1]


def module_name(path: Path) -> str:
    """``src/reportlib/experiments/probe/audit.py`` -> ``reportlib.experiments.probe.audit``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
MODULES = sorted(m for m, p in FILES.items() if p.name != "__init__.py")
INITS = sorted(m for m, p in FILES.items() if p.name == "__init__.py")


def layers_of_the_notes(text: str) -> list[set[str]]:
    """The layers as ARCHITECTURE.md's table gives them (lowest first): for each row whose
    first cell starts with a number, the package (second cell) and its backticked modules
    (third cell), as full module names."""
    layers = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.match(r"\d+\.", cells[0]):
            package = cells[1].strip("`")
            prefix = "reportlib" if package == "reportlib" else f"reportlib.{package}"
            layers.append({f"{prefix}.{m}" for m in re.findall(r"`([\w.]+)`", cells[2])})
    return layers


NOTES = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
LAYERS = layers_of_the_notes(NOTES)


def layer_of(module: str) -> int:
    for number, layer in enumerate(LAYERS):
        if module in layer:
            return number
    raise AssertionError(f"{module} is in no layer of ARCHITECTURE.md")


def package_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") > 1 else "reportlib"


def imports_of(module: str) -> dict[str, set[str]]:
    """reportlib modules imported by ``module`` -> the names it takes from each (``from
    reportlib.site.figures import probe`` imports the module ``reportlib.site.figures.probe``)."""
    tree = ast.parse(FILES[module].read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}:{node.lineno}: a relative import"
            source = node.module or ""
            if not source.startswith("reportlib"):
                continue
            for alias in node.names:
                if f"{source}.{alias.name}" in FILES:  # a module imported from its package
                    found.setdefault(f"{source}.{alias.name}", set())
                else:
                    found.setdefault(source, set()).add(alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("reportlib."):
                    found.setdefault(alias.name, set())
    return found


def test_the_table_lists_every_module_once_and_only_modules_that_exist():
    listed = [m for layer in LAYERS for m in layer]
    assert len(listed) == len(set(listed)), "a module is in two layers"
    assert set(listed) == set(MODULES), (
        f"missing from the table: {sorted(set(MODULES) - set(listed))}; "
        f"no such module: {sorted(set(listed) - set(MODULES))}"
    )


def test_each_layer_is_one_package():
    for layer in LAYERS:
        assert len({package_of(m) for m in layer}) == 1, sorted(layer)


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_only_from_its_layer_or_below(module):
    for imported in imports_of(module):
        assert imported in FILES, f"{module} imports {imported}, which is not a module"
        if imported in INITS:
            raise AssertionError(f"{module} imports the package {imported}, not a module")
        assert layer_of(imported) <= layer_of(module), f"{module} imports {imported}"


@pytest.mark.parametrize("init", INITS)
def test_a_package_init_imports_no_module_of_the_package(init):
    assert not imports_of(init), f"{init} imports {sorted(imports_of(init))}"
    assert ast.get_docstring(ast.parse(FILES[init].read_text(encoding="utf-8"))), init


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


def own_attributes(tree: ast.Module) -> dict[str, set[str]]:
    """Per class of a module: the private names it defines itself (methods, class attributes,
    ``self._x = ...`` in its methods) or inherits from a class of the same module."""
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    own: dict[str, set[str]] = {}
    for name, node in classes.items():
        names = set()
        for item in ast.walk(node):
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item in node.body:
                names.add(item.name)
            elif isinstance(item, ast.Attribute) and isinstance(item.ctx, ast.Store):
                if isinstance(item.value, ast.Name) and item.value.id in ("self", "cls"):
                    names.add(item.attr)
            elif isinstance(item, ast.AnnAssign | ast.Assign) and item in node.body:
                targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
        own[name] = names
    for name, node in classes.items():  # bases of the same module, transitively
        todo = [b.id for b in node.bases if isinstance(b, ast.Name) and b.id in classes]
        while todo:
            base = todo.pop()
            own[name] |= own[base]
            todo += [b.id for b in classes[base].bases if isinstance(b, ast.Name)]
            todo = [b for b in todo if b in classes]
    return own


def private_uses(source: str) -> list[str]:
    """Private names a module reaches into: ``obj._x`` for any object but ``self``/``cls``,
    and ``self._x`` in a class that neither defines ``_x`` nor inherits it from its own
    module (a subclass of another module's class reading that class's internals)."""
    tree = ast.parse(source)
    own = own_attributes(tree)
    found = []
    for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)] + [tree]:
        for node in ast.walk(cls):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")):
                continue
            if node.attr.startswith("__") and node.attr.endswith("__"):
                continue
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"{node.lineno}: .{node.attr}")
            elif isinstance(cls, ast.ClassDef) and node.attr not in own[cls.name]:
                found.append(f"{node.lineno}: self.{node.attr}, not defined by {cls.name}")
    return sorted(set(found))


@pytest.mark.parametrize("module", MODULES)
def test_no_private_name_is_used_across_modules(module):
    for imported, names in imports_of(module).items():
        private = {n for n in names if n.startswith("_")}
        assert not private, f"{module} imports private {sorted(private)} from {imported}"
    uses = private_uses(FILES[module].read_text(encoding="utf-8"))
    assert not uses, f"{module} reaches into private names: {uses}"


def test_the_private_name_check_sees_a_subclass_reading_its_bases_internals():
    """The loophole the check closed: a subclass in another module reading ``self._vocab``."""
    borrowed = "class Sub(Base):\n    def f(self):\n        return self._vocab\n"
    assert private_uses(borrowed) == ["3: self._vocab, not defined by Sub"]
    own = "class A:\n    def __init__(self):\n        self._v = 1\n    def f(self):\n" + (
        "        return self._v\nclass B(A):\n    def g(self):\n        return self._v\n"
    )
    assert private_uses(own) == []
    assert private_uses("def f(x):\n    return x._y\n") == ["2: ._y"]


def test_the_example_backend_of_the_notes_is_the_tested_one():
    assert "test_a_new_backend_is_one_registration" in NOTES


@pytest.mark.parametrize("module", MODULES)
def test_reportlib_modules_are_imported_at_the_top(module):
    tree = ast.parse(FILES[module].read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom | ast.Import) and id(node) not in top:
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            assert not any(n.startswith("reportlib") for n in names), (
                f"{module}:{node.lineno} imports a reportlib module late"
            )


#: packages a CLI call may not need: imported inside the function that needs them
HEAVY = ("llama_cpp", "matplotlib", "papermill", "torch", "transformers", "peft", "IPython")


def test_the_command_line_loads_no_heavy_package():
    code = f"import sys, reportlib.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
