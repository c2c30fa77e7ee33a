"""The state: the only code that touches the database.

SQLite by default (one file, zero setup); PostgreSQL for several senders sharing one state,
chosen by `state: postgresql://user@host:5432/db` (password from the environment variable
named by `state_password_env`).

Modules:
- `models.py`: typed records (Run, Issue, Delivery, NewIssue) and the status enums.
- `store.py`: opening the state (`Store.open(path_or_url)`, `Store.for_config(config)`) and
  the plain records: runs, issues, deliveries, subscribers, rate history.
- `exactly_once.py`: every rule for sending each issue to each reader exactly once
  (slots, killed runs, freeze, claim/record/lease, resume, settle, hold-back, give-up),
  and `DeliveryLog`, what `deliver` records into.
- `lock.py`: the one process lock (`run_lock`, `schedule_lock`).
- `schema.py`: the schema and its migrations, the same on both databases.
- `db.py`, `sqlite.py`, `postgres.py`: the connection wrapper and its two backends.

The connection wrapper (`store.db`, a `Db`) is what code inside the state layer runs SQL on,
on either database:

- `db.dialect` is "sqlite" or "postgresql".
- `db.execute(sql, params)` returns a cursor (`fetchone`, `fetchall`, `rowcount`, iteration);
  `db.executemany(sql, rows)`; `db.fetchone / fetchall / scalar(sql, params)`;
  `db.insert(sql, params)` returns the new row's `id` (RETURNING id on PostgreSQL).
  SQL uses `?` placeholders on both: PostgreSQL's are translated for psycopg (a literal `%`
  is fine). Rows read by index or by column name. Statuses (StrEnums) may be passed as is.
- `with db.transaction() as tx:` one write transaction (SQLite: BEGIN IMMEDIATE);
  `tx.lock_in_transaction(name)` serialises a critical section across senders
  (PostgreSQL advisory lock; nothing on SQLite, whose write transactions are exclusive).
- Portable SQL: `INSERT ... ON CONFLICT(key) DO NOTHING / DO UPDATE SET x = excluded.x`,
  `count(*)`, `coalesce`, `||`. Schema scripts are written for SQLite (`db.ddl(script)`
  translates types). For the sent stories (digest/state/sent.py, selection's
  `SentStories` and `remember`), the PostgreSQL backend also rewrites `json_each(?)` over a
  JSON array of integers (and `INSERT OR IGNORE`); BYTEA comes back as bytes. Prefer the portable forms in new SQL.
- Errors: a database error becomes a StateError naming the file or URL (never a password);
  failing to write mid-run is a StateWriteError (exit 1: what was recorded stays recorded).
"""

from __future__ import annotations

from .db import Db, StateWriteError
from .lock import run_lock, schedule_lock
from .models import Delivery, DeliveryStatus, Issue, IssueStatus, NewIssue, Run, RunStatus
from .schema import SCHEMA_VERSION
from .store import Store, is_url


def past_digests(config, limit: int = 20) -> list[dict]:
    """`digest history`: the newest runs with their issues and deliveries (read-only)."""
    with Store.for_config(config, readonly=True) as store:
        return store.history(limit)


def unsubscribe(config, email_or_token: str) -> str | None:
    """The address no digest goes to any more (None: unknown token). Never waits for a
    running send: one short transaction (the sender re-reads statuses before each batch)."""
    with Store.for_config(config) as store:
        return store.unsubscribe(email_or_token)


__all__ = [
    "unsubscribe",
    "past_digests",
    "SCHEMA_VERSION",
    "Db",
    "Delivery",
    "DeliveryStatus",
    "Issue",
    "IssueStatus",
    "NewIssue",
    "Run",
    "RunStatus",
    "StateWriteError",
    "Store",
    "is_url",
    "run_lock",
    "schedule_lock",
]
