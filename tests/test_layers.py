"""The shape of logintel/: imports run one way between its layers (no upward edge, no cycle), no Dagster
anywhere in it, and only config.py reads the environment. A new package must be given a layer here."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

PACKAGE = REPO_ROOT / "logintel"
# Lowest first; a module may import its own package and anything in a lower layer, nothing else.
LAYERS = [
    {"events", "config"},                   # the contract and the settings
    {"store", "adapters"},                  # landing zone, warehouse, shared SQL; foreign formats → events
    {"ingest", "analysis", "quality"},      # the SDK and file ingestion; windows → incidents; data checks
    {"llm", "trust", "simulate", "receiver"},  # the LLM boundary and grounding; the simulator; the HTTP receiver
    {"daily", "narration", "views"},        # the day's figures; incident text; tables of incidents
    {"digest", "agents"},                   # the daily digest; the analysts and `ask` — siblings over the figures
    {"briefings"},                          # situation briefings of an incident or a finding
    {"cli"},
]
# The documented exception: the emitter SDK's `EmitterConfig.from_env` reads LOGINTEL_EMIT_* itself.
ENVIRONMENT_READERS = {"logintel.config", "logintel.ingest.emitter_config"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, modules: frozenset[str] = frozenset()) -> set[str]:
    """Every module a file imports, at any depth (a lazy import inside a function is a dependency too).
    `from package import module` names the module, not the package, when `modules` knows it."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in modules else node.module)
    return names


def unit(module: str) -> str:
    """The layer unit of a logintel module: its top-level package or module (logintel.store.x → store)."""
    return module.split(".")[1] if module.count(".") else module


def rank(name: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if name in layer)


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for module, path in files.items():
        targets = set()
        for name in imported(ast.parse(path.read_text(encoding="utf-8")), frozenset(files)):
            while name and name not in files:  # `import logintel.x.y.z` where z is a name in a module
                name = name.rpartition(".")[0]
            if name.startswith("logintel.") and name != module:
                targets.add(name)
        edges[module] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def upward_edges(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(edges.items()):
        for target in sorted(targets):
            source, dest = unit(module), unit(target)
            if source != dest and rank(dest) >= rank(source):
                bad.append(f"{module} -> {target} ({source} is layer {rank(source)}, {dest} layer {rank(dest)})")
    return bad


def test_every_part_of_logintel_has_a_layer():
    units = {unit(m) for m in graph()} - {"logintel"}
    placed = set().union(*LAYERS)
    assert units <= placed, f"give these a layer in tests/test_layers.py: {sorted(units - placed)}"


def test_imports_run_one_way_between_layers():
    assert upward_edges(graph()) == []


def test_no_import_cycle_between_modules():
    assert cycles(graph()) == []


# The Dagster layer sits on top: logintel/ imports neither Dagster nor the folders that use it.
OUTSIDE = ("dagster", "dagster_", "assets", "jobs", "sensors", "resources", "launch", "definitions")


def test_no_dagster_and_no_dagster_layer_in_the_domain_library():
    def outside(name: str) -> bool:
        top = name.split(".")[0]
        return top in OUTSIDE or top.startswith("dagster_")
    users = {module_name(p): sorted(n for n in imported(ast.parse(p.read_text(encoding="utf-8"))) if outside(n))
             for p in PACKAGE.rglob("*.py")}
    assert {m: names for m, names in users.items() if names} == {}


def reads_environment(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os" and \
                any(a.name in ("environ", "getenv") for a in node.names):
            return True
    return False


def test_only_config_reads_the_environment():
    readers = {module_name(p) for p in PACKAGE.rglob("*.py") if reads_environment(ast.parse(p.read_text("utf-8")))}
    assert readers <= ENVIRONMENT_READERS, sorted(readers - ENVIRONMENT_READERS)


# ---- the checker itself, on hand-built graphs: each rule can fail ------------------------------

def test_checker_finds_an_upward_edge_and_a_cycle():
    edges = {"logintel.store.warehouse": {"logintel.analysis.windows"},
             "logintel.analysis.windows": {"logintel.store.warehouse"}}
    assert upward_edges(edges) == ["logintel.store.warehouse -> logintel.analysis.windows "
                                   "(store is layer 1, analysis layer 2)"]
    assert cycles(edges) == [["logintel.analysis.windows", "logintel.store.warehouse"]]
    assert upward_edges({"logintel.llm.a": {"logintel.trust.b"}}) != []  # same layer, different units
    assert upward_edges({"logintel.analysis.a": {"logintel.analysis.b", "logintel.store.c"}}) == []


@pytest.mark.parametrize("source, reads", [
    ("import os\nos.environ.get('X')", True),
    ("from os import environ", True),
    ("import os\nos.getenv('X')", True),
    ("import os\nos.path.join('a')", False),
])
def test_checker_sees_environment_reads(source, reads):
    assert reads_environment(ast.parse(source)) is reads
