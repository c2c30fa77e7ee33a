"""A connection to the state: what differs between SQLite and PostgreSQL below the queries.

`Db.execute(sql, params)` runs SQL as the driver takes it (the named queries of
`sql/<dialect>/`: `?` placeholders on SQLite, `%s` on PostgreSQL); rows read by index or by
column name. Each backend also owns its transactions, its locks across processes, how a
process holds a run alive, and how a list goes in as one parameter. Errors of the database
while a command runs become a StateError that names the file (or the database URL, without any
password) and what went wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from ..errors import StateError, reason

T = TypeVar("T")


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class StateWriteError(StateError):
    """The state could not be written (disk full, read-only, I/O error) while a run went on:
    the run failed (exit 1), nothing already recorded is lost."""

    exit_code = 1


class Db:
    """A connection to the state. Subclasses: `SqliteDb`, `PostgresDb`."""

    dialect: str  # "sqlite" | "postgresql"
    where: str  # the file, or the URL without password: for messages
    readonly: bool
    memory = False  # a copy in memory: SQLite's read-only look at an older or missing file

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def fetch(self, read: Callable[[], T]) -> T:
        """`read()`, a cursor's fetchone or fetchall, its database's errors a StateError as
        `execute`'s are: SQLite decodes each text as it is read, and a reader's name another
        tool wrote in Windows-1251 was a traceback in every command."""
        return read()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        """One write transaction; on SQLite taken at once (BEGIN IMMEDIATE) so writers queue."""
        raise NotImplementedError
        yield self

    def lock_in_transaction(self, name: str) -> None:
        """Inside a transaction: wait for, and hold until it ends, the lock `name` across
        every process sharing this state (SQLite: its transactions are already exclusive)."""

    def hold(self, run_id: int) -> None:
        """This process holds `run_id` alive until `let_go` or its death (SQLite: the run
        lock already says no other run lives)."""

    def let_go(self, run_id: int) -> None:
        pass

    def held_elsewhere(self, run_id: int) -> bool:
        """Does another live process hold `run_id`?"""
        return False

    def as_list(self, values: Sequence[Any]) -> Any:
        """A list as one query parameter (SQLite: a JSON array for json_each)."""
        raise NotImplementedError

    def tables(self) -> list[str]:
        raise NotImplementedError

    def schema_version(self) -> int:
        raise NotImplementedError

    def set_schema_version(self, version: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def check_writable(self) -> None:
        if self.readonly:
            raise RuntimeError("read-only state (preview) must not write")

    def failed(self, error: Exception, writing: bool) -> StateError:
        """The StateError for a database error met while using the state."""
        if writing:
            return cannot_write(self.where, error)
        return StateError(
            f"{self.where}: cannot read the state ({reason(error)})",
            "restore it from a backup, or point `state:` at a new file",
        )


def cannot_write(where: str, error: Exception) -> StateWriteError:
    """The state could not be written (a full disk, permissions): nothing is wrong with it."""
    return StateWriteError(
        f"{where}: cannot write to the state ({reason(error)}); what was recorded before "
        "stays recorded",
        "free some space or fix the permissions, then run again: the next run finishes "
        "what this one began",
    )


def is_write(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in {"INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "REPLACE", "COMMIT"}
