"""The shape of the code: no import cycle in `digest`, SQL only in the storage's query files
and connections, both databases answering every storage operation."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import digest
from digest.state.queries import DIALECTS, queries
from digest.state.storage import Storage
from digest.state.store import Store

PACKAGE = Path(digest.__file__).parent


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The digest modules `name` imports when it runs, at its top or in its functions (not
    under `if TYPE_CHECKING:`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = f"{base}.{node.module}" if node.level and node.module else base or node.module
            if not node.level:
                target = node.module or ""
            for alias in node.names:  # `from . import x` and `from .state import store`
                if f"{target}.{alias.name}" in known:
                    found.add(f"{target}.{alias.name}")
                elif target in known:
                    found.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return groups


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_import_graph_sees_relative_and_in_function_imports():
    graph = import_graph()
    assert "digest.state.store" in graph["digest.state"]
    assert "digest.errors" in graph["digest.state.db"]
    assert "digest.state" in graph["digest.pipeline"]  # imported inside functions


def test_no_module_of_digest_imports_itself_back():
    assert cycles(import_graph()) == []


SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX))\b",
    re.I | re.S,
)
# The connections: opening and checking a file, schema version, locks across processes.
CONNECTIONS = {"digest/state/sqlite.py", "digest/state/postgres.py"}


def test_no_sql_outside_the_query_files_and_the_connections():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE.parent))
        if where in CONNECTIONS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {
            id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)
        }  # docstrings and bare strings may speak of SQL
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in docs and SQL.search(node.value):
                    offenders.append(f"{where}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


def test_both_databases_have_every_query_the_store_runs():
    names = {d: set(queries(d)) for d in DIALECTS}
    assert names["sqlite"] == names["postgresql"]
    used = set(
        re.findall(r'self\._(?:run|all|one|value|each|keyed)\(\s*"(\w+)"', inspect.getsource(Store))
    )
    assert used and used <= names["sqlite"]
    migrations = {n for n in names["sqlite"] if n.startswith("migrate_")}
    assert used | migrations == names["sqlite"]  # no query left unused


def test_the_store_implements_every_storage_operation():
    wanted = {
        name
        for name, value in vars(Storage).items()
        if not name.startswith("_") and callable(value)
    }
    missing = {name for name in wanted if not callable(getattr(Store, name, None))}
    assert wanted and missing == set()
    for name in wanted:
        declared = list(inspect.signature(getattr(Storage, name)).parameters)
        implemented = list(inspect.signature(getattr(Store, name)).parameters)
        assert declared == implemented, name
