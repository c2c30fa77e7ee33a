"""Stable 64-bit keys for the things selection looks up (texts, GUIDs, URLs, facts, bands),
and where keys are in a sorted array of them."""

from __future__ import annotations

import hashlib
import secrets

import numpy as np

from . import kernels


def key64(kind: str, *parts: bytes | str) -> int:
    """A stable signed 64-bit key (an SQL BIGINT) for a kind of thing and its value: the
    blake2b of the parts in UTF-8, joined by 0x1f."""
    if len(parts) == 1 and isinstance(parts[0], str):  # most keys: one value (0.4 us less)
        data = "\x1f".join((kind, parts[0])).encode()  # a str's own text, whatever its class
    else:
        data = b"\x1f".join([p.encode() if isinstance(p, str) else p for p in (kind, *parts)])
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)


def distinct(keys: np.ndarray) -> np.ndarray:
    """The keys (flattened) sorted, each once, as np.unique gives them; but numpy 2.4's
    np.unique hashes, and takes 75 times as long on 700,000 distinct int64 keys (1 s)."""
    keys = np.sort(np.asarray(keys).ravel())
    if not len(keys):
        return keys
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]


def positions_in(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Where each of `keys` is in `sorted_keys`; -1 where it is not. Keys in order are
    searched as they come; keys in no order (the terms of many reports, each term used by
    many) are looked up in a hash table of `sorted_keys` (kernels.c: 1.4 million keys of a
    10k-candidate selection in 0.01 s, where sorting them first took 0.06 s)."""
    if len(keys) > 1 and not (keys[1:] >= keys[:-1]).all() and _fits_int64(sorted_keys, keys):
        out = np.empty(len(keys), np.int64)
        kernels.positions(
            np.ascontiguousarray(sorted_keys, np.int64),
            np.ascontiguousarray(keys, np.int64),
            out,
            _TABLE_SEED,
        )
        return out
    at = np.searchsorted(sorted_keys, keys)
    found = at < len(sorted_keys)
    found[found] = sorted_keys[at[found]] == keys[found]
    return np.where(found, at, -1)


def is_among(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """np.isin(values, keys) for integer keys, each value looked up in a table of the keys
    (positions_in): np.isin sorts both, and a batch's 250,000 LSH bands took 25 ms, not 3."""
    values = np.asarray(values)
    return (positions_in(distinct(keys), values.ravel()) >= 0).reshape(values.shape)


# Where positions_in's table puts each key: secret, so that no text can be written to crowd its
# words' hashes into one run of slots (a made-up set of 16,000 keys took 1.6 s, not 0.02 s).
_TABLE_SEED = secrets.randbits(64)


def _fits_int64(*arrays: np.ndarray) -> bool:
    return all(np.can_cast(a.dtype, np.int64) for a in arrays)


class KeySet:
    """A small fixed set of 32-bit keys (a thousand at most: the table has about n² slots
    for n keys), asked of many keys at once: a multiplicative hash gives each key of the set
    a slot of its own (the multiplier is searched for once, when the set is made), so asking
    is one multiplication and one comparison a key (750,000 of them: 3-6 ms, where a binary
    search takes 40-100 ms)."""

    MAX_KEYS = 1024

    def __init__(self, keys: np.ndarray):
        keys = distinct(np.asarray(keys, np.uint32))
        if not 0 < len(keys) <= self.MAX_KEYS:
            raise ValueError(f"a KeySet holds 1 to {self.MAX_KEYS} keys, not {len(keys)}")
        # With about n² slots for n keys, a random odd multiplier is collision-free more
        # often than not: the search is over in a try or two.
        for bits in range(max(len(keys) ** 2, 2).bit_length(), 32):
            shift = np.uint32(32 - bits)
            for odd in range(1, 1024, 2):
                multiplier = np.uint32((0x9E3779B1 + 2 * odd) & 0xFFFFFFFF)
                with np.errstate(over="ignore"):
                    slots = (keys * multiplier) >> shift
                if len(distinct(slots)) == len(slots):
                    self.multiplier, self.shift = multiplier, shift
                    # An empty slot holds a key of the set, whose own slot is another one:
                    # no key asked can equal it there.
                    self.table = np.full(1 << bits, keys[0], np.uint32)
                    self.table[slots] = keys
                    return
        raise ValueError("no collision-free table for these keys")

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Whether each of `keys` (uint32) is in the set."""
        with np.errstate(over="ignore"):
            return self.table[(keys * self.multiplier) >> self.shift] == keys
