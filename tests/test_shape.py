"""The shape of the code: no import cycle in `digest`, SQL only in the storage's query files
and connections, both databases answering every storage operation."""

from __future__ import annotations

import ast
import functools
import inspect
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import digest
from digest.state import schema
from digest.state.models import DeliveryStatus, RunStatus
from digest.state.queries import DIALECTS, queries
from digest.state.storage import Storage
from digest.state.store import Store

PACKAGE = Path(digest.__file__).parent


@functools.cache
def _parsed(text: str) -> ast.Module:
    return ast.parse(text)


def tree_of(path: Path) -> ast.Module:
    """A module's syntax tree, parsed once however many of these rules read it."""
    return _parsed(path.read_text(encoding="utf-8"))


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

    visit(tree_of(path))
    found.discard(name)
    return found


def extensions() -> set[str]:
    """digest's C extensions, by their sources: modules that import nothing of digest."""
    return {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts) for p in PACKAGE.rglob("*.c")
    }


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    graph = {name: imports_of(name, path, set(mods) | extensions()) for name, path in mods.items()}
    return graph | {name: set() for name in extensions()}


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
    assert "digest.select.kernels" in graph["digest.select.fingerprint"]  # C, `from . import`


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
        tree = tree_of(path)
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
    source = inspect.getsource(Store)
    used = set(
        re.findall(r'self\._(?:run|all|one|value|each|keyed|with_tallies)\(\s*"(\w+)"', source)
    )
    # _with_tallies runs a query, or of a state before schema 11 its variant
    used |= {f"{n}_before_11" for n in re.findall(r'self\._with_tallies\(\s*"(\w+)"', source)}
    assert used and used <= names["sqlite"]
    # what a migration runs beyond its SQL (state/schema.py names those queries)
    used |= set(re.findall(r'"(\w+)"', inspect.getsource(schema))) & names["sqlite"]
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


# cli.py imports each command's modules when that command runs, so `digest --help` stays
# fast; psycopg is an optional dependency, imported when a PostgreSQL state is opened;
# aiohttp and trafilatura, heavy, only when a feed is fetched over HTTP or a page's full
# text is wanted (reading local files and previews of them do without).
LATE_IMPORTS = {
    ("digest/cli.py", None),
    ("digest/state/postgres.py", "psycopg"),
    ("digest/sources/fetch.py", "aiohttp"),
    ("digest/sources/fulltext.py", "trafilatura"),
}


def test_modules_import_at_their_top():
    late = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE.parent))
        tree = tree_of(path)
        top = {id(n) for n in tree.body}
        for node in tree.body:
            if isinstance(node, ast.If | ast.Try):  # `if TYPE_CHECKING:`, optional imports
                top.update(id(n) for n in ast.walk(node))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top:
                name = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                if (where, None) not in LATE_IMPORTS and (where, name) not in LATE_IMPORTS:
                    late.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    assert late == []


HEAVY = (
    "numpy",
    "jinja2",
    "mjml",
    "yaml",
    "apscheduler",
    "feedparser",
    "psycopg",
    "dkim",
    "aiohttp",
    "trafilatura",
    "cronsim",
)


@pytest.mark.slow
def test_digest_help_imports_nothing_heavy():
    """`digest --help` and `digest schedule --help` (the scheduler's APScheduler and cronsim
    load when it runs, not when it is described)."""
    code = (
        "import sys\n"
        "from digest.cli import cli\n"
        "for args in (['--help'], ['schedule', '--help']):\n"
        "    try:\n"
        "        cli.main(args, prog_name='digest')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "Usage: digest" in out and "preview" in out and "Usage: digest schedule" in out
    loaded = set(out.split("MODULES", 1)[1].split())
    assert {m for m in loaded if m.split(".")[0] in HEAVY} == set()
    assert {m for m in loaded if m.startswith("digest.")} <= {
        "digest.cli",
        "digest.errors",
        "digest.paths",  # --config's default (os and pathlib only)
        "digest.progress",
    }


@pytest.mark.slow
def test_opening_a_state_loads_nothing_of_the_selection(tmp_path):
    code = (
        "import sys\n"
        "from digest.state import Store\n"
        f"with Store.open({str(tmp_path / 's.sqlite3')!r}) as store:\n"
        "    store.history()\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert {
        m for m in out.split() if m.split(".")[0] in HEAVY or m.startswith("digest.select")
    } == set()


@pytest.mark.slow
def test_a_selection_helper_loads_fingerprinting_alone():
    """A helper process (select/parallel.py) starts from a fork server that imports its
    module: the later stages of selection, scipy and the configuration stay out of it."""
    code = "import sys, digest.select.parallel\nprint(' '.join(sorted(sys.modules)))\n"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert "digest.select.fingerprint" in loaded
    later = {"digest.select." + m for m in ("batch", "similarity", "stories", "choose")}
    assert {m for m in loaded if m.split(".")[0] == "scipy" or m in later} == set()
    assert "digest.config" not in loaded


# --- private stays private ------------------------------------------------------------------

ROOT = PACKAGE.parent


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reaches(path: Path, mods: dict[str, Path]) -> list[str]:
    """Where `path` takes an underscore name from another digest module: `from digest.x import
    _y`, or `x._y` on a digest module it imported."""
    where = str(path.relative_to(ROOT))
    own = next((n for n, p in mods.items() if p == path), None)
    package = (own or "").rpartition(".")[0] if path.name != "__init__.py" else own or ""
    tree = tree_of(path)
    found, aliases, reaches = [], {}, []
    for node in ast.walk(tree):  # once: a walk of the tests' trees is most of this rule's time
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and _private(node.attr)
        ):
            reaches.append(node)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = (
                (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            )
            for alias in node.names:
                if f"{target}.{alias.name}" in mods:  # `from digest import transports`
                    aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
                elif target in mods and _private(alias.name) and target != own:
                    found.append(f"{where}:{node.lineno}: {target}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in mods and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in reaches:  # once every import is known
        if aliases.get(node.value.id) not in (None, own):
            found.append(f"{where}:{node.lineno}: {aliases[node.value.id]}.{node.attr}")
    return found


def test_the_private_finder_sees_both_ways_of_reaching_in(tmp_path):
    mods = modules()
    probe = ROOT / "tests" / "_probe_private.py"
    probe.write_text(
        "from digest.transports import _x, Relay\nfrom digest import message\nmessage._y()\n"
    )
    try:
        assert private_reaches(probe, mods) == [
            "tests/_probe_private.py:1: digest.transports._x",
            "tests/_probe_private.py:3: digest.message._y",
        ]
    finally:
        probe.unlink()


def test_no_module_takes_another_modules_private_names():
    mods = modules()
    paths = [
        *PACKAGE.rglob("*.py"),
        *(ROOT / "tests").glob("*.py"),
        *(ROOT / "benchmarks").glob("*.py"),
    ]
    offenders = [f for path in sorted(paths) for f in private_reaches(path, mods)]
    assert offenders == []


# --- one rule in one place (issue 22, item 3) -------------------------------------------------

MONTH_WORD = re.compile(
    r"(?i)\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|"
    r"янв\w*|фев\w*|мар\w*|апр\w*|ма[йя]|июн\w*|июл\w*|авг\w*|сен\w*|окт\w*|ноя\w*|дек\w*)\b"
)
# strptime's and strftime's "%B"/"%b": the C library's own table of month names (not "%BD",
# a percent-encoded byte).
MONTH_DIRECTIVE = re.compile(r"%[bB]\b")
# cron.py: cron's own month names ("jan"-"dec" in a crontab), syntax whatever the language.
MONTH_TABLE_OWNERS = {"digest/text.py", "digest/cron.py"}


def string_constants(path: Path) -> list[ast.Constant]:
    tree = tree_of(path)
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_month_names_are_listed_only_in_digest_text():
    """A literal naming four or more months is a table of them, and so is a date format
    naming the month by "%B" or "%b": the readers of dates (facts, leads, the sentence
    splitter, a snapshot's page date) take digest/text.py's."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE.parent))
        if where in MONTH_TABLE_OWNERS:
            continue
        for node in string_constants(path):
            months = {m.lower()[:3] for m in MONTH_WORD.findall(node.value)}  # jan, янв
            if len(months) >= 4 or MONTH_DIRECTIVE.search(node.value):
                offenders.append(f"{where}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


def test_the_unsubscribe_placeholder_is_written_only_by_its_owner():
    """models.py names the footer's placeholder and finds it (around_footer_link) for
    delivery, preview and the archive; no other module spells it or searches for it."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE.parent))
        if where == "digest/models.py":
            continue
        source = path.read_text(encoding="utf-8")
        if "UNSUBSCRIBE_PLACEHOLDER" in source:
            offenders.append(f"{where}: UNSUBSCRIBE_PLACEHOLDER")
        for node in string_constants(path):
            if "{unsubscribe_url}" in node.value:
                offenders.append(f"{where}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


# --- typed contracts between the stages (issue 22, item 4) ------------------------------------

STAGES = (
    "digest/pipeline.py",
    "digest/plan.py",
    "digest/send.py",
    "digest/report.py",
    "digest/recipients.py",
    "digest/deliver.py",
    "digest/sources/__init__.py",
)


def test_what_the_stages_hand_each_other_is_typed():
    """Every public function of a stage names the types it takes and gives: a parameter left
    bare (`store`, `spec`) was read with `getattr(spec, "name", None)` as if it could be
    anything."""
    bare = []
    for where in STAGES:
        tree = tree_of(ROOT / where)
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            args = node.args
            params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            untyped = [a.arg for a in params if a.annotation is None]
            if node.returns is None:
                untyped.append("return")
            if untyped:
                bare.append(f"{where}:{node.lineno}: {node.name} {untyped}")
    assert bare == []


def test_the_senders_address_is_read_only_by_message_sender():
    """`delivery.from` gives the From header, the Message-IDs' and List-Id's domain and the
    envelope sender of the digest and of the sign-up confirmation: message.sender reads it,
    deliver.envelope_sender picks the envelope sender; no other module parses it."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE.parent))
        if where == "digest/message.py":
            continue
        tree = tree_of(path)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func).endswith("parseaddr")
                and "from_addr" in ast.unparse(node.args[0])
            ):
                offenders.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []


def test_the_readmes_layout_names_every_module():
    """The README's Layout is where a newcomer finds a module: one added since it was written
    (encoding.py, untitled.py, select/titles.py, ...) was in no row of it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"[\w/]+\.py", layout))
    unnamed = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        inside = path.relative_to(PACKAGE)
        folder = f"digest/{inside.parent}/" if inside.parent.parts else "digest/"
        if not {inside.name, str(inside), f"digest/{inside}"} & named:
            unnamed.append(str(inside))
        elif inside.parent.parts and folder not in layout:
            unnamed.append(f"{inside} (its folder)")
    assert unnamed == []


def test_the_stages_name_a_status_by_its_member():
    """A run's and a delivery's statuses are RunStatus and DeliveryStatus members: a stage
    that spells one ("already-ran", "failed") has a second copy of the status to keep in
    step. Dict keys (JSON) and `__all__` are names, not statuses."""
    statuses = {s.value for s in (*RunStatus, *DeliveryStatus)}
    offenders = []
    for where in (*STAGES, "digest/schedule.py"):
        tree = tree_of(ROOT / where)
        names = {id(k) for n in ast.walk(tree) if isinstance(n, ast.Dict) for k in n.keys}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and "__all__" in ast.unparse(node.targets[0]):
                names.update(id(n) for n in ast.walk(node.value))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in statuses and id(node) not in names:
                offenders.append(f"{where}:{node.lineno}: {node.value!r}")
    assert offenders == []


def test_an_exceptions_words_are_made_one_line_only_by_errors_reason():
    """A library's exception in a message, on one line: errors.reason (the state's
    connections and the fetcher each had a copy, two without its fallback)."""
    copy = re.compile(r"\" \"\.join\(str\((?:e|error|exc|err)\)\.split\(\)\)")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "errors.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if copy.search(line)
    ]
    assert offenders == []


def test_the_rules_and_the_storage_protocol_take_no_any():
    """What the exactly-once rules record and remember is typed: outcomes were `Any`, the
    records to remember a bare `list`/`Sequence`."""
    loose = []
    for where in ("digest/state/exactly_once.py", "digest/state/storage.py"):
        tree = tree_of(ROOT / where)
        for node in ast.walk(tree):
            if isinstance(node, ast.arg | ast.AnnAssign) or (
                isinstance(node, ast.FunctionDef) and node.returns is not None
            ):
                hint = node.returns if isinstance(node, ast.FunctionDef) else node.annotation
                text = ast.unparse(hint) if hint is not None else ""
                if re.search(r"\bAny\b|^(list|Sequence)$|\[(list|Sequence)\]", text):
                    loose.append(f"{where}:{node.lineno}: {text}")
    assert loose == []


# --- the fast tests stay fast (issue 22, item 10) --------------------------------------------

TESTS = ROOT / "tests"
# What starts another process, a daemon or a browser, or waits on the clock.
SPAWNS = re.compile(
    r"\bsubprocess\.|\bPopen\(|\bPostfix\(|\bDovecot\(|\bpg_url\b|\bchromium\b|\bplaywright\b"
    r"|\btime\.sleep\(|\bdigest_command\(|\.Process\(|ProcessPoolExecutor\("  # multiprocessing's too
)


def _marked_slow(node: ast.AST) -> bool:
    return any(ast.unparse(d).startswith("pytest.mark.slow") for d in node.decorator_list)


def _spawning_helpers(tree: ast.Module, imported: set[str]) -> set[str]:
    """The module's own functions that start a process (or call one that does), and the
    spawning helpers it imports from other test modules."""
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    spawning = set(imported)
    while True:
        more = {
            name
            for name, node in functions.items()
            if name not in spawning
            and not name.startswith("test")
            and (
                SPAWNS.search(ast.unparse(node))
                or any(re.search(rf"\b{h}\(", ast.unparse(node)) for h in spawning)
            )
        }
        if not more:
            return spawning
        spawning |= more


def test_a_test_that_starts_a_process_or_sleeps_is_marked_slow():
    """`pytest -m "not slow"` is the loop a developer runs: a test that runs `digest` in a
    subprocess, starts Postfix, Dovecot, PostgreSQL or a browser, or sleeps, is marked slow
    (test_bounces.py ran `digest`, Postfix and Dovecot eleven times unmarked: 88 s)."""
    helpers: dict[str, set[str]] = {}
    trees = {p: tree_of(p) for p in sorted(TESTS.glob("*.py"))}
    for _ in range(2):  # helpers imported from other test modules (test_web.cli)
        for path, tree in trees.items():
            imported = {
                alias.asname or alias.name
                for node in tree.body
                if isinstance(node, ast.ImportFrom) and node.module in helpers
                for alias in node.names
                if alias.name in helpers[node.module]
            }
            helpers[path.stem] = _spawning_helpers(tree, imported)
    unmarked = []
    for path, tree in trees.items():
        if not path.name.startswith("test_"):
            continue
        if any(
            isinstance(n, ast.Assign)
            and "pytestmark" in ast.unparse(n.targets[0])
            and "pytest.mark.slow" in ast.unparse(n.value)
            for n in tree.body
        ):
            continue
        spawning = helpers[path.stem]
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
                continue
            body = ast.unparse(node)
            if not _marked_slow(node) and (
                SPAWNS.search(body) or any(re.search(rf"\b{h}\(", body) for h in spawning)
            ):
                unmarked.append(f"{path.name}:{node.lineno}: {node.name}")
    assert unmarked == []


# Public names digest itself does not use, on purpose: the config reader of one value (the
# test that the shipped file writes every default reads with it); selection's one-story
# section rule, which its tests ask directly.
USED_BY_TESTS_ONLY = {"read_value", "section_for"}


def test_every_public_function_and_class_of_digest_is_used_by_digest():
    """A wrapper kept only for tests (deliver_issue beside deliver_batches) or a rule nothing
    calls any more (render.short_date beside Catalogue.date) is a second way in: tests pin it
    while the product goes the other way."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))]
    texts += [
        p.read_text(encoding="utf-8") for p in sorted((ROOT / "templates").glob("*")) if p.is_file()
    ]
    words = Counter(re.findall(r"\w+", "\n".join(texts)))
    unused = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in tree_of(path).body:
            if not isinstance(node, ast.FunctionDef | ast.ClassDef) or node.name.startswith("_"):
                continue
            if any(re.search(r"\.(command|group)\b", ast.unparse(d)) for d in node.decorator_list):
                continue  # a CLI command: click calls it
            if node.name in USED_BY_TESTS_ONLY:
                continue
            if words[node.name] <= 1:
                unused.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name}")
    assert unused == []
