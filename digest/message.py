"""The message of an issue for one recipient, as bytes for the wire: MIME with text and HTML
alternatives in quoted-printable, the list headers (List-Id, List-Unsubscribe), a stable
Message-ID and a DKIM signature when configured. Nothing here sends."""

from __future__ import annotations

import base64
import binascii
import datetime
import email
import hashlib
import html
import re
import secrets
import time
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from .config import DeliveryConfig, DkimConfig
from .dkim_sign import DkimKeyError, load_key, sign
from .errors import ConfigError
from .models import RenderedDigest, around_footer_link
from .recipients import recipient_names
from .text import EMAIL, clean_text, reader_name

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


def header_safe(text: str) -> str:
    """No CR, LF or other control characters may reach a header: the renderer's own
    one-line cleaning (controls and line separators become spaces, format characters go)."""
    return clean_text(text)


def unsubscribe_link(delivery: DeliveryConfig, token: str | None) -> str:
    """The recipient's own unsubscribe URL; a mailto: to the sender when no URL is set."""
    if delivery.unsubscribe_url:
        # preview has no recipient and so no token: the link shows where it would lead
        return delivery.unsubscribe_url.replace("{token}", token or "preview")
    return f"mailto:{sender(delivery.from_addr)[1]}?subject=unsubscribe"


def sender(from_addr: str) -> tuple[str, str, str]:
    """`delivery.from`'s display name, its address, and the domain the Message-IDs and the
    List-Id are made under ("localhost" for an address without one)."""
    name, address = parseaddr(from_addr)
    return name, address, address.rpartition("@")[2] or "localhost"


def from_header(from_addr: str) -> bytes:
    name, address, _ = sender(from_addr)
    return address_header("From", header_safe(name), address)


def list_id(from_addr: str) -> str:
    """RFC 2919 List-Id from the From header: `Central Asia Daily <digest.example.com>`."""
    name, address, domain = sender(from_addr)
    label = re.sub(r"[^A-Za-z0-9-]+", "-", address.rpartition("@")[0]).strip("-") or "digest"
    # The phrase is shown only; characters that would need quoting are dropped.
    # "=" too: with it, "=?...?=" would be read as an encoded word (see looks_encoded).
    phrase = " ".join(re.sub(r'[()<>\[\]:;@\\,."=]', " ", header_safe(name)).split())
    list_address = f"<{label}.{domain}>"
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
        self.domain = sender(delivery.from_addr)[2]
        self.from_ = from_header(delivery.from_addr)
        self.subject = text_header("Subject", header_safe(rendered.subject))
        self.list_id = fold_header("List-Id", list_id(delivery.from_addr))
        # the CSV's name column, `Name <addr>` in to:, and the names readers gave (by address)
        self.names = recipient_names(delivery) | (names or {})
        self.text = _EncodedPart(to_crlf(rendered.text))
        self.html = _EncodedPart(to_crlf(rendered.html))
        # "=_" never occurs in quoted-printable text, so this boundary cannot collide.
        b = f"=_digest_{secrets.token_hex(12)}".encode()
        self.mime = (
            b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="%s"\r\n' % b
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
            data = dkim_header(data, self.delivery.dkim) + data
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
        # the CSV's name, stored before the cap too
        return to_header(recipient, reader_name(self.names.get(recipient.lower())))


class _EncodedPart:
    """One part, quoted-printable encoded once, in two pieces: before and after the footer's
    unsubscribe link (see models.around_footer_link). A reader's link is encoded on
    its own and joined to them by soft line breaks, so the decoded part is exactly the text
    with the link filled in, and no encoded line grows past 76 characters."""

    def __init__(self, text: str):
        around = around_footer_link(text)
        self.found = around is not None
        if around is None:
            self.head, self.tail = _qp(text), b""
            return
        head, tail = around
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
    return fold_header("List-Unsubscribe", value)


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


def looks_encoded(text: str) -> bool:
    """Text with "=?" in it, which the email package reads as RFC 2047 encoded words and
    decodes before folding: a headline "=?utf-8?q?A=0D=0AReply-To:_x@evil.example?=" went out
    as a Subject line and a Reply-To line. Such text is encoded here (`_encoded_words`), so
    it reads back as written."""
    return "=?" in text


def to_header(recipient: str, name: str | None = None) -> bytes:
    """`To:` with the recipient's name when there is one, quoted or RFC 2047-encoded by the
    email package (formataddr; folded by the policy when it is long). An address is written
    as it is: the email package decodes one that looks like encoded words
    ("=?utf-8?q?a=40evil.example=2C_b?=@example.com" is a valid address) into other ones."""
    if not EMAIL.match(recipient):
        return fold_header("To", header_safe(recipient))
    if not name:  # the plain ASCII addresses load_recipients gives
        return f"To: {recipient}\r\n".encode()
    line = f"To: {formataddr((name, recipient), charset='utf-8')}"
    if len(line) <= 78 and not looks_encoded(name):
        return f"{line}\r\n".encode("ascii")
    return address_header("To", name, recipient)


def fold_header(name: str, value: object) -> bytes:
    """One header, RFC 2047-encoded where needed and folded, CRLF-terminated."""
    folded = WIRE.fold_binary(*WIRE.header_store_parse(name, value))
    # The folder can leave a space before a fold that precedes an encoded word; unfolding
    # then reads two spaces ("Electric  Vehicle"). One space, in the fold, is enough.
    return folded.replace(b" \r\n ", b"\r\n ")


def text_header(name: str, text: str) -> bytes:
    """An unstructured header (Subject) of one line of text. Where it needs RFC 2047 encoded
    words, the whole text is encoded words that carry their own spaces: the email package's
    folder can leave the space between two words outside, between two encoded words, where
    RFC 2047 decoders drop it ("вдвое больше" reads "вдвоебольше")."""
    if not looks_encoded(text):
        folded = fold_header(name, text)
        if b"=?" not in folded:
            return folded
    return f"{name}: {_encoded_words(text)}\r\n".encode("ascii")


def address_header(name: str, display_name: str, address: str) -> bytes:
    """`From:` or `To:` with a display name, encoded as `text_header` encodes (the address
    itself stays plain, on the last line when it fits)."""
    if not looks_encoded(display_name) and not looks_encoded(address):
        folded = fold_header(name, Address(display_name=display_name, addr_spec=address))
        if b"=?" not in folded or not address.isascii():
            return folded
    words = _encoded_words(display_name)
    last_line = f"{name}: {words}".rpartition("\r\n")[2]
    gap = " " if len(last_line) + len(address) + 3 <= 78 else "\r\n "
    return f"{name}: {words}{gap}<{address}>\r\n".encode("ascii")


def _encoded_words(text: str) -> str:
    """`text` as RFC 2047 encoded words (UTF-8, base64), one a line: each holds whole words
    with the space after each, as decoders drop the whitespace between two encoded words; a
    word longer than one encoded word is cut between characters. 42 bytes make an encoded
    word of 68 characters, which fits after "Subject: " in 78."""
    chunks, current = [], b""
    for piece in re.findall(r"\S+\s*|\s+", text):
        data = piece.encode()
        if current and len(current) + len(data) > _ENCODED_BYTES:
            chunks.append(current)
            current = b""
        while len(data) > _ENCODED_BYTES:
            cut = _ENCODED_BYTES
            while data[cut] & 0xC0 == 0x80:  # not inside a character's bytes
                cut -= 1
            chunks.append(data[:cut])
            data = data[cut:]
        current += data
    chunks.append(current)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(c).decode()}?=" for c in chunks)


_ENCODED_BYTES = 42


def to_crlf(text: str) -> str:
    """Every line end as CRLF, as a message on the wire has them."""
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


def dkim_header(data: bytes, config: DkimConfig) -> bytes:
    """The DKIM-Signature header line(s) for the message, to go on top of it (signed by
    digest/dkim_sign.py with OpenSSL, through `cryptography`)."""
    try:
        key = load_key(str(config.key_file), config.key_file.stat().st_mtime_ns)
    except OSError as e:  # the config's file and line are added where it is known
        raise ConfigError(
            f"cannot read the DKIM key {config.key_file} ({e.strerror})",
            key="delivery.dkim.key_file",
        ) from None
    except DkimKeyError as e:
        raise ConfigError(
            f"cannot sign with the DKIM key {config.key_file} ({e})",
            key="delivery.dkim.key_file",
            hint="the key file must hold an RSA (or Ed25519) private key in PEM form",
        ) from None
    return sign(data, config.selector, config.domain, key, DKIM_HEADERS)
