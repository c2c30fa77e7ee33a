"""The PostgreSQL backend (psycopg 3), for several senders sharing one state.

Chosen by a `state: postgresql://user@host:5432/db` URL; the password comes from the
environment variable named by `state_password_env`, never from the file, and never appears
in a message (messages name the URL without it). The schema and the queries are in
`sql/postgresql/`; the schema's version is kept in the table `digest_schema`. A database that
holds other tables but no `digest_schema` is another program's: refused, left as it was.
Each live run holds an advisory lock on its own id, which the server drops the moment the
process dies: that is how other senders tell a killed run from a live one.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ..errors import ConfigError, StateError, reason
from .db import Db, StateWriteError, is_write


class Row(tuple):
    """A result row readable by index or by column name (like sqlite3.Row)."""

    _names: tuple[str, ...] = ()

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor):
    names = tuple(c.name for c in cursor.description or ())
    cls = type("Row", (Row,), {"_names": names})

    def make(values: Sequence[Any]) -> Row:
        return cls(bytes(v) if isinstance(v, memoryview) else v for v in values)

    return make


PASSWORD_IN_URL = "the URL holds a password"


def url_problem(url: str) -> str | None:
    """What makes a PostgreSQL URL unusable in the config or on the command line, None when
    nothing: a password in it (it must come from the environment), checked before any message
    quotes the URL, or a host or port that cannot be read."""
    if _holds_password(url):
        return PASSWORD_IN_URL
    try:
        urlsplit(url).port  # noqa: B018 (a bad host or port raises here)
    except ValueError as e:
        return f"not a usable PostgreSQL URL ({e})"
    return None


def _holds_password(url: str) -> bool:
    """After the user name, or as the `password` parameter libpq also takes."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed host ("u@[::1/d"): read the text as it is
        return "password=" in url or re.match(r"[^/]*//[^/@]*:[^/@]*@", url) is not None
    return parts.password is not None or "password" in parse_qs(parts.query, True)


def safe_url(url: str) -> str:
    """The URL without any password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username:
        host = f"{parts.username}@{host}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class PostgresDb(Db):
    dialect = "postgresql"

    def __init__(self, conn, url: str, readonly: bool, driver):
        self.conn = conn
        self.where = safe_url(url)
        self.readonly = readonly
        self._depth = 0
        self._driver = driver  # the psycopg module (an optional dependency)

    @classmethod
    def open(
        cls, url: str, readonly: bool, password_env: str | None = None, config_path: str = ""
    ) -> PostgresDb:
        try:
            import psycopg
        except ImportError:
            raise StateError(
                f"{safe_url(url)}: PostgreSQL state needs psycopg, which is not installed",
                "pip install 'psycopg[binary]', or from digest's checkout: pip install -e '.[postgresql]'",
            ) from None
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": 15}
        if password_env:
            if password_env not in os.environ:
                raise ConfigError(
                    f"environment variable {password_env} is not set",
                    config_path or None,
                    key="state_password_env",
                    hint=f"export {password_env}=... (the password never goes in the file)",
                )
            kwargs["password"] = os.environ[password_env]
        try:
            conn = psycopg.connect(url, **kwargs)
        except psycopg.Error as e:
            raise StateError(
                f"{safe_url(url)}: cannot connect to the PostgreSQL state ({reason(e)})",
                "check `state:` and `state_password_env`, and that the server runs",
            ) from None
        conn.row_factory = _row_factory
        db = cls(conn, url, readonly, psycopg)
        try:
            if readonly:  # preview and history: the server refuses any write, too
                db.execute("SET default_transaction_read_only = on")
            # one look at the tables: another sender may be creating them right now
            tables = db.tables()
        except StateError:
            conn.close()
            raise
        if tables and "digest_schema" not in tables:
            conn.close()
            raise StateError(
                f"{db.where}: a database of another program (it has tables "
                f"{', '.join(tables[:5])}), not a digest state; left as it was",
                "point `state:` at an empty database; digest makes its own tables",
            )
        return db

    def _run(self, method, sql: str, params):
        try:
            return method(sql, params)
        except self._driver.Error as e:
            raise self._error(e, is_write(sql) or self._depth > 0) from None

    def _error(self, error: Exception, writing: bool) -> Exception:
        """The error to raise for a driver's error (a few are the callers' to handle)."""
        errors = self._driver.errors
        if isinstance(error, errors.UniqueViolation | errors.LockNotAvailable):
            return error
        if isinstance(error, errors.InsufficientPrivilege):
            return self.not_allowed(error)
        return self.failed(error, writing)

    def failed(self, error: Exception, writing: bool) -> StateError:
        if not self.conn.broken:
            return super().failed(error, writing)
        # the server restarted or the link dropped: nothing is wrong with the state
        return StateWriteError(
            f"{self.where}: lost the connection to the PostgreSQL state ({reason(error)}); "
            "what was recorded before stays recorded",
            "run again once the server answers: the next run finishes what this one began",
        )

    def not_allowed(self, error: Exception) -> StateError:
        """The role lacks a grant (PostgreSQL 15 no longer lets every role create tables in
        the `public` schema): say which, and the GRANT that fixes it."""
        user = urlsplit(self.where).username or "the digest role"
        database = urlsplit(self.where).path.lstrip("/") or "the database"
        return StateError(
            f"{self.where}: the role {user} may not do this ({reason(error)})",
            f"as a superuser: GRANT CREATE ON SCHEMA public TO {user}; (PostgreSQL 15 and later), "
            f"or make {user} the owner of {database} (CREATE DATABASE {database} OWNER {user}); "
            "see the README's PostgreSQL section",
        )

    # --- `digest state copy` (copy.py): whole tables, whatever their columns --------------

    def has_rows(self, table: str) -> bool:
        return self.execute(f"SELECT 1 FROM {_ident(table)} LIMIT 1").fetchone() is not None

    def columns(self, table: str) -> set[str]:
        rows = self.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        )
        return {r[0] for r in rows}

    def load_table(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        """Rows into a table, ids as given; identity columns then continue after them."""
        names = ", ".join(_ident(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        for i in range(0, len(rows), 1000):
            self.executemany(
                f"INSERT INTO {_ident(table)} ({names}) VALUES ({marks})", rows[i : i + 1000]
            )
        if "id" in columns and rows:
            self.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"(SELECT max(id) FROM {_ident(table)}))",
                (table,),
            )

    def execute(self, sql: str, params: Sequence[Any] = ()):
        return self._run(self.conn.execute, sql, _plain(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [_plain(r) for r in rows]
        if not rows:
            return
        with self.conn.cursor() as cur:
            self._run(cur.executemany, sql, rows)

    def as_list(self, values: Sequence[Any]) -> list[Any]:
        return list(values)

    @contextmanager
    def transaction(self) -> Iterator[PostgresDb]:
        self.check_writable()
        try:
            with self.conn.transaction():  # its BEGIN and COMMIT fail here, too
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
        except self._driver.Error as e:
            raise self._error(e, True) from None

    def lock_in_transaction(self, name: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, lock_key(name)))

    def try_session_lock(self, key: int) -> bool:
        return bool(self.scalar("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, key)))

    def session_lock(self, key: int) -> None:
        self.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_SPACE, key))

    def session_unlock(self, key: int) -> None:
        try:
            self.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_SPACE, key))
        except StateError:
            if not self.conn.broken:
                raise  # (else the server dropped the session's locks with it)

    def hold(self, run_id: int) -> None:
        self.session_lock(run_id)

    def let_go(self, run_id: int) -> None:
        self.session_unlock(run_id)

    def held_elsewhere(self, run_id: int) -> bool:
        if self.try_session_lock(run_id):  # nobody holds it: that run's process is gone
            self.session_unlock(run_id)
            return False
        return True

    def tables(self) -> list[str]:
        rows = self.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() ORDER BY table_name"
        )
        return [r[0] for r in rows]

    def schema_version(self) -> int:
        if "digest_schema" not in self.tables():
            return 0
        return int(self.scalar("SELECT max(version) FROM digest_schema") or 0)

    def set_schema_version(self, version: int) -> None:
        self.execute("CREATE TABLE IF NOT EXISTS digest_schema (version INTEGER NOT NULL)")
        self.execute("DELETE FROM digest_schema")
        self.execute("INSERT INTO digest_schema(version) VALUES (%s)", (int(version),))

    def close(self) -> None:
        self.conn.close()


def _plain(params: Sequence[Any]) -> tuple:
    """Statuses (StrEnums) go in as their text: psycopg would send an Enum's name."""
    return tuple(str(v) if isinstance(v, StrEnum) else v for v in params)


# Advisory locks: (LOCK_SPACE, key) pairs; runs hold (LOCK_SPACE, run id) while alive.
LOCK_SPACE = 0x64677374  # "dgst"


def lock_key(name: str) -> int:
    """A stable 31-bit key for a lock's name (run ids are small; names hash high)."""
    return (zlib.crc32(name.encode()) | 0x40000000) & 0x7FFFFFFF


def _ident(name: str) -> str:
    """A table or column name of digest's own schema (never user input), checked anyway."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a plain name: {name!r}")
    return name
