"""Who a digest goes to: `delivery.to` and the recipients CSV file, checked and named.

Every address that cannot be used is a Problem naming where it is written (the config
file and line for `delivery.to`, the CSV file and line for the list) and is skipped; when
nobody usable is left because of such problems, `nobody_to_send_to` is the error that
names them. The display names (`Ann <ann@example.com>` in `to:`, the CSV's name column) are
kept apart from the addresses: the state knows a recipient by the address alone, and the
name only goes into the `To:` header, encoded there by the email package.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from email.utils import parseaddr
from pathlib import Path

from .config import Config, DeliveryConfig, LineMap
from .encoding import marked_encoding, utf8_with_strays
from .errors import ConfigError
from .models import Problem
from .state.readers import Reader
from .state.storage import Storage
from .text import normalize_address, reader_name

HEADER_WORDS = ("email", "e-mail", "address", "mail", "email address", "e-mail address")


def _header_columns(row: list[str]) -> tuple[int, int | None] | None:
    """A first line naming its columns: (the address's, the name's), wherever they stand
    ("Имя;Email", Mailchimp's "Email Address,First Name,..."); None when it is a reader.
    The name's is the first named "...name...", else the other of two (the second, under a
    lone "email")."""
    cells = [cell.strip().lower() for cell in row]
    address = next((i for i, cell in enumerate(cells) if cell in HEADER_WORDS), None)
    if address is None:
        return None
    named = [i for i, cell in enumerate(cells) if i != address and "name" in cell]
    if not named and len(cells) <= 2:
        named = [1 - address if len(cells) == 2 else 1]
    return address, named[0] if named else None


def _cell(row: list[str], column: int | None) -> str:
    return row[column].strip() if column is not None and column < len(row) else ""


@dataclass(frozen=True)
class Recipient:
    address: str  # as sent to: IDN domains in their ASCII form
    name: str | None = None  # for the To: header only


def split_addresses(entry: str) -> list[str]:
    """`"a@x.org, B <b@y.org>"` -> the two, each as written; commas inside quotes or angle
    brackets do not split."""
    parts, current, quoted, angle = [], [], False, 0
    for ch in entry:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            angle += 1
        elif not quoted and ch == ">":
            angle = max(0, angle - 1)
        if ch == "," and not quoted and not angle:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


NAMED = re.compile(r"^(?P<name>[^<>]*)<(?P<address>[^<>]+)>$")


def _parse_one(text: str) -> Recipient | None:
    """`Ann <ann@x.org>` or a bare address; None when it is not one usable address."""
    text = text.strip()
    named = NAMED.match(text)
    if not named:
        address = normalize_address(text)
        return Recipient(address) if address else None
    address = normalize_address(named["address"])
    if address is None:
        return None
    name, _ = parseaddr(f"{named['name'].strip()} <{address}>")
    return Recipient(address, reader_name(name))


def _delimiter(text: str) -> str:
    """`,` unless the first line of data plainly uses `;` or a tab instead."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        for other in (";", "\t"):
            if other in stripped and "," not in stripped:
                return other
        return ","
    return ","


def read_recipients(
    delivery: DeliveryConfig,
    unsubscribed: set[str] | None = None,
    lines: LineMap | None = None,
) -> tuple[list[Recipient], list[Problem]]:
    """`to:` then the CSV file (email[,name], or separated by `;` or tabs): invalid
    addresses reported by file and line (`to:`'s from the config's `lines`) and skipped,
    duplicates counted once (case-insensitive; the first name given), unsubscribed addresses
    left out."""
    unsubscribed = {u.lower() for u in unsubscribed or ()}
    seen: dict[str, int] = {}  # lower-case address -> its place in `recipients`
    recipients: list[Recipient] = []
    problems: list[Problem] = []

    def add(recipient: Recipient) -> None:
        key = recipient.address.lower()
        if key in unsubscribed:
            return
        if key not in seen:
            seen[key] = len(recipients)
            recipients.append(recipient)
        elif recipients[seen[key]].name is None and recipient.name:
            recipients[seen[key]] = replace(recipients[seen[key]], name=recipient.name)

    lines = lines or LineMap()
    where = lines.file or "delivery.to"
    for i, entry in enumerate(delivery.to):
        line = lines.line(f"delivery.to[{i}]") or lines.line("delivery.to")
        for piece in split_addresses(entry) or [entry]:
            recipient = _parse_one(piece)
            if recipient is None:
                problems.append(
                    Problem(
                        where, f"delivery.to: not a valid email address: {piece!r}; skipped", line
                    )
                )
            else:
                add(recipient)
    if delivery.recipients:
        file_recipients, file_problems = read_csv(delivery.recipients)
        problems.extend(file_problems)
        for recipient in file_recipients:
            add(recipient)
    return recipients, problems


def _lines(data: bytes) -> Iterable[tuple[int, bytes]]:
    return enumerate(data.splitlines(keepends=True), start=1)


def _line_text(line: bytes, number: int, path: Path, problems: list[Problem]) -> str:
    """One line of a list that is not all UTF-8: UTF-8 where it is, a stray byte in it read as
    Windows-1252 (as the sources read theirs: "Иван, René" keeps its Cyrillic), else the line
    as Windows-1252 (one stray byte no longer garbles every other line's names)."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as e:
        message = f"not UTF-8 text (byte 0x{line[e.start]:02x}): read as Windows-1252"
        problems.append(Problem(str(path), message, number))
        utf8 = utf8_with_strays(line)
        return utf8.text if utf8 is not None else line.decode("cp1252", errors="replace")


def read_csv(path: Path) -> tuple[list[Recipient], list[Problem]]:
    """The readers in a CSV file, and a problem for each row that is not one."""
    recipients: list[Recipient] = []
    problems: list[Problem] = []
    try:
        raw = path.read_bytes()
    except OSError as e:
        return [], [Problem(str(path), f"cannot read the recipients file ({e.strerror})")]
    encoding, skip = marked_encoding(raw) or ("utf-8", 0)  # Excel's "Unicode text": UTF-16
    if encoding == "utf-8" and b"\x00" in raw:
        return [], [Problem(str(path), "not a CSV text file (binary data); nobody read")]
    try:
        text = raw[skip:].decode(encoding)
    except UnicodeDecodeError:  # Excel's own "CSV" on Windows: the ANSI code page, by line
        text = "".join(_line_text(line, n, path, problems) for n, line in _lines(raw[skip:]))
    delimiter = _delimiter(text)
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    columns = (0, 1)  # the address's and the name's, unless a header names them

    def add(row: list[str], line: int) -> None:
        nonlocal columns
        header = _header_columns(row) if line == 1 else None
        if header is not None:
            columns = header
            return
        at, name_at = columns
        first = _cell(row, at)
        if not first and any(cell.strip() for cell in row):
            where = "the first column" if at == 0 else f"column {at + 1}"
            problems.append(Problem(str(path), f"no address in {where}; skipped", line))
            return
        if not first or first.startswith("#"):
            return
        given = _parse_one(first)  # a bare address, or `Ann <ann@x.org>` as `to:` takes it
        if given is None:
            hint = (
                " (the file is separated by commas: is this line separated by `;`?)"
                if delimiter == "," and ";" in first
                else ""
            )
            problems.append(
                Problem(str(path), f"not a valid email address: {first!r}; skipped{hint}", line)
            )
            return
        recipients.append(Recipient(given.address, reader_name(_cell(row, name_at)) or given.name))

    def unquoted(line: int) -> list[str]:
        return next(csv.reader([lines[line - 1].replace('"', "")], delimiter=delimiter), [])

    try:
        start = 1
        for row in reader:
            taken = range(start + 1, reader.line_num + 1)  # lines a quoted field ran on to
            if any(normalize_address(_cell(unquoted(n), columns[0])) for n in taken):
                # A quote opened and never closed took readers' lines into one field: each
                # line is read on its own, the quotes left out, and no reader is lost.
                problems.append(
                    Problem(str(path), "a quote is not closed on this line; read without it", start)
                )
                for n in range(start, reader.line_num + 1):
                    add(unquoted(n), n)
            else:
                add(row, start)
            start = reader.line_num + 1
    except csv.Error as e:
        problems.append(Problem(str(path), f"not valid CSV ({e}); rest skipped", reader.line_num))
    return recipients, problems


def load_recipients(
    delivery: DeliveryConfig, unsubscribed: set[str] | None = None
) -> tuple[list[str], list[Problem]]:
    """The addresses to send to (as the state knows them) and the problems met."""
    recipients, problems = read_recipients(delivery, unsubscribed)
    return [r.address for r in recipients], problems


def recipient_names(delivery: DeliveryConfig) -> dict[str, str]:
    """Display name by lower-case address, for the `To:` header."""
    recipients, _ = read_recipients(delivery)
    return {r.address.lower(): r.name for r in recipients if r.name}


def nobody_to_send_to(
    lines: LineMap, problems: list[Problem], held: str | None = None
) -> ConfigError:
    """The error when no usable address is left: it names the addresses that were not, or
    (`held`, see held_back) why every listed reader is held back."""
    bad = [str(p).removesuffix("; skipped") for p in problems]
    hint = "list readers in delivery.to or a delivery.recipients CSV file"
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if bad[5:] else "")
        message = f"no one to send to: no usable address ({shown})"
    elif held:
        message = f"no one to send to: every reader is held back ({held})"
        hint = "`digest readers list` shows each reader's status and why"
    else:
        message = "no one to send to: no address is given"
    return ConfigError(
        message, lines.file or None, lines.line("delivery.to"), key="delivery.to", hint=hint
    )


def held_back(store: Storage) -> str | None:
    """When nobody is left to send to: the readers held back (listed or not), counted by
    status ("2 bounced, 1 unsubscribed"); None when the state has no reader."""
    if not store.has_schema():
        return None
    readers = store.readers()
    blocked = readers.blocked()
    return _by_status(r for r in readers.all() if r.email.lower() in blocked)


def _by_status(readers: Iterable[Reader]) -> str | None:
    """Readers counted by status ("2 bounced, 1 unsubscribed"); None for none."""
    statuses = Counter(str(r.status) for r in readers)
    return ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or None


def readers_to_send_to(
    config: Config, store: Storage
) -> tuple[list[str], list[Problem], str | None]:
    """Who the next issue goes to: the addresses `delivery.to` and the CSV list (each one
    also a reader in the state, made active the first time it is listed), and every other
    active reader in the state (signed up on the web, added or imported by the operator);
    never a reader who unsubscribed, bounced, complained, paused or has not confirmed.
    Also the problems of the list, and the listed readers held back, counted by status (see
    _by_status). A read-only store (dry run) adds nobody."""
    listed, problems = read_recipients(config.delivery, lines=config.lines)
    if not store.has_schema():
        return [r.address for r in listed], problems, None
    readers = store.readers()
    if not store.readonly:
        readers.add_listed([(r.address, r.name) for r in listed], "config")
    blocked = readers.blocked()
    seen: set[str] = set()
    out: list[str] = []
    for address in [r.address for r in listed] + [r.email for r in readers.sendable("config")]:
        key = address.lower()
        if key not in seen and key not in blocked:
            out.append(address)
        seen.add(key)
    held_keys = blocked & {r.address.lower() for r in listed}
    held = _by_status(r for r in map(readers.get, sorted(held_keys)) if r is not None)
    return out, problems, held


def unsubscribe_note(config: Config) -> list[str]:
    """Without an https unsubscribe URL there is no one-click unsubscribe (RFC 8058), which
    Gmail and Yahoo require of bulk senders."""
    url = config.delivery.unsubscribe_url
    if config.delivery.smtp is None:  # the outbox: messages for a look, not for readers
        return []
    if url is None:
        return [
            f"{config.path}: no `web:` and no delivery.unsubscribe_url: messages carry only a "
            "mailto: unsubscribe and no one-click header (RFC 8058); set `web: {url, secret_env}` "
            "and run `digest serve`"
        ]
    if url.startswith("http://"):
        # the key it is written under: the link itself, or `web.url` it is made from
        key = "delivery.unsubscribe_url"
        if config.lines.line(key) is None and config.lines.line("web.url") is not None:
            key = "web.url"
        line = config.lines.line(key)
        return [
            f"{config.path}{f':{line}' if line else ''}: {key} is http://, so messages carry "
            "no one-click unsubscribe header (RFC 8058 needs https://)"
        ]
    return []
