"""The orchestration package imports cleanly: no import cycles between its modules (also not
through imports inside functions), and importing it changes nothing (no dbt parse, no edit of
PATH, no manifest read)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"journeymap.orchestration": ROOT / "orchestration", "journeymap.ml": ROOT / "ml"}


def _module_name(package: str, folder: Path, path: Path) -> str:
    parts = path.relative_to(folder).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((package, *parts))


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of these packages it imports, anywhere in its code."""
    modules = {
        _module_name(package, folder, path): path
        for package, folder in PACKAGES.items()
        for path in folder.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph[node]):
            if state.get(child) == 1:
                return stack[stack.index(child) :] + [child]
            if child not in state and (cycle := visit(child)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles():
    graph = import_graph()
    assert "journeymap.orchestration.definitions" in graph
    assert find_cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_importing_the_definitions_has_no_side_effects(tmp_path):
    """In a fresh interpreter: PATH unchanged, no manifest written, no dbt run."""
    script = (
        "import os, sys; before = os.environ['PATH']; "
        "import journeymap.orchestration.definitions as d; "
        "assert os.environ['PATH'] == before, 'PATH edited'; "
        "assert callable(d.defs) and callable(d.build_definitions)"
    )
    env = {**os.environ, "JOURNEYMAP_DBT_TARGET": str(tmp_path / "target")}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=tmp_path)
    assert not (tmp_path / "target").exists()
