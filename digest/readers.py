"""The operator's view of the readers: `digest readers list|add|remove|import|export`,
`digest unsubscribe TOKEN | --email ADDRESS`.

The records themselves (statuses, consent, bounces) are digest/state/readers.py's. None of
these waits for a running send: each is one short transaction (SQLite in WAL mode lets it in
between a sender's own), and a sender re-reads the statuses before each batch.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from .errors import UsageError
from .recipients import read_csv, read_recipients
from .state import Store
from .state.readers import Reader, ReaderStatus
from .text import normalize_address, reader_name
from .tokens import BadToken

EXPORT_COLUMNS = (
    "email",
    "name",
    "status",
    "source",
    "created_at",
    "consent_at",
    "consent_ip",
    "confirmed_at",
    "paused_until",
    "unsubscribed_at",
    "reason",
)


def address(text: str, what: str = "EMAIL") -> str:
    if any(c in text for c in "\r\n\x00"):
        raise UsageError(f"{what}: {text!r} holds a line break; give one address")
    found = normalize_address(text)
    if found is None:
        raise UsageError(f"{what}: {text!r} is not an email address")
    return found


def list_readers(config, status: str | None = None) -> list[Reader]:
    with Store.for_config(config, readonly=True) as store:
        return store.readers().all(status) if store.has_schema() else []


def add(config, email: str, name: str | None) -> Reader:
    with Store.for_config(config) as store:
        try:
            return store.readers().add_by_operator(address(email), reader_name(name))
        except ValueError as e:
            raise UsageError(str(e)) from None


def remove(config, email: str) -> bool:
    with Store.for_config(config) as store:
        return store.readers().remove(address(email))


def import_csv(config, path: Path) -> tuple[int, int, list[str]]:
    """New readers from a CSV (email[,name]): active, source `import`. Known readers keep
    their status (one who unsubscribed is not brought back). Returns (new, known, problems)."""
    if not os.path.isfile(path):  # (False, not OSError, for a name too long)
        raise UsageError(f"{path}: no such file")
    found, problems = read_csv(path)
    with Store.for_config(config) as store:
        new = store.readers().add_listed([(r.address, r.name) for r in found], "import")
    return new, len(found) - new, [str(p) for p in problems]


# A cell a spreadsheet takes for a formula ("=HYPERLINK(...)", "=cmd|'/c calc'!A1", "+1-2").
# A reader's name comes from the sign-up form, a bounce's reason from a remote server: the
# export, opened in Excel, ran what they wrote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _as_text(column: str, value: str) -> str:
    """A cell as a spreadsheet shows it as text: a leading ' before a formula's first
    character (OWASP's advice); addresses as they are, so an export reads back as a list."""
    return f"'{value}" if column != "email" and value.startswith(FORMULA_START) else value


def export_csv(readers: list[Reader]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in readers:
        data = r.to_json()
        writer.writerow([_as_text(c, data[c] or "") for c in EXPORT_COLUMNS])
    return out.getvalue()


def unsubscribe(config, token: str | None, email: str | None) -> str | None:
    """A reader's link token (as in their messages), or the operator's --email; never an
    address where a token is expected. Returns the address unsubscribed, said as no reader's
    when it was none (None: no such token)."""
    if token is not None:
        if "@" in token:
            raise UsageError(
                f"{token!r} is an email address, not a token; "
                "the operator unsubscribes an address with `digest unsubscribe --email ADDRESS`"
            )
        if any(c in token for c in "\r\n\x00"):
            raise UsageError(f"TOKEN: {token!r} holds a line break")
    with Store.for_config(config) as store:
        readers = store.readers()
        if email is not None:
            given = address(email)
            listed = {r.address.lower() for r in read_recipients(config.delivery)[0]}
            known = readers.get(given) is not None or given.lower() in listed
            gone = readers.unsubscribe_address(given, "unsubscribed by the operator")
            # a typo must not pass for done: an unknown address is only kept out from now on
            return gone.email if known else f"{gone.email} (no reader had it: it is kept out)"
        state_token = token
        signer = config.web.signer() if config.web else None
        if signer is not None and "." in token:
            try:
                state_token = signer.open_reader(token)
            except BadToken:
                return None
        reader = readers.by_token(state_token)
        if reader is None:
            return None
        readers.set_status(reader.email, ReaderStatus.UNSUBSCRIBED, "unsubscribed (token)")
        return reader.email
