"""`digest state copy --to postgresql://...`: a SQLite state moved into PostgreSQL whole —
readers with their tokens (so the links in mail already sent keep working), consent and
bounces, runs, issues, deliveries, sent stories and rate history.

No run, scheduler or `digest serve` may hold the state meanwhile (lock.copy_lock). The target must be empty of
digest data: its schema is made by digest itself (the same migrations as any PostgreSQL
state), then every table is copied in one transaction, and the identity columns are moved
past the copied ids.
"""

from __future__ import annotations

import os

from ..errors import StateError, UsageError
from .lock import copy_lock
from .postgres import PASSWORD_IN_URL, url_problem
from .store import Store, is_url

FIRST = ("runs", "issues")  # others refer to them


def copy_state(config, target: str, password_env: str | None = None) -> dict[str, int]:
    if is_url(config.state):
        raise UsageError("`state copy` copies a SQLite state: `state:` is already a URL")
    if not is_url(target):
        raise UsageError(f"--to {target!r}: give a postgresql://user@host:5432/db URL")
    problem = url_problem(target)
    if problem == PASSWORD_IN_URL:  # the URL not quoted
        raise UsageError(f"--to: {problem}; leave it out and use --password-env VAR")
    if problem:
        raise UsageError(f"--to {target!r}: {problem}")
    nothing = UsageError(f"{config.state}: no state to copy yet")
    # (the lock would make its folder); os.path.isfile: False, not OSError, on a name too long
    if not os.path.isfile(config.state):
        raise nothing
    # no run may write meanwhile: a copy taken mid-send makes the copy's first run send
    # again to every reader reached after it; nor a scheduler or `digest serve`, which would
    # go on with this file after the copy
    with copy_lock(config.state), Store.open(config.state, readonly=True) as source:
        if not source.has_schema():
            raise nothing
        with Store.open(target, password_env=password_env or config.state_password_env) as dest:
            return _copy(source, dest)


def _copy(source: Store, dest: Store) -> dict[str, int]:
    src, dst = source.db, dest.db
    tables = [t for t in src.tables() if t in dst.tables()]
    busy = [t for t in ("runs", "subscribers") if t in tables and dst.has_rows(t)]
    if busy:
        raise StateError(
            f"{dst.where}: already holds a digest state ({', '.join(busy)} have rows); "
            "nothing copied",
            "copy into a new, empty database",
        )
    ordered = [t for t in FIRST if t in tables] + sorted(t for t in tables if t not in FIRST)
    counts: dict[str, int] = {}
    with dst.transaction():
        for table in ordered:
            columns, rows = src.dump_table(table)
            wanted = dst.columns(table)
            keep = [i for i, c in enumerate(columns) if c in wanted]
            dst.load_table(
                table, [columns[i] for i in keep], [tuple(r[i] for i in keep) for r in rows]
            )
            counts[table] = len(rows)
    return counts
