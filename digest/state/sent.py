"""What was already sent, in the form later selections recognise it: no SQL here.

`sent_rows` encodes each telling of each delivered story (the selection's `SentRecord`s, its
fingerprints computed once) as the rows the storage writes: the story it belongs to, its
exact-text key, its GUID within its feed and its article URL, its MinHash signature and LSH
band keys (copies), and its facts and top content words (same story). `History` is the
selection's `SentStories` over the storage's indexed lookups: the state is never loaded whole,
so a selection costs the same with ten or a million sent articles.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..select.sent import SentArticle, SentRecord

if TYPE_CHECKING:
    from .storage import Storage


class History:
    """The selection's `SentStories` over the storage (possibly read-only). Keys go to the
    storage sorted and once each: the index is walked in order, many times faster than
    random probes."""

    def __init__(self, storage: Storage):
        self.storage = storage

    def count(self) -> int:
        """How many articles were sent."""
        return self.storage.sent_article_count()

    def count_since(self, day: int) -> int:
        """How many sent articles tell stories dated `day` or later."""
        return self.storage.sent_count_since(day)

    def matching_keys(self, keys: Iterable[int] | np.ndarray) -> list[tuple[int, int]]:
        """(key, article id) for every stored key among `keys`."""
        keys = _sorted_once(keys)
        return self.storage.matching_keys(keys) if keys else []

    def fact_counts(self, keys: Iterable[int], day: int) -> dict[int, int]:
        """In how many articles dated `day` or later each fact of `keys` occurs."""
        keys = _sorted_once(keys)
        return self.storage.fact_counts(keys, day) if keys else {}

    def facts_since(self, keys: Iterable[int], day: int) -> list[tuple[int, int]]:
        """(fact key, article id) for articles whose story is dated `day` or later."""
        keys = _sorted_once(keys)
        return self.storage.facts_since(keys, day) if keys else []

    def term_frequencies(self, keys: Iterable[int]) -> dict[int, int]:
        keys = _sorted_once(keys)
        return self.storage.term_frequencies(keys) if keys else {}

    def articles(self, ids: Iterable[int]) -> dict[int, SentArticle]:
        ids = _sorted_once(ids)
        rows = self.storage.sent_article_rows(ids) if ids else []
        return {
            aid: SentArticle(
                aid,
                story,
                title,
                words,
                shingles,
                bool(excerpt),
                weight,
                frozenset(np.frombuffer(facts, "<i8").tolist()),
                tuple(np.frombuffer(classes, "<u2").tolist()) if classes else None,
                np.frombuffer(signature, "<u4"),
                np.frombuffer(lead, "<u4"),
                _unpack_terms(terms),
                frozenset(np.frombuffer(paras, "<i8").tolist()) if paras else frozenset(),
                day,
            )
            for (
                aid,
                story,
                title,
                words,
                shingles,
                excerpt,
                weight,
                facts,
                classes,
                signature,
                lead,
                terms,
                paras,
                day,
            ) in rows
        }


def _sorted_once(keys: Iterable[int] | np.ndarray) -> list[int]:
    keys = np.sort(keys if isinstance(keys, np.ndarray) else np.fromiter(keys, np.int64))
    if not len(keys):
        return []
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))].tolist()  # np.unique: 50x slower


@dataclass(frozen=True)
class SentRows:
    """What remembering some tellings writes: rows in id order, keys sorted (sorted rows fill
    the indexes in order, much faster than at random)."""

    articles: list[tuple]
    keys: list[tuple[int, int]]
    facts: list[tuple[int, int, int]]
    terms: list[tuple[int, int]]


def sent_rows(first: int, issue_id: int, records: Sequence[SentRecord]) -> SentRows:
    """The rows for `records`, sent in `issue_id`, their ids counting from `first`."""
    sent_at = dt.datetime.now(dt.UTC)
    today = sent_at.date().toordinal()
    story_ids: dict[int, int] = {}
    rows, keys, fact_rows = [], [], []
    term_df: Counter[int] = Counter()
    for n, r in enumerate(records):
        aid = first + n
        story = story_ids.setdefault(r.story, aid)
        day = r.day if r.day is not None else today
        term_df.update(t for t, _ in r.terms)
        rows.append(
            (
                aid,
                issue_id,
                r.title,
                r.source,
                r.url,
                r.guid,
                day,
                sent_at.isoformat(timespec="seconds"),
                r.words,
                r.shingles,
                int(r.excerpt),
                r.fact_weight,
                np.array(r.facts, "<i8").tobytes(),
                r.signature,
                r.lead,
                _pack_terms(Counter(dict(r.terms))),
                story,
                np.array(r.classes, "<u2").tobytes(),
                np.array(r.paragraphs, "<i8").tobytes(),
            )
        )
        keys.extend((k, aid) for k in r.keys)
        fact_rows.extend((k, day, aid) for k in r.facts)
    return SentRows(rows, sorted(keys), sorted(fact_rows), sorted(term_df.items()))


def _pack_terms(terms: Counter[int]) -> bytes:
    items = sorted(terms.items())
    hashes = np.array([t for t, _ in items], "<u4")
    counts = np.array([min(n, 65535) for _, n in items], "<u2")
    return hashes.tobytes() + counts.tobytes()


def _unpack_terms(blob: bytes) -> Counter[int]:
    n = len(blob) // 6
    hashes = np.frombuffer(blob, "<u4", n)
    counts = np.frombuffer(blob, "<u2", n, offset=4 * n)
    return Counter(dict(zip(hashes.tolist(), counts.tolist(), strict=True)))
