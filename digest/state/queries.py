"""The named SQL of each database, read once from `sql/<dialect>/*.sql`.

A file holds blocks that each start with a `-- name: <name>` line (the aiosql convention, so
the files read the same in any SQL editor); the block up to the next name is that query, with
its own `--` comments. Placeholders are the driver's own: `?` for sqlite3, `%s` for psycopg.
Every dialect has the same names (a test checks), so storage code asks for a query by name and
never writes SQL itself.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

DIALECTS = ("sqlite", "postgresql")
_NAME = re.compile(r"^-- name: (\w+)\s*$", re.M)


@cache
def queries(dialect: str) -> dict[str, str]:
    """Every named query of `dialect` ("sqlite" or "postgresql"), by name."""
    found: dict[str, str] = {}
    folder = files(__package__).joinpath("sql", dialect)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        parts = _NAME.split(entry.read_text(encoding="utf-8"))
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in found:
                raise ValueError(f"{dialect}/{entry.name}: query {name!r} is named twice")
            found[name] = body.strip().removesuffix(";")
    return found


def statements(script: str) -> list[str]:
    """A migration's statements: each ends with a semicolon at the end of a line."""
    return [s.strip() for s in re.split(r";\s*$", script, flags=re.M) if _has_sql(s)]


def _has_sql(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())
