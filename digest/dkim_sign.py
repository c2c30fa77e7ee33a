"""DKIM signing (RFC 6376, relaxed/simple, as dkimpy signs by default) at OpenSSL speed: the key's work is done by
`cryptography`, the canonicalization here in a few bytes operations.

dkimpy (which verifies our signatures in the tests) signs with its own pure-Python RSA, which
costs ~13 ms a message and holds the GIL; this costs well under 1 ms. RSA keys sign
`rsa-sha256`, Ed25519 keys `ed25519-sha256` (RFC 8463).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

_WSP = re.compile(rb"[ \t]+")
_FOLD = re.compile(rb"\r\n(?=[ \t])")


class DkimKeyError(ValueError):
    pass


@lru_cache(maxsize=8)
def load_key(path: str, mtime_ns: int):
    """The private key (PEM, RSA or Ed25519), read once per file version."""
    try:
        key = load_pem_private_key(Path(path).read_bytes(), password=None)
    except (ValueError, TypeError) as e:
        raise DkimKeyError(f"not a PEM private key without a password ({e})") from None
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise DkimKeyError("DKIM takes an RSA or Ed25519 key")
    return key


def simple_body(body: bytes) -> bytes:
    """RFC 6376 3.4.3: the body as it is, without trailing empty lines. Our bodies are
    quoted-printable, 7-bit with short lines, which relays pass unchanged; the relaxed form
    would cost more than the RSA signature itself."""
    body = body.rstrip(b"\r\n")
    return body + b"\r\n"


def relaxed_header(name: bytes, value: bytes) -> bytes:
    value = _WSP.sub(b" ", _FOLD.sub(b"", value)).strip(b" \r\n")
    return name.strip().lower() + b":" + value


def _headers(head: bytes) -> list[tuple[bytes, bytes]]:
    """(name, raw value) of each header, folds kept."""
    out: list[tuple[bytes, bytes]] = []
    for field in re.split(rb"\r\n(?![ \t])", head):
        if field:
            name, _, value = field.partition(b":")
            out.append((name, value))
    return out


def sign(
    message: bytes,
    selector: str,
    domain: str,
    key,
    include: Sequence[str],
) -> bytes:
    """The `DKIM-Signature:` header (CRLF-terminated) to put on top of `message` (CRLF line
    ends). Each header of `include` present in the message is signed (its last occurrence)."""
    head, _, body = message.partition(b"\r\n\r\n")
    fields = _headers(head)
    by_name: dict[bytes, bytes] = {}
    for name, value in fields:  # the last of each name is the one signed
        by_name[name.strip().lower()] = value
    signed = [h.lower().encode() for h in include if h.lower().encode() in by_name]
    body_hash = base64.b64encode(hashlib.sha256(simple_body(body)).digest())
    ed = isinstance(key, ed25519.Ed25519PrivateKey)
    algorithm = b"ed25519-sha256" if ed else b"rsa-sha256"
    value = b" v=1; a=%s; c=relaxed/simple; d=%s; s=%s;\r\n\th=%s;\r\n\tbh=%s;\r\n\tb=" % (
        algorithm,
        domain.encode(),
        selector.encode(),
        b":".join(signed),
        body_hash,
    )
    data = b"".join(relaxed_header(n, by_name[n]) + b"\r\n" for n in signed)
    data += relaxed_header(b"dkim-signature", value)
    if ed:
        signature = key.sign(hashlib.sha256(data).digest())
    else:
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    b64 = base64.b64encode(signature)
    folded = b"\r\n\t".join(b64[i : i + 72] for i in range(0, len(b64), 72))
    return b"DKIM-Signature:" + value + folded + b"\r\n"
