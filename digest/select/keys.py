"""Stable 64-bit keys for the things selection looks up (texts, GUIDs, URLs, facts, bands)."""

from __future__ import annotations

import hashlib


def key64(kind: str, *parts: bytes | str) -> int:
    """A stable signed 64-bit key (an SQL BIGINT) for a kind of thing and its value."""
    data = b"\x1f".join([p.encode() if isinstance(p, str) else p for p in (kind, *parts)])
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)
