"""The transports an issue's messages go out by, each behind one interface (`Transport`, after
listmonk's Messenger: push each recipient, flush, close): the outbox folder (one .eml file per
recipient), the SMTP relay over one connection (reused; MAIL, RCPT and DATA pipelined; 4xx
retried with backoff; paced to the rate limit), and the relay over several connections at
once. `open_transport` is the one place the way out is chosen.

Every transport makes each message with the `build` it is given and hands each outcome to
`report` in the thread that pushes, and records nothing itself. When `report` returns, the
outcome is on record (see deliver.py), and only then does anything of a later message go out
on the same connection: that is the exactly-once promise.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import queue
import re
import smtplib
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from .config import DeliveryConfig, SmtpConfig
from .errors import ConfigError, DeliveryError, ReadersDeferred
from .text import EMAIL

# Delivery statuses as the state stores them. Plain strings until the state layer's
# DeliveryStatus enum (digest/state/models.py) lands; a StrEnum compares equal to these.
SENT, FAILED, RETRYING = "sent", "failed", "retrying"

BACKOFF_BASE = 2.0  # seconds before the first retry of a 4xx answer; doubles each time
BACKOFF_MAX = 60.0
MAX_DEFERRED_IN_A_ROW = 5  # this many recipients deferred one after another: the relay is unwell
# Answers recorded for a refusal that is not of the reader's address (a 5xx at MAIL, or to
# the message itself): no hard bounce (only a 5xx at RCPT is one, see send.py).
REFUSED_SENDER = "the sender refused: "
# RFC 5321, 4.5.3.2.6: a relay may take ten minutes to answer a message it scans, and a
# message sent again on a timeout is one more copy for each try.
ANSWER_SECONDS = 600.0
REFUSED_MESSAGE = "the message refused: "
UNANSWERED = "no answer to the message "
MAX_UNANSWERED_IN_A_ROW = 2  # each waited ANSWER_SECONDS: a relay this slow is unwell

Build = Callable[[str], bytes]  # a recipient's message, ready for the wire
Report = Callable[[str, str, str], None]  # recipient, status, the answer to record


class Transport(Protocol):
    """One way out for the messages of an issue."""

    def push(self, recipient: str) -> None:
        """Send to one more recipient. The transport may hold the message back (the relay
        transports send it on the next push or at flush); outcomes known meanwhile are
        reported before this returns. Raises DeliveryError when going on would only waste
        time (the relay cannot be reached, or defers everyone)."""
        ...

    def flush(self) -> None:
        """Send every message pushed and report each outcome."""
        ...

    def close(self) -> None:
        """Let go of connections and threads; what went out is reported if it still can be.
        Safe after an error, and more than once."""
        ...


def send_through(transport: Transport, recipients: Iterable[str]) -> None:
    """Drive `transport` as its contract asks: push each recipient, flush, and close it
    whatever happens."""
    try:
        for recipient in recipients:
            transport.push(recipient)
        transport.flush()
    finally:
        transport.close()


def open_transport(
    delivery: DeliveryConfig,
    issue_id: int,
    sender: str | Callable[[str], str],
    recipients: int,
    build: Build,
    report: Report,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Transport:
    """The outbox folder when no relay is set; else one connection to the relay, or
    `delivery.smtp.connections` of them (no more than there are recipients) sharing one
    rate limit."""
    if delivery.smtp is None:
        return Outbox(delivery.outbox, issue_id, build, report)
    smtp = delivery.smtp
    pace = Pacer(smtp.max_per_minute, clock, sleep)
    lanes = min(smtp.connections, recipients)
    if lanes <= 1:
        return RelayTransport(smtp, sender, sleep, clock, pace, build, report)
    return ParallelRelay(
        smtp, lanes, lambda: RelayTransport(smtp, sender, sleep, clock, pace), build, report
    )


def check_outbox(folder: Path) -> None:
    """A ConfigError when `delivery.outbox` names a file, or a folder inside one."""
    for place in (folder, *folder.parents):
        try:
            exists, is_dir = place.exists(), place.is_dir()
        except OSError as e:  # a name too long for the file system
            raise ConfigError(
                f"cannot use the outbox {folder} ({e.strerror or e})", key="delivery.outbox"
            ) from None
        if exists:
            if not is_dir:
                raise ConfigError(
                    f"the outbox {folder} is not a folder: {place} is a file",
                    key="delivery.outbox",
                )
            return


class Outbox:
    """Each message as an .eml file. One name per issue and recipient, so a resumed run that
    writes a message again replaces the file instead of adding a copy."""

    def __init__(self, folder: Path, issue_id: int, build: Build, report: Report):
        self.folder = Path(folder)
        self.prefix = f"issue-{issue_id:05d}-"
        self.build, self.report = build, report
        check_outbox(self.folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DeliveryError(
                f"cannot create the outbox folder {self.folder} ({e.strerror})",
                "check `delivery.outbox` in the configuration",
            ) from None
        for stale in self.folder.glob(f".{self.prefix}*.tmp"):  # left by a killed run
            stale.unlink(missing_ok=True)

    def push(self, recipient: str) -> None:
        data = self.build(recipient)
        path = self.folder / f"{self.prefix}{file_safe_name(recipient)}.eml"
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
        self.report(recipient, SENT, f"written to {path}")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def file_safe_name(address: str) -> str:
    """An address as part of a file name: other characters replaced, a hash keeps apart
    names that differ only in those."""
    safe = re.sub(r"[^A-Za-z0-9@._+-]", "_", address.lower())
    if safe != address.lower():  # keep names apart that differ only in replaced characters
        safe += "-" + hashlib.sha256(address.lower().encode()).hexdigest()[:8]
    return safe


class RelayTransport:
    """One connection to the relay (see Relay). Retries 4xx answers with backoff, answers 5xx
    as failed, keeps to the rate limit (a Pacer shared by the connections of one issue).

    As a Transport it holds each pushed recipient back until the next push (or flush): the
    next message is then made while the relay works on this one. ParallelRelay drives its
    connections through `send` instead."""

    def __init__(
        self,
        config: SmtpConfig,
        sender: str | Callable[[str], str],
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        pace: Pacer | None = None,
        build: Build | None = None,
        report: Report | None = None,
    ):
        self.config = config
        self.sender = sender
        self.sleep = sleep
        self.relay = Relay(config)
        self.pace = pace or Pacer(config.max_per_minute, clock, sleep)
        self.sent = 0
        self.report = report
        self.ahead = Ahead(build) if build else None
        self.waiting: str | None = None  # pushed, not sent yet
        self.deferrals = Deferrals(config)

    def push(self, recipient: str) -> None:
        if self.waiting is not None:
            self._send_waiting(following=recipient)
        self.waiting = recipient

    def flush(self) -> None:
        if self.waiting is not None:
            self._send_waiting(following=None)

    def _send_waiting(self, following: str | None) -> None:
        assert self.ahead is not None and self.report is not None and self.waiting is not None
        recipient, ahead = self.waiting, self.ahead
        data = ahead.take(recipient)  # made while the relay worked on the previous one
        self.waiting = None
        status, answer = self.send(
            recipient, data, None if following is None else lambda: ahead.make(following)
        )
        self.report(recipient, status, answer)
        self.deferrals.check(status, answer, self.sent)

    def send(
        self, recipient: str, data: bytes, while_waiting: Callable[[], None] | None = None
    ) -> tuple[str, str]:
        """Send one message: its status (SENT, FAILED or RETRYING) and the answer to record.
        `while_waiting` is called (at most once) while the relay works."""
        answer = ""
        lost = False
        for attempt in range(self.config.retries + 1):
            if attempt:
                # a connection the relay closed while idle is reopened at once
                if not (lost and attempt == 1 and self.sent):
                    self.sleep(backoff(attempt))
            self.pace.wait()
            sender = self.sender(recipient) if callable(self.sender) else self.sender
            try:
                code, answer, step = self.relay.send(sender, recipient, data, while_waiting)
            except Unanswered as e:
                # Sent again in this run, a slow relay would get it once a try (RFC 5321
                # gives its answer ten minutes): once more in the next run, at most.
                self.relay.close()
                return RETRYING, f"{UNANSWERED}({e}); the relay may have it"
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as e:
                self.relay.close()
                lost = True
                if _timed_out(e):  # a silent (or trickling) relay, cut by us
                    answer = f"no answer within {self.config.timeout:g} s"
                else:
                    answer = f"connection to the relay lost: {_reason(e)}"
                continue
            lost = False
            if 200 <= code < 300:
                self.sent += 1
                return SENT, answer
            if code >= 500 and step == "MAIL":
                # the sender refused ("530 authentication required"): no fault of the
                # reader's, who is tried again next run; refused for all, it stops the run
                return RETRYING, f"{REFUSED_SENDER}{answer}"
            if code >= 500 and step == "RCPT":  # the address: a hard bounce
                return FAILED, answer
            if code >= 500:
                # the message refused ("554 spam", "552 too big"): no fault of the reader's
                # either, who gets the issue once the relay is mended (or is given up on
                # after MAX_DEFERRED_RUNS runs, as a deferral); refused for all, it stops the run
                return RETRYING, f"{REFUSED_MESSAGE}{answer}"
        if lost:
            what = "was lost" if self.sent else "cannot be reached"
            raise DeliveryError(
                f"the SMTP relay {self.config.host}:{self.config.port} {what}: "
                f"{answer}; {self.sent} sent in this run, the rest stay pending",
                "the next `digest run` sends to those not yet sent to",
            )
        return RETRYING, answer

    def close(self) -> None:
        self.relay.close()


class Ahead:
    """The messages, each made once, the next one while the relay works on the current one.
    A failure to make one (a bad DKIM key) is raised when that message is taken, never while
    a message is in flight: its answer must still be read and reported."""

    def __init__(self, build: Build):
        self.build = build
        self.recipient: str | None = None
        self.made: bytes | Exception | None = None

    def make(self, recipient: str) -> None:
        if self.recipient == recipient:
            return
        self.recipient = recipient
        try:
            self.made = self.build(recipient)
        except Exception as e:  # raised by take()
            self.made = e

    def take(self, recipient: str) -> bytes:
        self.make(recipient)
        made, self.recipient, self.made = self.made, None, None
        if isinstance(made, Exception):
            raise made
        assert made is not None
        return made


class Deferrals:
    """Stops a run when the relay deferred the last few recipients, or refused the message
    itself for each: it is unwell, or will refuse everyone the same way."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self.recent: deque[tuple[str, str]] = deque(maxlen=MAX_DEFERRED_IN_A_ROW)

    def check(self, status: str, answer: str, sent: int) -> None:
        self.recent.append((status, answer))
        last = list(self.recent)[-MAX_UNANSWERED_IN_A_ROW:]
        if len(last) == MAX_UNANSWERED_IN_A_ROW and all(a.startswith(UNANSWERED) for _, a in last):
            raise DeliveryError(
                f"the SMTP relay {self.config.host}:{self.config.port} answered none of the "
                f"last {MAX_UNANSWERED_IN_A_ROW} messages in {ANSWER_SECONDS:g} s (last: "
                f"{answer}); stopped after {sent} sent in this run",
                "the next `digest run` sends to those not yet sent to (and again to these)",
            )
        if len(self.recent) == MAX_DEFERRED_IN_A_ROW and all(s == RETRYING for s, _ in self.recent):
            raise ReadersDeferred(
                f"the SMTP relay {self.config.host}:{self.config.port} deferred or refused "
                f"{MAX_DEFERRED_IN_A_ROW} recipients in a row (last: {answer}); "
                f"stopped after {sent} sent in this run",
                "the next `digest run` sends to those not yet sent to",
            )


class ParallelRelay:
    """Several connections to the relay, one thread each, taking pushed recipients from one
    queue.

    Outcomes are reported by the pushing thread (the state's connection is its own), each
    before its connection sends anything of its next message; so at most one message per
    connection is in flight when the process is killed (a copy of it may go out again, with
    the same Message-ID). A connection that fails (relay unreachable) stops the others after
    the message each is sending."""

    def __init__(
        self,
        config: SmtpConfig,
        lanes: int,
        connect: Callable[[], RelayTransport],
        build: Build,
        report: Report,
    ):
        self.build, self.report = build, report
        self.todo: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.stop = threading.Event()
        self.deferrals = Deferrals(config)
        self.error: BaseException | None = None
        self.sent = 0
        self.timeout = config.timeout
        self.threads = [
            threading.Thread(target=self._lane, args=(connect,), name=f"digest-smtp-{n}")
            for n in range(lanes)
        ]
        self.running = len(self.threads)
        for thread in self.threads:
            thread.daemon = True
            thread.start()

    def push(self, recipient: str) -> None:
        self.todo.put(recipient)
        self._collect(wait=False)
        # No more than a message a lane waits: the next batch is claimed (and its readers
        # re-checked) only as this one goes out.
        while self.todo.qsize() > len(self.threads) and self.running:
            self._handle(*self.results.get())
        if self.error is not None:  # the lanes are stopping: no more recipients
            raise self.error

    def flush(self) -> None:
        for _ in self.threads:  # no more recipients: each lane ends after its last
            self.todo.put(None)
        self._collect(wait=True)
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.stop.set()
        for _ in self.threads:
            self.todo.put(None)
        while self.running:  # stopped by an error (or Ctrl-C): let every lane finish
            kind, value, done = self.results.get()
            if kind == "exit":
                self.running -= 1
            elif done is not None:
                try:  # what went out is reported if the state still takes it
                    self.report(*value)
                except Exception:
                    pass  # not recorded: like a kill, the next run sends it again
                done.set()
        for thread in self.threads:
            thread.join(timeout=self.timeout + 5)

    def _collect(self, wait: bool) -> None:
        """Report the outcomes the lanes have; with `wait`, until every lane has ended."""
        while self.running:
            try:
                result = self.results.get(block=wait)
            except queue.Empty:
                return
            self._handle(*result)

    def _handle(self, kind: str, value, done: threading.Event | None) -> None:
        """One result of a lane: its end, its error, or an outcome to report."""
        if kind == "exit":
            self.running -= 1
        elif kind == "error":
            self.stop.set()
            self.error = self.error or value
        else:
            assert done is not None
            try:
                self.report(*value)
            except BaseException:
                self.stop.set()
                raise
            finally:
                done.set()
            self.sent += value[1] == SENT
            if self.error is None:
                try:
                    self.deferrals.check(value[1], value[2], self.sent)
                except DeliveryError as e:
                    self.stop.set()
                    self.error = e

    def _take(self) -> str | None:
        if self.stop.is_set():
            return None
        recipient = self.todo.get()
        return None if self.stop.is_set() else recipient

    def _lane(self, connect: Callable[[], RelayTransport]) -> None:
        transport = connect()
        ahead = Ahead(self.build)
        try:
            recipient = self._take()
            while recipient is not None:
                data = ahead.take(recipient)
                following = self._take()  # made while the relay works on this one
                status, answer = transport.send(
                    recipient,
                    data,
                    None if following is None else lambda f=following: ahead.make(f),
                )
                done = threading.Event()
                self.results.put(("outcome", (recipient, status, answer), done))
                done.wait()  # reported before anything of the next message goes out
                recipient = following if not self.stop.is_set() else None
        except BaseException as e:  # DeliveryError, ConfigError (DKIM key) ...
            self.results.put(("error", e, None))
        finally:
            transport.close()
            self.results.put(("exit", None, None))


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, ...)."""
    return min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_MAX)


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib's AUTH encodes the password as ASCII: one with other letters (a Cyrillic
    password) stopped every run with UnicodeEncodeError. Such a one goes as UTF-8, by AUTH
    PLAIN (RFC 4616) or, where the relay offers only that, AUTH LOGIN."""
    if user.isascii() and password.isascii():
        conn.login(user, password)
        return
    if not conn.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = conn.esmtp_features["auth"].upper().split()
    if "PLAIN" in offered:
        code, answer = conn.docmd("AUTH", "PLAIN " + _base64(f"\0{user}\0{password}"))
    elif "LOGIN" in offered:
        code, answer = conn.docmd("AUTH", "LOGIN " + _base64(user))
        if code == 334:
            code, answer = conn.docmd(_base64(password))
    else:  # not SMTPNotSupportedError: Relay.open reads that as no AUTH at all
        raise smtplib.SMTPException(
            "a password with letters other than ASCII goes by AUTH PLAIN or LOGIN; the relay "
            f"offers {' '.join(offered) or 'neither'}"
        )
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def _reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _answer(error.smtp_code, error.smtp_error)
    return str(error) or type(error).__name__


def _answer(code: int, text: bytes | str) -> str:
    """`code text` on one line; the text alone for a code no relay gave (0, smtplib's -1)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return f"{code if code > 0 else ''} {' '.join(text.split())}".strip()


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
        self.watchdog = Watchdog()

    def open(self) -> smtplib.SMTP:
        s = self.config
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        local = s.helo or local_hostname()
        if s.security == "ssl":
            conn = smtplib.SMTP_SSL(local_hostname=local, timeout=s.timeout, context=context)
        else:
            conn = smtplib.SMTP(local_hostname=local, timeout=s.timeout)
        conn._host = s.host  # for TLS's server name, as smtplib.SMTP(host, port) sets it
        make_socket = conn._get_socket  # the greeting is read as soon as the socket is made

        def watched_socket(*args):
            sock = make_socket(*args)
            self.watchdog.watch(sock)
            return sock

        conn._get_socket = watched_socket  # type: ignore[method-assign]
        try:
            with self.watchdog.step(None, s.timeout):
                code, greeting = conn.connect(s.host, s.port)
            if code != 220:  # as smtplib.SMTP(host, port) does
                raise smtplib.SMTPConnectError(code, greeting)
        except ssl.SSLCertVerificationError as e:
            conn.close()
            raise self._tls_error(e) from None
        except BaseException:
            conn.close()
            raise
        try:
            # Each message ends in a short write while the relay holds back its ACK: without
            # this, Nagle's algorithm adds the relay's delayed-ACK time (~40 ms) per message.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.watchdog.step(conn.sock, s.timeout):
                conn.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise DeliveryError(
                        f"the SMTP relay {self.where} does not offer STARTTLS",
                        "use `security: ssl` (port 465), or `none` only on a trusted network",
                    )
                with self.watchdog.step(conn.sock, s.timeout):
                    conn.starttls(context=context)
                with self.watchdog.step(conn.sock, s.timeout):
                    conn.ehlo()
            if s.username:
                with self.watchdog.step(conn.sock, s.timeout):
                    _login(conn, s.username, s.password() or "")
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
    ) -> tuple[int, str, str]:
        """One SMTP transaction; returns the relay's answer (code, text, step): the first
        refusal of MAIL, RCPT or DATA, else the answer to the message itself ("message").
        `while_waiting` is called once the message has gone out, before its answer is read;
        it must not raise. Raises Unanswered when the message went out and no readable
        answer came."""
        conn = self.conn or self.open()
        try:
            with self.watchdog.step(conn.sock, self.config.timeout):
                if conn.has_extn("pipelining"):
                    code, text, step = _pipelined(conn, sender, recipient)
                else:
                    conn.putcmd("mail", f"FROM:{_quoteaddr(sender)}")
                    (code, text), step = conn.getreply(), "MAIL"
                    if code == 250:
                        conn.putcmd("rcpt", f"TO:{_quoteaddr(recipient)}")
                        (code, text), step = conn.getreply(), "RCPT"
                        if code in (250, 251):
                            conn.putcmd("data")
                            (code, text), step = _go_ahead(conn.getreply())
            if code == 354 and step == "DATA":  # 354 to anything else is no go-ahead
                code, text, step = _message(conn, data, while_waiting, self.watchdog)
        except BaseException:
            self.close()
            raise
        if code == 421 or code < 200:  # the relay is closing, or out of step with us
            self.close()
        elif code != 250:
            try:
                conn.rset()
            except (smtplib.SMTPException, OSError):
                self.close()  # the answer stands; the next message opens a new connection
        return code, _answer(code, text), step

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:  # never opened, or opening failed: the watchdog may have started
            self.watchdog.stop()
            return
        try:
            with self.watchdog.step(conn.sock, self.config.timeout):
                conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()
        finally:
            self.watchdog.stop()


class Watchdog:
    """Cuts a connection when one step (the greeting, a login, a message's commands, its
    answer) runs past its time in all: smtplib's timeout bounds each read, and a relay that
    trickles a byte at a time keeps every read alive for ever. One thread, started with the
    first step and stopped with the connection."""

    def __init__(self):
        self.cond = threading.Condition()
        self.sock: socket.socket | None = None
        self.when: float | None = None
        self.cut = False  # the last step ran out of time
        self.thread: threading.Thread | None = None

    @contextlib.contextmanager
    def step(self, sock: socket.socket | None, seconds: float) -> Iterator[None]:
        """Watch `sock` (None: the one `watch` is given) for `seconds`; a step cut short
        raises TimeoutError."""
        with self.cond:
            self.sock, self.when, self.cut = sock, time.monotonic() + seconds, False
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="digest-smtp-watchdog")
                self.thread.daemon = True
                self.thread.start()
            self.cond.notify()
        try:
            yield
        except (OSError, smtplib.SMTPException) as e:
            if self.cut:
                raise TimeoutError(f"no complete answer in {seconds:g} s") from e
            raise
        finally:
            with self.cond:
                self.when = None

    def watch(self, sock: socket.socket) -> None:
        """The socket a step begun without one (connecting) is to cut."""
        with self.cond:
            self.sock = sock

    def stop(self) -> None:
        with self.cond:
            thread, self.thread = self.thread, None
            self.when = None
            self.cond.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        me = threading.current_thread()
        with self.cond:
            while self.thread is me:
                if self.when is None:
                    self.cond.wait()
                    continue
                left = self.when - time.monotonic()
                if left > 0:
                    self.cond.wait(left)
                    continue
                self.when, self.cut = None, True
                if self.sock is not None:
                    try:
                        self.sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass


def _pipelined(
    conn: smtplib.SMTP,
    sender: str,
    recipient: str,
) -> tuple[int, bytes, str]:
    """MAIL, RCPT and DATA in one write, then their three answers (RFC 2920): one round trip
    where there were three. Every answer is checked, in order. The message may go out (354)
    only after MAIL, RCPT and DATA were all accepted; when DATA was accepted although MAIL or RCPT
    was refused, a lone "." ends the empty message (RFC 2920, 3.1) and the refusal is the
    answer. A 421 means the relay is closing the connection: no further answers come."""
    conn.send(f"MAIL FROM:{_quoteaddr(sender)}\r\nRCPT TO:{_quoteaddr(recipient)}\r\nDATA\r\n")
    mail = (*conn.getreply(), "MAIL")
    if mail[0] == 421:
        return mail
    rcpt = (*conn.getreply(), "RCPT")
    if rcpt[0] == 421:
        return rcpt
    (code, text), step = _go_ahead(conn.getreply())
    refusal = mail if mail[0] != 250 else rcpt if rcpt[0] not in (250, 251) else None
    if code != 354:
        return refusal or (code, text, step)  # nothing to end: the caller's RSET clears the rest
    if refusal:
        conn.send(b".\r\n")
        conn.getreply()  # whatever the relay makes of an empty message to nobody
        return refusal
    return code, text, step  # go ahead: the caller sends the message


def _go_ahead(reply: tuple[int, bytes]) -> tuple[tuple[int, bytes], str]:
    """DATA's answer, and its step: only 354 lets the message go, and a 4xx or 5xx refuses
    it. Any other answer (a 250 from a relay out of step with us) is no answer to DATA: the
    message did not go, and is no delivery (code 0: tried again)."""
    code, text = reply
    if code == 354 or code >= 400:
        return reply, "DATA"
    said = _answer(code, text)
    return (0, f"the relay answered DATA with '{said}', not 354: not sent".encode()), "DATA"


def _quoteaddr(address: str) -> str:
    """<address> for MAIL and RCPT; smtplib's own parse for anything but a plain address."""
    return f"<{address}>" if EMAIL.match(address) else smtplib.quoteaddr(address)


def _message(
    conn: smtplib.SMTP,
    data: bytes,
    while_waiting: Callable[[], None] | None,
    watchdog: Watchdog,
) -> tuple[int, bytes, str]:
    """The message after DATA's 354: dot-stuffed (RFC 5321, 4.5.2: a line that starts with
    "." gets another), ended by a lone ".", then the relay's answer, awaited ANSWER_SECONDS
    (or the longer configured timeout)."""
    body = data.replace(b"\r\n.", b"\r\n..")
    if body.startswith(b"."):
        body = b"." + body
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    patience = max(ANSWER_SECONDS, conn.timeout or 0.0)
    conn.sock.settimeout(patience)
    try:
        with watchdog.step(conn.sock, patience):
            conn.send(body + b".\r\n")
            if while_waiting is not None:
                while_waiting()
            code, text = conn.getreply()
    except smtplib.SMTPResponseException as e:  # "500 Line too long"
        raise Unanswered(f"an answer that is no SMTP answer: {_reason(e)}") from None
    except (TimeoutError, smtplib.SMTPServerDisconnected) as e:
        if _timed_out(e):
            raise Unanswered(f"none in {patience:g} s") from None
        raise  # dropped: the relay has not taken it (RFC 5321, 6.1), so it goes again
    finally:
        if conn.sock is not None:
            conn.sock.settimeout(conn.timeout)
    if code < 200:  # smtplib's -1: a line that is no SMTP answer
        raise Unanswered(f"an answer that is no SMTP answer: {_answer(code, text)!r}")
    return code, text, "message"


def _timed_out(error: BaseException) -> bool:
    """A step cut by the timeout: the watchdog's TimeoutError, or the socket's own, which
    smtplib reports as "Connection unexpectedly closed: timed out" (whichever came first)."""
    return isinstance(error, TimeoutError) or (
        isinstance(error, smtplib.SMTPServerDisconnected)
        and isinstance(error.__context__, TimeoutError)
    )


class Unanswered(Exception):
    """The message went out in full, the relay is still there, and no readable answer came
    in time: it may have the message."""


_fqdn: str | None = None


def local_hostname() -> str:
    """Our name for EHLO, looked up once per process (getfqdn can be slow)."""
    global _fqdn
    if _fqdn is None:
        _fqdn = socket.getfqdn()
    return _fqdn
