"""The SQLite backend: one file, WAL mode, one writer at a time (the default, zero setup).

Opening refuses, and leaves exactly as it was: a file that is not SQLite, a SQLite file that
holds another program's tables, a file from a newer digest, a damaged file, and a file (or a
folder) digest may not write to — the last before SQLite has made any -wal or -shm file
beside it. Read-only opening (preview, history) writes nothing at all.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StateError
from .db import Db, T, cannot_write, is_write
from .schema import SCHEMA_VERSION

SQLITE_MAGIC = b"SQLite format 3\x00"
RUN_LOCK = ".lock"  # the run lock's file: `<state>.lock` (lock.py)
VERSION = "PRAGMA user_version"
TABLES = (
    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
)


def lock_path(state: str | os.PathLike[str], suffix: str) -> Path:
    """The file of a lock `suffix` of a state: beside the file itself, so that a state reached
    by two paths (a link) is one state, one lock. (A link to nothing is refused when the state
    is opened; nothing is made where it points.)"""
    real = Path(state).resolve() if Path(state).exists() else Path(state)
    return Path(f"{real}{suffix}")


class SqliteDb(Db):
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool):
        self.conn = conn
        self.path = path
        self.where = str(path)
        self.readonly = readonly
        self._depth = 0

    def held_elsewhere(self, run_id: int) -> bool:
        """Another process holds the run lock (lock.py): a file has one run at a time, so a
        run recorded as running is that process's."""
        try:
            handle = lock_path(self.path, RUN_LOCK).open("r")
        except OSError:  # no lock file: no run ever held it
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # held: by this process (a run opening its state) or not
                return handle.read().strip() != str(os.getpid())
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, readonly: bool) -> SqliteDb:
        try:
            if path.is_symlink() and not path.exists():  # else read as "nothing sent yet"
                raise StateError(
                    f"{path}: a link to {os.readlink(path)}, which does not exist",
                    "mount or restore what it points at, or point `state:` at the file itself",
                )
            exists = path.exists() and path.stat().st_size > 0
            if exists:
                check_header(path)
            if readonly and not exists:
                memory = sqlite3.connect(":memory:", isolation_level=None)
                memory.row_factory = sqlite3.Row
                db = cls(memory, path, True)
                db.memory = True
                return db
            if not readonly:
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StateError(
                f"{path}: cannot use the state file's folder ({e.strerror})",
                "check `state:` and the folder's permissions",
            ) from None
        if not readonly:
            _check_can_write(path, exists)
        conn = None
        try:
            conn = (
                _connect_readonly(path)
                if readonly
                # check_same_thread off: `digest serve` shares one connection between its
                # threads, under a lock (a second connection in one process would be opened
                # after check_header, whose close drops the first one's POSIX locks)
                else sqlite3.connect(
                    path, timeout=30, isolation_level=None, check_same_thread=False
                )
            )
            conn.row_factory = sqlite3.Row
            db = cls(conn, path, readonly)
            # one look at version and tables (a writer may be making them), its errors
            # told below: a damaged file as such
            conn.execute("BEGIN")
            version = conn.execute(VERSION).fetchone()[0]
            tables = [r[0] for r in conn.execute(TABLES)]
            conn.execute("COMMIT")
            if version == 0 and tables:
                raise StateError(
                    f"{path}: a SQLite database of another program (it has tables "
                    f"{', '.join(tables[:5])}), not a digest state file; left as it was",
                    "point `state:` at another file; digest makes its own",
                )
            if version > 0:
                # Touch a real table so a damaged file shows itself now, not mid-run.
                conn.execute("SELECT count(*) FROM runs").fetchone()
            if readonly and 0 < version < SCHEMA_VERSION:
                # An older file, not migrated yet (the next run does it): read a copy in
                # memory, brought up to date there; the file stays as it is.
                memory = sqlite3.connect(":memory:", isolation_level=None)
                conn.backup(memory)
                conn.close()
                conn = memory
                conn.row_factory = sqlite3.Row
                db = cls(conn, path, True)
                db.memory = True
            if not readonly:
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA busy_timeout=30000")
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as e:
            if conn is not None:
                conn.close()
            if disk_trouble(e):  # the file may be fine: never send the user to a new one
                raise cannot_write(str(path), e) from None
            raise StateError(
                f"{path}: not a usable state file ({e}); left as it was",
                "restore it from a backup, or point `state:` at a new file",
            ) from None
        except StateError:
            conn.close()
            raise
        return db

    # --- the API ------------------------------------------------------------------------

    def failed(self, error: Exception, writing: bool) -> StateError:
        return super().failed(error, writing or disk_trouble(error))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.DatabaseError as e:
            raise self.failed(e, is_write(sql) or self._depth > 0) from None

    def fetch(self, read: Callable[[], T]) -> T:
        try:
            return read()
        except sqlite3.DatabaseError as e:
            raise self.failed(e, False) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.DatabaseError as e:
            raise self.failed(e, True) from None

    def dump_table(self, table: str) -> tuple[list[str], list[tuple]]:
        """`digest state copy` (copy.py): a whole table, its columns and rows."""
        if table not in self.tables():
            raise ValueError(f"no table {table!r}")
        columns = [r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")]
        names = ", ".join(columns)
        rows = self.execute(f"SELECT {names} FROM {table}")
        return columns, self.fetch(lambda: [tuple(r) for r in rows])

    def as_list(self, values: Sequence[Any]) -> str:
        return json.dumps(list(values))

    @contextmanager
    def transaction(self) -> Iterator[SqliteDb]:
        if self._depth:  # inside one already: part of it
            yield self
            return
        self.check_writable()
        self.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.DatabaseError:
                pass  # the transaction is gone already (a full disk rolls it back)
            raise
        else:
            self._depth -= 1
            self.execute("COMMIT")

    def tables(self) -> list[str]:
        return [r[0] for r in self.execute(TABLES)]

    def schema_version(self) -> int:
        return self.execute(VERSION).fetchone()[0]

    def set_schema_version(self, version: int) -> None:
        self.execute(f"PRAGMA user_version={int(version)}")

    @property
    def total_changes(self) -> int:
        """Rows changed through this connection (tests check that reading changes none)."""
        return self.conn.total_changes

    def close(self) -> None:
        if not self.readonly and not self.memory:
            # Fold what this connection wrote into the file itself, as closing the last
            # connection would: while `serve` or `schedule` holds the state open that never
            # comes, and a plain copy of the file (a nightly backup) missed weeks of writes.
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.conn.close()


def check_header(path: Path) -> None:
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


def check_ours(path: Path) -> None:
    """Before anything is made beside it (a lock file): a SQLite file of another program is
    refused. Read as immutable: nothing is written, no -wal or -shm is made."""
    check_header(path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return  # damaged: Store.open says so
    if version == 0 and tables:
        raise StateError(
            f"{path}: a SQLite database of another program (it has tables "
            f"{', '.join(tables[:5])}), not a digest state file; left as it was",
            "point `state:` at another file; digest makes its own",
        )


def disk_trouble(error: Exception) -> bool:
    """SQLite's error says the disk is full or failing (SQLITE_FULL, SQLITE_IOERR and its
    kinds, such as a -shm file that cannot grow), not that the file is damaged."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)


def _check_can_write(path: Path, exists: bool) -> None:
    """Before SQLite opens anything: a state file we may only read would be opened read-only
    by SQLite, which then makes a -shm file as read-only as the state itself, and that file
    breaks every later run, even once the permissions are fixed. Refuse here instead."""
    folder = path.parent
    if exists and not os.access(path, os.W_OK):
        raise StateError(
            f"{path}: the state file is read-only; nothing was sent, nothing written",
            f"let this user write to it (chmod u+w {path}), or point `state:` elsewhere",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StateError(
            f"{path}: cannot write in the state file's folder {folder} (SQLite keeps its "
            "-wal and -shm files beside the state); nothing was sent, nothing written",
            "let this user write to the folder, or point `state:` elsewhere",
        )
    for extra in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if extra.exists() and not os.access(extra, os.W_OK):
            raise StateError(
                f"{extra}: read-only, so the state file {path} cannot be used",
                f"let this user write to it (chmod u+w {extra}); digest needs it",
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
