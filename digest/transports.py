"""The transports a message goes out by: the SMTP relay (one connection reused, MAIL, RCPT and
DATA pipelined, 4xx retried with backoff, paced to the rate limit) or the outbox folder (one
.eml file per recipient). Each answers `send` with a status and the answer to record, and
`check` stops a run that would only waste time (see deliver.Transport)."""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .config import SmtpConfig
from .errors import DeliveryError
from .text import EMAIL

if TYPE_CHECKING:
    from .deliver import Outcome

# Delivery statuses as the state stores them. Plain strings until the state layer's
# DeliveryStatus enum (digest/state/models.py) lands; a StrEnum compares equal to these.
SENT, FAILED, RETRYING = "sent", "failed", "retrying"

BACKOFF_BASE = 2.0  # seconds before the first retry of a 4xx answer; doubles each time
BACKOFF_MAX = 60.0
MAX_DEFERRED_IN_A_ROW = 5  # this many recipients deferred one after another: the relay is unwell


class Outbox:
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

    def send(
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

    def check(self, outcomes: list[Outcome]) -> None:
        pass

    def close(self) -> None:
        pass


def _file_safe(address: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9@._+-]", "_", address.lower())
    if safe != address.lower():  # keep names apart that differ only in replaced characters
        safe += "-" + hashlib.sha256(address.lower().encode()).hexdigest()[:8]
    return safe


class RelayTransport:
    """One connection to the relay (see Relay). Retries 4xx answers with backoff, answers 5xx
    as failed, keeps to the rate limit (a Pacer shared by the connections of one issue)."""

    def __init__(
        self,
        config: SmtpConfig,
        sender: str | Callable[[str], str],
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

    def send(
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
        check_deferred(self.config, outcomes, self.sent)

    def close(self) -> None:
        self.relay.close()


def check_deferred(config: SmtpConfig, outcomes: list[Outcome], sent: int) -> None:
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
