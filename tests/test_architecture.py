"""The tree keeps the architecture of docs/architecture.md: imports flow one way between the
parts, no module imports itself back through others, and no part reaches up into the CLI.

The imports are read with `ast` (nothing is imported), including the ones under
``TYPE_CHECKING`` and inside functions: a dependency is a dependency wherever it is written.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Each part and the parts it may import (besides itself). Lower never imports higher; the two
# parts of the same height (staging and loadtests) never import each other: the engine talks
# HTTP to any SIS, and the reference SIS knows nothing of the engine.
ALLOWED: dict[str, frozenset[str]] = {
    "kernel": frozenset(),
    "thresholds": frozenset({"kernel"}),
    "fake_data": frozenset({"kernel"}),
    "staging": frozenset({"kernel", "fake_data"}),
    "sis": frozenset({"kernel", "fake_data", "staging"}),
    "loadtests": frozenset({"kernel", "thresholds", "fake_data"}),
    "scenarios": frozenset({"kernel", "fake_data", "loadtests"}),
    "recordings": frozenset({"kernel", "loadtests"}),
    "monitoring": frozenset({"kernel", "thresholds"}),
    "readiness": frozenset({"kernel", "fake_data"}),
    "firstbell": frozenset({"kernel", "thresholds", "fake_data", "staging", "sis", "loadtests",
                            "scenarios", "recordings", "monitoring", "readiness"}),
}
PARTS = frozenset(ALLOWED)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path, known: frozenset[str]) -> set[str]:
    """The firstbell modules `path` imports, resolved to modules of `known` (a name imported
    from a package is its submodule when one exists, else the package)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known
                       else module for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target.split(".")[0] in PARTS:
                found.add(target)
    found.discard(name)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = [p for part in PARTS for p in (root / part).rglob("*.py")]
    known = frozenset(module_name(p, root) for p in files)
    return {module_name(p, root): imported_modules(p, root, known) for p in files}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_graph(graph: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, targets in graph.items():
        part = module.split(".")[0]
        out.setdefault(part, set()).update(t.split(".")[0] for t in targets
                                           if t.split(".")[0] != part)
    return out


def forbidden(graph: Mapping[str, Iterable[str]]) -> list[str]:
    return sorted(f"{module} imports {target}" for module, targets in graph.items()
                  for target in targets
                  if target.split(".")[0] != module.split(".")[0]
                  and target.split(".")[0] not in ALLOWED[module.split(".")[0]])


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_no_module_imports_itself_back(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_no_package_cycle(graph: dict[str, set[str]]) -> None:
    assert cycles(package_graph(graph)) == []


def test_imports_flow_one_way(graph: dict[str, set[str]]) -> None:
    assert forbidden(graph) == []


def test_built_in_targets_are_loaded_from_the_engine_only() -> None:
    """`load_target` imports a built-in target by name (importlib, which the walk above cannot
    see): every name must stay inside loadtests."""
    from loadtests.targets import TARGETS

    assert all(module.startswith("loadtests.") for module in TARGETS.values())


def test_no_part_imports_the_cli(graph: dict[str, set[str]]) -> None:
    assert [f"{m} imports {t}" for m, ts in graph.items() for t in ts
            if t.split(".")[0] == "firstbell" and not m.startswith("firstbell")] == []


def test_engine_talks_http_only(graph: dict[str, set[str]]) -> None:
    assert [f"{m} imports {t}" for m, ts in graph.items() if m.split(".")[0] == "loadtests"
            for t in ts if t.split(".")[0] in ("monitoring", "staging")] == []


def test_the_architecture_page_draws_the_allowed_directions() -> None:
    """docs/architecture.md lists each part with exactly the parts it may import."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for part, allowed in ALLOWED.items():
        line = next((ln for ln in text.splitlines() if ln.startswith(f"| `{part}/`")), None)
        assert line is not None, f"docs/architecture.md has no row for {part}/"
        cells = line.split("|")
        assert {c.strip("` /") for c in cells[2].split(",") if c.strip(" —-")} == set(allowed), \
            line


# The checker is shown to catch each mistake on a small seeded tree, so a green run means
# the tree is clean rather than that the walker sees nothing.
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for part in PARTS:
        (tmp_path / part).mkdir(exist_ok=True)
    return tmp_path


def test_the_checker_sees_a_file_cycle_under_type_checking(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "loadtests/__init__.py": "",
        "loadtests/a.py": "from loadtests.b import B\n",
        "loadtests/b.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                           "    from loadtests.a import A\n"),
        "loadtests/c.py": "def f():\n    from . import a\n",
    })
    assert cycles(import_graph(root)) == [["loadtests.a", "loadtests.b"]]


def test_the_checker_sees_a_part_reaching_up(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "firstbell/__init__.py": "", "firstbell/errors.py": "",
        "staging/__init__.py": "", "staging/app.py": "from firstbell.errors import E\n",
        "loadtests/__init__.py": "", "loadtests/hub.py": "import monitoring.grafana_api\n",
        "monitoring/__init__.py": "", "monitoring/grafana_api.py": "",
        "scenarios/__init__.py": "", "scenarios/x.py": "from loadtests import hub\n",
    })
    graph = import_graph(root)
    assert forbidden(graph) == ["loadtests.hub imports monitoring.grafana_api",
                                "staging.app imports firstbell.errors"]
    assert graph["scenarios.x"] == {"loadtests.hub"}


def test_every_library_imported_is_declared() -> None:
    """A library imported only because another package pulls it in breaks when that package
    stops doing so: every third-party import of the parts is a declared dependency."""
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=\[;! ]", d, maxsplit=1)[0].lower().replace("_", "-")
                for d in [*project["dependencies"],
                          *project["optional-dependencies"]["embedded"],
                          *project["optional-dependencies"]["record"]]}
    owners = packages_distributions()
    missing = set()
    for part in PARTS:
        for path in (ROOT / part).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and not node.level
                         and node.module else [])
                for name in names:
                    top = name.split(".")[0]
                    if top in PARTS or top in sys.stdlib_module_names or top == "__future__":
                        continue
                    dists = {d.lower().replace("_", "-") for d in owners.get(top, [top])}
                    if not dists & declared:
                        missing.add(f"{top} ({path.relative_to(ROOT)})")
    assert sorted(missing) == []
