"""A real SMTP server on loopback for the delivery tests and the benchmark (aiosmtpd in a thread).

    with SmtpServer() as server:                       # plain, on a free port
        ... send to 127.0.0.1:server.port ...
        server.messages                                 # what it accepted, parsed

It can use STARTTLS with a throwaway CA (trustme; `server.ca_file` for the client), require
AUTH, offer PIPELINING (RFC 2920), answer 4xx or 5xx for chosen recipients or MAIL commands,
be slow, drop connections, and record what arrived in each read from the socket.

aiosmtpd reads the commands one line at a time from its stream, so commands that arrive
together (pipelined) are handled in order, each answered in turn, as RFC 2920 asks of a server.
"""

from __future__ import annotations

import asyncio
import email
import logging
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd logs a deprecation notice of its own (Session.login_data) on every login.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # as received, CRLF line ends
    tls: bool
    login: str | None
    connection: int  # which connection (1, 2, ...) it came on
    accepted_at: float = 0.0  # time.monotonic() when it was taken (one clock for all processes)
    helo: str | None = None  # the name the client gave in EHLO / HELO

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=default_policy)


@dataclass
class Behaviour:
    """What the server does; change it while it runs (the fields are read per command)."""

    defer_once: dict[str, str] = field(default_factory=dict)  # rcpt -> 4xx, given once at RCPT
    defer_always: dict[str, str] = field(default_factory=dict)  # rcpt -> 4xx at every RCPT
    reject: dict[str, str] = field(default_factory=dict)  # rcpt -> 5xx at RCPT
    delay_mail: float = 0.0  # seconds to sit on each MAIL FROM (a slow relay)
    # seconds between receiving message n+1 and accepting it, for chosen n
    delay_data: dict[int, float] = field(default_factory=dict)
    drop_after: list[int] = field(default_factory=list)  # close the connection at the MAIL
    # command that follows this many accepted messages (each number once)
    drop_in_data: list[int] = field(default_factory=list)  # close it during the DATA of message
    # number n+1 instead of accepting it
    # signals[("MAIL", n)] / signals[("DATA", n)] is set when that command first arrives after
    # n or more accepted messages (before any delay): the moment to kill a client in a crash
    # test (one connection sends a MAIL after each count; several may skip counts)
    signals: dict[tuple[str, int], threading.Event] = field(default_factory=dict)
    # sit on the first signalled MAIL until the client goes away (a crash test's kill then
    # lands there however slowly it comes on a loaded machine), instead of answering it
    hold_signalled: bool = False
    pipelining: bool = False  # offer PIPELINING in the EHLO answer
    mail_answers: list[str] = field(default_factory=list)  # the next MAILs get these (each once)
    # the next messages get these once their data is in, instead of being taken (each once)
    data_answers: list[str] = field(default_factory=list)
    # answer DATA with 354 even when every RCPT was refused (RFC 2920 names such servers),
    # then refuse the (empty) message: the client must end it with a lone "."
    data_despite_refusal: bool = False
    record_reads: bool = False  # keep every chunk read from the socket (server.reads)


def _signal(behaviour: Behaviour, command: str, count: int) -> None:
    for (what, n), event in behaviour.signals.items():
        if what == command and n <= count:
            event.set()


# The placeholder recipient that lets DATA be answered 354 when every RCPT was refused.
_NOBODY = "<nobody>"


class Handler:
    def __init__(self, behaviour: Behaviour):
        self.behaviour = behaviour
        self.received: list[Received] = []
        self.rcpt_attempts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.connections = 0
        self.reads: list[tuple[int, bytes]] = []  # (connection, chunk) with record_reads
        self.empty_data: list[bytes] = []  # data of messages that had no recipient left

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # aiosmtpd leaves this to a handler that has the hook
        if self.behaviour.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        b = self.behaviour
        count = len(self.received)
        _signal(b, "MAIL", count)
        if b.hold_signalled and any(w == "MAIL" and n <= count for w, n in b.signals):
            b.hold_signalled = False  # once: the next run's MAIL is answered
            for _ in range(3000):  # at most 30 s
                if server.transport is None or server.transport.is_closing():
                    break
                await asyncio.sleep(0.01)
        if count in b.drop_after:
            b.drop_after.remove(count)
            server.transport.close()
            return "421 4.4.2 closing connection (test)"
        if b.mail_answers:
            return b.mail_answers.pop(0)
        if b.delay_mail:
            await asyncio.sleep(b.delay_mail)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        b = self.behaviour
        key = address.lower()
        self.rcpt_attempts[key] += 1
        answer = b.reject.get(key) or b.defer_always.get(key) or b.defer_once.pop(key, None)
        if answer is None:
            envelope.rcpt_tos.append(address)
            return "250 OK"
        if b.data_despite_refusal and not envelope.rcpt_tos:
            envelope.rcpt_tos.append(_NOBODY)
        return answer

    async def handle_DATA(self, server, session, envelope):
        b = self.behaviour
        count = len(self.received)
        _signal(b, "DATA", count)
        if count in b.drop_in_data:
            b.drop_in_data.remove(count)
            server.transport.close()
            return "421 4.4.2 closing connection (test)"
        rcpt_tos = [r for r in envelope.rcpt_tos if r != _NOBODY]
        if b.data_answers and rcpt_tos:
            return b.data_answers.pop(0)
        if not rcpt_tos:
            with self.lock:
                self.empty_data.append(envelope.original_content)
            return "554 5.5.1 Error: no valid recipients"
        received = Received(
            envelope.mail_from,
            rcpt_tos,
            envelope.original_content,
            server.transport.get_extra_info("ssl_object") is not None,
            session.auth_data.login.decode() if session.auth_data else None,
            getattr(server, "digest_connection_number", 0),
            helo=session.host_name,
        )
        # Like a real relay, a message whose data has arrived is taken even if the client
        # goes away before the answer: shielded from the cancel a lost connection brings.
        number = await asyncio.shield(self._accept(received, b.delay_data.get(count, 0.0)))
        return f"250 2.0.0 OK queued as Q{number:05d}"

    async def _accept(self, received: Received, delay: float) -> int:
        if delay:
            await asyncio.sleep(delay)
        with self.lock:
            received.accepted_at = time.monotonic()
            self.received.append(received)
            return len(self.received)


class _Controller(Controller):
    """aiosmtpd's Controller on port 0: the OS picks a free port, read back once bound."""

    def __init__(self, handler: Handler, **kwargs):
        self.digest_handler = handler
        super().__init__(handler, hostname="127.0.0.1", port=0, **kwargs)

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    def factory(self):
        smtp = super().factory()
        handler = self.digest_handler
        handler.connections += 1
        number = smtp.digest_connection_number = handler.connections
        data_received = smtp.data_received  # after STARTTLS it gets the decrypted bytes

        def record(data: bytes) -> None:
            if handler.behaviour.record_reads:
                with handler.lock:
                    handler.reads.append((number, bytes(data)))
            data_received(data)

        smtp.data_received = record
        return smtp


class SmtpServer:
    """The server. `starttls=True` makes a CA and certificate (needs tmp_dir for the CA file);
    `users` ({login: password}) turns on AUTH, allowed only after STARTTLS."""

    def __init__(
        self,
        tmp_dir: Path | None = None,
        *,
        starttls: bool = False,
        implicit_tls: bool = False,
        users: dict[str, str] | None = None,
        auth: tuple[str, ...] = ("PLAIN", "LOGIN"),  # the AUTH mechanisms it offers
        behaviour: Behaviour | None = None,
        pipelining: bool = False,
    ):
        self.behaviour = behaviour or Behaviour()
        self.behaviour.pipelining |= pipelining
        self.handler = Handler(self.behaviour)
        self.users = users or {}
        self.ca_file: Path | None = None
        kwargs: dict = {"server_hostname": "localhost", "ready_timeout": 10.0}
        if starttls or implicit_tls:
            import trustme

            assert tmp_dir is not None, "TLS needs a folder for the CA file"
            ca = trustme.CA()
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            self.ca_file = Path(tmp_dir) / "test-ca.pem"
            ca.cert_pem.write_to_path(str(self.ca_file))
            if implicit_tls:
                kwargs["ssl_context"] = context
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        if self.users:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=starttls)
            kwargs["auth_exclude_mechanism"] = {"PLAIN", "LOGIN"} - set(auth)
        self.controller = _Controller(self.handler, **kwargs)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        # handled=False lets aiosmtpd answer 535 itself on failure
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def reads(self, connection: int | None = None) -> list[bytes]:
        """The chunks read from the socket (Behaviour.record_reads), of one connection or all."""
        with self.handler.lock:
            return [d for n, d in self.handler.reads if connection in (None, n)]

    def count_for(self) -> Counter[str]:
        """How many copies each recipient got."""
        return Counter(r.lower() for m in self.messages for r in m.rcpt_tos)

    def start(self) -> SmtpServer:
        self.controller.start()
        # The trigger connection counts as one: start counting from the real clients.
        self.handler.connections = 0
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
