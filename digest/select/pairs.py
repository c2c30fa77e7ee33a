"""How pairs are found without comparing every pair: the holders of one key, holders sharing
several keys (sparse products), the members of one LSH bucket. Which pairs are worth a
comparison is batch.py's to say."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse

from .keys import distinct

SHARING_AT_ONCE = 2048  # holders whose shared keys are counted in one sparse product
MAX_BUCKET = 50  # LSH bucket members compared with each other, beyond: only with the first


def stable_order(keys: np.ndarray) -> np.ndarray:
    """np.argsort(keys, kind="stable") of keys most of which occur once (text keys, LSH bands):
    sorted by numpy's fastest sort, then each run of equal keys put back in order (250,000
    bands: 9 ms and 1, where a stable sort takes 23)."""
    order = np.argsort(keys)
    ordered = keys[order]
    tie = ordered[1:] == ordered[:-1]
    if tie.any():
        in_run = np.zeros(len(keys), bool)
        in_run[1:] |= tie
        in_run[:-1] |= tie
        at = np.flatnonzero(in_run)
        run = np.cumsum(np.concatenate(([True], ~tie)))[at]
        order[at] = order[at][np.lexsort((order[at], run))]
    return order


def holding_one_key(keys: np.ndarray, holders: Sequence[int]) -> list[list[int]]:
    """The holders of each key held more than once (`holders[n]` holds `keys[n]`), in order,
    the keys in the order they first occur."""
    order = stable_order(keys)
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return []
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    lengths = np.diff(np.append(starts, len(ordered)))
    shared = lengths > 1
    runs = [
        order[a : a + n]
        for a, n in zip(starts[shared].tolist(), lengths[shared].tolist(), strict=True)
    ]
    runs.sort(key=lambda run: run[0])
    return [[holders[n] for n in run.tolist()] for run in runs]


def pairs_sharing(
    holders_a: np.ndarray,
    keys_a: np.ndarray,
    holders_b: np.ndarray,
    keys_b: np.ndarray,
    at_least: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (a, b) of a holder of `holders_a` and one of `holders_b` that hold `at_least`
    keys in common (`holders_x[n]` holds `keys_x[n]`), counted by sparse products."""
    if not len(keys_a) or not len(keys_b):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys, column = np.unique(np.concatenate([keys_a, keys_b]), return_inverse=True)
    ids_a, a = _incidence(holders_a, column[: len(keys_a)], len(keys))
    ids_b, b = _incidence(holders_b, column[len(keys_a) :], len(keys))
    rows, cols = _products(a, b, at_least, upper=False)
    return ids_a[rows], ids_b[cols]


def pairs_within(holders: np.ndarray, keys: np.ndarray, at_least: int) -> np.ndarray:
    """The pairs of holders (rows of two, the smaller first, each pair once) that hold
    `at_least` keys in common."""
    if not len(keys):
        return np.zeros((0, 2), np.int64)
    _, column = np.unique(keys, return_inverse=True)
    ids, held = _incidence(holders, column, int(column.max()) + 1)
    rows, cols = _products(held, held, at_least, upper=True)
    return np.column_stack([ids[rows], ids[cols]]).astype(np.int64).reshape(-1, 2)


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Each pair (a row of two ids) once, in order (np.unique(pairs, axis=0), in less memory)."""
    if not len(pairs):
        return np.zeros((0, 2), np.int64)
    keys, n = _pair_keys(pairs)
    return _pairs_of(distinct(keys), n)


def pair_groups(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pair once, in order (as unique_pairs), and the row of that each of `pairs` is."""
    if not len(pairs):
        return np.zeros((0, 2), np.int64), np.zeros(0, np.int64)
    keys, n = _pair_keys(pairs)
    unique, at = np.unique(keys, return_inverse=True)
    return _pairs_of(unique, n), at


def _pair_keys(pairs: np.ndarray) -> tuple[np.ndarray, int]:
    n = int(pairs.max()) + 1
    return pairs[:, 0].astype(np.int64) * n + pairs[:, 1], n


def _pairs_of(keys: np.ndarray, n: int) -> np.ndarray:
    return np.column_stack([keys // n, keys % n])


def _incidence(
    holders: np.ndarray, columns: np.ndarray, n_keys: int
) -> tuple[np.ndarray, sparse.csr_array]:
    """The holders, each once and sorted, and a row of each holder's keys (1 in the column of
    each)."""
    ids, row = np.unique(holders, return_inverse=True)
    ones = np.ones(len(row), np.int32)
    return ids, sparse.csr_array((ones, (row, columns)), shape=(len(ids), n_keys))


def _products(
    a: sparse.csr_array, b: sparse.csr_array, at_least: int, upper: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The (row of a, row of b) whose rows share `at_least` columns (`upper`: row of a < row
    of b only), SHARING_AT_ONCE rows of `a` at a time: memory follows one block's pairs."""
    b_t = b.T.tocsr()
    found_a, found_b = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for start in range(0, a.shape[0], SHARING_AT_ONCE):
        shared = (a[start : start + SHARING_AT_ONCE] @ b_t).tocoo()
        rows = shared.row.astype(np.int64) + start
        enough = shared.data >= at_least
        if upper:
            enough &= rows < shared.col
        found_a.append(rows[enough])
        found_b.append(shared.col[enough].astype(np.int64))
    return np.concatenate(found_a), np.concatenate(found_b)


def pairs_among(members: list[int]) -> Iterable[tuple[int, int]]:
    for n, i in enumerate(members):
        for j in members[n + 1 : MAX_BUCKET if n else None]:
            yield (i, j)


def bucket_pairs(live: list[int], bands: np.ndarray) -> set[tuple[int, int]]:
    """Pairs of candidates that share an LSH band key (most keys are unique: numpy finds
    the shared ones, Python only walks those)."""
    flat = bands.ravel()
    order = stable_order(flat)
    keys = flat[order]
    same = keys[1:] == keys[:-1]
    shared = np.zeros(len(keys), bool)
    shared[1:] |= same
    shared[:-1] |= same
    buckets: dict[int, list[int]] = defaultdict(list)
    for key, row in zip(
        keys[shared].tolist(), (order[shared] // bands.shape[1]).tolist(), strict=True
    ):
        members = buckets[key]
        if not members or members[-1] != live[row]:
            members.append(live[row])
    return {p for members in buckets.values() for p in pairs_among(members)}
