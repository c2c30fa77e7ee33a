"""The state: the only code that touches the database.

SQLite by default (one file, zero setup); PostgreSQL for several senders sharing one state,
chosen by `state: postgresql://user@host:5432/db` (password from the environment variable
named by `state_password_env`).

Modules:
- `storage.py`: the `Storage` protocol, every operation on the state, typed.
- `store.py`: `Store`, its one implementation (`Store.open(path_or_url)`,
  `Store.for_config(config)`), running the named queries of `sql/sqlite/*.sql` or
  `sql/postgresql/*.sql` (plain files read once by `queries.py`) on the database's connection.
- `sqlite.py`, `postgres.py` (`db.py`): the connections, and what differs below the queries:
  opening and refusing files, transactions, locks across processes, holding a run alive.
- `exactly_once.py`: every rule for sending each issue to each reader exactly once, calling
  only the protocol, and `DeliveryLog`, what `deliver` records into.
- `models.py`: typed records (Run, Issue, Delivery, NewIssue) and the status enums.
- `schema.py`: the schema's version; `migrate_N` in `sql/<dialect>/schema.sql` reaches version N.
- `sent.py`: the stories already sent as selection reads (`History`) and writes them (no SQL).
- `lock.py`: the one process lock (`run_lock`, `schedule_lock`, `serve_lock`).

To add a storage operation: (1) declare it on `Storage` in storage.py; (2) add a
`-- name: <query>` block to the matching file in both `sql/sqlite/` (`?` placeholders) and
`sql/postgresql/` (`%s`; tests/test_shape.py checks both have every name); (3)
implement it on `Store` with `self._run/_all/_one/_value/_each("<query>", ...)`; (4) a new
column or table is a new `migrate_N` block in both schema.sql files and SCHEMA_VERSION + 1.

Errors: a database error becomes a StateError naming the file or URL (never a password);
failing to write mid-run is a StateWriteError (exit 1: what was recorded stays recorded).
"""

from __future__ import annotations

from .db import Db, StateWriteError
from .lock import run_lock, schedule_lock, serve_lock
from .models import Delivery, DeliveryStatus, Issue, IssueStatus, NewIssue, Run, RunStatus
from .schema import SCHEMA_VERSION
from .store import Store, is_url


def past_digests(config, limit: int = 20, not_sent: int | None = None) -> list[dict]:
    """`digest history`: the newest runs with their issues and deliveries (read-only); with
    `not_sent`, at most that many readers an issue, those it did not reach."""
    with Store.for_config(config, readonly=True) as store:
        return store.history(limit, not_sent)


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
    "serve_lock",
]
