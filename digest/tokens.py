"""Signed tokens: how a reader is known on the web and in every message's links.

A reader's token in the state is random (192 bits). What goes into a link is that token with a
signature made with the secret from the environment (`web.secret_env`), bound to what the
link is for: `reader` (unsubscribe and preferences; never expires), `confirm` (a sign-up's
confirmation; holds the time it was made and expires after CONFIRM_SECONDS), `csrf` (a form).
A link whose signature does not match is refused before the state is asked anything.

An email address is never a token: nothing here takes one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass

from .errors import ConfigError

CONFIRM_SECONDS = 48 * 3600
_SIG_BYTES = 16  # 128 bits of HMAC-SHA256


class BadToken(ValueError):
    """A token that is malformed, signed with another secret, for another purpose, or
    expired."""


class ExpiredToken(BadToken):
    """A confirmation link signed by us that is older than CONFIRM_SECONDS."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Signer:
    secret: bytes  # signs
    earlier: tuple[bytes, ...] = ()  # still accepted: links in messages already sent

    @classmethod
    def from_env(cls, name: str, where: str = "web.secret_env") -> Signer:
        """The secret, and after it, separated by spaces, earlier ones still accepted: a new
        secret alone would break every unsubscribe link in the messages readers already have."""
        value = os.environ.get(name, "")
        secrets = value.split()
        if len(secrets) < 2 or any(len(s) < 16 for s in secrets):
            secrets = [value] if value.strip() else []  # one secret, as written (a passphrase)
            first, earlier = [*value.split(maxsplit=1), "", ""][:2]
            if len(first) >= 16 and len(earlier.strip()) >= 16:
                # a new secret before an old passphrase: the new one signs (as the README says:
                # links made now must outlive the old one), the passphrase as it signed before
                # and the whole value as written are accepted
                secrets = [first, earlier.strip(), value]
        else:  # and the whole value as written, as it signed before
            secrets.append(value)
        if not secrets or len(secrets[0]) < 16:
            raise ConfigError(
                f"environment variable {name} is {'too short' if secrets else 'not set'}",
                key=where,
                hint=f'export {name}="$(python3 -c "import secrets; print(secrets.token_urlsafe(32))")"'
                " (at least 16 characters; it signs every link and form; to change it, put the"
                " new one first and the old one after a space)",
            )
        return cls(secrets[0].encode(), tuple(s.encode() for s in secrets[1:]))

    def _sig(self, purpose: str, *parts: str, secret: bytes | None = None) -> str:
        message = "\x00".join((purpose, *parts)).encode()
        key = self.secret if secret is None else secret
        return _b64(hmac.new(key, message, hashlib.sha256).digest()[:_SIG_BYTES])

    @property
    def _accepted(self) -> tuple[bytes, ...]:
        """The secret and the earlier ones: what a signature may have been made with."""
        return (self.secret, *self.earlier)

    def _signed(self, given: str, purpose: str, *parts: str) -> bool:
        """Whether `given` is the signature of `parts` by the secret or an earlier one."""
        return any(_ok(given, self._sig(purpose, *parts, secret=k)) for k in self._accepted)

    # --- a reader's link token: `<state token>.<signature>` ----------------------------

    def reader(self, token: str) -> str:
        return f"{token}.{self._sig('reader', token)}"

    def open_reader(self, signed: str) -> str:
        """The state token inside a reader link token; BadToken when it is not one of ours."""
        token, dot, sig = signed.rpartition(".")
        if not dot or not token or not _plain(token) or not self._signed(sig, "reader", token):
            raise BadToken("not a valid link")
        return token

    # --- a confirmation token: `<state token>.<time>.<signature>` -----------------------

    def confirm(self, token: str, at: float | None = None) -> str:
        stamp = str(int(time.time() if at is None else at))
        return f"{token}.{stamp}.{self._sig('confirm', token, stamp)}"

    def open_confirm(self, signed: str, now: float | None = None) -> tuple[str, int]:
        """(the reader's token, when the link was made, in seconds since the epoch)."""
        parts = signed.split(".")
        if len(parts) != 3 or not _plain(parts[0]) or not parts[1].isdigit():
            raise BadToken("not a valid confirmation link")
        token, stamp, sig = parts
        if not self._signed(sig, "confirm", token, stamp):
            raise BadToken("not a valid confirmation link")
        age = (time.time() if now is None else now) - int(stamp)
        if not 0 <= age <= CONFIRM_SECONDS:
            raise ExpiredToken("this confirmation link has expired: sign up again")
        return token, int(stamp)

    # --- forms ----------------------------------------------------------------------------

    def csrf(self, bound_to: str, form: str) -> str:
        """The hidden field of a form: bound to the reader's token (or the visitor's cookie)
        and to the form's path, so it is good for that form only."""
        return self._sig("csrf", bound_to, form)

    def check_csrf(self, value: str, bound_to: str, form: str) -> bool:
        return bool(bound_to) and self._signed(value, "csrf", bound_to, form)

    # --- VERP: the bounce address's part after `+` ------------------------------------

    def verp(self, token: str) -> str:
        """Lower case letters and digits only (some mail servers lower-case local parts, and
        `-` must split body from signature): the state token as base32, a hex signature."""
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = base64.b32encode(raw).decode().rstrip("=").lower()
        return f"{body}-{self._verp_sig(token)}"

    def open_verp(self, value: str) -> str:
        body, dash, sig = value.lower().rpartition("-")
        try:
            raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
        except (ValueError, base64.binascii.Error):
            raise BadToken("not one of our bounce addresses") from None
        token = _b64(raw)
        if not dash or not any(_ok(sig, self._verp_sig(token, k)) for k in self._accepted):
            raise BadToken("not one of our bounce addresses")
        return token

    def _verp_sig(self, token: str, secret: bytes | None = None) -> str:
        message = "\x00".join(("verp", token)).encode()
        key = self.secret if secret is None else secret
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


# The length of a reader's VERP token (Signer.verp): the 32-character state token (24 bytes)
# as 39 base32 letters, a dash, 16 hex digits of signature.
VERP_LENGTH = 56


def _ok(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _plain(token: str) -> bool:
    """A state token: URL-safe base64, never an address."""
    return 8 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)
