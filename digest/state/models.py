"""Typed records of the state and the statuses they go through.

The enums' values are the strings stored in the database; every value an earlier digest
wrote is here, so old state files read back as members.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ..models import Article


class RunStatus(StrEnum):
    RUNNING = "running"
    DELIVERED = "delivered"  # everyone it sent to got it
    PARTLY_DELIVERED = "partly-delivered"  # some got it, some were refused or deferred
    FAILED = "failed"
    EMPTY = "empty"  # nothing new: nothing sent
    DEFERRED = "deferred"  # an earlier issue reaches nobody yet: new articles wait for it
    KILLED = "killed"  # its process died; the next run marked it
    DRY_RUN = "dry-run"  # reported only: a dry run records nothing
    PREVIEW = "preview"  # reported only
    ALREADY_RAN = "already-ran"  # reported only: its slot had run


class IssueStatus(StrEnum):
    SENDING = "sending"  # frozen, some readers not done yet
    DELIVERED = "delivered"  # nobody left to try, at least one reader has it
    FAILED = "failed"  # nobody left to try, nobody has it: its articles go back to the pool


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # frozen with the issue, not tried yet
    CLAIMED = "claimed"  # a sender is sending it now (sender, lease_until)
    SENT = "sent"  # the relay (or the outbox) accepted it
    RETRYING = "retrying"  # deferred (4xx), or the sender or message refused: tried next run
    FAILED = "failed"  # refused for good, unsubscribed, or deferred too often


class _Record:
    """Records can still be read like the rows they replaced: record["subject"]."""

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def keys(self) -> list[str]:
        return list(self.__dataclass_fields__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Run(_Record):
    id: int
    started_at: str
    finished_at: str | None
    slot: str | None
    status: RunStatus | str
    chosen: int
    sent: int
    failed: int
    message: str | None
    sender: str | None = None


@dataclass(frozen=True)
class Issue(_Record):
    id: int
    run_id: int
    created_at: str
    digest_date: str
    subject: str
    preheader: str
    html: str
    text: str
    report: str  # issues frozen by an older digest: the run report (JSON); now "{}"
    articles: str  # the stories (frozen.py)
    status: IssueStatus | str
    slot: str | None = None
    article_count: int | None = None


@dataclass(frozen=True)
class Delivery(_Record):
    issue_id: int
    recipient: str
    status: DeliveryStatus | str
    attempts: int
    answer: str | None
    message_id: str | None
    updated_at: str
    sender: str | None = None
    run_id: int | None = None
    lease_until: str | None = None


@dataclass(frozen=True)
class WentOut:
    """What a run did, as `digest history` counts it: its issue's articles, and the messages
    it sent and failed (counted from the deliveries it recorded, so a run that could not
    record its own end still shows what went out)."""

    slot: str | None  # the run's, else its issue's
    articles: int | None
    sent: int
    failed: int


@dataclass(frozen=True)
class FrozenStory:
    """A story as its issue froze it (frozen.py stores it): what the archive shows, and every
    telling to remember once a reader has the issue."""

    title: str
    lead: str
    url: str | None
    section: str
    tellings: tuple[Article, ...]  # best first


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
    stories: tuple[FrozenStory, ...]


@dataclass(frozen=True)
class PreviousRates:
    """The rates of the newest issue delivered to at least one reader (by pair), and that
    issue's date: what "since the last digest" compares with."""

    rates: dict[str, Decimal] = field(default_factory=dict)
    date: dt.date | None = None


@dataclass(frozen=True)
class NewIssue:
    """What freezing an issue stores, before anything is sent."""

    digest_date: str
    subject: str
    preheader: str
    html: str
    text: str
    stories: list[FrozenStory]
    recipients: list[str]
    rates: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    slot: str | None = None


@dataclass(frozen=True)
class CacheInfo:
    """What the state remembers of one feed URL between runs (digest/sources/fetch.py): its
    HTTP caching info, its health, and its last body, so a 304, or a wait the server asked
    for, reads that body again and the stories still waiting in it are not lost."""

    url: str  # as the config names it
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # where a permanent redirect sent it
    not_before: str | None = None  # ISO time: not asked before then (Retry-After, max-age)
    asked_because: str | None = None  # what set not_before: "Retry-After" | "max-age"
    last_fetch: str | None = None
    status: str | None = None  # "200", "304", "429", "not asked", or what failed
    last_success: str | None = None
    failures: int = 0  # failed fetches in a row
    entries: int = 0
    bytes: int = 0  # of the last body
    body: bytes | None = None  # the last body read: a 304 or a wait reads it again
    content_type: str | None = None  # of the last body


def status_of(enum: type[StrEnum], value: str) -> StrEnum | str:
    """The member for a stored value; an unknown value is kept as the string it is."""
    try:
        return enum(value)
    except ValueError:
        return value
