"""What was already sent, as the storage writes it: no SQL here, and no numpy (opening a
state to read its history or unsubscribe a reader loads nothing of the selection).

`sent_rows` encodes each telling of each delivered story (the selection's `SentRecord`s, its
fingerprints computed once) as rows: the story it belongs to, its exact-text key, its GUID
within its feed and its article URL, its MinHash signature and LSH band keys (copies), and its
facts and top content words (same story). Selection reads them back through
`select.sent.History`. Blobs are little-endian arrays: facts and paragraph keys int64, fact
classes uint16, terms uint32 hashes then uint16 counts.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..select.sent import SentRecord


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
                _pack("q", r.facts),
                r.signature,
                r.lead,
                _pack_terms(Counter(dict(r.terms))),
                story,
                _pack("H", r.classes),
                _pack("q", r.paragraphs),
            )
        )
        keys.extend((k, aid) for k in r.keys)
        fact_rows.extend((k, day, aid) for k in r.facts)
    return SentRows(rows, sorted(keys), sorted(fact_rows), sorted(term_df.items()))


def _pack(kind: str, values: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(values)}{kind}", *values)


def _pack_terms(terms: Counter[int]) -> bytes:
    items = sorted(terms.items())
    return _pack("I", [t for t, _ in items]) + _pack("H", [min(n, 65535) for _, n in items])
