"""Delivering an issue: each recipient's message through one transport (digest/transports.py:
SMTP relay, several relay connections at once, or outbox folder), one record per recipient.

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

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Protocol

from .config import DeliveryConfig, SmtpConfig
from .errors import ConfigError, DeliveryError
from .message import MessageMaker, message_id_for
from .models import RenderedDigest
from .transports import SENT, Outbox, Pacer, RelayTransport, check_deferred

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one recipient: `sent` (the relay or the outbox took it), `failed` (5xx:
    refused for good) or `retrying` (still 4xx after the retries; the next run tries again)."""

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
    return_path: str, tokens: dict[str, str], signer: LinkSigner | None
) -> str | Callable[[str], str]:
    """`delivery.return_path`: one envelope sender for all, or with {token} one per reader
    (VERP), so a bounce names its reader exactly, whatever the bounce's format."""
    if "{token}" not in return_path:
        return return_path
    if signer is None:
        raise ConfigError(
            "{token} in the return path needs `web.secret_env` (it signs the bounce address)",
            key="delivery.return_path",
        )
    return lambda recipient: return_path.replace("{token}", signer.verp(tokens[recipient]))


class Transport(Protocol):
    """One way out for the messages of an issue (digest/transports.py), after listmonk's
    Messenger: each message pushed on its own, then closed."""

    def send(
        self, recipient: str, data: bytes, while_waiting: Callable[[], None] | None = None
    ) -> tuple[str, str]:
        """Send one message: its status (SENT, FAILED or RETRYING) and the answer to record.
        `while_waiting` is called (at most once) while the relay works."""
        ...

    def check(self, outcomes: list[Outcome]) -> None:
        """Stop the run (raise DeliveryError) when going on would only waste time."""
        ...

    def close(self) -> None: ...


def transports_for(
    delivery: DeliveryConfig,
    issue_id: int,
    sender: str | Callable[[str], str],
    recipients: int,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> tuple[Callable[[], Transport], int]:
    """The one place the way out is chosen: how to open a transport, and how many to send
    through at once. The outbox folder when no relay is set; else connections to the relay
    (`delivery.smtp.connections`, no more than there are recipients) sharing one rate limit."""
    if delivery.smtp is None:
        outbox = Outbox(delivery.outbox, issue_id)
        return (lambda: outbox), 1
    smtp = delivery.smtp
    pace = Pacer(smtp.max_per_minute, clock, sleep)
    lanes = min(smtp.connections, recipients)
    return (lambda: RelayTransport(smtp, sender, sleep, clock, pace)), lanes


# done, total: called after each recipient (progress a person can see)
Progress = Callable[[int, int], None]


def deliver_issue(
    delivery: DeliveryConfig,
    log: DeliveryLog,
    issue_id: int,
    rendered: RenderedDigest,
    recipients: Sequence[str],
    *,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    signer: LinkSigner | None = None,
    names: dict[str, str] | None = None,
) -> list[Outcome]:
    """Send the issue to each recipient and record each outcome the moment it is known.
    `signer` (digest.tokens.Signer) makes each reader's link token and VERP bounce address
    from the state's token; without it the links carry the state's token as it is.

    Returns one Outcome per recipient tried. Raises DeliveryError when the relay refuses the
    login or cannot be reached; recipients not yet sent to then stay pending for the next run.
    """
    if not recipients:
        return []
    maker = MessageMaker(rendered, delivery, names)
    tokens = log.tokens(recipients)

    def build(recipient: str) -> tuple[str, bytes]:
        token = tokens[recipient]
        message_id = message_id_for(issue_id, token, maker.domain)
        link_token = signer.reader(token) if signer else token
        return message_id, maker.bytes_for(recipient, link_token, message_id)

    sender: str | Callable[[str], str] = parseaddr(delivery.from_addr)[1]
    if delivery.return_path:
        sender = envelope_sender(delivery.return_path, tokens, signer)
    open_transport, lanes = transports_for(
        delivery, issue_id, sender, len(recipients), sleep, clock
    )
    if lanes > 1:
        return _Parallel(delivery.smtp, open_transport, build).run(
            lanes, recipients, lambda o: log.record(issue_id, (o,)), progress
        )
    transport = open_transport()
    ahead = _Ahead(build, recipients)
    outcomes: list[Outcome] = []
    try:
        for i, recipient in enumerate(recipients):
            message_id, data = ahead.take(i)
            # while the relay works on this message, the next one is made
            status, answer = transport.send(recipient, data, lambda i=i: ahead.make(i + 1))
            outcome = Outcome(recipient, status, answer, message_id)
            log.record(issue_id, (outcome,))
            outcomes.append(outcome)
            if status != SENT:
                log_warning(outcome)
            if progress is not None:
                progress(len(outcomes), len(recipients))
            transport.check(outcomes)
    finally:
        transport.close()
    return outcomes


def log_warning(outcome: Outcome) -> None:
    logger.warning("%s: %s (%s)", outcome.recipient, outcome.status, outcome.answer)


class _Ahead:
    """The messages, each made once, the next one while the relay works on the current one.
    A failure to make one (a bad DKIM key) is raised when that message is taken, never while
    a message is in flight: its answer must still be read and recorded."""

    def __init__(self, build: Callable[[str], tuple[str, bytes]], recipients: Sequence[str]):
        self.build, self.recipients = build, recipients
        self.index: int | None = None
        self.made: tuple[str, bytes] | Exception | None = None

    def make(self, index: int) -> None:
        if index >= len(self.recipients) or self.index == index:
            return
        self.index = index
        try:
            self.made = self.build(self.recipients[index])
        except Exception as e:  # raised by take()
            self.made = e

    def take(self, index: int) -> tuple[str, bytes]:
        self.make(index)
        made, self.index, self.made = self.made, None, None
        if isinstance(made, Exception):
            raise made
        return made


class _Parallel:
    """Several connections to the relay, one thread each, taking recipients from one list.

    Outcomes are recorded by the calling thread (the state's connection is its own), each
    before its connection sends anything of its next message; so at most one message per
    connection is in flight when the process is killed (a copy of it may go out again, with
    the same Message-ID). A lane that fails (relay unreachable) stops the others after the
    message each is sending."""

    def __init__(
        self,
        smtp: SmtpConfig,
        open_transport: Callable[[], Transport],
        build: Callable[[str], tuple[str, bytes]],
    ):
        self.smtp, self.open_transport, self.build = smtp, open_transport, build
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.results: queue.SimpleQueue = queue.SimpleQueue()

    def run(
        self, lanes: int, recipients: Sequence[str], record, progress: Progress | None
    ) -> list[Outcome]:
        self.todo = iter(recipients)
        threads = [
            threading.Thread(target=self.lane, name=f"digest-smtp-{n}", daemon=True)
            for n in range(lanes)
        ]
        for thread in threads:
            thread.start()
        outcomes: list[Outcome] = []
        error: BaseException | None = None
        running, sent = lanes, 0
        try:
            while running:
                kind, value, done = self.results.get()
                if kind == "exit":
                    running -= 1
                    continue
                if kind == "error":
                    self.stop.set()
                    error = error or value
                    continue
                try:
                    record(value)
                except BaseException:
                    self.stop.set()
                    raise
                finally:
                    done.set()
                outcomes.append(value)
                sent += value.status == SENT
                if value.status != SENT:
                    log_warning(value)
                if progress is not None:
                    progress(len(outcomes), len(recipients))
                if error is None:
                    try:
                        check_deferred(self.smtp, outcomes, sent)
                    except DeliveryError as e:
                        self.stop.set()
                        error = e
        finally:
            self.stop.set()
            while running:  # stopped by an error here (or Ctrl-C): let every lane finish
                kind, value, done = self.results.get()
                if kind == "exit":
                    running -= 1
                elif done is not None:
                    try:  # what went out is recorded if the state still takes it
                        record(value)
                    except Exception:
                        pass  # not recorded: like a kill, the next run sends it again
                    done.set()
            for thread in threads:
                thread.join(timeout=self.smtp.timeout + 5)
        if error is not None:
            raise error
        return outcomes

    def take(self) -> str | None:
        with self.lock:
            return None if self.stop.is_set() else next(self.todo, None)

    def lane(self) -> None:
        transport = self.open_transport()
        try:
            recipient = self.take()
            ahead = None
            while recipient is not None:
                message_id, data = ahead.take(0) if ahead else self.build(recipient)
                following = self.take()
                ahead = _Ahead(self.build, [following]) if following is not None else None
                status, answer = transport.send(
                    recipient, data, ahead and (lambda a=ahead: a.make(0))
                )
                done = threading.Event()
                self.results.put(("outcome", Outcome(recipient, status, answer, message_id), done))
                done.wait()  # recorded before anything of the next message goes out
                recipient = following if not self.stop.is_set() else None
        except BaseException as e:  # DeliveryError, ConfigError (DKIM key) ...
            self.results.put(("error", e, None))
        finally:
            transport.close()
            self.results.put(("exit", None, None))
