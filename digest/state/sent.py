"""What was already sent, as the storage writes it: no SQL here, and no numpy (opening a
state to read its history or unsubscribe a reader loads nothing of the selection).

`sent_rows` encodes each telling of each delivered story (the selection's `SentRecord`s, its
fingerprints computed once) as rows: the story it belongs to, its exact-text key, its GUID
within its feed and its article URL, its MinHash signature and LSH band keys (copies), and its
facts and top content and name words (same story). Selection reads them back through
`select.sent.History`. Blobs are little-endian arrays: facts and paragraph keys int64, fact
classes uint16, terms uint32 hashes then uint16 counts.

The keys, facts and rare content words every lookup searches are kept in blocks, one of each
kind per `remember` (`SentBlock`): sorted int64 keys, the int64 article of each beside them,
and for facts and words the int32 story day of each. A daily batch adds its own blocks, so
remembering it writes bytes in proportion to it, however much was sent before.
"""

from __future__ import annotations

import datetime as dt
import itertools
import struct
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

KEYS, FACTS, RARE_WORDS = "keys", "facts", "rare_words"  # the kinds of block
# A term hash with this bit set is a name word's; without it, a content word's.
NAME_BIT = 1 << 31
# A content word is rare while at most this many articles hold it (the candidates, and
# against history the candidates and what was sent): two write-ups that name little still tell
# their story in its own rare words (select/batch.py). Blocks of RARE_WORDS hold the content
# words of what was sent that were rare when written: a word sent more often can never be rare
# again (sent_terms counts only go up), so its later holders are not written (100,000
# generated articles: 340,000 of 4.8 million words kept). Raising this limit would ask for
# holders never written: the blocks would have to be made again (schema 9's migration).
RARE_WORD_MAX_DF = 20
# Reads a stored block's (articles, days) when asked: the articles of its keys in order, and
# (facts, rare words) the story day of each.
BlockHolders = Callable[[], tuple[bytes, bytes | None]]


@dataclass(frozen=True)
class SentRecord:
    """One telling of a story to remember once the issue reached a reader."""

    story: int  # index of the story within its issue: tellings of one story share it
    title: str
    source: str
    url: str | None
    guid: str | None
    day: int | None  # the telling's date (proleptic ordinal); None: the day it is stored
    words: int
    shingles: int
    excerpt: bool
    fact_weight: float
    facts: tuple[int, ...]
    classes: tuple[int, ...]
    signature: bytes  # NUM_PERM little-endian uint32
    lead: bytes  # LEAD_PERM little-endian uint32
    terms: tuple[tuple[int, int], ...]  # top content and name words: (hash, count)
    keys: tuple[int, ...]  # exact-text, identity and LSH band keys
    paragraphs: tuple[int, ...] = ()  # keys of its body paragraphs
    fact_kinds: bytes = b""  # the kind of each of `facts`, one ASCII letter each (facts.py)
    outlet: str = ""  # the outlet readers saw (Article.source_name)


@dataclass(frozen=True)
class SentBlock:
    """The keys (or facts, or rare words) of the articles one `remember` wrote, as stored: the
    row of `insert_sent_block`."""

    kind: str
    first_article: int
    newest_day: int
    keys: bytes
    articles: bytes
    days: bytes | None

    def row(self) -> tuple:
        return (self.kind, self.first_article, self.newest_day, self.keys, self.articles, self.days)


@dataclass(frozen=True)
class SentRows:
    """What remembering some tellings writes: rows in id order, a block of their keys, one of
    their facts and one of their rare words, the terms' counts."""

    articles: list[tuple]
    blocks: list[SentBlock]
    terms: list[tuple[int, int]]


def block(kind: str, first: int, rows: Iterable[tuple[int, int, int]]) -> SentBlock | None:
    """The block of `kind` of (key, article, story day) triples (each once); a block of keys
    keeps no days."""
    rows = sorted(set(rows))
    if not rows:
        return None
    return SentBlock(
        kind,
        first,
        max(r[2] for r in rows),
        _pack("q", [r[0] for r in rows]),
        _pack("q", [r[1] for r in rows]),
        _pack("i", [r[2] for r in rows]) if kind != KEYS else None,
    )


def blocks_per_issue(kind: str, rows: Iterable[tuple[int, int, int, int]]) -> list[SentBlock]:
    """Blocks of `kind`, one per issue, from rows of (issue, key, article, day) in issue order:
    what a state before schema 6 kept in one index, and (schema 9) the rare words of what a
    state sent before it kept them in blocks (`rare_word_rows`)."""
    out = []
    for _, group in itertools.groupby(rows, key=lambda r: r[0]):
        triples = [(r[1], r[2], r[3]) for r in group]
        made = block(kind, min(t[1] for t in triples), triples)
        if made is not None:
            out.append(made)
    return out


def rare_word_rows(
    rows: Iterable[tuple[int, int, int, bytes]], rare: Container[int]
) -> Iterator[tuple[int, int, int, int]]:
    """(issue, word, article, day) of each of the `rare` words of sent articles given as
    (issue, article, day, terms blob)."""
    for issue, aid, day, blob in rows:
        for t in struct.unpack_from(f"<{len(blob) // 6}I", blob):
            if t in rare:
                yield issue, t, aid, day


def kept_as_rare(term: int, articles: int) -> bool:
    """Whether a term held by this many sent articles is a rare content word, kept in blocks
    of RARE_WORDS."""
    return is_content_word(term) and articles <= RARE_WORD_MAX_DF


def is_content_word(term: int) -> bool:
    return not term & NAME_BIT


def sent_rows(
    first: int,
    issue_id: int,
    records: Sequence[SentRecord],
    sent_df: Callable[[list[int]], Mapping[int, int]],
) -> SentRows:
    """The rows for `records`, sent in `issue_id`, their ids counting from `first`
    (`sent_df`: how many articles sent before hold each of the content words given, sorted,
    where any does)."""
    sent_at = dt.datetime.now(dt.UTC)
    today = sent_at.date().toordinal()
    story_ids: dict[int, int] = {}
    rows: list[tuple] = []
    keys: list[tuple[int, int, int]] = []
    fact_rows: list[tuple[int, int, int]] = []
    word_rows: list[tuple[int, int, int]] = []
    term_df: Counter[int] = Counter()
    for n, r in enumerate(records):
        aid = first + n
        story = story_ids.setdefault(r.story, aid)
        day = r.day if r.day is not None else today
        terms = [t for t, _ in r.terms]
        term_df.update(terms)
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
                r.fact_kinds,
                r.outlet,
            )
        )
        keys.extend((k, aid, day) for k in r.keys)
        fact_rows.extend((k, aid, day) for k in r.facts)
        word_rows.extend((t, aid, day) for t in terms)
    before = sent_df(sorted(t for t in term_df if is_content_word(t)))
    rare = {t for t, n in term_df.items() if kept_as_rare(t, before.get(t, 0) + n)}
    blocks = [
        block(KEYS, first, keys),
        block(FACTS, first, fact_rows),
        block(RARE_WORDS, first, [w for w in word_rows if w[0] in rare]),
    ]
    return SentRows(rows, [b for b in blocks if b is not None], sorted(term_df.items()))


def _pack(kind: str, values: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(values)}{kind}", *values)


def _pack_terms(terms: Counter[int]) -> bytes:
    items = sorted(terms.items())
    return _pack("I", [t for t, _ in items]) + _pack("H", [min(n, 65535) for _, n in items])
