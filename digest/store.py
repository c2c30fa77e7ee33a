"""SQLite state: runs, frozen issues, per-recipient deliveries, rate history, sent articles.

One file, WAL mode, one writer at a time (SQLite's own locking plus a process lock for
whole runs). The schema is created and migrated here; a file from a newer digest, or a file
that is not SQLite, is refused with a clear message and left exactly as it was.
Preview opens the file read-only and never writes.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .errors import LockedError, SlotDoneError, StateError
from .history import HISTORY_SCHEMA, HISTORY_V2

SCHEMA_VERSION = 2
SQLITE_MAGIC = b"SQLite format 3\x00"

SCHEMA_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    slot TEXT,                      -- the scheduled slot this run served (ISO), if any
    status TEXT NOT NULL,           -- running | delivered | empty | failed | dry-run
    chosen INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    message TEXT
);
CREATE UNIQUE INDEX runs_slot ON runs(slot) WHERE slot IS NOT NULL;

CREATE TABLE issues (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    created_at TEXT NOT NULL,
    digest_date TEXT NOT NULL,
    subject TEXT NOT NULL,
    preheader TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    report TEXT NOT NULL,           -- the selection report (JSON) frozen with the issue
    articles TEXT NOT NULL,         -- the chosen articles (JSON), remembered once delivered
    status TEXT NOT NULL            -- sending | delivered | failed
);

CREATE TABLE deliveries (
    issue_id INTEGER NOT NULL REFERENCES issues(id),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,           -- pending | sent | retrying | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    answer TEXT,                    -- the server's last answer
    message_id TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (issue_id, recipient)
);

CREATE TABLE subscribers (
    email TEXT PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    unsubscribed_at TEXT
);

CREATE TABLE rate_history (
    issue_id INTEGER NOT NULL REFERENCES issues(id),
    pair TEXT NOT NULL,
    rate TEXT NOT NULL,
    change_pct TEXT NOT NULL,
    quoted_on TEXT,
    PRIMARY KEY (issue_id, pair)
);
"""

MIGRATIONS = {1: SCHEMA_V1 + HISTORY_SCHEMA, 2: HISTORY_V2}

# SQL: does run `r` count for its slot? Not when it failed or was killed before it froze an
# issue (nothing was sent then, so the slot may run again).
_COUNTS = (
    "NOT (r.status IN ('failed', 'killed') "
    "AND NOT EXISTS (SELECT 1 FROM issues i WHERE i.run_id = r.id))"
)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunRecord:
    id: int
    started_at: str
    finished_at: str | None
    slot: str | None
    status: str
    chosen: int
    sent: int
    failed: int
    message: str | None


class Store:
    """The state file. Use `Store.open(path)`; `readonly=True` for preview."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool):
        self.conn = conn
        self.path = path
        self.readonly = readonly

    # --- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], readonly: bool = False) -> Store:
        path = Path(path)
        try:
            exists = path.exists() and path.stat().st_size > 0
            if exists:
                _check_header(path)
            if readonly and not exists:
                return cls(_empty_memory_db(), path, True)
            if not readonly:
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StateError(
                f"{path}: cannot use the state file's folder ({e.strerror})",
                "check `state:` and the folder's permissions",
            ) from None
        conn = None
        try:
            conn = (
                _connect_readonly(path)
                if readonly
                else sqlite3.connect(path, timeout=30, isolation_level=None)
            )
            store = cls(conn, path, readonly)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"{path}: written by a newer digest (schema {version}; this one knows "
                    f"{SCHEMA_VERSION}); left as it was",
                    "upgrade digest, or point `state:` at another file",
                )
            if version > 0:
                # Touch a real table so a damaged file shows itself now, not mid-run.
                conn.execute("SELECT count(*) FROM runs").fetchone()
            if not readonly:
                conn.execute("PRAGMA busy_timeout=30000")
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                store._migrate(version)
        except sqlite3.DatabaseError as e:
            if conn is not None:
                conn.close()
            raise StateError(
                f"{path}: not a usable state file ({e}); left as it was",
                "restore it from a backup, or point `state:` at a new file",
            ) from None
        except StateError:
            conn.close()
            raise
        return store

    def _migrate(self, version: int) -> None:
        for target in sorted(v for v in MIGRATIONS if v > version):
            with self.transaction():
                for statement in _statements(MIGRATIONS[target]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={target}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so writers queue up."""
        if self.readonly:
            raise RuntimeError("read-only state (preview) must not write")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    # --- runs -----------------------------------------------------------------------------

    def start_run(self, slot: str | None = None) -> int:
        """Record a run. A slot whose earlier run counts refuses (SlotDoneError); a slot whose
        run failed before freezing an issue (nothing was sent) is released for this one."""
        with self.transaction() as tx:
            if slot is not None:
                if tx.execute(
                    f"SELECT 1 FROM runs r WHERE slot=? AND {_COUNTS}", (slot,)
                ).fetchone():
                    raise SlotDoneError(
                        f"slot {slot} has already run: nothing to do",
                        "each slot runs once; `digest history` shows its run",
                    )
                tx.execute(
                    "UPDATE runs SET slot=NULL, message=coalesce(message || '; ', '') || "
                    "'slot ' || slot || ' released for a new run' WHERE slot=?",
                    (slot,),
                )
            cur = tx.execute(
                "INSERT INTO runs(started_at, slot, status) VALUES (?, ?, 'running')", (now(), slot)
            )
            return int(cur.lastrowid)

    def close_killed_runs(self) -> int:
        """Runs left 'running' by a killed process (call under the run lock): mark them."""
        if not self._has_schema():
            return 0
        with self.transaction() as tx:
            return tx.execute(
                "UPDATE runs SET status='killed', finished_at=? WHERE status='running'", (now(),)
            ).rowcount

    def finish_run(
        self,
        run_id: int,
        status: str,
        chosen: int = 0,
        sent: int = 0,
        failed: int = 0,
        message: str | None = None,
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE runs SET finished_at=?, status=?, chosen=?, sent=?, failed=?, "
                "message=? WHERE id=?",
                (now(), status, chosen, sent, failed, message, run_id),
            )

    def slot_has_run(self, slot: str) -> bool:
        """A run counts for its slot unless it failed (or was killed) before freezing an issue."""
        row = self.conn.execute(f"SELECT 1 FROM runs r WHERE slot=? AND {_COUNTS}", (slot,))
        return row.fetchone() is not None

    def runs(self, limit: int = 50) -> list[RunRecord]:
        if not self._has_schema():
            return []
        rows = self.conn.execute(
            "SELECT id, started_at, finished_at, slot, status, chosen, sent, failed, message "
            "FROM runs ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [RunRecord(*row) for row in rows]

    # --- issues and deliveries -------------------------------------------------------------

    def open_issues(self) -> list[sqlite3.Row]:
        """Issues still being sent (a run was killed, or some readers were deferred), oldest
        first."""
        if not self._has_schema():
            return []
        return self.conn.execute(
            "SELECT * FROM issues WHERE status='sending' ORDER BY id"
        ).fetchall()

    def issues(self, limit: int = 50) -> list[sqlite3.Row]:
        if not self._has_schema():
            return []
        return self.conn.execute(
            "SELECT * FROM issues ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()

    def deliveries(self, issue_id: int) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM deliveries WHERE issue_id=? ORDER BY recipient", (issue_id,)
        ).fetchall()

    def pending_recipients(self, issue_id: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT recipient FROM deliveries WHERE issue_id=? AND status IN "
            "('pending', 'retrying') ORDER BY status = 'retrying', rowid",
            (issue_id,),
        ).fetchall()
        return [r[0] for r in rows]

    def set_delivery(
        self,
        issue_id: int,
        recipient: str,
        status: str,
        answer: str | None = None,
        message_id: str | None = None,
    ) -> None:
        """Record one recipient's outcome at once, in its own transaction."""
        with self.transaction() as tx:
            tx.execute(
                "UPDATE deliveries SET status=?, answer=?, attempts=attempts+1, "
                "message_id=coalesce(?, message_id), updated_at=? "
                "WHERE issue_id=? AND recipient=?",
                (status, answer, message_id, now(), issue_id, recipient),
            )

    def set_deliveries(
        self, issue_id: int, rows: list[tuple[str, str, str | None, str | None]]
    ) -> None:
        """Record several outcomes (recipient, status, answer, message_id) in one transaction."""
        with self.transaction() as tx:
            tx.executemany(
                "UPDATE deliveries SET status=?, answer=?, attempts=attempts+1, "
                "message_id=coalesce(?, message_id), updated_at=? "
                "WHERE issue_id=? AND recipient=?",
                [(s, a, m, now(), issue_id, r) for r, s, a, m in rows],
            )

    def give_up_deferred(self, issue_id: int, max_runs: int) -> int:
        """Readers still deferred after `max_runs` tries: failed for good."""
        with self.transaction() as tx:
            return tx.execute(
                "UPDATE deliveries SET status='failed', answer=coalesce(answer, '') || "
                "' (gave up after ' || attempts || ' runs)', updated_at=? "
                "WHERE issue_id=? AND status='retrying' AND attempts>=?",
                (now(), issue_id, max_runs),
            ).rowcount

    def sent_count(self, issue_id: int) -> int:
        """How many readers the relay (or the outbox) has accepted the issue for."""
        return self.conn.execute(
            "SELECT count(*) FROM deliveries WHERE issue_id=? AND status='sent'", (issue_id,)
        ).fetchone()[0]

    # --- rates ----------------------------------------------------------------------------

    def previous_rates(self) -> dict[str, Decimal]:
        """The rates of the newest issue delivered to at least one reader."""
        if not self._has_schema():
            return {}
        row = self.conn.execute(
            "SELECT max(issue_id) FROM rate_history WHERE issue_id IN "
            "(SELECT issue_id FROM deliveries WHERE status='sent')"
        ).fetchone()
        if not row or row[0] is None:
            return {}
        return {
            pair: Decimal(rate)
            for pair, rate in self.conn.execute(
                "SELECT pair, rate FROM rate_history WHERE issue_id=?", (row[0],)
            )
        }

    # --- subscribers ----------------------------------------------------------------------

    def token_for(self, email: str) -> str:
        """The recipient's unsubscribe token, made (unguessable) on first use."""
        email = email.lower()
        row = self.conn.execute("SELECT token FROM subscribers WHERE email=?", (email,)).fetchone()
        if row:
            return row[0]
        token = secrets.token_urlsafe(24)
        with self.transaction() as tx:
            tx.execute(
                "INSERT OR IGNORE INTO subscribers(email, token) VALUES (?, ?)", (email, token)
            )
            return tx.execute("SELECT token FROM subscribers WHERE email=?", (email,)).fetchone()[0]

    def tokens_for(self, emails: list[str]) -> dict[str, str]:
        """Each address's unsubscribe token (as token_for), the missing ones made in one
        transaction; keyed by the address as given."""
        keys = {e: e.lower() for e in emails}
        wanted = sorted(set(keys.values()))
        found: dict[str, str] = {}

        def look(tx) -> None:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                found.update(
                    tx.execute(
                        f"SELECT email, token FROM subscribers WHERE email IN ({marks})", chunk
                    ).fetchall()
                )

        look(self.conn)
        if len(found) < len(wanted):
            with self.transaction() as tx:
                tx.executemany(
                    "INSERT OR IGNORE INTO subscribers(email, token) VALUES (?, ?)",
                    [(e, secrets.token_urlsafe(24)) for e in wanted if e not in found],
                )
                look(tx)
        return {e: found[k] for e, k in keys.items()}

    def unsubscribe(self, email_or_token: str) -> str | None:
        """Mark an address (or the address a token belongs to) unsubscribed; returns it."""
        key = email_or_token.strip()
        with self.transaction() as tx:
            row = tx.execute(
                "SELECT email FROM subscribers WHERE email=? OR token=?", (key.lower(), key)
            ).fetchone()
            if row is None:
                if "@" not in key:
                    return None
                tx.execute(
                    "INSERT INTO subscribers(email, token, unsubscribed_at) VALUES (?, ?, ?)",
                    (key.lower(), secrets.token_urlsafe(24), now()),
                )
                return key.lower()
            tx.execute(
                "UPDATE subscribers SET unsubscribed_at=coalesce(unsubscribed_at, ?) WHERE email=?",
                (now(), row[0]),
            )
            return row[0]

    def unsubscribed(self) -> set[str]:
        if not self._has_schema():
            return set()
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT email FROM subscribers WHERE unsubscribed_at IS NOT NULL"
            )
        }

    # --- the archive (digest/archive.py's DeliveredIssues) --------------------------------

    def delivered_issues(self) -> list[DeliveredIssue]:
        """Every issue at least one reader has, oldest first, with the time the first reader
        got it. Reads only."""
        if not self._has_schema():
            return []
        rows = self.conn.execute(
            "SELECT i.id, i.run_id, i.digest_date, i.subject, i.html, i.text, i.report, "
            "min(d.updated_at) AS sent_at FROM issues i JOIN deliveries d "
            "ON d.issue_id = i.id AND d.status = 'sent' GROUP BY i.id ORDER BY i.id"
        ).fetchall()
        return [DeliveredIssue(**dict(row)) for row in rows]

    # --- helpers --------------------------------------------------------------------------

    def _has_schema(self) -> bool:
        return self.conn.execute("PRAGMA user_version").fetchone()[0] >= 1


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as f:
            header = f.read(len(SQLITE_MAGIC))
    except OSError as e:
        raise StateError(f"{path}: cannot read the state file ({e.strerror})") from None
    if header != SQLITE_MAGIC:
        raise StateError(
            f"{path}: not a digest state file (not SQLite); left as it was",
            "point `state:` at another file, or move this one away",
        )


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """Read without writing anything, not even SQLite's -wal/-shm files beside the state.

    At rest (no -wal file: the last writer closed cleanly) the file is read as immutable,
    which creates nothing. While a run is writing, or after a crash, the -wal holds recent
    commits, so a read-only connection (which shares the -shm) is used instead."""
    uri = path.resolve().as_uri()
    if not Path(f"{path}-wal").exists():
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, isolation_level=None)
        conn.execute("PRAGMA user_version").fetchone()
        return conn
    except sqlite3.OperationalError:
        # A WAL file in a folder we may not write to: read it as it stands on disk.
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)


def _empty_memory_db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    for version in sorted(MIGRATIONS):
        for statement in _statements(MIGRATIONS[version]):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return conn


@contextmanager
def run_lock(state_path: str | os.PathLike[str], wait: bool = False) -> Iterator[None]:
    """One digest run at a time per state file (an OS lock: freed even on kill -9)."""
    lock_path = Path(f"{state_path}.lock")
    try:
        if Path(state_path).is_file() and Path(state_path).stat().st_size > 0:
            _check_header(Path(state_path))  # no lock file beside something not ours
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a+")
    except OSError as e:
        raise StateError(
            f"{lock_path}: cannot make the lock file beside the state ({e.strerror})",
            "check `state:` and the folder's permissions",
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LockedError(
                f"another digest run is using {state_path} (pid {holder})",
                "wait for it to finish, or stop it",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class DeliveredIssue:
    """An issue as the archive publishes it: the HTML and text as frozen before sending."""

    id: int
    run_id: int
    digest_date: str  # ISO date
    subject: str
    sent_at: str  # ISO time (UTC) the first reader's copy was accepted
    html: str  # with the {unsubscribe_url} placeholder, filled per reader when sent
    text: str
    report: str  # the selection report (JSON) frozen with the issue
