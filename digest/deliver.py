"""Delivering an issue: each recipient's message through one transport (digest/transports.py:
the outbox folder, the SMTP relay, or several relay connections at once), one record per
recipient.

Exactly once: the pipeline freezes the issue and its recipients before anything is sent; this
module records each recipient's outcome into a `DeliveryLog` (the narrow interface it needs
from the state) the moment the relay has accepted the message, and before anything of the next
message goes out on that connection, so a killed run is finished by the next one without
sending anyone a second copy. Two windows remain, both narrow: a kill between the relay's "250"
and that record, and a connection lost after the message was sent but before the relay's
answer arrived. In both the next attempt sends again, with the same Message-ID, so receivers
that drop duplicates by Message-ID (Gmail does) show one copy.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from .config import DeliveryConfig
from .errors import ConfigError
from .message import MessageMaker, message_id_for, sender
from .models import RenderedDigest
from .transports import open_transport, send_through


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one recipient: `sent` (the relay or the outbox took it), `failed` (5xx
    at RCPT: the address refused for good) or `retrying` (still 4xx after the retries, or the
    sender or the message refused: no fault of the reader's; the next run tries again)."""

    recipient: str
    status: str
    answer: str  # the relay's answer, e.g. "250 2.0.0 OK queued as Q00001"
    message_id: str | None = None

    def to_json(self) -> dict:
        return {"recipient": self.recipient, "status": self.status, "answer": self.answer}


class DeliveryLog(Protocol):
    """What delivery needs from the state (the state layer implements it)."""

    def tokens(self, recipients: Sequence[str]) -> dict[str, str]:
        """Each recipient's unsubscribe token, keyed by the address as given; made
        (unguessable) on first use, all of them in one go."""
        ...

    def record(self, issue_id: int, outcomes: Sequence[Outcome]) -> None:
        """Store these outcomes of the issue's deliveries. Called with each outcome the moment
        it is known; when it returns, the record must survive the process being killed (the
        exactly-once promise rests on it: nothing of the next message goes out before)."""
        ...


class LinkSigner(Protocol):
    """digest.tokens.Signer, as delivery uses it."""

    def reader(self, token: str) -> str: ...

    def verp(self, token: str) -> str: ...


def envelope_sender(
    delivery: DeliveryConfig, tokens: dict[str, str], signer: LinkSigner | None
) -> str | Callable[[str], str]:
    """The envelope sender: `delivery.from`'s address, or `delivery.return_path`: one for
    all, or with {token} one per reader (VERP), so a bounce names its reader exactly,
    whatever the bounce's format."""
    return_path = delivery.return_path
    if not return_path:
        return sender(delivery.from_addr)[1]
    if "{token}" not in return_path:
        return return_path
    if signer is None:
        raise ConfigError(
            "{token} in the return path needs `web.secret_env` (it signs the bounce address)",
            key="delivery.return_path",
        )
    return lambda recipient: return_path.replace("{token}", signer.verp(tokens[recipient]))


# done, total: called after each recipient (progress a person can see)
Progress = Callable[[int, int], None]


def deliver_batches(
    delivery: DeliveryConfig,
    log: DeliveryLog,
    issue_id: int,
    rendered: RenderedDigest,
    batches: Iterable[Sequence[str]],
    total: int,
    *,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    signer: LinkSigner | None = None,
    names: Callable[[Sequence[str]], dict[str, str]] | None = None,
) -> list[Outcome]:
    """Send the issue to the recipients of each batch (taken one after another, as the
    previous one goes out: the sender claims and re-checks each just before) over one
    transport: one connection to the relay and its login for the whole issue, each part of
    the message encoded once. `total` is how many are expected (the progress line, how many
    connections are worth opening); `names(batch)` the names readers gave, by lower-case
    address. `signer` (digest.tokens.Signer) makes each reader's link token and VERP bounce
    address from the state's token; without it the links carry the state's token as it is.

    Returns one Outcome per recipient tried. Raises DeliveryError when the relay refuses the
    login or cannot be reached; recipients not yet sent to then stay pending for the next run.
    """
    batches = iter(batches)
    first = next(batches, None)
    if not first:
        return []
    maker = MessageMaker(rendered, delivery)
    tokens: dict[str, str] = {}  # of the batches taken so far

    def recipients() -> Iterator[str]:
        for batch in itertools.chain([first], batches):
            tokens.update(log.tokens(batch))
            if names is not None:
                maker.names.update(names(batch))
            yield from batch

    def build(recipient: str) -> bytes:
        token = tokens[recipient]
        message_id = message_id_for(issue_id, token, maker.domain)
        link_token = signer.reader(token) if signer else token
        return maker.bytes_for(recipient, link_token, message_id)

    outcomes: list[Outcome] = []

    def report(recipient: str, status: str, answer: str) -> None:
        message_id = message_id_for(issue_id, tokens[recipient], maker.domain)
        outcome = Outcome(recipient, status, answer, message_id)
        log.record(issue_id, (outcome,))
        outcomes.append(outcome)
        if progress is not None:
            progress(len(outcomes), max(total, len(outcomes)))

    envelope = envelope_sender(delivery, tokens, signer)
    transport = open_transport(delivery, issue_id, envelope, total, build, report, sleep, clock)
    send_through(transport, recipients())
    return outcomes
