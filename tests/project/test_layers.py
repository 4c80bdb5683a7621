"""The layers hold: the shared kernel imports no app, the apps depend one way
(accounts <- inventory <- billing, provisioning), and module-level imports make no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.processes import ROOT

APPS = ("accounts", "inventory", "billing", "provisioning")
# What each app may import of the others.
ALLOWED = {
    "accounts": set(),
    "inventory": {"accounts"},
    "billing": {"accounts", "inventory"},
    "provisioning": {"accounts", "inventory"},
}
# The project package's wiring, which mounts the apps; the rest of mcloud/ is the kernel.
WIRING = {"mcloud/settings.py", "mcloud/urls.py", "mcloud/wsgi.py", "mcloud/api/main.py"}


def sources(package: str) -> list[Path]:
    return [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]


def imported(path: Path, *, top_level_only: bool = False) -> set[str]:
    """The modules `path` imports (everywhere in it, or only at module level)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            # "from a import b" may name the module a.b
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_kernel_imports_no_app():
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources("mcloud")
        if str(path.relative_to(ROOT)) not in WIRING
        for name in imported(path)
        if name.split(".")[0] in APPS
    ]
    assert found == []


def test_apps_depend_one_way():
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for app in APPS
        for path in sources(app)
        for name in imported(path)
        if name.split(".")[0] in APPS
        and name.split(".")[0] != app
        and name.split(".")[0] not in ALLOWED[app]
    ]
    assert found == []


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles among the modules of `graph` (module -> modules it imports)."""
    cycles: list[list[str]] = []
    done: set[str] = set()
    stack: list[str] = []

    def visit(module: str) -> None:
        if module in stack:
            cycles.append([*stack[stack.index(module) :], module])
            return
        if module in done:
            return
        stack.append(module)
        for target in sorted(graph[module] & graph.keys() - {module}):
            visit(target)
        stack.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    return cycles


def test_the_cycle_finder_finds_cycles():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b", "os"}, "b": set()}) == []


def test_module_level_imports_make_no_cycle():
    graph = {
        module_name(path): imported(path, top_level_only=True)
        for package in (*APPS, "mcloud")
        for path in sources(package)
    }
    assert find_cycles(graph) == []
