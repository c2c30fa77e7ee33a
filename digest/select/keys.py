"""Stable 64-bit keys for the things selection looks up (texts, GUIDs, URLs, facts, bands),
and where keys are in a sorted array of them."""

from __future__ import annotations

import hashlib

import numpy as np


def key64(kind: str, *parts: bytes | str) -> int:
    """A stable signed 64-bit key (an SQL BIGINT) for a kind of thing and its value."""
    data = b"\x1f".join([p.encode() if isinstance(p, str) else p for p in (kind, *parts)])
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)


def positions_in(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Where each of `keys` is in `sorted_keys`; -1 where it is not."""
    at = np.searchsorted(sorted_keys, keys)
    found = at < len(sorted_keys)
    found[found] = sorted_keys[at[found]] == keys[found]
    return np.where(found, at, -1)
