"""The SQL service stays in rooms a newcomer can find: no module over 800 lines, and imports that run one
way (no two modules import each other, directly or round a loop, counting imports made only for type
checking and inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "emulator" / "services" / "sql"
MAX_LINES = 800


def _modules() -> dict[str, Path]:
    return {path.stem: path for path in sorted(PACKAGE.glob("*.py")) if path.stem != "__init__"}


def _imports(path: Path, names: set[str]) -> set[str]:
    """The sibling modules a module imports (``from . import x``, ``from .x import y``), anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found |= {alias.name for alias in node.names}
    return found & names - {path.stem}


@pytest.mark.parametrize("name", list(_modules()))
def test_no_module_is_over_800_lines(name: str) -> None:
    lines = len(_modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name}.py has {lines} lines"


def test_imports_run_one_way() -> None:
    modules = _modules()
    graph = {name: _imports(path, set(modules)) for name, path in modules.items()}
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        assert name not in visiting, "import cycle: " + " -> ".join([*visiting[visiting.index(name):], name])
        visiting.append(name)
        for imported in sorted(graph[name]):
            visit(imported)
        visiting.pop()
        order.append(name)

    for name in graph:
        visit(name)
    assert len(order) == len(graph)
