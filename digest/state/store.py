"""The storage: `Store` implements the `Storage` protocol (storage.py) on SQLite and
PostgreSQL alike, running only the named queries of `sql/<dialect>/*.sql` over the database's
connection (`sqlite.SqliteDb`, `postgres.PostgresDb`: what differs below the queries). It
stores and reads; the rules for sending each issue exactly once are in `exactly_once.py`."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import secrets
import socket
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StateError
from .db import Db
from .frozen import decode_stories
from .models import (
    CacheInfo,
    DeliveredIssue,
    Delivery,
    DeliveryStatus,
    Issue,
    IssueStatus,
    PreviousRates,
    Run,
    RunStatus,
    WentOut,
    status_of,
)
from .postgres import PostgresDb
from .queries import queries
from .readers import Reader, Readers, ReaderStatus, reader_from_row
from .schema import SCHEMA_VERSION, blocks_not_migrated, check_version, migrate
from .sent import BlockHolders, SentBlock, SentRecord, sent_rows
from .sqlite import SqliteDb

if TYPE_CHECKING:
    from ..config import Config
    from .storage import NewReader, Outcome, PageText, RateRow

__all__ = ["SCHEMA_VERSION", "Store", "is_url", "now", "sender_id"]


def utc_now() -> dt.datetime:
    """This machine's clock."""
    return dt.datetime.now(dt.UTC)


def now(offset_seconds: float = 0) -> str:
    moment = utc_now() + dt.timedelta(seconds=offset_seconds)
    return moment.isoformat(timespec="seconds")


def reader_token() -> str:
    """A new reader's token: 24 random bytes, URL-safe, never starting with "-" (which
    `digest unsubscribe TOKEN` would read as an option)."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith("-"):
            return token


def sender_id() -> str:
    """This process as a sender: hostname:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_url(state: str | os.PathLike[str]) -> bool:
    return isinstance(state, str) and state.startswith(("postgresql://", "postgres://"))


class Store:
    """The state. `Store.open(path_or_url)`; `readonly=True` for preview and history."""

    def __init__(
        self,
        db: Db,
        path: Path | str,
        readonly: bool,
        lease_seconds: int = 300,
        timezone: dt.tzinfo = dt.UTC,
    ):
        self.db = db
        self.timezone = timezone  # the digest's: the day a reader's pause ends
        self.path = path
        self.where = db.where
        self.readonly = readonly
        self.lease_seconds = lease_seconds
        self.sender = sender_id()
        self.several_senders = db.dialect == "postgresql"
        self.sql = queries(db.dialect)
        self.clock_skew = self._clock_skew() if self.several_senders else 0.0
        self._schema = False
        self._held: set[int] = set()  # runs this process holds alive
        self._tallies: bool | None = None  # has delivery_tallies (schema 11)
        # read-only, of an older state: the blocks its migrations would make (schema.py)
        self._not_migrated: dict[str, list[SentBlock] | None] = {}

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
        timezone: dt.tzinfo = dt.UTC,
    ) -> Store:
        if is_url(state):
            db: Db = PostgresDb.open(str(state), readonly, password_env, config_path)
        else:
            state = Path(state)
            db = SqliteDb.open(state, readonly)
        try:
            version = check_version(db)
            if not readonly:
                migrate(db, version)
            elif db.memory:
                _memory_schema(db, version)
        except BaseException:
            db.close()
            raise
        return cls(db, state, readonly, lease_seconds, timezone)

    @classmethod
    def for_config(cls, config: Config, readonly: bool = False) -> Store:
        return cls.open(
            config.state,
            readonly,
            password_env=config.state_password_env,
            lease_seconds=config.state_lease_seconds,
            config_path=str(config.path),
            timezone=config.tz,
        )

    def close(self) -> None:
        self.db.close()

    def now(self, offset_seconds: float = 0) -> str:
        """The time on the clock all senders share (the database server's), for runs, issues
        and deliveries. Readers' times stay on this machine's clock: the signed links they
        are compared with (a confirmation's time) are made by it."""
        return now(offset_seconds + self.clock_skew)

    def today(self) -> str:
        """Today in the digest's timezone, as paused_until is written: a pause "until 19
        March" ends when 19 March begins there, so the issue dated that day is the first to
        go (on the UTC date it ended a day early west of UTC, a day late east of it)."""
        return dt.datetime.now(self.timezone).date().isoformat()

    def _clock_skew(self) -> float:
        """How many seconds the database server's clock runs ahead of this machine's. Senders
        on several machines stamp and compare leases by the one clock they share: one whose
        own clock ran ten minutes ahead took the others' live claims for expired and sent
        their readers a second copy."""
        before = utc_now()
        server = float(self._value("clock_seconds"))
        after = utc_now()
        return server - (before + (after - before) / 2).timestamp()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[None]:
        with self.db.transaction():
            if lock is not None:
                self.db.lock_in_transaction(lock)
            yield

    def has_schema(self) -> bool:
        """The tables exist (a read-only look at a new database has none); once they do,
        they stay, so the answer is kept."""
        if not self._schema:
            self._schema = self.db.schema_version() >= 1
        return self._schema

    # --- running the named queries ------------------------------------------------------

    def _run(self, name: str, *params: Any):
        return self.db.execute(self.sql[name], params)

    def _all(self, name: str, *params: Any) -> list[Any]:
        return self.db.fetch(self._run(name, *params).fetchall)

    def _one(self, name: str, *params: Any) -> Any:
        return self.db.fetch(self._run(name, *params).fetchone)

    def _value(self, name: str, *params: Any) -> Any:
        row = self._one(name, *params)
        return None if row is None else row[0]

    def _each(self, name: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(self.sql[name], rows)

    # --- runs ---------------------------------------------------------------------------

    def insert_run(self, slot: str | None, status: RunStatus, message: str | None) -> int:
        return int(self._value("insert_run", self.now(), slot, status, self.sender, message))

    def slot_owner(self, slot: str) -> tuple[int, str] | None:
        if not self.has_schema():
            return None
        row = self._one("slot_owner", slot, RunStatus.FAILED, RunStatus.KILLED)
        return None if row is None else (row[0], row[1])

    def release_slot(self, slot: str) -> None:
        self._run("release_slot", slot)

    def finish_run(
        self,
        run_id: int,
        status: RunStatus | str,
        chosen: int = 0,
        sent: int = 0,
        failed: int = 0,
        message: str | None = None,
    ) -> None:
        with self.transaction():
            self._run("finish_run", self.now(), str(status), chosen, sent, failed, message, run_id)
        if run_id in self._held:
            self._held.discard(run_id)
            self.db.let_go(run_id)

    def hold_run(self, run_id: int) -> None:
        self.db.hold(run_id)
        self._held.add(run_id)

    def holds_run(self, run_id: int) -> bool:
        return run_id in self._held

    def run_alive_elsewhere(self, run_id: int) -> bool:
        return run_id not in self._held and self.db.held_elsewhere(run_id)

    def run_gone(self, run_id: int) -> bool:
        return not self.holds_run(run_id) and not self.run_alive_elsewhere(run_id)

    def runs_with_status(self, status: RunStatus) -> list[int]:
        if not self.has_schema():
            return []
        return [r[0] for r in self._all("runs_with_status", status)]

    def mark_killed(self, run_ids: Sequence[int]) -> int:
        ids = self.db.as_list(run_ids)
        with self.transaction():
            R, P, C = DeliveryStatus.RETRYING, DeliveryStatus.PENDING, DeliveryStatus.CLAIMED
            self._run("release_claims_of_runs", R, P, C, ids)
            cursor = self._run("mark_runs", RunStatus.KILLED, self.now(), RunStatus.RUNNING, ids)
            return cursor.rowcount

    def recorded_slots(self) -> list[str]:
        if not self.has_schema():
            return []
        return [r[0] for r in self._all("recorded_slots")]

    def runs(self, limit: int = 50) -> list[Run]:
        if not self.has_schema() or limit <= 0:
            return []
        return [_run(r) for r in self._all("runs", limit)]

    def run(self, run_id: int) -> Run | None:
        row = self._one("run", run_id)
        return _run(row) if row else None

    # --- issues -------------------------------------------------------------------------

    def issue_of_run(self, run_id: int) -> int | None:
        return self._value("issue_of_run", run_id)

    def newest_issue_id(self) -> int:
        if not self.has_schema():
            return 0
        return self._value("newest_issue_id") or 0

    def issue_for_slot(self, slot: str) -> int | None:
        return self._value("issue_for_slot", slot)

    def insert_issue(
        self,
        run_id: int,
        *,
        digest_date: str,
        subject: str,
        preheader: str,
        html: str,
        text: str,
        report: str,
        articles: str,
        slot: str | None,
        article_count: int,
        recipients: Sequence[str],
        rates: Sequence[RateRow],
    ) -> int:
        stamp = self.now()
        with self.transaction():
            issue_id = int(
                self._value(
                    "insert_issue",
                    run_id,
                    stamp,
                    digest_date,
                    subject,
                    preheader,
                    html,
                    text,
                    report,
                    articles,
                    IssueStatus.SENDING,
                    slot,
                    article_count,
                )
            )
            pending = DeliveryStatus.PENDING
            self._each("insert_delivery", [(issue_id, r, pending, stamp) for r in recipients])
            self._each("insert_rate", [(issue_id, *rate) for rate in rates])
        self._run("analyze_deliveries")
        return issue_id

    def set_issue_status(self, issue_id: int, status: IssueStatus) -> None:
        self._run("set_issue_status", status, issue_id)

    def open_issues(self) -> list[Issue]:
        """Issues still being sent (a run was killed, or some readers were deferred), oldest
        first."""
        if not self.has_schema():
            return []
        return [_issue(r) for r in self._all("issues_with_status", IssueStatus.SENDING)]

    def issue(self, issue_id: int) -> Issue | None:
        row = self._one("issue", issue_id)
        return _issue(row) if row else None

    def issues(self, limit: int = 50) -> list[Issue]:
        if not self.has_schema() or limit <= 0:
            return []
        return [_issue(r) for r in self._all("issues", limit)]

    def issues_of_runs(self, run_ids: Sequence[int]) -> dict[int, Issue]:
        """The issue each of these runs froze, by run id."""
        if not run_ids or not self.has_schema():
            return {}
        rows = self._all("issues_of_runs", self.db.as_list(run_ids))
        return {r["run_id"]: _issue(r) for r in rows}

    def delivered_issues(self) -> list[DeliveredIssue]:
        """Every issue at least one reader has, oldest first, with the time the first reader
        got it. Reads only."""
        if not self.has_schema():
            return []
        return [
            DeliveredIssue(
                r["id"],
                r["run_id"],
                r["digest_date"],
                r["subject"],
                r["sent_at"],
                r["html"],
                r["text"],
                tuple(decode_stories(r["articles"], r["report"])),
            )
            for r in self._with_tallies("delivered_issues", DeliveryStatus.SENT)
        ]

    def previous_rates(self) -> PreviousRates:
        """The rates of the newest issue delivered to at least one reader, and its date."""
        if not self.has_schema():
            return PreviousRates()
        rows = self._with_tallies("previous_rates", DeliveryStatus.SENT)
        day = next((d for _, _, d in rows if d), None)
        return PreviousRates(
            {pair: Decimal(rate) for pair, rate, _ in rows},
            dt.date.fromisoformat(day) if day else None,
        )

    # --- deliveries ---------------------------------------------------------------------

    def claimable(self, issue_id: int, run_id: int, limit: int) -> list[str]:
        """Up to `limit` readers nobody has: pending, then claims run out, then deferred
        before this run began (see deliveries.sql)."""
        P, C, R = DeliveryStatus.PENDING, DeliveryStatus.CLAIMED, DeliveryStatus.RETRYING
        found = [r[0] for r in self._all("claimable_pending", issue_id, P, limit)]
        if len(found) < limit:
            now, left = self.now(), limit - len(found)
            rows = self._all("claimable_expired", issue_id, C, now, run_id, left)
            found += [r[0] for r in rows]
        if len(found) < limit:
            left = limit - len(found)
            rows = self._all("claimable_retrying", issue_id, R, run_id, run_id, left)
            found += [r[0] for r in rows]
        return found

    def mark_claimed(self, issue_id: int, recipients: Sequence[str], run_id: int) -> None:
        until = self.now(self.lease_seconds)
        self._each(
            "claim_delivery",
            [(DeliveryStatus.CLAIMED, self.sender, run_id, until, issue_id, r) for r in recipients],
        )

    def others_claims(self, issue_id: int, run_id: int) -> int:
        """How many of the issue's readers other senders hold live claims on."""
        return self._value("others_claims", issue_id, DeliveryStatus.CLAIMED, run_id, self.now())

    def release_claims(self, issue_id: int, run_id: int) -> None:
        with self.transaction():
            R, P, C = DeliveryStatus.RETRYING, DeliveryStatus.PENDING, DeliveryStatus.CLAIMED
            self._run("release_claims", R, P, issue_id, run_id, C)

    def renew_lease(self, issue_id: int, run_id: int) -> None:
        with self.transaction():
            until = self.now(self.lease_seconds)
            self._run("renew_lease", until, issue_id, run_id, DeliveryStatus.CLAIMED)

    def set_deliveries(
        self, issue_id: int, rows: Sequence[Outcome], run_id: int | None = None
    ) -> None:
        """Record several outcomes (recipient, status, answer, message_id) in one
        transaction; each one's sender and run are kept for `history`."""
        stamp = self.now()
        values = [(str(s), a, m, stamp, self.sender, run_id, issue_id, r) for r, s, a, m in rows]
        if len(values) == 1:  # one statement commits on its own: one round trip, not three
            self.db.check_writable()
            self._run("record_delivery", *values[0])
            return
        with self.transaction():
            self._each("record_delivery", values)

    def give_up_deferred(self, issue_id: int, max_runs: int) -> dict[str, str]:
        with self.transaction():
            F, R = DeliveryStatus.FAILED, DeliveryStatus.RETRYING
            rows = self._all("give_up_deferred", F, self.now(), issue_id, R, max_runs)
            return {r[0]: r[1] for r in rows}

    def delivery_counts(self, issue_id: int) -> dict[DeliveryStatus, int]:
        rows = self._with_tallies("delivery_counts", issue_id)
        return {status_of(DeliveryStatus, r[0]): r[1] for r in rows}

    def sent_count(self, issue_id: int) -> int:
        """How many readers the relay (or the outbox) has accepted the issue for."""
        S = DeliveryStatus.SENT
        return self._value("count_with_status", issue_id, S, issue_id, S)

    def deliveries(self, issue_id: int) -> list[Delivery]:
        return [_delivery(r) for r in self._all("deliveries", issue_id)]

    def deliveries_not_sent(self, issue_id: int, limit: int) -> list[Delivery]:
        """Up to `limit` of the issue's readers the relay has not accepted it for, by address."""
        rows = self._all("deliveries_not_sent", issue_id, DeliveryStatus.SENT, limit)
        return [_delivery(r) for r in rows]

    def counts_by_run(self, run_ids: Sequence[int]) -> dict[int, dict[DeliveryStatus, int]]:
        """How many deliveries each run last tried, by status (any issue: a run also
        finishes older ones)."""
        if not run_ids or not self.has_schema():
            return {}
        out: dict[int, dict[DeliveryStatus, int]] = {}
        ids = self.db.as_list(run_ids)
        for run_id, status, count in self._with_tallies("counts_by_run", ids):
            out.setdefault(run_id, {})[status_of(DeliveryStatus, status)] = count
        return out

    def senders(self, issue_id: int) -> dict[str, int]:
        """How many readers each sender sent the issue to."""
        return dict(self._with_tallies("senders_of_issue", issue_id, DeliveryStatus.SENT))

    def issues_to_forget(self, created_before: str) -> list[int]:
        """Issues frozen before then whose readers' rows may go: not sending, nobody left to
        try (exactly_once.forget_readers)."""
        if not self.has_schema():
            return []
        S = DeliveryStatus
        left = (S.PENDING, S.CLAIMED, S.RETRYING)
        return [
            r[0] for r in self._all("issues_to_forget", IssueStatus.SENDING, created_before, *left)
        ]

    def forget_deliveries(self, issue_id: int, limit: int) -> int:
        """Up to `limit` of the issue's readers' rows deleted and added to its tallies, in one
        transaction; how many."""
        tallies: dict[tuple[int, str, str], list[Any]] = {}
        with self.transaction(lock="forget"):
            for run_id, sender, status, at in self._all(
                "forget_deliveries", issue_id, issue_id, limit
            ):
                key = (run_id or 0, sender or "", status)
                tally = tallies.setdefault(key, [0, at, at])
                tally[0] += 1
                tally[1], tally[2] = min(tally[1], at), max(tally[2], at)
            self._each("add_tally", [(issue_id, *key, *tally) for key, tally in tallies.items()])
        return sum(tally[0] for tally in tallies.values())

    def forgotten(self, issue_id: int) -> bool:
        """Have the issue's readers' rows been forgotten (their counts kept)?"""
        return self._tallied() and self._one("forgotten", issue_id) is not None

    def _tallied(self) -> bool:
        """The state has `delivery_tallies` (schema 11); a read-only look at an older
        PostgreSQL state, never migrated, has not: none of its rows were forgotten."""
        if self._tallies is None:
            self._tallies = self.db.schema_version() >= 11
        return self._tallies

    def _with_tallies(self, name: str, *params: Any) -> list[Any]:
        """A query over the readers' rows and the tallies of those forgotten, each taking
        `params`; of a state before schema 11 its variant over the rows alone."""
        if self._tallied():
            return self._all(name, *params, *params)
        return self._all(f"{name}_before_11", *params)

    def pending_recipients(self, issue_id: int) -> list[str]:
        P, R = DeliveryStatus.PENDING, DeliveryStatus.RETRYING
        return [r[0] for r in self._all("recipients_left", issue_id, P, R, R)]

    # --- readers ------------------------------------------------------------------------

    def token_for(self, email: str) -> str:
        """The address's unsubscribe token, made on first use."""
        return self.tokens_for([email])[email]

    def tokens_for(self, emails: Sequence[str]) -> dict[str, str]:
        """Each address's unsubscribe token (unguessable), the missing ones made in one
        transaction; keyed by the address as given."""
        keys = {e: e.lower() for e in emails}
        wanted = sorted(set(keys.values()))
        found: dict[str, str] = {}
        if self.has_schema():
            found.update(self._all("tokens", self.db.as_list(wanted)))
        if len(found) < len(wanted):
            with self.transaction():
                missing = [(e, reader_token()) for e in wanted if e not in found]
                self._each("add_token", missing)
                found.update(self._all("tokens", self.db.as_list(wanted)))
        return {e: found[k] for e, k in keys.items()}

    def unsubscribe(self, email_or_token: str) -> str | None:
        """Mark an address (or the address a token belongs to) unsubscribed; returns it."""
        key = email_or_token.strip()
        readers = self.readers()
        reader = self.reader_by_token(key) or self.reader(key)
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
        return self.blocked_readers()

    def readers(self) -> Readers:
        """The rules over the readers' records (digest/state/readers.py)."""
        return Readers(self)

    def reader(self, email: str) -> Reader | None:
        row = self._one("reader", email.lower())
        return self._reader(row) if row else None

    def reader_by_token(self, token: str) -> Reader | None:
        row = self._one("reader_by_token", token)
        return self._reader(row) if row else None

    def all_readers(self, status: str | None = None) -> list[Reader]:
        if not self.has_schema():
            return []
        rows = (
            self._all("all_readers") if status is None else self._all("readers_with_status", status)
        )
        return [self._reader(r) for r in rows]

    def sendable_readers(self) -> list[Reader]:
        return [self._reader(r) for r in self._all("sendable_readers", self.today())]

    def blocked_readers(self) -> set[str]:
        return {r[0] for r in self._all("blocked_readers", self.today())}

    def blocked_among(self, emails: Sequence[str]) -> set[str]:
        keys = {e.lower(): e for e in emails}
        rows = self._all("blocked_among", self.db.as_list(list(keys)), self.today())
        return {keys[r[0]] for r in rows}

    def _reader(self, row) -> Reader:
        return reader_from_row(tuple(row), self.today())

    def reader_names(self, emails: Sequence[str]) -> dict[str, str]:
        wanted = sorted({e.lower() for e in emails})
        return {r[0]: r[1] for r in self._all("reader_names", self.db.as_list(wanted))}

    def add_readers(self, rows: Sequence[NewReader]) -> int:
        stamp = now()
        with self.transaction():
            before = self._value("count_readers")
            self._each(
                "add_reader",
                [
                    (e.lower(), reader_token(), n, st, src, stamp, stamp, at, ip)
                    for e, n, st, src, at, ip in rows
                ],
            )
            return self._value("count_readers") - before

    def reactivate_reader(self, email: str, name: str | None) -> None:
        self._run("reactivate_reader", name, now(), email.lower())

    def sign_up(self, email: str, name: str | None, client: str) -> bool:
        """The address pending (new, or again), unless it is already reading; whether it
        changed."""
        stamp = now()
        row = (email.lower(), reader_token(), name, stamp, stamp, stamp, client)
        return self._run("sign_up", *row).rowcount > 0

    def confirm_reader(self, token: str) -> None:
        stamp = now()
        self._run("confirm_reader", stamp, stamp, token)

    def set_reader_status(
        self,
        email: str,
        status: str,
        reason: str | None,
        paused_until: str | None,
        gone: bool,
    ) -> None:
        stamp = now()
        self._run(
            "set_reader_status",
            str(status),
            reason,
            paused_until,
            stamp,
            gone,
            stamp,
            email.lower(),
        )

    def rename_reader(self, email: str, name: str | None) -> None:
        self._run("rename_reader", name, now(), email.lower())

    def remove_reader(self, email: str) -> bool:
        with self.transaction():
            return self._run("remove_reader", email.lower()).rowcount > 0

    def add_bounce(self, email: str, kind: str, detail: str) -> None:
        self._run("add_bounce", email.lower(), kind, now(), detail[:500])

    def soft_bounces_since(self, email: str, since: str) -> int:
        return int(self._value("soft_bounces_since", email.lower(), since))

    def bounce_message_seen(self, key: str) -> bool:
        return self._one("bounce_message_seen", key) is not None

    def mark_bounce_message(self, key: str) -> None:
        self._run("mark_bounce_message", key, now())

    # --- the stories already sent -------------------------------------------------------

    def remembered(self, issue_id: int) -> bool:
        return self._one("remembered", issue_id) is not None

    def remember(self, issue_id: int, records: Sequence[SentRecord]) -> None:
        """Record the tellings of a delivered issue's stories (joins an open transaction)."""
        if not records:
            return
        with self.transaction():
            first = (self._value("newest_sent_article") or 0) + 1
            rows = sent_rows(
                first, issue_id, records, lambda words: dict(self.term_frequencies(words))
            )
            self._each("insert_sent_article", rows.articles)
            self._each("insert_sent_block", [b.row() for b in rows.blocks])
            self._each("add_sent_term", rows.terms)

    def sent_article_count(self) -> int:
        """How many articles were sent (ids are dense and never deleted: max(id) is cheap)."""
        return (self._value("newest_sent_article") or 0) if self.has_schema() else 0

    def sent_count_since(self, day: int) -> int:
        return self._value("sent_count_since", day) if self.has_schema() else 0

    def sent_blocks(self, kind: str, since: int) -> Iterator[tuple[bytes, BlockHolders]]:
        if not self.has_schema():
            return iter(())
        if self.readonly and kind not in self._not_migrated:
            version = self.db.schema_version()
            self._not_migrated[kind] = blocks_not_migrated(self.db, version, kind)
        made = self._not_migrated.get(kind)
        if made is not None:
            return (
                (b.keys, lambda b=b: (b.articles, b.days)) for b in made if b.newest_day >= since
            )
        return (
            (keys, functools.partial(self._block_holders, kind, first))
            for first, keys in self._run("sent_blocks", kind, since)
        )

    def _block_holders(self, kind: str, first_article: int) -> tuple[bytes, bytes | None]:
        articles, days = self._one("sent_block_holders", kind, first_article)
        return articles, days

    def term_frequencies(self, keys: Sequence[int]) -> Iterator[Sequence[int]]:
        if not self.has_schema():
            return iter(())
        return iter(self._run("term_frequencies", self.db.as_list(keys)))

    def sent_article_rows(self, ids: Sequence[int]) -> list[tuple]:
        """The rows of these sent articles, every one of which the state itself named (its
        keys, facts, stories): one not found is damage, said as such, where selection met it
        as a KeyError (a page of the file overwritten on disk)."""
        version = self.db.schema_version() if self.has_schema() else SCHEMA_VERSION
        if version < 8:  # not migrated yet: no fact kinds, no outlets
            rows = self._keyed("sent_articles_before_8", ids)
        elif version < 10:  # no outlets
            rows = self._keyed("sent_articles_before_10", ids)
        else:
            rows = self._keyed("sent_articles", ids)
        if len(rows) < len(set(ids)):
            found = {row[0] for row in rows}
            missing = [i for i in ids if i not in found]
            raise StateError(
                f"{self.where}: the state is damaged: it refers to {len(missing)} sent "
                f"article(s) it does not hold (id {missing[0]})",
                "restore it from a backup, or point `state:` at a new file",
            )
        return rows

    def sent_story_articles(self, stories: Sequence[int]) -> list[int]:
        return [r[0] for r in self._keyed("sent_story_articles", stories)]

    def _keyed(self, name: str, keys: Sequence[int], *params: Any) -> list[tuple]:
        if not self.has_schema():
            return []
        return [tuple(r) for r in self._all(name, self.db.as_list(keys), *params)]

    # --- feeds and article pages ---------------------------------------------------------
    # Preview reads these and never writes them (DESIGN: preview never writes state): it
    # sends the remembered validators and honours remembered waits; what it learns is
    # forgotten, and the next `run` asks again.

    def _has_feeds(self) -> bool:
        return self.has_schema() and self.db.schema_version() >= 4

    def feed_caches(self, urls: Iterable[str] | None = None) -> dict[str, CacheInfo]:
        if not self._has_feeds():
            return {}
        wanted = None if urls is None else set(urls)
        out = {}
        for row in self._all("feed_caches"):
            if wanted is None or row[0] in wanted:
                values = list(row)
                values[12] = zlib.decompress(bytes(values[12])) if values[12] is not None else None
                out[row[0]] = CacheInfo(*values)
        return out

    def save_feed_caches(self, infos: Iterable[CacheInfo]) -> None:
        rows = [
            (
                *astuple(i)[:12],
                zlib.compress(i.body, 6) if i.body is not None else None,
                i.content_type,
            )
            for i in infos
        ]
        if rows:
            with self.transaction():
                self._each("save_feed_cache", rows)

    def page_texts(self, urls: Sequence[str]) -> dict[str, PageText]:
        urls = list(dict.fromkeys(urls))
        if not urls or not self._has_feeds():
            return {}
        return {
            url: (json.loads(paragraphs) if paragraphs is not None else None, problem)
            for url, paragraphs, problem in self._all("page_texts", self.db.as_list(urls))
        }

    def save_page_texts(self, pages: dict[str, PageText], fetched_at: str) -> None:
        rows = [
            (url, fetched_at, json.dumps(paragraphs) if paragraphs is not None else None, why)
            for url, (paragraphs, why) in pages.items()
        ]
        if rows:
            with self.transaction():
                self._each("save_page_text", rows)

    def sent_urls(self, urls: Sequence[str]) -> set[str]:
        urls = list(dict.fromkeys(urls))
        if not urls or not self.has_schema():
            return set()
        return {r[0] for r in self._all("sent_urls", self.db.as_list(urls))}

    # --- `digest history` ---------------------------------------------------------------

    def history(self, limit: int = 20, not_sent: int | None = None) -> list[dict]:
        """The newest `limit` runs, newest first, each with the issue it froze (its subject,
        slot, article count, its readers counted by status, and every reader's delivery:
        status, answer, which sender; with `not_sent`, at most that many readers, those the
        relay has not accepted it for; none once its rows were forgotten, some or all), and
        what the run itself sent (counted from the deliveries it recorded, so a run that could
        not record its own end still shows what went out)."""
        runs, issues, went = self._went_out(limit)
        entries = []
        for r, out in zip(runs, went, strict=True):
            issue = issues.get(r.id)
            # its readers' rows forgotten (state_deliveries_days), some or all: counts only
            forgotten = issue is not None and self.forgotten(issue.id)
            if issue is None or forgotten:
                deliveries = []
            elif not_sent is None:
                deliveries = self.deliveries(issue.id)
            else:
                deliveries = self.deliveries_not_sent(issue.id, not_sent)
            senders = self.senders(issue.id) if issue else {}
            entries.append(
                {
                    "run": r.id,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "slot": out.slot,
                    # a run killed since is marked so by the next run; it is killed now
                    "status": str(
                        RunStatus.KILLED
                        if r.status == RunStatus.RUNNING and self.run_gone(r.id)
                        else r.status
                    ),
                    "sender": r.sender,
                    "articles": out.articles,
                    "sent": out.sent,
                    "failed": out.failed,
                    "message": r.message,
                    "issue": issue.id if issue else None,
                    "issue_status": str(issue.status) if issue else None,
                    "subject": issue.subject if issue else None,
                    "senders": senders,
                    "readers": {
                        str(s): n
                        for s, n in (self.delivery_counts(issue.id) if issue else {}).items()
                    },
                    "forgotten": forgotten,
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

    def went_out(self, slot: str, limit: int = 5) -> WentOut | None:
        """What the newest of the last `limit` runs did for `slot` (as `history` counts it)."""
        _, _, went = self._went_out(limit)
        return next((out for out in went if out.slot == slot), None)

    def _went_out(self, limit: int) -> tuple[list[Run], dict[int, Issue], list[WentOut]]:
        """The newest `limit` runs, their issues by run, and what each did."""
        runs = self.runs(limit)
        ids = [r.id for r in runs]
        issues = self.issues_of_runs(ids)
        by_run = self.counts_by_run(ids)
        went = []
        for r in runs:
            issue = issues.get(r.id)
            done = by_run.get(r.id)
            if done is not None:  # recorded per delivery (schema 2)
                sent = done.get(DeliveryStatus.SENT, 0)
                failed = done.get(DeliveryStatus.FAILED, 0) + done.get(DeliveryStatus.RETRYING, 0)
            else:
                sent, failed = r.sent, r.failed
            articles = r.chosen
            if issue is not None and not articles:
                articles = issue.article_count
                if articles is None:  # frozen by an older digest
                    articles = len(json.loads(issue.articles))
            slot = r.slot or (issue.slot if issue else None)
            went.append(WentOut(slot, articles, sent, failed))
        return runs, issues, went


def _memory_schema(db: Db, version: int) -> None:
    """A read-only look at a state file that does not exist yet (an empty schema), or at an
    older one (its copy): brought up to date in memory."""
    db.readonly = False
    try:
        migrate(db, version)
    finally:
        db.readonly = True


_ISSUE_FIELDS = (
    "id, run_id, created_at, digest_date, subject, preheader, html, text, report, articles"
).split(", ")


def _run(r) -> Run:
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
        *(r[k] for k in _ISSUE_FIELDS),
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
