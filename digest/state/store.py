"""The state: opening it (SQLite file or PostgreSQL URL), and the plain records in it —
runs, issues, deliveries, subscribers, rate history. The rules for sending each issue exactly
once are in `exactly_once.py`; this module only stores and reads."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from .db import Db
from .models import (
    DeliveredIssue,
    Delivery,
    DeliveryStatus,
    Issue,
    IssueStatus,
    Run,
    status_of,
)
from .schema import SCHEMA_VERSION, check_version, migrate

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["SCHEMA_VERSION", "Store", "is_url", "now", "sender_id"]


def now(offset_seconds: float = 0) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset_seconds)
    return moment.isoformat(timespec="seconds")


def sender_id() -> str:
    """This process as a sender: hostname:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_url(state: str | os.PathLike[str]) -> bool:
    return isinstance(state, str) and state.startswith(("postgresql://", "postgres://"))


_ISSUE_COLUMNS = (
    "id, run_id, created_at, digest_date, subject, preheader, html, text, report, articles, "
    "status, slot, article_count"
)
_DELIVERY_COLUMNS = (
    "issue_id, recipient, status, attempts, answer, message_id, updated_at, sender, run_id, "
    "lease_until"
)
_RUN_COLUMNS = "id, started_at, finished_at, slot, status, chosen, sent, failed, message, sender"


class Store:
    """The state. `Store.open(path_or_url)`; `readonly=True` for preview and history."""

    def __init__(self, db: Db, path: Path | str, readonly: bool, lease_seconds: int = 300):
        self.db = db
        self.path = path
        self.readonly = readonly
        self.lease_seconds = lease_seconds
        self.sender = sender_id()
        self._schema = False
        self.live_runs: set[int] = set()  # runs this connection holds alive (PostgreSQL)
        # the order readers were frozen in (SQLite's rowid); PostgreSQL: by address
        self._order = "rowid" if db.dialect == "sqlite" else "recipient"

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        state: str | os.PathLike[str],
        readonly: bool = False,
        *,
        password_env: str | None = None,
        lease_seconds: int = 300,
        config_path: str = "",
    ) -> Store:
        if is_url(state):
            from .postgres import PostgresDb

            db: Db = PostgresDb.open(str(state), readonly, password_env, config_path)
        else:
            from .sqlite import SqliteDb

            state = Path(state)
            db = SqliteDb.open(state, readonly)
        try:
            version = check_version(db)
            if not readonly:
                migrate(db, version)
            elif getattr(db, "memory", False):
                _memory_schema(db, version)
        except BaseException:
            db.close()
            raise
        return cls(db, state, readonly, lease_seconds)

    @classmethod
    def for_config(cls, config: Config, readonly: bool = False) -> Store:
        return cls.open(
            config.state,
            readonly,
            password_env=config.state_password_env,
            lease_seconds=config.state_lease_seconds,
            config_path=str(config.path),
        )

    def sent_stories(self):
        """What was sent, as selection asks it (`select.SentStories`)."""
        from .sent import History

        return History(self.db)

    @property
    def conn(self) -> Db:
        """The state's connection wrapper (see digest/state/__init__.py); not a raw driver
        connection."""
        return self.db

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        with self.db.transaction() as tx:
            yield tx

    def has_schema(self) -> bool:
        """The tables exist (a read-only look at a new database has none); once they do,
        they stay, so the answer is kept."""
        if not self._schema:
            self._schema = self.db.schema_version() >= 1
        return self._schema

    # --- runs ---------------------------------------------------------------------------

    def start_run(self, slot: str | None = None) -> int:
        from .exactly_once import start_run

        return start_run(self, slot)

    def close_killed_runs(self) -> int:
        from .exactly_once import close_killed_runs

        return close_killed_runs(self)

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
                (now(), str(status), chosen, sent, failed, message, run_id),
            )
        from .exactly_once import end_run

        end_run(self, run_id)

    def slot_has_run(self, slot: str) -> bool:
        from .exactly_once import slot_has_run

        return slot_has_run(self, slot)

    def recorded_slots(self) -> list[str]:
        if not self.has_schema():
            return []
        return [r[0] for r in self.db.fetchall("SELECT slot FROM runs WHERE slot IS NOT NULL")]

    def runs(self, limit: int = 50) -> list[Run]:
        if not self.has_schema() or limit <= 0:
            return []
        rows = self.db.fetchall(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_run(r) for r in rows]

    def run(self, run_id: int) -> Run | None:
        row = self.db.fetchone(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,))
        return _run(row) if row else None

    # --- issues and deliveries ----------------------------------------------------------

    def open_issues(self) -> list[Issue]:
        """Issues still being sent (a run was killed, or some readers were deferred), oldest
        first."""
        if not self.has_schema():
            return []
        rows = self.db.fetchall(
            f"SELECT {_ISSUE_COLUMNS} FROM issues WHERE status=? ORDER BY id",
            (IssueStatus.SENDING,),
        )
        return [_issue(r) for r in rows]

    def issue(self, issue_id: int) -> Issue | None:
        row = self.db.fetchone(f"SELECT {_ISSUE_COLUMNS} FROM issues WHERE id=?", (issue_id,))
        return _issue(row) if row else None

    def issues(self, limit: int = 50) -> list[Issue]:
        if not self.has_schema() or limit <= 0:
            return []
        rows = self.db.fetchall(
            f"SELECT {_ISSUE_COLUMNS} FROM issues ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_issue(r) for r in rows]

    def issues_of_runs(self, run_ids: Sequence[int]) -> dict[int, Issue]:
        """The issue each of these runs froze, by run id."""
        if not run_ids or not self.has_schema():
            return {}
        marks = ",".join("?" * len(run_ids))
        rows = self.db.fetchall(
            f"SELECT {_ISSUE_COLUMNS} FROM issues WHERE run_id IN ({marks})", tuple(run_ids)
        )
        return {r["run_id"]: _issue(r) for r in rows}

    def deliveries(self, issue_id: int) -> list[Delivery]:
        rows = self.db.fetchall(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE issue_id=? ORDER BY recipient",
            (issue_id,),
        )
        return [_delivery(r) for r in rows]

    def deliveries_by_run(self, run_ids: Sequence[int]) -> dict[int, list[Delivery]]:
        """Every delivery each run last tried (any issue: a run also finishes older ones)."""
        if not run_ids or not self.has_schema():
            return {}
        marks = ",".join("?" * len(run_ids))
        out: dict[int, list[Delivery]] = {}
        for r in self.db.fetchall(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE run_id IN ({marks}) "
            "ORDER BY issue_id, recipient",
            tuple(run_ids),
        ):
            out.setdefault(r["run_id"], []).append(_delivery(r))
        return out

    def pending_recipients(self, issue_id: int) -> list[str]:
        rows = self.db.fetchall(
            "SELECT recipient FROM deliveries WHERE issue_id=? AND status IN (?, ?) "
            f"ORDER BY status = ?, {self._order}",
            (issue_id, DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.RETRYING),
        )
        return [r[0] for r in rows]

    def set_delivery(
        self,
        issue_id: int,
        recipient: str,
        status: str,
        answer: str | None = None,
        message_id: str | None = None,
        run_id: int | None = None,
    ) -> None:
        """Record one recipient's outcome at once, in its own transaction."""
        self.set_deliveries(issue_id, [(recipient, status, answer, message_id)], run_id)

    def set_deliveries(
        self,
        issue_id: int,
        rows: Sequence[tuple[str, str, str | None, str | None]],
        run_id: int | None = None,
    ) -> None:
        """Record several outcomes (recipient, status, answer, message_id) in one
        transaction; each one's sender and run are kept for `history`."""
        stamp = now()
        sql = (
            "UPDATE deliveries SET status=?, answer=?, attempts=attempts+1, "
            "message_id=coalesce(?, message_id), updated_at=?, sender=?, "
            "run_id=coalesce(?, run_id), lease_until=NULL "
            "WHERE issue_id=? AND recipient=?"
        )
        values = [(str(s), a, m, stamp, self.sender, run_id, issue_id, r) for r, s, a, m in rows]
        if len(values) == 1:  # one statement commits on its own: one round trip, not three
            self.db.check_writable()
            self.db.execute(sql, values[0])
            return
        with self.transaction() as tx:
            tx.executemany(sql, values)

    def give_up_deferred(self, issue_id: int, max_runs: int) -> int:
        from .exactly_once import give_up_deferred

        return give_up_deferred(self, issue_id, max_runs)

    def sent_count(self, issue_id: int) -> int:
        """How many readers the relay (or the outbox) has accepted the issue for."""
        return self.db.scalar(
            "SELECT count(*) FROM deliveries WHERE issue_id=? AND status=?",
            (issue_id, DeliveryStatus.SENT),
        )

    def history(self, limit: int = 20) -> list[dict]:
        """The newest `limit` runs, newest first, each with the issue it froze (its subject,
        slot, article count and every reader's delivery: status, answer, which sender), and
        what the run itself sent (counted from the deliveries it recorded, so a run that could
        not record its own end still shows what went out)."""
        runs = self.runs(limit)
        ids = [r.id for r in runs]
        issues = self.issues_of_runs(ids)
        by_run = self.deliveries_by_run(ids)
        entries = []
        for r in runs:
            issue = issues.get(r.id)
            done = by_run.get(r.id)
            if done is not None:  # recorded per delivery (schema 2)
                sent = sum(1 for d in done if d.status == DeliveryStatus.SENT)
                failed = sum(
                    1 for d in done if d.status in (DeliveryStatus.FAILED, DeliveryStatus.RETRYING)
                )
            else:
                sent, failed = r.sent, r.failed
            articles = r.chosen
            if issue is not None and not articles:
                articles = issue.article_count
                if articles is None:  # frozen by an older digest
                    import json

                    articles = len(json.loads(issue.articles))
            deliveries = self.deliveries(issue.id) if issue else []
            senders: dict[str, int] = {}
            for d in deliveries:
                if d.status == DeliveryStatus.SENT and d.sender:
                    senders[d.sender] = senders.get(d.sender, 0) + 1
            entries.append(
                {
                    "run": r.id,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "slot": r.slot or (issue.slot if issue else None),
                    "status": str(r.status),
                    "sender": r.sender,
                    "articles": articles,
                    "sent": sent,
                    "failed": failed,
                    "message": r.message,
                    "issue": issue.id if issue else None,
                    "issue_status": str(issue.status) if issue else None,
                    "subject": issue.subject if issue else None,
                    "senders": senders,
                    "deliveries": [
                        {
                            "recipient": d.recipient,
                            "status": str(d.status),
                            "answer": d.answer,
                            "sender": d.sender,
                            "run": d.run_id,
                        }
                        for d in deliveries
                    ],
                }
            )
        return entries

    # --- rates --------------------------------------------------------------------------

    def previous_rates(self) -> dict[str, Decimal]:
        """The rates of the newest issue delivered to at least one reader."""
        if not self.has_schema():
            return {}
        newest = self.db.scalar(
            "SELECT max(issue_id) FROM rate_history WHERE issue_id IN "
            "(SELECT issue_id FROM deliveries WHERE status=?)",
            (DeliveryStatus.SENT,),
        )
        if newest is None:
            return {}
        return {
            pair: Decimal(rate)
            for pair, rate in self.db.fetchall(
                "SELECT pair, rate FROM rate_history WHERE issue_id=?", (newest,)
            )
        }

    # --- the archive (digest/archive.py's DeliveredIssues) ------------------------------

    def delivered_issues(self) -> list[DeliveredIssue]:
        """Every issue at least one reader has, oldest first, with the time the first reader
        got it. Reads only."""
        if not self.has_schema():
            return []
        rows = self.db.fetchall(
            "SELECT i.id, i.run_id, i.digest_date, i.subject, i.html, i.text, i.report, "
            "min(d.updated_at) AS sent_at FROM issues i JOIN deliveries d "
            "ON d.issue_id = i.id AND d.status = ? "
            "GROUP BY i.id, i.run_id, i.digest_date, i.subject, i.html, i.text, i.report "
            "ORDER BY i.id",
            (DeliveryStatus.SENT,),
        )
        return [DeliveredIssue(**{k: r[k] for k in r.keys()}) for r in rows]

    # --- subscribers --------------------------------------------------------------------

    def token_for(self, email: str) -> str:
        """The recipient's unsubscribe token, made (unguessable) on first use."""
        return self.tokens_for([email])[email]

    def tokens_for(self, emails: Sequence[str]) -> dict[str, str]:
        """Each address's unsubscribe token, the missing ones made in one transaction; keyed
        by the address as given."""
        keys = {e: e.lower() for e in emails}
        wanted = sorted(set(keys.values()))
        found: dict[str, str] = {}

        def look() -> None:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                found.update(
                    (r[0], r[1])
                    for r in self.db.fetchall(
                        f"SELECT email, token FROM subscribers WHERE email IN ({marks})", chunk
                    )
                )

        if self.has_schema():
            look()
        if len(found) < len(wanted):
            with self.transaction() as tx:
                tx.executemany(
                    "INSERT INTO subscribers(email, token) VALUES (?, ?) "
                    "ON CONFLICT(email) DO NOTHING",
                    [(e, secrets.token_urlsafe(24)) for e in wanted if e not in found],
                )
                look()
        return {e: found[k] for e, k in keys.items()}

    def readers(self):
        """The readers' records (digest/state/readers.py)."""
        from .readers import Readers

        return Readers(self.db)

    def unsubscribe(self, email_or_token: str) -> str | None:
        """Mark an address (or the address a token belongs to) unsubscribed; returns it."""
        from .readers import ReaderStatus

        key = email_or_token.strip()
        readers = self.readers()
        reader = readers.by_token(key) or readers.get(key)
        if reader is None:
            if "@" not in key:
                return None
            return readers.unsubscribe_address(key, "unsubscribed by the operator").email
        readers.set_status(reader.email, ReaderStatus.UNSUBSCRIBED, "unsubscribed")
        return reader.email

    def unsubscribed(self) -> set[str]:
        """Every address that must get nothing now: unsubscribed, bounced, complained,
        paused, or not confirmed yet."""
        if not self.has_schema():
            return set()
        return self.readers().blocked()


def _memory_schema(db: Db, version: int) -> None:
    """A read-only look at a state file that does not exist yet (an empty schema), or at an
    older one (its copy): brought up to date in memory."""
    db.readonly = False
    try:
        migrate(db, version)
    finally:
        db.readonly = True


def _run(r) -> Run:
    from .models import RunStatus

    return Run(
        r["id"],
        r["started_at"],
        r["finished_at"],
        r["slot"],
        status_of(RunStatus, r["status"]),
        r["chosen"],
        r["sent"],
        r["failed"],
        r["message"],
        r["sender"],
    )


def _issue(r) -> Issue:
    return Issue(
        *(r[k] for k in _ISSUE_COLUMNS.replace(" ", "").split(",")[:10]),
        status=status_of(IssueStatus, r["status"]),
        slot=r["slot"],
        article_count=r["article_count"],
    )


def _delivery(r) -> Delivery:
    return Delivery(
        r["issue_id"],
        r["recipient"],
        status_of(DeliveryStatus, r["status"]),
        r["attempts"],
        r["answer"],
        r["message_id"],
        r["updated_at"],
        r["sender"],
        r["run_id"],
        r["lease_until"],
    )
