"""MIME message, recipients, and sending: SMTP relay or outbox folder, one record per recipient.

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

import binascii
import datetime
import email
import hashlib
import html
import logging
import os
import queue
import re
import secrets
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol

from .config import DeliveryConfig, DkimConfig, SmtpConfig
from .dkim_sign import DkimKeyError, load_key, sign
from .errors import ConfigError, DeliveryError
from .models import UNSUBSCRIBE_PLACEHOLDER, RenderedDigest
from .recipients import EMAIL, recipient_names
from .text import clean_text

logger = logging.getLogger(__name__)

# Everything str.splitlines() splits on, and the other C0/C1 controls: none may reach a header.
# The headers a DKIM signature covers; the List-Unsubscribe pair must be among them or
# receivers ignore one-click unsubscribe.
DKIM_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
# refold_source="none": a parsed message's headers go out again exactly as they were folded.
POLICY = email_policy.default.clone(refold_source="none")
WIRE = POLICY.clone(linesep="\r\n")

BACKOFF_BASE = 2.0  # seconds before the first retry of a 4xx answer; doubles each time
BACKOFF_MAX = 60.0
MAX_DEFERRED_IN_A_ROW = 5  # this many recipients deferred one after another: the relay is unwell


def header_safe(text: str) -> str:
    """No CR, LF or other control characters may reach a header: the renderer's own
    one-line cleaning (controls and line separators become spaces, format characters go).
    Imported here, not at the top: render pulls in jinja2 and mjml, which sending needs not.
    (A stage importing another: this belongs in the shared text rules, digest/text.py.)"""
    return clean_text(text)


# --- recipients -------------------------------------------------------------------------------


# Reading and checking them is digest.recipients' work (load_recipients, normalize_address
# and EMAIL are imported from there).


# --- the message ------------------------------------------------------------------------------


def unsubscribe_link(delivery: DeliveryConfig, token: str | None) -> str:
    """The recipient's own unsubscribe URL; a mailto: to the sender when no URL is set."""
    if delivery.unsubscribe_url:
        # preview has no recipient and so no token: the link shows where it would lead
        return delivery.unsubscribe_url.replace("{token}", token or "preview")
    return f"mailto:{parseaddr(delivery.from_addr)[1]}?subject=unsubscribe"


def list_id(from_addr: str) -> str:
    """RFC 2919 List-Id from the From header: `Central Asia Daily <digest.example.com>`."""
    name, address = parseaddr(from_addr)
    local, _, domain = address.rpartition("@")
    label = re.sub(r"[^A-Za-z0-9-]+", "-", local).strip("-") or "digest"
    # The phrase is shown only; characters that would need quoting are dropped.
    phrase = " ".join(re.sub(r'[()<>\[\]:;@\\,."]', " ", header_safe(name)).split())
    list_address = f"<{label}.{domain or 'localhost'}>"
    return f"{phrase} {list_address}" if phrase else list_address


def message_id_for(issue_id: int, token: str, domain: str) -> str:
    """The same Message-ID every time one issue goes to one recipient (resends can be
    recognised); unguessable, and unique across state files because tokens are random."""
    digest = hashlib.sha256(f"{issue_id}:{token}".encode()).hexdigest()[:32]
    return f"<digest.{issue_id}.{digest}@{domain}>"


class MessageMaker:
    """The messages of one issue, one per recipient, as bytes ready for the wire (CRLF).

    Everything the recipients share is prepared once: the encoded and folded From, Subject and
    List-Id, and both parts already quoted-printable encoded on either side of the footer's
    unsubscribe link. Per recipient only To, Date, Message-ID, List-Unsubscribe and the link
    itself are made, and the link's few encoded bytes spliced in. The email package encodes
    and folds the headers that may carry non-ASCII text; the rest is plain ASCII.
    """

    def __init__(
        self,
        rendered: RenderedDigest,
        delivery: DeliveryConfig,
        names: dict[str, str] | None = None,
    ):
        self.delivery = delivery
        name, address = parseaddr(delivery.from_addr)
        self.domain = address.rpartition("@")[2] or "localhost"
        self.from_ = _fold("From", Address(display_name=header_safe(name), addr_spec=address))
        self.subject = _fold("Subject", header_safe(rendered.subject))
        self.list_id = _fold("List-Id", list_id(delivery.from_addr))
        # the CSV's name column, `Name <addr>` in to:, and the names readers gave (by address)
        self.names = recipient_names(delivery) | (names or {})
        self.text = _EncodedPart(_crlf(rendered.text))
        self.html = _EncodedPart(_crlf(rendered.html))
        # "=_" never occurs in quoted-printable text, so this boundary cannot collide.
        b = f"=_digest_{secrets.token_hex(12)}".encode()
        self.mime = (
            b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="%s"\r\n' % b
        )
        self.text_head = b"\r\n--%s\r\n%s\r\n" % (b, _part_head("plain"))
        self.html_head = b"\r\n--%s\r\n%s\r\n" % (b, _part_head("html"))
        self.end = b"\r\n--%s--\r\n" % b
        self._second = -1
        self._date = b""

    def bytes_for(self, recipient: str, token: str | None, message_id: str | None = None) -> bytes:
        link = unsubscribe_link(self.delivery, token)
        head = [
            self.from_,
            self._to(recipient),
            self.subject,
            self.date(),
            f"Message-ID: {message_id or make_msgid(domain=self.domain)}\r\n".encode(),
            self.list_id,
            _list_unsubscribe(link),
        ]
        if link.startswith("https://"):  # RFC 8058: one-click needs an HTTPS URI
            head.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        # Quoted-printable keeps the message 7-bit: safe through any relay, lines stay short.
        data = b"".join(
            (
                *head,
                self.mime,
                self.text_head,
                *self.text.with_link(link),
                self.html_head,
                *self.html.with_link(html.escape(link, quote=True)),
                self.end,
            )
        )
        if self.delivery.dkim:
            data = _dkim_sign(data, self.delivery.dkim) + data
        return data

    def date(self) -> bytes:
        """The Date header, made once a second."""
        now = time.time()
        if int(now) != self._second:
            self._second = int(now)
            # RFC 5322: "+0000" (GMT is obsolete syntax)
            moment = datetime.datetime.fromtimestamp(int(now), datetime.UTC)
            self._date = f"Date: {format_datetime(moment)}\r\n".encode()
        return self._date

    def _to(self, recipient: str) -> bytes:
        """`To:` with the recipient's name when the list gives one, quoted or RFC 2047-encoded
        by the email package (formataddr; folded by the policy when it is long)."""
        if not EMAIL.match(recipient):
            return _fold("To", header_safe(recipient))
        name = header_safe(self.names.get(recipient.lower(), ""))
        if not name:  # the plain ASCII addresses load_recipients gives
            return f"To: {recipient}\r\n".encode()
        line = f"To: {formataddr((name, recipient), charset='utf-8')}"
        if len(line) <= 78:
            return f"{line}\r\n".encode("ascii")
        return _fold("To", Address(display_name=name, addr_spec=recipient))


class _EncodedPart:
    """One part, quoted-printable encoded once, in two pieces: before and after the footer's
    unsubscribe link (the last placeholder, see models.fill_footer). A reader's link is encoded on
    its own and joined to them by soft line breaks, so the decoded part is exactly the text
    with the link filled in, and no encoded line grows past 76 characters."""

    def __init__(self, text: str):
        head, found, tail = text.rpartition(UNSUBSCRIBE_PLACEHOLDER)
        self.found = bool(found)
        if not found:
            self.head, self.tail = _qp(text), b""
            return
        self.head, self.tail = _qp(head), _qp(tail)
        self.before = b"=\r\n" if head and not head.endswith("\r\n") else b""
        self.after = b"=\r\n" if tail and not tail.startswith("\r\n") else b""
        if self.before:
            self.head = _room_for_soft_break(self.head)

    def with_link(self, link: str) -> tuple[bytes, ...]:
        if not self.found:
            return (self.head,)
        encoded = _qp(link)
        if self.after:
            encoded = _room_for_soft_break(encoded)
        return (self.head, self.before, encoded, self.after, self.tail)


def _room_for_soft_break(encoded: bytes) -> bytes:
    """Quoted-printable whose last line can take a soft line break ("=") within 76
    characters: a last line of 76 is broken before its last character or escape."""
    start = encoded.rfind(b"\n") + 1
    line = encoded[start:]
    if len(line) < 76:
        return encoded
    cut = 0
    while True:  # "=XX" escapes stay whole
        step = 3 if line[cut : cut + 1] == b"=" else 1
        if cut + step > 75:
            break
        cut += step
    return encoded[:start] + line[:cut] + b"=\r\n" + line[cut:]


def _list_unsubscribe(link: str) -> bytes:
    """The List-Unsubscribe header: the URL as it is (RFC 2369), on one line even when that is
    longer than 78 (RFC 5322 allows 998); the email package would fold a long URL into
    encoded words, which receivers do not read as a URL."""
    value = f"<{link}>"
    if value.isascii() and value.isprintable() and " " not in value and len(value) < 970:
        return f"List-Unsubscribe: {value}\r\n".encode()
    return _fold("List-Unsubscribe", value)


def build_message(
    rendered: RenderedDigest,
    delivery: DeliveryConfig,
    recipient: str,
    token: str | None,
    *,
    message_id: str | None = None,
) -> EmailMessage:
    """The whole message for one recipient: text and HTML alternatives, list headers, and a
    DKIM signature when configured. `token` is the recipient's unsubscribe token (None in
    preview). Sending uses MessageMaker's bytes directly; this is for looking at one."""
    data = MessageMaker(rendered, delivery).bytes_for(recipient, token, message_id)
    return email.message_from_bytes(data, policy=POLICY)


def message_bytes(message: EmailMessage) -> bytes:
    """A message as it goes on the wire (CRLF line ends)."""
    return message.as_bytes(policy=WIRE)


def _fold(name: str, value: object) -> bytes:
    """One header, RFC 2047-encoded where needed and folded, CRLF-terminated."""
    folded = WIRE.fold_binary(*WIRE.header_store_parse(name, value))
    # The folder can leave a space before a fold that precedes an encoded word; unfolding
    # then reads two spaces ("Electric  Vehicle"). One space, in the fold, is enough.
    return folded.replace(b" \r\n ", b"\r\n ")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def _part_head(subtype: str) -> bytes:
    return (
        b'Content-Type: text/%s; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n" % subtype.encode()
    )


def _qp(text: str) -> bytes:
    """Quoted-printable with CRLF line ends (the text's are CRLF already). b2a_qp breaks long
    lines with the line end it finds first in the text: LF when there is none."""
    data = binascii.b2a_qp(text.encode("utf-8"), istext=True)
    return data if "\n" in text else data.replace(b"=\n", b"=\r\n")


def _dkim_sign(data: bytes, config: DkimConfig) -> bytes:
    """The DKIM-Signature header line(s) for the message, to go on top of it (signed by
    digest/dkim_sign.py with OpenSSL, through `cryptography`)."""
    try:
        key = load_key(str(config.key_file), config.key_file.stat().st_mtime_ns)
    except OSError as e:
        raise ConfigError(
            f"cannot read the DKIM key ({e.strerror})",
            str(config.key_file),
            key="delivery.dkim.key_file",
        ) from None
    except DkimKeyError as e:
        raise ConfigError(
            f"cannot sign with this DKIM key ({e})",
            str(config.key_file),
            key="delivery.dkim.key_file",
            hint="the key file must hold an RSA (or Ed25519) private key in PEM form",
        ) from None
    return sign(data, config.selector, config.domain, key, DKIM_HEADERS)


# --- sending ----------------------------------------------------------------------------------


# Delivery statuses as the state stores them. Plain strings until the state layer's
# DeliveryStatus enum (digest/state/models.py) lands; a StrEnum compares equal to these.
SENT, FAILED, RETRYING = "sent", "failed", "retrying"


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
    if delivery.smtp is None:
        send: _Sender = _Outbox(delivery.outbox, issue_id)
    elif delivery.smtp.connections > 1 and len(recipients) > 1:
        lanes = min(delivery.smtp.connections, len(recipients))
        pace = Pacer(delivery.smtp.max_per_minute, clock, sleep)
        return _Parallel(delivery.smtp, sender, build, sleep, clock, pace).run(
            lanes, recipients, lambda o: log.record(issue_id, (o,)), progress
        )
    else:
        send = _RelaySender(delivery.smtp, sender, sleep, clock)
    ahead = _Ahead(build, recipients)
    outcomes: list[Outcome] = []
    try:
        for i, recipient in enumerate(recipients):
            message_id, data = ahead.take(i)
            # while the relay works on this message, the next one is made
            status, answer = send(recipient, data, lambda i=i: ahead.make(i + 1))
            outcome = Outcome(recipient, status, answer, message_id)
            log.record(issue_id, (outcome,))
            outcomes.append(outcome)
            if status != SENT:
                log_warning(outcome)
            if progress is not None:
                progress(len(outcomes), len(recipients))
            send.check(outcomes)
    finally:
        send.close()
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

    def __init__(self, smtp: SmtpConfig, sender: str, build, sleep, clock, pace: Pacer):
        self.smtp, self.sender, self.build = smtp, sender, build
        self.sleep, self.clock, self.pace = sleep, clock, pace
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
                        _check_deferred(self.smtp, outcomes, sent)
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
        send = _RelaySender(self.smtp, self.sender, self.sleep, self.clock, self.pace)
        try:
            recipient = self.take()
            ahead = None
            while recipient is not None:
                message_id, data = ahead.take(0) if ahead else self.build(recipient)
                following = self.take()
                ahead = _Ahead(self.build, [following]) if following is not None else None
                status, answer = send(recipient, data, ahead and (lambda a=ahead: a.make(0)))
                done = threading.Event()
                self.results.put(("outcome", Outcome(recipient, status, answer, message_id), done))
                done.wait()  # recorded before anything of the next message goes out
                recipient = following if not self.stop.is_set() else None
        except BaseException as e:  # DeliveryError, ConfigError (DKIM key) ...
            self.results.put(("error", e, None))
        finally:
            send.close()
            self.results.put(("exit", None, None))


class _Sender:
    def __call__(
        self, recipient: str, data: bytes, while_waiting: Callable[[], None] | None = None
    ) -> tuple[str, str]:
        """Send one message; `while_waiting` is called (at most once) while the relay works."""
        raise NotImplementedError

    def check(self, outcomes: list[Outcome]) -> None:
        """Stop the run (raise DeliveryError) when going on would only waste time."""

    def close(self) -> None:
        pass


class _Outbox(_Sender):
    """Each message as an .eml file. One name per issue and recipient, so a resumed run that
    writes a message again replaces the file instead of adding a copy."""

    def __init__(self, folder: Path, issue_id: int):
        self.folder = Path(folder)
        self.prefix = f"issue-{issue_id:05d}-"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DeliveryError(
                f"cannot create the outbox folder {self.folder} ({e.strerror})",
                "check `delivery.outbox` in the configuration",
            ) from None
        for stale in self.folder.glob(f".{self.prefix}*.tmp"):  # left by a killed run
            stale.unlink(missing_ok=True)

    def __call__(
        self, recipient: str, data: bytes, while_waiting: Callable[[], None] | None = None
    ) -> tuple[str, str]:
        path = self.folder / f"{self.prefix}{_file_safe(recipient)}.eml"
        temp = self.folder / f".{path.name}.{os.getpid()}.tmp"
        try:
            with temp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
        except OSError as e:
            temp.unlink(missing_ok=True)
            raise DeliveryError(
                f"cannot write to the outbox {self.folder} ({e.strerror})",
                "free some space or fix the folder's permissions; the next run goes on",
            ) from None
        return SENT, f"written to {path}"


def _file_safe(address: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9@._+-]", "_", address.lower())
    if safe != address.lower():  # keep names apart that differ only in replaced characters
        safe += "-" + hashlib.sha256(address.lower().encode()).hexdigest()[:8]
    return safe


class _RelaySender(_Sender):
    """Retries 4xx answers with backoff, records 5xx as failed, keeps to the rate limit."""

    def __init__(
        self,
        config: SmtpConfig,
        sender: str,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        pace: Pacer | None = None,
    ):
        self.config = config
        self.sender = sender
        self.sleep = sleep
        self.relay = Relay(config)
        self.pace = pace or Pacer(config.max_per_minute, clock, sleep)
        self.sent = 0

    def __call__(
        self, recipient: str, data: bytes, while_waiting: Callable[[], None] | None = None
    ) -> tuple[str, str]:
        answer = ""
        lost = False
        for attempt in range(self.config.retries + 1):
            if attempt:
                # a connection the relay closed while idle is reopened at once
                if not (lost and attempt == 1 and self.sent):
                    self.sleep(backoff(attempt))
            self.pace.wait()
            try:
                sender = self.sender(recipient) if callable(self.sender) else self.sender
                code, answer = self.relay.send(sender, recipient, data, while_waiting)
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as e:
                self.relay.close()
                lost, answer = True, f"connection to the relay lost: {_reason(e)}"
                continue
            lost = False
            if 200 <= code < 300:
                self.sent += 1
                return SENT, answer
            if code >= 500:
                return FAILED, answer
        if lost:
            what = "was lost" if self.sent else "cannot be reached"
            raise DeliveryError(
                f"the SMTP relay {self.config.host}:{self.config.port} {what}: "
                f"{answer}; {self.sent} sent in this run, the rest stay pending",
                "the next `digest run` sends to those not yet sent to",
            )
        return RETRYING, answer

    def check(self, outcomes: list[Outcome]) -> None:
        _check_deferred(self.config, outcomes, self.sent)

    def close(self) -> None:
        self.relay.close()


def _check_deferred(config: SmtpConfig, outcomes: list[Outcome], sent: int) -> None:
    """Stop when the relay deferred the last few recipients: it is unwell."""
    recent = outcomes[-MAX_DEFERRED_IN_A_ROW:]
    if len(recent) == MAX_DEFERRED_IN_A_ROW and all(o.status == RETRYING for o in recent):
        raise DeliveryError(
            f"the SMTP relay {config.host}:{config.port} deferred "
            f"{MAX_DEFERRED_IN_A_ROW} recipients in a row (last: {recent[-1].answer}); "
            f"stopped after {sent} sent in this run",
            "the next `digest run` sends to those not yet sent to",
        )


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, ...)."""
    return min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_MAX)


def _reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _answer(error.smtp_code, error.smtp_error)
    return str(error) or type(error).__name__


def _answer(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return f"{code} {' '.join(text.split())}".strip()


class Pacer:
    """At most `per_minute` messages a minute, evenly spaced."""

    def __init__(self, per_minute: int, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.interval = 60.0 / per_minute
        self.clock, self.sleep = clock, sleep
        self.next: float | None = None
        self.lock = threading.Lock()  # shared by the connections of one issue

    def wait(self) -> None:
        with self.lock:
            now = self.clock()
            start = now if self.next is None or now >= self.next else self.next
            self.next = start + self.interval
        if start > now:
            self.sleep(start - now)


class Relay:
    """One connection to the SMTP relay, opened on first use and reused for every message;
    MAIL, RCPT and DATA go out together when the relay offers PIPELINING (RFC 2920).

    `send` raises SMTPServerDisconnected or OSError when the connection is lost (the caller
    reopens it by sending again), DeliveryError for what retrying cannot fix (login refused,
    no TLS, certificate not trusted)."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self.conn: smtplib.SMTP | None = None
        self.where = f"{config.host}:{config.port}"

    def open(self) -> smtplib.SMTP:
        s = self.config
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        local = s.helo or _local_hostname()
        try:
            if s.security == "ssl":
                conn = smtplib.SMTP_SSL(
                    s.host, s.port, local_hostname=local, timeout=s.timeout, context=context
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, local_hostname=local, timeout=s.timeout)
        except ssl.SSLCertVerificationError as e:
            raise self._tls_error(e) from None
        try:
            # Each message ends in a short write while the relay holds back its ACK: without
            # this, Nagle's algorithm adds the relay's delayed-ACK time (~40 ms) per message.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise DeliveryError(
                        f"the SMTP relay {self.where} does not offer STARTTLS",
                        "use `security: ssl` (port 465), or `none` only on a trusted network",
                    )
                conn.starttls(context=context)
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password() or "")
        except ssl.SSLCertVerificationError as e:
            conn.close()
            raise self._tls_error(e) from None
        except smtplib.SMTPAuthenticationError as e:
            conn.close()
            raise DeliveryError(
                f"the SMTP relay {self.where} refused the login for user {s.username!r}: "
                f"{_reason(e)}; nothing was sent, nobody is marked failed",
                f"check `delivery.smtp.username` and the password in ${s.password_env}",
            ) from None
        except smtplib.SMTPNotSupportedError:
            conn.close()
            raise DeliveryError(
                f"the SMTP relay {self.where} does not offer AUTH on this connection",
                "most relays offer it only after STARTTLS: set `security: starttls` or `ssl`",
            ) from None
        except smtplib.SMTPResponseException as e:
            conn.close()
            if 400 <= e.smtp_code < 500:  # try again later, like a refused connection
                raise smtplib.SMTPConnectError(e.smtp_code, e.smtp_error) from None
            raise DeliveryError(f"the SMTP relay {self.where} refused: {_reason(e)}") from None
        except smtplib.SMTPServerDisconnected:
            conn.close()
            raise
        except smtplib.SMTPException as e:
            conn.close()
            raise DeliveryError(f"the SMTP relay {self.where}: {e}") from None
        except BaseException:
            conn.close()
            raise
        self.conn = conn
        return conn

    def _tls_error(self, error: ssl.SSLCertVerificationError) -> DeliveryError:
        return DeliveryError(
            f"the SMTP relay {self.where} presented a certificate that is not trusted "
            f"({error.verify_message or error})",
            "for a relay with a private CA, set `delivery.smtp.ca_file` to that CA's certificate",
        )

    def send(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        while_waiting: Callable[[], None] | None = None,
    ) -> tuple[int, str]:
        """One SMTP transaction; returns the relay's answer (code, text): the first refusal
        of MAIL, RCPT or DATA, else the answer to the message itself. `while_waiting` is
        called once the message has gone out, before its answer is read; it must not raise."""
        conn = self.conn or self.open()
        try:
            if conn.has_extn("pipelining"):
                code, text = _pipelined(conn, sender, recipient, data, while_waiting)
            else:
                conn.putcmd("mail", f"FROM:{_quoteaddr(sender)}")
                code, text = conn.getreply()
                if code == 250:
                    conn.putcmd("rcpt", f"TO:{_quoteaddr(recipient)}")
                    code, text = conn.getreply()
                    if code in (250, 251):
                        conn.putcmd("data")
                        code, text = conn.getreply()
                        if code == 354:
                            code, text = _message(conn, data, while_waiting)
        except BaseException:
            self.close()
            raise
        if code == 421:  # the relay is closing the connection
            self.close()
        elif code != 250:
            try:
                conn.rset()
            except (smtplib.SMTPException, OSError):
                self.close()  # the answer stands; the next message opens a new connection
        return code, _answer(code, text)

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()


def _pipelined(
    conn: smtplib.SMTP,
    sender: str,
    recipient: str,
    data: bytes,
    while_waiting: Callable[[], None] | None,
) -> tuple[int, bytes]:
    """MAIL, RCPT and DATA in one write, then their three answers (RFC 2920): one round trip
    where there were three. Every answer is checked, in order. The message goes out only
    after MAIL, RCPT and DATA were all accepted; when DATA was accepted although MAIL or RCPT
    was refused, a lone "." ends the empty message (RFC 2920, 3.1) and the refusal is the
    answer. A 421 means the relay is closing the connection: no further answers come."""
    conn.send(f"MAIL FROM:{_quoteaddr(sender)}\r\nRCPT TO:{_quoteaddr(recipient)}\r\nDATA\r\n")
    mail = conn.getreply()
    if mail[0] == 421:
        return mail
    rcpt = conn.getreply()
    if rcpt[0] == 421:
        return rcpt
    go_ahead = conn.getreply()
    refusal = mail if mail[0] != 250 else rcpt if rcpt[0] not in (250, 251) else None
    if go_ahead[0] != 354:
        return refusal or go_ahead  # nothing to end: the caller's RSET clears the rest
    if refusal:
        conn.send(b".\r\n")
        conn.getreply()  # whatever the relay makes of an empty message to nobody
        return refusal
    return _message(conn, data, while_waiting)


def _quoteaddr(address: str) -> str:
    """<address> for MAIL and RCPT; smtplib's own parse for anything but a plain address."""
    return f"<{address}>" if EMAIL.match(address) else smtplib.quoteaddr(address)


def _message(
    conn: smtplib.SMTP, data: bytes, while_waiting: Callable[[], None] | None
) -> tuple[int, bytes]:
    """The message after DATA's 354: dot-stuffed (RFC 5321, 4.5.2: a line that starts with
    "." gets another), ended by a lone ".", then the relay's answer."""
    body = data.replace(b"\r\n.", b"\r\n..")
    if body.startswith(b"."):
        body = b"." + body
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    conn.send(body + b".\r\n")
    if while_waiting is not None:
        while_waiting()
    return conn.getreply()


_fqdn: str | None = None


def _local_hostname() -> str:
    """Our name for EHLO, looked up once per process (getfqdn can be slow)."""
    global _fqdn
    if _fqdn is None:
        _fqdn = socket.getfqdn()
    return _fqdn
