"""Readers in the state: who gets the digest, since when, on whose word, and who must not.

A reader is a row of `subscribers` (its `token` is what every link carries, signed). Status:

- `pending`: signed up on the web, not confirmed yet (gets nothing but the confirmation);
- `active`: gets the digest;
- `paused`: gets nothing until `paused_until` (then is active again by itself);
- `unsubscribed`, `bounced`, `complained`: gets nothing; an unsubscribed (or complaining)
  reader comes back only through a new confirmed sign-up, never by the operator's `add`.

The proof of consent is kept with each reader: when the sign-up form was sent and from which
address, when it was confirmed, and where the reader came from (`web`, `operator`, `import`,
`config`: delivery.to or the recipients CSV).

Bounces (digest/bounces.py) are recorded here too: a hard one stops mail at once, soft ones
after SOFT_LIMIT within SOFT_DAYS, a complaint unsubscribes.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

from .db import Db

SOFT_LIMIT = 3
SOFT_DAYS = 30

# Schema version 4: the readers' columns and the bounces read.
SCHEMA_V4 = """
ALTER TABLE subscribers ADD COLUMN name TEXT;
ALTER TABLE subscribers ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE subscribers ADD COLUMN source TEXT;
ALTER TABLE subscribers ADD COLUMN created_at TEXT;
ALTER TABLE subscribers ADD COLUMN updated_at TEXT;
ALTER TABLE subscribers ADD COLUMN consent_at TEXT;
ALTER TABLE subscribers ADD COLUMN consent_ip TEXT;
ALTER TABLE subscribers ADD COLUMN confirmed_at TEXT;
ALTER TABLE subscribers ADD COLUMN paused_until TEXT;
ALTER TABLE subscribers ADD COLUMN reason TEXT;
UPDATE subscribers SET status = 'unsubscribed' WHERE unsubscribed_at IS NOT NULL;
CREATE INDEX subscribers_status ON subscribers(status);
CREATE TABLE bounce_events (
    email TEXT NOT NULL,
    kind TEXT NOT NULL,             -- hard | soft | complaint
    at TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX bounce_events_email ON bounce_events(email, at);
CREATE TABLE bounce_messages (
    key TEXT PRIMARY KEY,           -- sha256 of the message: each is read once
    read_at TEXT NOT NULL
)
"""


class ReaderStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PAUSED = "paused"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


# Statuses a reader leaves only by confirming a new sign-up.
GONE = (ReaderStatus.UNSUBSCRIBED, ReaderStatus.COMPLAINED)


@dataclass(frozen=True)
class Reader:
    email: str
    token: str
    status: ReaderStatus
    name: str | None = None
    source: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    consent_at: str | None = None
    consent_ip: str | None = None
    confirmed_at: str | None = None
    paused_until: str | None = None
    unsubscribed_at: str | None = None
    reason: str | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        data["status"] = str(self.status)
        del data["token"]  # a reader's link key is not for listings
        return data


_COLUMNS = (
    "email, token, status, name, source, created_at, updated_at, consent_at, consent_ip, "
    "confirmed_at, paused_until, unsubscribed_at, reason"
)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _reader(row) -> Reader:
    values = dict(zip(_COLUMNS.replace(" ", "").split(","), row, strict=True))
    values["status"] = ReaderStatus(values["status"])
    return Reader(**values)


class Readers:
    """The readers' records on one connection to the state (SQLite or PostgreSQL)."""

    def __init__(self, db: Db):
        self.db = db

    # --- reading --------------------------------------------------------------------------

    def get(self, email: str) -> Reader | None:
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM subscribers WHERE email=?", (email.lower(),)
        )
        return _reader(row) if row else None

    def by_token(self, token: str) -> Reader | None:
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM subscribers WHERE token=?", (token,))
        return _reader(row) if row else None

    def all(self, status: str | None = None) -> list[Reader]:
        if status is None:
            rows = self.db.fetchall(f"SELECT {_COLUMNS} FROM subscribers ORDER BY email")
        else:
            rows = self.db.fetchall(
                f"SELECT {_COLUMNS} FROM subscribers WHERE status=? ORDER BY email", (status,)
            )
        return [_reader(r) for r in rows]

    def sendable(self, source_not: str | None = None) -> list[Reader]:
        """Readers who get the next issue: active ones, and paused ones whose pause ended."""
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM subscribers WHERE status=? "
            "OR (status=? AND paused_until IS NOT NULL AND paused_until<=?) ORDER BY created_at, email",
            (ReaderStatus.ACTIVE, ReaderStatus.PAUSED, now()),
        )
        readers = [_reader(r) for r in rows]
        return [r for r in readers if source_not is None or r.source != source_not]

    def blocked(self) -> set[str]:
        """Every address that must get nothing now (lower case)."""
        rows = self.db.fetchall(
            "SELECT email FROM subscribers WHERE NOT (status=? "
            "OR (status=? AND paused_until IS NOT NULL AND paused_until<=?))",
            (ReaderStatus.ACTIVE, ReaderStatus.PAUSED, now()),
        )
        return {r[0] for r in rows}

    def blocked_among(self, emails: Sequence[str]) -> set[str]:
        """Those of `emails` (as given) who must get nothing now: checked before each batch."""
        out: set[str] = set()
        keys = {e.lower(): e for e in emails}
        wanted = list(keys)
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.fetchall(
                f"SELECT email FROM subscribers WHERE email IN ({marks}) AND NOT (status=? "
                "OR (status=? AND paused_until IS NOT NULL AND paused_until<=?))",
                (*chunk, ReaderStatus.ACTIVE, ReaderStatus.PAUSED, now()),
            ):
                out.add(keys[row[0]])
        return out

    def names(self, emails: Sequence[str]) -> dict[str, str]:
        """The names readers gave, by lower-case address (for the To: header)."""
        out: dict[str, str] = {}
        wanted = sorted({e.lower() for e in emails})
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(
                (r[0], r[1])
                for r in self.db.fetchall(
                    f"SELECT email, name FROM subscribers WHERE email IN ({marks}) "
                    "AND name IS NOT NULL",
                    chunk,
                )
            )
        return out

    # --- adding ---------------------------------------------------------------------------

    def add_listed(self, entries: Iterable[tuple[str, str | None]], source: str) -> int:
        """Addresses from delivery.to, the recipients CSV or an import: the unknown ones
        become active readers (listing them is the operator's word); a known reader keeps
        their status. Returns how many were new."""
        stamp = now()
        rows = [
            (e.lower(), secrets.token_urlsafe(24), n, ReaderStatus.ACTIVE, source, stamp, stamp)
            for e, n in entries
        ]
        if not rows:
            return 0
        with self.db.transaction() as tx:
            before = tx.scalar("SELECT count(*) FROM subscribers")
            tx.executemany(
                "INSERT INTO subscribers(email, token, name, status, source, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(email) DO NOTHING",
                rows,
            )
            return tx.scalar("SELECT count(*) FROM subscribers") - before

    def add_by_operator(self, email: str, name: str | None = None) -> Reader:
        """`digest readers add`: an active reader. One who unsubscribed or complained is
        refused (ValueError): they come back only by confirming a new sign-up."""
        with self.db.transaction() as tx:
            known = self.get(email)
            if known is not None and known.status in GONE:
                raise ValueError(
                    f"{known.email} {known.status} on {known.unsubscribed_at or known.updated_at}"
                    ": they come back only by confirming a new sign-up (the subscribe page)"
                )
            stamp = now()
            if known is None:
                tx.execute(
                    "INSERT INTO subscribers(email, token, name, status, source, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        email.lower(),
                        secrets.token_urlsafe(24),
                        name,
                        "active",
                        "operator",
                        stamp,
                        stamp,
                    ),
                )
            else:
                tx.execute(
                    "UPDATE subscribers SET status=?, name=coalesce(?, name), paused_until=NULL, "
                    "reason=NULL, updated_at=? WHERE email=?",
                    (ReaderStatus.ACTIVE, name, stamp, known.email),
                )
        return self.get(email)

    def remove(self, email: str) -> bool:
        """`digest readers remove`: the reader and their consent record are deleted (their
        past deliveries stay in the history)."""
        with self.db.transaction() as tx:
            return (
                tx.execute("DELETE FROM subscribers WHERE email=?", (email.lower(),)).rowcount > 0
            )

    # --- the web --------------------------------------------------------------------------

    def sign_up(self, email: str, name: str | None, client: str) -> Reader | None:
        """A sign-up from the form: the reader to send a confirmation to (pending, consent
        recorded), or None when nothing is to be sent (already reading)."""
        stamp = now()
        with self.db.transaction() as tx:
            known = self.get(email)
            if known is not None and known.status in (ReaderStatus.ACTIVE, ReaderStatus.PAUSED):
                return None
            if known is None:
                tx.execute(
                    "INSERT INTO subscribers(email, token, name, status, source, created_at, "
                    "updated_at, consent_at, consent_ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        email.lower(),
                        secrets.token_urlsafe(24),
                        name,
                        "pending",
                        "web",
                        stamp,
                        stamp,
                        stamp,
                        client,
                    ),
                )
            else:  # pending again, unsubscribed, bounced, complained: a new confirmation
                tx.execute(
                    "UPDATE subscribers SET status=?, name=coalesce(?, name), consent_at=?, "
                    "consent_ip=?, confirmed_at=NULL, updated_at=? WHERE email=?",
                    (ReaderStatus.PENDING, name, stamp, client, stamp, known.email),
                )
        return self.get(email)

    def confirm(self, token: str) -> Reader | None:
        """The reader behind a (verified) confirmation token becomes active."""
        stamp = now()
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE subscribers SET status=?, confirmed_at=?, unsubscribed_at=NULL, "
                "source=coalesce(source, 'web'), reason=NULL, updated_at=? "
                "WHERE token=? AND status=?",
                (ReaderStatus.ACTIVE, stamp, stamp, token, ReaderStatus.PENDING),
            )
        return self.by_token(token)

    def set_status(
        self,
        email: str,
        status: ReaderStatus,
        reason: str | None = None,
        paused_until: str | None = None,
    ) -> Reader | None:
        """Unsubscribe, pause, resume, bounce, complain: one short transaction (a running
        send never holds it up: it re-reads the statuses before each batch)."""
        stamp = now()
        gone = status in GONE
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE subscribers SET status=?, reason=?, paused_until=?, updated_at=?, "
                f"unsubscribed_at={'coalesce(unsubscribed_at, ?)' if gone else '?'} WHERE email=?",
                (status, reason, paused_until, stamp, stamp if gone else None, email.lower()),
            )
        return self.get(email)

    def unsubscribe_address(self, email: str, reason: str) -> Reader:
        """The operator's `unsubscribe --email`: also an address not known yet (so a later
        list that names it does not bring it back)."""
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO subscribers(email, token, status, source, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(email) DO NOTHING",
                (
                    email.lower(),
                    secrets.token_urlsafe(24),
                    "unsubscribed",
                    "operator",
                    now(),
                    now(),
                ),
            )
        return self.set_status(email, ReaderStatus.UNSUBSCRIBED, reason)

    def rename(self, email: str, name: str | None) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE subscribers SET name=?, updated_at=? WHERE email=?",
                (name, now(), email.lower()),
            )

    # --- bounces --------------------------------------------------------------------------

    def message_seen(self, key: str) -> bool:
        return self.db.fetchone("SELECT 1 FROM bounce_messages WHERE key=?", (key,)) is not None

    def bounce(self, email: str, kind: str, detail: str, key: str | None = None) -> Reader | None:
        """Record a bounce or complaint of a known reader; returns the reader as they now are
        (None: not a reader of ours). Hard: bounced at once; soft: bounced at the
        SOFT_LIMIT-th within SOFT_DAYS; complaint: complained (unsubscribed)."""
        stamp = now()
        since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=SOFT_DAYS)).isoformat(
            timespec="seconds"
        )
        with self.db.transaction() as tx:
            reader = self.get(email)
            if reader is None:
                return None
            tx.execute(
                "INSERT INTO bounce_events(email, kind, at, detail) VALUES (?, ?, ?, ?)",
                (reader.email, kind, stamp, detail[:500]),
            )
            new = None
            if kind == "complaint":
                new = ReaderStatus.COMPLAINED
            elif kind == "hard":
                new = ReaderStatus.BOUNCED
            else:
                soft = tx.scalar(
                    "SELECT count(*) FROM bounce_events WHERE email=? AND kind='soft' AND at>=?",
                    (reader.email, since),
                )
                if soft >= SOFT_LIMIT:
                    new = ReaderStatus.BOUNCED
                    detail = f"{soft} soft bounces within {SOFT_DAYS} days; last: {detail}"
            if new is not None and reader.status not in GONE:
                tx.execute(
                    "UPDATE subscribers SET status=?, reason=?, updated_at=?, "
                    "unsubscribed_at=coalesce(unsubscribed_at, ?) WHERE email=?",
                    (new, detail[:500], stamp, stamp if new in GONE else None, reader.email),
                )
            if key is not None:
                tx.execute(
                    "INSERT INTO bounce_messages(key, read_at) VALUES (?, ?) "
                    "ON CONFLICT(key) DO NOTHING",
                    (key, stamp),
                )
        return self.get(email)

    def mark_message(self, key: str) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO bounce_messages(key, read_at) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                (key, now()),
            )
