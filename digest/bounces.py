"""Bounces and complaints: the `bounces:` mailbox (Maildir, mbox, or IMAP over TLS) read into
reader statuses.

Each new message is read once (the state keeps a hash of every message read):

- a complaint (an ARF feedback report, RFC 5965) unsubscribes its reader (`complained`);
- a bounce names its reader by the VERP address it was sent back to
  (`delivery.return_path: "bounces+{token}@..."`: exact, whatever the bounce's format), else by
  the failed addresses that flufl.bounce (GNU Mailman's detector: RFC 3464 DSNs and the
  non-standard formats of many real MTAs) finds in it;
- a permanent failure (5.x.x) stops mail to that reader at once; temporary ones (4.x.x, also
  when the MTA gave up on them, and a full mailbox however told) after 3 within 30 days; a refusal by policy (X.7.X: a spam or DMARC block) stops nobody
  (digest/state/readers.py).

A message that is neither (a reader's reply) is left alone and noted. One broken message
never stops the others.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.errors
import email.header
import email.policy
import hashlib
import imaplib
import logging
import mailbox
import os
import re
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures

from .errors import ConfigError, DigestError
from .state.readers import bounce_kind, says_mailbox_full
from .text import clean_text, counted, normalize_address
from .tokens import BadToken, Signer

# flufl.bounce logs a detector's exception, traceback and all, before it raises it: the
# message is named in the report instead (read_bounces).
_FLUFL_LOG = logging.getLogger("flufl.bounce")
_FLUFL_LOG.addHandler(logging.NullHandler())
_FLUFL_LOG.propagate = False


class BounceMailboxError(DigestError):
    """The bounces mailbox cannot be read."""


@dataclass(frozen=True)
class Finding:
    """What one message says of one reader."""

    kind: str  # hard | soft | complaint
    email: str | None  # the failed address, when no VERP token names the reader
    token: str | None  # the reader's state token, from the VERP address
    detail: str


@dataclass
class BounceReport:
    read: int = 0  # new messages read
    events: list[dict] = field(default_factory=list)  # {email, kind, status, detail, message}
    ignored: list[str] = field(default_factory=list)  # messages that were no bounce

    def notes(self) -> list[str]:
        changed = [e for e in self.events if e["status"] in ("bounced", "complained")]
        if not self.read:
            return []
        return [
            f"bounces: read {counted(self.read, 'new message')}; "
            f"{counted(len(changed), 'reader')} stopped ({', '.join(e['email'] for e in changed) or 'none'})"
        ]

    def to_json(self) -> dict:
        return {"read": self.read, "events": self.events, "ignored": self.ignored}


# --- classifying one message ------------------------------------------------------------------

_VERP = re.compile(r"\+([a-z2-7]+-[0-9a-f]{16})@", re.IGNORECASE)


def _verp_token(addresses: list[str], signer: Signer | None) -> str | None:
    if signer is None:
        return None
    for address in addresses:
        for match in _VERP.finditer(address):
            try:
                return signer.open_verp(match.group(1))
            except BadToken:
                continue
    return None


def _envelope_addresses(msg: Message) -> list[str]:
    """Where the bounce was sent: the VERP address, if the MTA kept it."""
    out = []
    for name in ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To"):
        out.extend(str(v) for v in msg.get_all(name, []))
    return out


def _original(msg: Message) -> Message | None:
    """The returned message (or its headers) inside a bounce or a feedback report."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                return inner[0]
        if ctype == "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            return email.message_from_bytes(payload)
    return None


def _link_token(original: Message | None, signer: Signer | None) -> str | None:
    """The reader's token from the returned message's List-Unsubscribe link."""
    if original is None or signer is None:
        return None
    for value in original.get_all("List-Unsubscribe", []):
        for link in re.findall(r"<([^>]+)>", str(value)):
            tail = link.rstrip("/").rsplit("/", 1)[-1].split("=")[-1]
            try:
                return signer.open_reader(tail)
            except BadToken:
                continue
    return None


def _is_feedback_report(msg: Message) -> bool:
    return msg.get_content_type() == "multipart/report" and (
        (msg.get_param("report-type") or "").lower() == "feedback-report"
    )


def _feedback(msg: Message, signer: Signer | None) -> list[Finding]:
    """An ARF report (RFC 5965): who complained."""
    fields: Message | None = None
    for part in msg.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                fields = payload[0]  # the email package parses its fields as a message
            else:
                fields = email.message_from_string(str(payload or ""))
    kind = (fields.get("Feedback-Type", "abuse") if fields else "abuse").strip().lower()
    if kind not in ("abuse", "fraud", "virus", "other", "not-spam"):
        kind = "abuse"
    if kind == "not-spam":
        return []
    original = _original(msg)
    token = _link_token(original, signer) or (
        _verp_token([str(original.get("Return-Path", ""))], signer) if original else None
    )
    address = None
    if fields is not None:
        rcpt = fields.get("Original-Rcpt-To")
        if rcpt:
            address = getaddresses([str(rcpt)])[0][1] or None
    if address is None and original is not None and original.get("To"):
        address = getaddresses([str(original["To"])])[0][1] or None
    if token is None and address is None:
        return []
    return [Finding("complaint", address, token, f"complaint ({kind}) by feedback report")]


# an enhanced status code (RFC 3463) inside a diagnostic: "552 5.2.2 Mailbox full"
_ENHANCED = re.compile(r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])")
# where a bounce's own words end: the returned message's first header, or the line that
# announces it ("--- Below this line is a copy of the message.", "Original message follows")
_RETURNED = re.compile(
    r"(?:return-path|received|message-id|from|to|subject|date|mime-version|content-type"
    r"|dkim-signature|list-unsubscribe)[ \t]*:"
    r"|.*(?:below this line|original message (?:follows|below|headers)|this is a copy of the )"
    r"|\s*-{2,}.*(?:copy of|original message)",
    re.IGNORECASE,
)


def _delivery_status(msg: Message) -> tuple[str, str | None]:
    """What a bounce says went wrong (for the record, and for `bounce_kind`), and its status
    (5.1.1). A DSN's first diagnostic, with its Status beside it when the diagnostic has no
    enhanced code ("X-Postfix; cannot update mailbox", Status 5.2.2). Other formats say it in
    their own words: the line that says the mailbox is full, else the first line with an
    enhanced code ("... (#4.4.1)"), whose code is then the status."""
    detail, status = _subject(msg), None
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload() or []
            found = next((b for b in blocks if b.get("Diagnostic-Code") or b.get("Status")), None)
            if found is not None:
                status = (clean_text(str(found.get("Status") or "")).split() or [None])[0]
                detail = clean_text(str(found.get("Diagnostic-Code") or found["Status"]))
                if status and not _ENHANCED.search(detail):
                    detail = f"{detail} (Status {status})"
            break
    if says_mailbox_full(detail):
        return detail[:300], status
    own = [clean_text(line) for line in _own_words(msg)]
    said = next((line for line in own if says_mailbox_full(line)), None)
    if status is None:
        coded = next((line for line in own if _ENHANCED.search(line)), None)
        if coded is not None:
            status = _ENHANCED.search(coded).group()
            said = said or coded
    if said is not None:
        detail = f"{detail[:150]}: {said[:140]}"
    return detail[:300], status


def _subject(msg: Message) -> str:
    """The bounce's Subject on one line, its encoded words decoded ("=?utf-8?B?...?="), without
    the control characters they may hide (a NUL no PostgreSQL text takes, a terminal's ESC)."""
    raw = str(msg.get("Subject", "bounce"))
    try:
        raw = str(email.header.make_header(email.header.decode_header(raw)))
    except (LookupError, UnicodeDecodeError, email.errors.HeaderParseError):
        pass  # an unknown charset or a broken encoded word: kept as written
    return clean_text(raw)


def _own_words(part: Message) -> Iterator[str]:
    """The lines of a bounce's own text parts, without the message it returns."""
    if part.get_content_maintype() == "message":
        return
    if part.is_multipart():
        for sub in part.get_payload():
            yield from _own_words(sub)
        return
    if part.get_content_type() != "text/plain":
        return
    payload = part.get_payload(decode=True) or b""
    try:
        text = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    except (LookupError, ValueError):  # a charset Python does not know, or a NUL in its name
        text = payload.decode("latin-1")
    for line in text.splitlines():
        if _RETURNED.match(line):
            return
        yield line


class _TextHeaders(email.policy.Compat32):
    """compat32, which flufl.bounce's detectors are written for, but every header read as
    text: a header with 8-bit bytes (an MTA's unencoded "From: Служба доставки <MAILER-DAEMON@...>")
    was an email.header.Header, with no `.lower()`, and one detector's AttributeError lost the
    whole bounce."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


_TEXT_HEADERS = _TextHeaders()


def classify(raw: bytes, signer: Signer | None) -> list[Finding]:
    """What one message of the bounces mailbox says of which readers ([] : not a bounce)."""
    msg = email.message_from_bytes(raw, policy=_TEXT_HEADERS)
    if not getaddresses([str(msg.get("From", ""))]):
        # no From, or an empty one: flufl.bounce's Yale detector takes its first address
        # (IndexError), and every bounce after it was lost
        del msg["From"]
        msg["From"] = "<>"
    if _is_feedback_report(msg):
        return _feedback(msg, signer)
    temporary, permanent = all_failures(msg)
    token = _verp_token(_envelope_addresses(msg), signer)
    detail, status = _delivery_status(msg)
    # a DSN's Status decides (RFC 3464): "failed" with 4.x.x is mail that expired in a queue
    # after temporary failures (a full mailbox, a server down for days), not a bad address
    failed = "soft" if (status or "").startswith("4.") else "hard"
    if token is not None:
        if permanent or not temporary:
            dsn = msg.get_content_type() == "multipart/report"
            if permanent or dsn or _looks_like_bounce(msg):
                return [Finding(failed, None, token, detail)]
            return []
        return [Finding("soft", None, token, detail)]
    found = [Finding(failed, a.decode(errors="replace"), None, detail) for a in sorted(permanent)]
    found += [
        Finding("soft", a.decode(errors="replace"), None, detail)
        for a in sorted(temporary - permanent)
    ]
    return found


def _looks_like_bounce(msg: Message) -> bool:
    sender = str(msg.get("From", "")).lower()
    return "mailer-daemon" in sender or "postmaster" in sender or not msg.get("Return-Path", "x")


# --- the mailboxes ----------------------------------------------------------------------------

# (key, raw bytes, mark-as-done) for each message
Entry = tuple[str, bytes, Callable[[], None]]


def _maildir(path) -> Iterator[Entry]:
    """The unseen messages of a Maildir, read as bytes: a message is parsed by `classify`
    alone, inside its own guard (mailbox.Maildir parses each to read its flags, and one
    message nested 3,000 deep stopped every run). Seen: moved to cur/ with the S flag."""
    if not (path / "new").is_dir() and not (path / "cur").is_dir():
        raise BounceMailboxError(
            f"{path}: not a Maildir (no new/ or cur/ folder)",
            "point `bounces.maildir` at the mailbox your mail server delivers bounces to",
        )
    for sub in ("new", "cur"):
        folder = path / sub
        files = sorted(folder.iterdir()) if folder.is_dir() else []
        for file in files:
            key, _, info = file.name.partition(":")
            flags = info[2:] if info.startswith("2,") else ""
            if file.name.startswith(".") or "S" in flags or not file.is_file():
                continue

            def done(file=file, key=key, flags=flags) -> None:
                seen = "".join(sorted(set(flags) | {"S"}))
                try:
                    file.rename(path / "cur" / f"{key}:2,{seen}")
                except OSError:
                    # a Maildir digest may read but not change (the mail server's, readable
                    # by its group), or with no cur/: the state's hash of each message keeps
                    # it read once; this stopped `bounces` and every `run`
                    pass

            try:
                raw = file.read_bytes()
            except OSError:  # taken by another reader of the box meanwhile
                continue
            yield key, raw, done


def _mbox(path) -> Iterator[Entry]:
    if not path.is_file():
        raise BounceMailboxError(
            f"{path}: no such mbox file", "point `bounces.mbox` at the mailbox file"
        )
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.keys():
            yield str(key), box.get_bytes(key), lambda: None
    finally:
        box.close()


def _imap(config) -> Iterator[Entry]:
    imap = config.imap
    password = os.environ.get(imap.password_env)
    if password is None:
        raise ConfigError(
            f"environment variable {imap.password_env} is not set",
            key="bounces.imap.password_env",
            hint=f"export {imap.password_env}=... (the password never goes in the file)",
        )
    where = f"imaps://{imap.host}:{imap.port}/{imap.folder}"
    try:
        conn = imaplib.IMAP4_SSL(imap.host, imap.port, ssl_context=ssl.create_default_context())
    except (OSError, imaplib.IMAP4.error) as e:
        raise BounceMailboxError(f"{where}: cannot connect ({e})") from None
    try:
        try:
            _login(conn, imap.user, password)
            status, _ = conn.select(_imap_quote(_imap_folder(imap.folder)))
            if status != "OK":
                raise BounceMailboxError(f"{where}: no such folder")
            _, data = conn.uid("SEARCH", None, "UNSEEN")
        except imaplib.IMAP4.error as e:
            raise BounceMailboxError(f"{where}: {e}") from None
        for uid in (data[0] or b"").split():
            try:
                _, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            except (OSError, imaplib.IMAP4.error) as e:
                # the server went away (a restart, an idle timeout): this stopped `bounces`
                # and every `run` with a traceback; the messages read so far stay recorded
                raise BounceMailboxError(f"{where}: the server broke off ({e})") from None
            raw = next((p[1] for p in parts if isinstance(p, tuple)), b"")

            def done(uid=uid) -> None:
                # the state's hash of the message keeps it read once, flag or no flag
                with contextlib.suppress(OSError, imaplib.IMAP4.error):
                    conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")

            yield uid.decode(), raw, done
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def _login(conn: imaplib.IMAP4, user: str, password: str) -> None:
    """LOGIN, which imaplib sends in ASCII only: a Cyrillic password (or user) stopped
    `bounces` and every `run` with UnicodeEncodeError. Such a one goes by SASL PLAIN, whose
    credentials are UTF-8 (RFC 4616)."""
    if user.isascii() and password.isascii():
        conn.login(user, password)
    else:
        conn.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())


def _imap_quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# A name already in modified UTF-7 ("&BB4EQgQ6BDAENwRL-", as a mail client or the server's
# folder on disk shows it): how a Cyrillic folder had to be written before digest encoded it
_MODIFIED_UTF7 = re.compile(r"(?:[ -%'-~]|&-|&[A-Za-z0-9+,]+-)*")


def _in_modified_utf7(name: str) -> bool:
    """Whether `name` is modified UTF-7 already: each &...- decodes to UTF-16 letters that
    are not printable ASCII ("R&D-x" is no such name, and goes encoded as "R&-D-x")."""
    if not _MODIFIED_UTF7.fullmatch(name):
        return False
    for shifted in re.findall(r"&([^-]+)-", name):
        try:
            data = base64.b64decode(shifted.replace(",", "/") + "=" * (-len(shifted) % 4))
            text = data.decode("utf-16-be")
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return False
        if _shifted(text) != f"&{shifted}-" or any(" " <= c <= "~" for c in text):
            return False
    return True


def _shifted(text: str) -> str:
    """Letters past printable ASCII as modified UTF-7 writes them: "&" base64 of their
    UTF-16, "," for "/", no padding, "-"."""
    data = base64.b64encode(text.encode("utf-16-be")).decode("ascii")
    return "&" + data.rstrip("=").replace("/", ",") + "-"


def _imap_folder(name: str) -> str:
    """A folder's name as IMAP writes it, in modified UTF-7 (RFC 3501 5.1.3): "Входящие" is
    "&BBIERQQ+BDQETwRJBDgENQ-". imaplib sends ASCII only: a Cyrillic name stopped `bounces`
    and every `run` with UnicodeEncodeError. A name written so already goes as it is."""
    if _in_modified_utf7(name):
        return name
    out: list[str] = []
    other: list[str] = []

    def shift() -> None:
        if other:
            out.append(_shifted("".join(other)))
            other.clear()

    for char in name:
        if " " <= char <= "~":
            shift()
            out.append("&-" if char == "&" else char)
        else:
            other.append(char)
    shift()
    return "".join(out)


def messages(config) -> Iterator[Entry]:
    bounces = config.bounces
    if bounces.maildir is not None:
        return _maildir(bounces.maildir)
    if bounces.mbox is not None:
        return _mbox(bounces.mbox)
    return _imap(bounces)


# --- reading them into the state ---------------------------------------------------------------

# A bounce or a complaint returns one message of ours (its HTML kept under about 102 KB) with a
# few KB of its own. Parsed, a message takes about 13 times its size in memory (a 40 MB one,
# 524 MB), so a large one anyone mails to the mailbox killed `run` on a small host, every run,
# before it sent anything (it is marked read only once read).
MAX_MESSAGE = 5 * 1024 * 1024


def read_bounces(config, store) -> BounceReport:
    """Read the new messages of the `bounces:` mailbox and record what they say."""
    signer = config.web.signer() if config.web else None
    # With a return path per reader, a bounce that was not sent back to one, or a complaint
    # that quotes no message of ours, is anyone's word: it names an address, never a token.
    per_reader = config.delivery.return_path_per_reader
    readers = store.readers()
    report = BounceReport()
    for key, raw, done in messages(config):
        digest = hashlib.sha256(raw).hexdigest()
        if readers.message_seen(digest):
            done()
            continue
        report.read += 1
        try:
            if len(raw) > MAX_MESSAGE:
                findings = []
                report.ignored.append(
                    f"{key}: {len(raw) / 2**20:.0f} MB, too large for a bounce of ours, left alone"
                )
            else:
                findings = classify(raw, signer)
                if not findings:
                    report.ignored.append(f"{key}: not a bounce or complaint, left alone")
        except Exception as e:  # one broken message never stops the others
            findings = []
            report.ignored.append(f"{key}: cannot be read as a bounce ({type(e).__name__})")
        for finding in findings:
            # what a detector took for the address may be none ("ann\x00@x.org"): one a
            # PostgreSQL state cannot even look up stopped `bounces` and every `run`, and its
            # control characters reached the terminal in the notes
            email = normalize_address(finding.email) if finding.email else None
            if finding.email and email is None and finding.token is None:
                report.ignored.append(f"{key}: names {finding.email!r}, not an address: left alone")
                continue
            if per_reader and finding.token is None:
                report.ignored.append(
                    f"{key}: names {email} but no reader's return path or link: "
                    "left alone (anyone can write such a message)"
                )
                continue
            reader = readers.by_token(finding.token) if finding.token else None
            address = reader.email if reader else email
            after = readers.bounce(address, finding.kind, finding.detail) if address else None
            report.events.append(
                {
                    "email": address,
                    "kind": bounce_kind(finding.kind, finding.detail),
                    "status": str(after.status) if after else "not a reader",
                    "detail": finding.detail,
                    "message": key,
                }
            )
        readers.mark_message(digest)
        done()
    return report
