"""`digest serve`: the reader-facing pages under `web.url`, a small WSGI app on waitress.

Why waitress: the state layer is synchronous (sqlite3, psycopg), so a threaded WSGI server fits
it without an event loop in between; waitress is pure Python (nothing to build), has served
Pyramid and Plone in production for years, buffers whole requests before the app sees them (a
slow client holds no worker) and enforces request size limits itself.

Routes (below the path of web.url):
  GET/POST subscribe            a form; double opt-in: a confirmation link goes out
  GET      confirm/{token}      makes a pending reader active (links expire after 48 h)
  GET/POST unsubscribe/{token}  GET: a page with one button (link scanners follow links);
                                POST: unsubscribes; `List-Unsubscribe=One-Click` (RFC 8058)
                                answers 200 with no cookie, CSRF field or redirect
  GET/POST preferences/{token}  pause until a date, resume, unsubscribe, change the name
  GET      archive/...          the static archive
  GET      healthz              "ok" when the state answers

Every word a reader sees (pages, the confirmation message) comes from the catalogue of the
config's `language:` (digest/i18n/), as the digest's own words do.

Tokens are signed (digest/tokens.py); an address is never taken where a token is. Every form
carries a CSRF field bound to the reader's token (or, on the sign-up form, to a cookie) and to
the form; a POST whose Origin is another site is refused. Sign-up answers the same whatever
the address, and sends in the background so the answer's timing says nothing either; it is
rate-limited per client and per address. Nothing a reader clicks waits for a running send.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import mimetypes
import queue
import secrets
import signal
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, unquote_to_bytes, urlsplit

import jinja2
from waitress.server import create_server

from .archive import FEED, FEED_TYPE
from .config import Config
from .deliver import envelope_sender
from .errors import ConfigError, UsageError
from .i18n import Catalogue, catalogue
from .message import (
    WIRE,
    dkim_header,
    from_header,
    header_safe,
    sender,
    text_header,
    to_header,
)
from .render import template_dir as templates
from .state import Store, serve_lock
from .state.readers import GONE, Reader, ReaderStatus
from .text import normalize_address, reader_name
from .tokens import CONFIRM_SECONDS, BadToken, ExpiredToken, Signer
from .transports import Relay, file_safe_name

logger = logging.getLogger(__name__)

MAX_BODY = 8 * 1024  # a form of ours is well under 1 KB
MAX_PAUSE_DAYS = 366
SIGNUPS_PER_CLIENT = (5, 600)  # 5 sign-ups in 10 minutes from one client
MAILS_PER_ADDRESS = (3, 86400)  # 3 confirmation mails a day to one inbox (inbox_of)
POSTS_PER_CLIENT = (60, 60)  # any form, 60 a minute from one client
PRUNE_AT = 100_000  # keys a rate limit holds before it forgets those gone quiet
CSRF_COOKIE = "digest_csrf"

Environ = dict
StartResponse = Callable


def _template_dir() -> Path:
    return Path(str(templates()))


_CSS = (_template_dir() / "web.css").read_text(encoding="utf-8")
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(_template_dir())),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass
class Response:
    status: str
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    archive: bool = False  # an archive page: the issue's own styles and images


class RateLimit:
    """At most `count` events per `seconds` per key, in memory (one `digest serve` process)."""

    def __init__(self, count: int, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.count, self.seconds, self.clock = count, seconds, clock
        self.events: dict[str, deque[float]] = defaultdict(deque)
        self.prune_at = PRUNE_AT
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self.lock:
            events = self.events[key]
            while events and events[0] <= now - self.seconds:
                events.popleft()
            if len(events) >= self.count:
                return False
            events.append(now)
            if len(self.events) > self.prune_at:
                # forget the keys with no event left in the window (a key's events are only
                # dropped when it comes again); the next look when there are twice as many
                cutoff = now - self.seconds
                for k in [k for k, v in self.events.items() if not v or v[-1] <= cutoff]:
                    del self.events[k]
                self.prune_at = max(PRUNE_AT, 2 * len(self.events))
            return True

    def refund(self, key: str) -> None:
        """Take back `key`'s last event: it turned out not to count (a typo in the form)."""
        with self.lock:
            if self.events.get(key):
                self.events[key].pop()


class Mailer:
    """Confirmation messages, sent by one background thread through the configured delivery
    (the SMTP relay, or the outbox folder).

    A sign-up's answer must take the same time whether or not a mail goes out, or it tells
    anybody which addresses are on the list: made at once, the message held the GIL while the
    answer was written (a new address answered in 4.1 ms, one already reading in 2.2 ms). So
    the thread makes each message REPLY_FIRST after its sign-up, and is woken by its clock
    every TICK, never by a sign-up (waking it took the GIL from the answer too)."""

    REPLY_FIRST = 0.2  # seconds
    TICK = 0.1

    def __init__(self, config: Config, signer: Signer):
        self.config, self.signer = config, signer
        self.words = catalogue(config.language)
        self.queue: queue.Queue[tuple[float, str, str, str] | None] = queue.Queue(maxsize=1000)
        self.thread = threading.Thread(target=self._work, name="digest-mailer", daemon=True)
        self.thread.start()

    def confirm(self, reader: Reader) -> None:
        link = f"{self.config.web.url}confirm/{self.signer.confirm(reader.token)}"
        try:
            due = time.monotonic() + self.REPLY_FIRST
            self.queue.put_nowait((due, reader.email, reader.token, link))
        except queue.Full:
            pass  # a flood: the reader can sign up again later

    def message(self, email: str, link: str) -> bytes:
        """The confirmation, to the bare address: the name on the form is anybody's words
        until the reader confirms ("Win $1,000 at spam.example" in the To: of a mail to any
        address is the old abuse of sign-up forms)."""
        delivery, words = self.config.delivery, self.words
        head = b"".join(
            (
                from_header(delivery.from_addr),
                to_header(email),
                text_header(
                    "Subject", header_safe(words.t("confirm_subject", title=self.config.title))
                ),
                f"Date: {format_datetime(dt.datetime.now(dt.UTC))}\r\n".encode(),
                f"Message-ID: {make_msgid(domain=sender(delivery.from_addr)[2])}\r\n".encode(),
                b"Auto-Submitted: auto-generated\r\n",
            )
        )
        msg = EmailMessage()  # the body and its MIME headers
        msg.set_content(
            f"{words.t('confirm_asked', title=self.config.title)}\n\n"
            f"{words.t('confirm_open', hours=within_hours(words))}\n\n{link}\n\n"
            f"{words.t('confirm_ignore')}\n"
        )
        data = head + msg.as_bytes(policy=WIRE)
        if delivery.dkim:
            data = dkim_header(data, delivery.dkim) + data
        return data

    def _work(self) -> None:
        while True:
            time.sleep(self.TICK)
            while not self.queue.empty():
                item = self.queue.get_nowait()
                if item is None:
                    return
                time.sleep(max(0.0, item[0] - time.monotonic()))
                self._send(*item[1:])

    def _send(self, email: str, token: str, link: str) -> None:
        delivery = self.config.delivery
        try:
            data = self.message(email, link)
            if delivery.smtp is None:
                folder = Path(delivery.outbox)
                folder.mkdir(parents=True, exist_ok=True)
                file = f"confirm-{file_safe_name(email)}-{time.time_ns()}.eml"
                (folder / file).write_bytes(data)
                return
            envelope = envelope_sender(delivery, {email: token}, self.signer)
            relay = Relay(delivery.smtp)
            try:
                code, answer, _ = relay.send(
                    envelope(email) if callable(envelope) else envelope, email, data
                )
            finally:
                relay.close()
            if not 200 <= code < 300:
                logger.warning("confirmation to %s: %s", email, answer)
        except Exception as e:  # the server goes on; the reader can sign up again
            logger.warning("confirmation to %s not sent: %s", email, e)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=30)


def inbox_of(email: str) -> str:
    """The inbox an address delivers to, for the limit on confirmation mails: sub-addresses
    (ann+1@, ann+2@) are one inbox at most providers, and at Gmail dots count for nothing."""
    local, _, domain = email.lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def within_hours(words: Catalogue) -> str:
    """How long a confirmation link works ("48 hours"), as the text after "within" says it."""
    return words.n("within_hours", CONFIRM_SECONDS // 3600)


class App:
    """The WSGI application."""

    def __init__(self, config: Config):
        if config.web is None or not config.web.url or not config.web.secret_env:
            raise ConfigError(
                "`digest serve` needs `web: {url, secret_env}` in the configuration",
                str(config.path),
                key="web",
            )
        self.config = config
        self.words = catalogue(config.language)
        self.signer = config.web.signer()
        url = urlsplit(config.web.url)
        self.origin = f"{url.scheme}://{url.netloc}"
        self.root = url.path if url.path.endswith("/") else url.path + "/"  # as links write it
        # as PATH_INFO gives it (WSGI: the path's bytes, percent-decoded, as Latin-1)
        self.path_root = unquote_to_bytes(self.root).decode("latin-1")
        self.https = url.scheme == "https"
        self.signups = RateLimit(*SIGNUPS_PER_CLIENT)
        self.mails = RateLimit(*MAILS_PER_ADDRESS)
        self.posts = RateLimit(*POSTS_PER_CLIENT)
        self.mailer = Mailer(config, self.signer)
        self.archive = config.archive_folder()
        # One connection for every server thread, used under a lock: requests are short, the
        # state has one writer at a time anyway, and on SQLite a second connection opened in
        # this process would drop the first one's locks (closing any descriptor of the file
        # releases a process's POSIX locks on it), letting another process delete the WAL.
        self.lock = threading.Lock()
        self._store: Store | None = Store.for_config(config)

    # --- plumbing -------------------------------------------------------------------------

    def store(self) -> Store:
        """The state's one connection (callers hold self.lock); reopened after a failure."""
        if self._store is None:
            self._store = Store.for_config(self.config)
        return self._store

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            with self.lock:
                response = self.route(environ)
        except Exception:
            logger.exception("request failed")
            with self.lock:
                if self._store is not None:  # a broken connection is not kept
                    self._store.close()
                    self._store = None
            response = self.page(
                self.words.t("server_error"),
                [self.words.t("server_error_text")],
                "500 Internal Server Error",
            )
        headers = [
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(response.body))),
            *self.security_headers(response.archive),
            *response.headers,
        ]
        start_response(response.status, headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [response.body]

    def security_headers(self, archive: bool) -> list[tuple[str, str]]:
        if archive:
            csp = (
                "default-src 'none'; img-src * data:; style-src 'unsafe-inline' 'self'; "
                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
            )
        else:
            csp = (
                f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'"
            )
        headers = [
            ("Content-Security-Policy", csp),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "same-origin"),  # tokens are in the paths: never sent elsewhere
            ("Cross-Origin-Opener-Policy", "same-origin"),
            ("Permissions-Policy", "interest-cohort=(), camera=(), microphone=(), geolocation=()"),
        ]
        if not archive:
            headers.append(("Cache-Control", "no-store"))
        if self.https:
            headers.append(("Strict-Transport-Security", "max-age=31536000"))
        return headers

    def route(self, environ: Environ) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        if not path.startswith(self.path_root) and path + "/" != self.path_root:
            return self.not_found()
        rest = path[len(self.path_root) :]
        if method not in ("GET", "HEAD", "POST"):
            return Response("405 Method Not Allowed", b"", headers=(("Allow", "GET, POST"),))
        if method == "POST":
            length = environ.get("CONTENT_LENGTH") or "0"
            if not length.isdigit() or int(length) > MAX_BODY:
                return self.page(
                    self.words.t("too_large"),
                    [self.words.t("too_large_text")],
                    "413 Content Too Large",
                )
            # one-click POSTs come from mail providers' servers, many readers' from one address:
            # they carry a signed token and are not limited per client (see unsubscribe)
            if not rest.startswith("unsubscribe/") and not self.posts.allow(self.client(environ)):
                return self.too_many()
        if rest in ("", "subscribe"):
            return self.subscribe(environ, method)
        if rest == "healthz":
            self.store().db.schema_version()  # the state answers
            return Response("200 OK", b"ok\n", "text/plain; charset=utf-8")
        if rest == "archive":  # its pages' links are relative to the folder
            return Response(
                "301 Moved Permanently", b"", headers=(("Location", self.url("archive/")),)
            )
        if rest.startswith("archive/"):
            return self.archive_file(rest[len("archive/") :])
        kind, _, token = rest.partition("/")
        token = token.removesuffix("/")  # a link written with a slash after the token
        if kind == "confirm" and token and method != "POST":
            return self.confirm(token, subscribe=method == "GET")
        if kind == "unsubscribe" and token:
            return self.unsubscribe(environ, method, token)
        if kind == "preferences" and token:
            return self.preferences(environ, method, token)
        return self.not_found()

    def client(self, environ: Environ) -> str:
        return environ.get("REMOTE_ADDR") or "unknown"

    def form(self, environ: Environ) -> dict[str, str]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        ctype = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if ctype == "multipart/form-data":  # RFC 8058 allows it for the one-click POST
            if b'name="List-Unsubscribe"' in body and b"One-Click" in body:
                return {"List-Unsubscribe": "One-Click"}
            return {}
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            return {}
        return {k: v[0] for k, v in fields.items()}

    def same_origin(self, environ: Environ) -> bool:
        origin = environ.get("HTTP_ORIGIN")
        return origin is None or origin == self.origin

    def cookie(self, environ: Environ) -> str | None:
        jar = SimpleCookie()
        try:
            jar.load(environ.get("HTTP_COOKIE", ""))
        except Exception:
            return None
        morsel = jar.get(CSRF_COOKIE)
        value = morsel.value if morsel else None
        return value if value and len(value) <= 64 and value.isascii() else None

    def url(self, *parts: str) -> str:
        return self.root + "/".join(parts)

    # --- pages ----------------------------------------------------------------------------

    def page(
        self,
        heading: str,
        lines: list[str],
        status: str = "200 OK",
        headers: tuple[tuple[str, str], ...] = (),
        **context,
    ) -> Response:
        archive = self.url("archive/") if self.archive.is_dir() else None
        html = _ENV.get_template("web_page.html.j2").render(
            t=self.words.t,
            lang=self.words.language,
            title=self.config.title,
            heading=heading,
            lines=lines,
            css=_CSS,
            page=context.pop("page", None),
            home=self.url("subscribe"),
            archive=archive,
            **context,
        )
        return Response(status, html.encode("utf-8"), headers=headers)

    def not_found(self) -> Response:
        t = self.words.t
        return self.page(t("not_found"), [t("not_found_text")], "404 Not Found")

    def bad_link(self, why: str = "link_not_valid_text") -> Response:
        """`why`: the catalogue's key for what is wrong with the link."""
        t = self.words.t
        lines = [t(why), t("sign_up_again", url=f"{self.config.web.url}subscribe")]
        return self.page(t("link_not_valid"), lines, "404 Not Found", page="none")

    def too_many(self) -> Response:
        return self.page(
            self.words.t("too_many"),
            [self.words.t("too_many_text")],
            "429 Too Many Requests",
            headers=(("Retry-After", "600"),),
        )

    def forbidden(self) -> Response:
        t = self.words.t
        return self.page(t("form_expired"), [t("form_expired_text")], "403 Forbidden")

    # --- subscribe and confirm ------------------------------------------------------------

    def subscribe(self, environ: Environ, method: str) -> Response:
        t, title = self.words.t, self.config.title
        cookie = self.cookie(environ)
        headers: tuple[tuple[str, str], ...] = ()
        if cookie is None:
            cookie = secrets.token_urlsafe(24)
            secure = "; Secure" if self.https else ""
            headers = (
                (
                    "Set-Cookie",
                    f"{CSRF_COOKIE}={cookie}; Path={self.root}; HttpOnly; SameSite=Strict{secure}",
                ),
            )
        form_context = {
            "page": "subscribe",
            "action": self.url("subscribe"),
            "csrf": self.signer.csrf(cookie, "subscribe"),
            "email": "",
            "name": "",
        }
        if method != "POST":
            return self.page(
                t("subscribe_to", title=title),
                [t("subscribe_pitch")],
                headers=headers,
                **form_context,
            )
        fields = self.form(environ)
        if not self.same_origin(environ) or not self.signer.check_csrf(
            fields.get("csrf", ""), self.cookie(environ) or "", "subscribe"
        ):
            return self.forbidden()
        if not self.signups.allow(self.client(environ)):
            return self.too_many()
        email = normalize_address(fields.get("email", ""))
        name = reader_name(fields.get("name"))
        if email is None:  # a typo costs the client none of its sign-ups
            self.signups.refund(self.client(environ))
            self.posts.refund(self.client(environ))
            return self.page(
                t("subscribe_to", title=title),
                [t("not_an_address")],
                "422 Unprocessable Content",
                headers=headers,
                **{**form_context, "email": fields.get("email", "")[:254], "name": name or ""},
            )
        # An inbox past its confirmations for the day changes nothing: a sign-up stored with
        # no mail would void the links already sent (a link confirms only the latest sign-up).
        inbox = inbox_of(email)
        if self.mails.allow(inbox):
            reader = self.store().readers().sign_up(email, name, self.client(environ))
            if reader is None:  # already reading: no mail, none of the inbox's counted
                self.mails.refund(inbox)
            else:
                self.mailer.confirm(reader)
        # the same answer whether or not the address is known, or was sent anything
        return self.page(
            t("check_inbox"),
            [t("check_inbox_text", email=email, title=title, hours=within_hours(self.words))],
            headers=headers,
        )

    def confirm(self, signed: str, subscribe: bool = True) -> Response:
        """GET subscribes the reader, as issue 20 asks; HEAD only answers whether the link is
        good: mail scanners (Safe Links and the like) send one to every link of a message."""
        try:
            token, made = self.signer.open_confirm(signed)
        except ExpiredToken:
            return self.bad_link("link_expired_text")
        except BadToken:
            return self.bad_link()
        if not subscribe:
            return Response("200 OK", b"")
        reader = self.store().readers().confirm(token, made)
        if reader is None:
            return self.bad_link()
        if reader.status == ReaderStatus.PENDING:
            return self.bad_link()
        t = self.words.t
        return self.page(
            t("subscribed"),
            [t("subscribed_text", email=reader.email, title=self.config.title)],
        )

    # --- unsubscribe and preferences ------------------------------------------------------

    def reader_of(self, signed: str) -> Reader | None:
        """The reader behind a signed link token. A bare state token (in links sent before
        links were signed) is taken too: it is as unguessable, and such links must keep
        working. An address is never a token."""
        try:
            token = self.signer.open_reader(signed)
        except BadToken:
            if "." in signed or "@" in signed or not 24 <= len(signed) <= 64:
                return None
            token = signed
        return self.store().readers().by_token(token)

    def unsubscribe(self, environ: Environ, method: str, signed: str) -> Response:
        t, title = self.words.t, self.config.title
        reader = self.reader_of(signed)
        if reader is None:
            return self.bad_link()
        if method != "POST":
            if reader.status in GONE:
                return self.page(
                    t("unsubscribed"),
                    [t("unsubscribed_already", email=reader.email, title=title)],
                    page="preferences",
                    **self.preference_context(signed, reader),
                )
            return self.page(
                t("unsubscribe_from", title=title),
                [t("unsubscribe_text", email=reader.email)],
                page="unsubscribe",
                action=self.url("unsubscribe", signed),
                csrf=self.signer.csrf(signed, "unsubscribe"),
                preferences=self.url("preferences", signed),
            )
        fields = self.form(environ)
        # RFC 8058: from the mail provider (its body sometimes ends in a line break)
        if fields.get("List-Unsubscribe", "").strip() == "One-Click":
            self.store().readers().set_status(reader.email, ReaderStatus.UNSUBSCRIBED, "one-click")
            return Response("200 OK", b"unsubscribed\n", "text/plain; charset=utf-8")
        if not self.posts.allow(self.client(environ)):
            return self.too_many()
        if not self.same_origin(environ) or not self.signer.check_csrf(
            fields.get("csrf", ""), signed, "unsubscribe"
        ):
            return self.forbidden()
        if reader.status not in GONE:
            self.store().readers().set_status(reader.email, ReaderStatus.UNSUBSCRIBED, "web")
        return self.page(
            t("unsubscribed"),
            [t("unsubscribed_text", email=reader.email, title=title)],
            page="preferences",
            **self.preference_context(signed, self.store().readers().get(reader.email)),
        )

    def today(self) -> dt.date:
        """Today in the digest's timezone, by which a pause is checked and ends (Store.today):
        the form's first and last days and the check of the date sent alike."""
        return dt.date.fromisoformat(self.store().today())

    def preference_context(self, signed: str, reader: Reader) -> dict:
        today = self.today()
        return {
            "action": self.url("preferences", signed),
            "csrf": self.signer.csrf(signed, "preferences"),
            "reader_status": str(reader.status),
            "name": reader.name or "",
            "tomorrow": (today + dt.timedelta(days=1)).isoformat(),
            "latest": (today + dt.timedelta(days=MAX_PAUSE_DAYS)).isoformat(),
            "subscribe": self.url("subscribe"),
        }

    def preferences(self, environ: Environ, method: str, signed: str) -> Response:
        t = self.words.t
        reader = self.reader_of(signed)
        if reader is None:
            return self.bad_link()
        readers = self.store().readers()
        said: list[str] = []
        changed = False  # an action that changed the status says the new one itself
        if method == "POST":
            fields = self.form(environ)
            if not self.same_origin(environ) or not self.signer.check_csrf(
                fields.get("csrf", ""), signed, "preferences"
            ):
                return self.forbidden()
            action = fields.get("do")
            if action == "name":
                readers.rename(reader.email, reader_name(fields.get("name")))
                said.append(t("name_saved"))
            elif action == "pause" and reader.status == ReaderStatus.ACTIVE:
                try:
                    until = dt.date.fromisoformat(fields.get("until", ""))
                except ValueError:
                    until = None
                today = self.today()
                if until is None or not today < until <= today + dt.timedelta(days=MAX_PAUSE_DAYS):
                    said.append(t("pause_date_wrong"))
                else:
                    readers.set_status(
                        reader.email, ReaderStatus.PAUSED, "paused by the reader", until.isoformat()
                    )
                    said.append(t("paused_now", date=self.words.date(until)))
                    changed = True
            elif action == "resume" and reader.status == ReaderStatus.PAUSED:
                readers.set_status(reader.email, ReaderStatus.ACTIVE, "resumed by the reader")
                said.append(t("resumed"))
                changed = True
            elif action == "unsubscribe" and reader.status not in GONE:
                readers.set_status(reader.email, ReaderStatus.UNSUBSCRIBED, "web")
                said.append(t("status_unsubscribed"))
                changed = True
            reader = readers.get(reader.email)
        state = {
            ReaderStatus.ACTIVE: t("status_active"),
            ReaderStatus.PAUSED: t("status_paused", date=self._paused_until(reader)),
            ReaderStatus.PENDING: t("status_pending"),
            ReaderStatus.UNSUBSCRIBED: t("status_unsubscribed"),
            ReaderStatus.BOUNCED: t("status_bounced"),
            ReaderStatus.COMPLAINED: t("status_unsubscribed"),
        }[reader.status]
        lines = said if changed else [*said, state]
        return self.page(
            t("your_subscription"),
            [t("reader_line", email=reader.email, line=lines[0]), *lines[1:]],
            page="preferences",
            **self.preference_context(signed, reader),
        )

    def _paused_until(self, reader: Reader) -> str:
        """The day a pause ends, as the language writes dates (as stored, if unreadable)."""
        try:
            return self.words.date(dt.date.fromisoformat((reader.paused_until or "")[:10]))
        except ValueError:
            return reader.paused_until or ""

    # --- the archive --------------------------------------------------------------------

    def archive_file(self, rest: str) -> Response:
        if not self.archive.is_dir():
            return self.not_found()
        try:  # a NUL byte or a name too long for the file system: no such page
            target = (self.archive / (rest or "index.html")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if self.archive.resolve() not in target.parents or not target.is_file():
                return self.not_found()
            if any(
                part.startswith(".") for part in target.relative_to(self.archive.resolve()).parts
            ):
                return self.not_found()  # the archive's own files (.unpublished, .lock)
        except (ValueError, OSError):
            return self.not_found()
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.name == FEED:
            kind = FEED_TYPE  # not the application/xml a file name gives: feed readers ask
        elif kind.startswith("text/") or kind.endswith("xml"):
            kind += "; charset=utf-8"
        return Response("200 OK", target.read_bytes(), kind, archive=True)


def make_server(config: Config, host: str = "127.0.0.1", port: int = 8080):
    """The waitress server (not yet serving); `.run()` serves until stopped."""
    app = App(config)
    try:
        server = create_server(
            app,
            host=host,
            port=port,
            threads=4,
            max_request_body_size=MAX_BODY,
            max_request_header_size=16 * 1024,
            # Idle or trickling clients: waitress's 100 connections and 120 s let 100 of them
            # lock everyone out; a proxy in front buffers them, these make it harder without.
            connection_limit=1000,
            channel_timeout=30,
            trusted_proxy="127.0.0.1",  # the TLS proxy in front, on this machine
            trusted_proxy_headers={"x-forwarded-for"},
            clear_untrusted_proxy_headers=True,
            ident="digest",
        )
    except ValueError:  # waitress, when the host is no address and no name that resolves
        raise UsageError(
            f"--host {host} --port {port}: cannot listen (no such address or host name)",
            "give an address of this machine, e.g. 127.0.0.1 or 0.0.0.0",
        ) from None
    server.digest_app = app
    return server


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080) -> None:
    with serve_lock(config.state):  # `state copy` waits for no one: it is refused meanwhile
        _serve(config, host, port)


def _serve(config: Config, host: str, port: int) -> None:
    try:
        server = make_server(config, host, port)
    except OSError as e:
        raise UsageError(f"--host {host} --port {port}: cannot listen ({e.strerror})") from None
    print(
        f"serving {config.web.url} on http://{host}:{server.effective_port}/ (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    try:
        server.run()
    except (KeyboardInterrupt, OSError):
        pass
    finally:
        server.digest_app.mailer.close()
