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

`Readers` holds these rules and calls only the storage's reader operations (storage.py; their
SQL in sql/<dialect>/readers.sql), so they read the same on either database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

SOFT_LIMIT = 3
SOFT_DAYS = 30

# An enhanced status X.7.X (RFC 3463: security or policy) refuses our message or our server,
# not the reader's address: a relay that will not relay for us ("554 5.7.1 Relay access
# denied", at every RCPT), a spam or DMARC block (Gmail's 550 5.7.1, 5.7.26).
_POLICY = re.compile(r"(?<![\d.])[45]\.7\.\d{1,3}(?![\d.])")
# A full mailbox (X.2.2) empties when its owner reads mail: soft whatever its class (Dovecot
# and Exchange answer "552 5.2.2" over quota, RFC 3463 lets 5.2.2 be permanent). Many MTAs
# only say so in words: "over disk quota", "User's Disk Quota Exceeded", "mailfolder is full",
# Sendmail's "exceeded storage allocation".
_FULL = re.compile(
    r"(?<![\d.])[45]\.2\.2(?![\d.])|quota|storage allocation"
    r"|\b(?:mail ?(?:box|folder)|inbox) (?:is )?full\b|\bfull (?:mail ?(?:box|folder)|inbox)\b",
    re.IGNORECASE,
)


def says_mailbox_full(text: str) -> bool:
    """Whether a bounce's diagnostic says the reader's mailbox is full."""
    return bool(_FULL.search(text))


def bounce_kind(kind: str, detail: str) -> str:
    """What a failure counts as: `blocked` (recorded, stops nobody) for a policy refusal,
    `soft` for a full mailbox, else the kind it was found as (hard, soft, complaint)."""
    if kind in ("hard", "soft") and _POLICY.search(detail or ""):
        return "blocked"
    if kind == "hard" and says_mailbox_full(detail or ""):
        return "soft"
    return kind


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


def reader_from_row(row: tuple, today: str) -> Reader:
    """A row of the reader queries (their columns in Reader's order); a pause that has ended
    by `today` (Store.today) reads as active, as sending treats it."""
    email, token, status, *rest = row
    reader = Reader(email, token, ReaderStatus(status), *rest)
    if (
        reader.status == ReaderStatus.PAUSED
        and reader.paused_until
        and reader.paused_until <= today
    ):
        return replace(reader, status=ReaderStatus.ACTIVE)
    return reader


class Readers:
    """The rules over the readers' records, on any storage (`store.readers()`)."""

    def __init__(self, store: Any):
        self.store = store

    # --- reading --------------------------------------------------------------------------

    def get(self, email: str) -> Reader | None:
        return self.store.reader(email)

    def by_token(self, token: str) -> Reader | None:
        return self.store.reader_by_token(token)

    def all(self, status: str | None = None) -> list[Reader]:
        # a pause that has ended is stored as paused and reads as active (reader_from_row)
        pause = status in (ReaderStatus.ACTIVE, ReaderStatus.PAUSED)
        readers = self.store.all_readers(None if pause else status)
        return [r for r in readers if status is None or r.status == status]

    def sendable(self, source_not: str | None = None) -> list[Reader]:
        """Readers who get the next issue: active ones, and paused ones whose pause ended."""
        return [
            r for r in self.store.sendable_readers() if source_not is None or r.source != source_not
        ]

    def blocked(self) -> set[str]:
        """Every address that must get nothing now (lower case)."""
        return self.store.blocked_readers()

    def blocked_among(self, emails: Sequence[str]) -> set[str]:
        """Those of `emails` (as given) who must get nothing now: checked before each batch."""
        return self.store.blocked_among(emails) if emails else set()

    def names(self, emails: Sequence[str]) -> dict[str, str]:
        """The names readers gave, by lower-case address (for the To: header)."""
        return self.store.reader_names(emails) if emails else {}

    # --- adding ---------------------------------------------------------------------------

    def add_listed(self, entries: Iterable[tuple[str, str | None]], source: str) -> int:
        """Addresses from delivery.to, the recipients CSV or an import: the unknown ones
        become active readers (listing them is the operator's word); a known reader keeps
        their status. Returns how many were new."""
        rows = [(e, n, ReaderStatus.ACTIVE.value, source, None, None) for e, n in entries]
        return self.store.add_readers(rows) if rows else 0

    def add_by_operator(self, email: str, name: str | None = None) -> Reader:
        """`digest readers add`: an active reader. One who unsubscribed or complained is
        refused (ValueError): they come back only by confirming a new sign-up."""
        with self.store.transaction():
            known = self.get(email)
            # (pending after leaving: someone signed them up again, and they have not confirmed)
            left = (
                known is not None and known.status == ReaderStatus.PENDING and known.unsubscribed_at
            )
            if known is not None and (known.status in GONE or left):
                raise ValueError(
                    f"{known.email} {known.status} on {known.unsubscribed_at or known.updated_at}"
                    ": they come back only by confirming a new sign-up (the subscribe page)"
                )
            if known is None:
                self.store.add_readers(
                    [(email, name, ReaderStatus.ACTIVE.value, "operator", None, None)]
                )
            else:
                self.store.reactivate_reader(email, name)
        return self.get(email)

    def remove(self, email: str) -> bool:
        """`digest readers remove`: the reader and their consent record are deleted (their
        past deliveries stay in the history)."""
        return self.store.remove_reader(email)

    # --- the web --------------------------------------------------------------------------

    def sign_up(self, email: str, name: str | None, client: str) -> Reader | None:
        """A sign-up from the form: the reader to send a confirmation to (pending, consent
        recorded), or None when nothing is to be sent (already reading)."""
        with self.store.transaction():
            # One statement whichever the address (new, pending again, already reading): the
            # form's answer takes the same time (benchmarks/sign_up.py), and no sign-up
            # slips in between a read and a write.
            signed_up = self.store.sign_up(email, name, client)
            reader = self.get(email)
        return reader if signed_up else None

    def confirm(self, token: str, made: int) -> Reader | None:
        """The reader behind a (verified) confirmation link made at `made` (epoch seconds)
        becomes active, when the link answers their latest sign-up: one made for a sign-up
        before it (before they left, and someone signed them up again) confirms nothing."""
        reader = self.by_token(token)
        if reader is None or reader.status != ReaderStatus.PENDING:
            return reader
        signed_up = dt.datetime.fromisoformat(reader.consent_at) if reader.consent_at else None
        if signed_up is None or made >= signed_up.timestamp():
            self.store.confirm_reader(token)
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
        self.store.set_reader_status(email, status, reason, paused_until, status in GONE)
        return self.get(email)

    def unsubscribe_address(self, email: str, reason: str) -> Reader:
        """The operator's `unsubscribe --email`: also an address not known yet (so a later
        list that names it does not bring it back)."""
        with self.store.transaction():
            self.store.add_readers(
                [(email, None, ReaderStatus.UNSUBSCRIBED.value, "operator", None, None)]
            )
            return self.set_status(email, ReaderStatus.UNSUBSCRIBED, reason)

    def rename(self, email: str, name: str | None) -> None:
        self.store.rename_reader(email, name)

    # --- bounces --------------------------------------------------------------------------

    def message_seen(self, key: str) -> bool:
        return self.store.bounce_message_seen(key)

    def mark_message(self, key: str) -> None:
        self.store.mark_bounce_message(key)

    def bounce(self, email: str, kind: str, detail: str) -> Reader | None:
        """Record a bounce or complaint of a known reader; returns the reader as they now are
        (None: not a reader of ours). Hard: bounced at once; soft: bounced at the
        SOFT_LIMIT-th within SOFT_DAYS; complaint: complained (unsubscribed); a policy
        refusal (bounce_kind: blocked) stops nobody."""
        kind = bounce_kind(kind, detail)
        since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=SOFT_DAYS)).isoformat(
            timespec="seconds"
        )
        with self.store.transaction():
            reader = self.get(email)
            if reader is None:
                return None
            self.store.add_bounce(reader.email, kind, detail)
            new = None
            if kind == "complaint":
                new = ReaderStatus.COMPLAINED
            elif kind == "hard":
                new = ReaderStatus.BOUNCED
            elif kind == "soft":
                soft = self.store.soft_bounces_since(reader.email, since)
                if soft >= SOFT_LIMIT:
                    new = ReaderStatus.BOUNCED
                    detail = f"{soft} soft bounces within {SOFT_DAYS} days; last: {detail}"
            if new is not None and reader.status not in GONE:
                self.store.set_reader_status(reader.email, new, detail[:500], None, new in GONE)
        return self.get(email)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
