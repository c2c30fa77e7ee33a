"""What selection needs to know of the stories already sent, and what it hands back to be
remembered. The state layer implements `SentStories` and stores `SentRecord`s (defined with
the rows it writes, digest/state/sent.py); selection never sees a database."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..state.sent import FACTS, KEYS, RARE_WORDS, BlockHolders
from . import kernels
from .keys import distinct


@dataclass(frozen=True)
class SentArticle:
    """One telling of a sent story, as remembered."""

    id: int
    story: int  # the id of the story's first remembered telling
    title: str
    words: int
    shingles: int
    excerpt: bool
    fact_weight: float
    facts: tuple[int, ...]
    classes: tuple[int, ...] | None  # dates, amounts, shares, counts; None: not recorded
    signature: np.ndarray
    lead: np.ndarray
    terms: np.ndarray  # int64 term hashes (story_terms), sorted
    term_counts: np.ndarray  # int64, of each of terms
    paragraphs: frozenset[int] = frozenset()  # keys of its body paragraphs
    day: int | None = None  # its date (proleptic ordinal)
    tellings: int = 1  # how many tellings its story was sent with, this one included
    fact_kinds: bytes = b""  # the kind of each of `facts` (ASCII); empty: not recorded
    source: str = ""  # the file or feed it was read from
    outlet: str | None = None  # the outlet readers saw; None: sent before it was kept
    url: str | None = None  # its link


class SentStories(Protocol):
    """The read side of what was sent, with indexed lookups: never loaded whole."""

    def count(self) -> int: ...

    def count_since(self, day: int) -> int: ...

    def matching_keys(self, keys: Iterable[int] | np.ndarray) -> list[tuple[int, int]]:
        """(key, article id) for every stored key among `keys`."""
        ...

    def fact_counts(self, keys: Iterable[int], day: int) -> dict[int, int]: ...

    def facts_since(self, keys: Iterable[int], day: int) -> list[tuple[int, int]]: ...

    def rare_words_since(self, keys: Iterable[int], day: int) -> list[tuple[int, int]]: ...

    def term_frequencies(self, keys: Iterable[int]) -> tuple[np.ndarray, np.ndarray]: ...

    def articles(self, ids: Iterable[int]) -> dict[int, SentArticle]: ...

    def tellings_of(self, stories: Iterable[int]) -> dict[int, SentArticle]:
        """Every telling of these sent stories, by id."""
        ...


class SentLookups(Protocol):
    """What `History` asks of the state (digest/state/storage.py's Storage has them): key
    lists come sorted, each key once; the keys, facts and rare words of what was sent come in
    blocks (digest/state/sent.py), searched here."""

    def sent_article_count(self) -> int: ...
    def sent_count_since(self, day: int) -> int: ...
    def sent_blocks(self, kind: str, since: int) -> Iterable[tuple[bytes, BlockHolders]]: ...
    def term_frequencies(self, keys: list[int]) -> Iterable[Sequence[int]]: ...
    def sent_article_rows(self, ids: list[int]) -> list[tuple]:
        """The sent articles among `ids` (row layout: state/storage.py)."""
        ...

    def sent_story_articles(self, stories: list[int]) -> list[int]: ...


class History:
    """`SentStories` over the state's lookups (possibly read-only): the articles are never
    loaded whole, and the keys, facts and rare words of what was sent are searched block by
    block (one block of each kind per remembered issue, streamed: memory holds one block at a
    time)."""

    def __init__(self, storage: SentLookups):
        self.storage = storage

    def count(self) -> int:
        """How many articles were sent."""
        return self.storage.sent_article_count()

    def count_since(self, day: int) -> int:
        """How many sent articles tell stories dated `day` or later."""
        return self.storage.sent_count_since(day)

    def matching_keys(self, keys: Iterable[int] | np.ndarray) -> list[tuple[int, int]]:
        """(key, article id) for every stored key among `keys`."""
        return self._found(KEYS, keys, 0)

    def fact_counts(self, keys: Iterable[int], day: int) -> dict[int, int]:
        """In how many articles dated `day` or later each fact of `keys` occurs."""
        found = [found for found, _ in self._search(FACTS, keys, day)]
        if not found:
            return {}
        held = np.sort(np.concatenate(found))
        first = np.flatnonzero(np.concatenate(([True], held[1:] != held[:-1])))
        counts = np.diff(np.append(first, len(held)))
        return dict(zip(held[first].tolist(), counts.tolist(), strict=True))

    def facts_since(self, keys: Iterable[int], day: int) -> list[tuple[int, int]]:
        """(fact key, article id) for articles whose story is dated `day` or later."""
        return self._found(FACTS, keys, day)

    def rare_words_since(self, keys: Iterable[int], day: int) -> list[tuple[int, int]]:
        """(word, article id) for the rare content words among `keys` (state.sent:
        RARE_WORD_MAX_DF; a word more sent articles hold is not found) of articles whose
        story is dated `day` or later."""
        return self._found(RARE_WORDS, keys, day)

    def _found(
        self, kind: str, keys: Iterable[int] | np.ndarray, day: int
    ) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for found, articles in self._search(kind, keys, day):
            out += zip(found.tolist(), articles.tolist(), strict=True)
        return out

    def _search(
        self, kind: str, keys: Iterable[int] | np.ndarray, day: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Per stored block of `kind` (facts, rare words: of stories dated `day` or later),
        the stored keys among `keys` and their articles, in the block's order (see `_found_in`);
        each block read once, memory holding one, its articles and days only when it holds one of
        `keys` (reading them was two thirds of the time of a lookup that finds a few keys)."""
        wanted = _sorted_keys(keys)
        if not len(wanted):
            return
        for key_blob, holders in self.storage.sent_blocks(kind, day):
            stored = np.frombuffer(key_blob, "<i8")
            at = _found_in(wanted, stored)
            if not len(at):
                continue
            article_blob, day_blob = holders()
            if day_blob is not None:
                at = at[np.frombuffer(day_blob, "<i4")[at] >= day]
            if len(at):
                yield stored[at], np.frombuffer(article_blob, "<i8")[at]

    def term_frequencies(self, keys: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """The terms among `keys` a sent article uses, and in how many sent articles each
        occurs. (Read row by row into one array: at 40,000 candidates the rows are 150,000,
        and as Python objects they were 40 MB at the selection's peak.)"""
        keys = _sorted_once(keys)
        rows = self.storage.term_frequencies(keys) if keys else ()
        found = np.fromiter(itertools.chain.from_iterable(rows), np.int64).reshape(-1, 2)
        return found[:, 0], found[:, 1]

    def tellings_of(self, stories: Iterable[int]) -> dict[int, SentArticle]:
        """Every telling of these sent stories, by id."""
        stories = _sorted_once(stories)
        return self.articles(self.storage.sent_story_articles(stories) if stories else [])

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
                struct.unpack(f"<{len(facts) // 8}q", facts),  # as numbers: a third of the time
                struct.unpack(f"<{len(classes) // 2}H", classes) if classes else None,
                np.frombuffer(signature, "<u4"),
                np.frombuffer(lead, "<u4"),
                *_unpack_terms(terms),
                frozenset(np.frombuffer(paras, "<i8").tolist()) if paras else frozenset(),
                day,
                max(1, tellings),
                bytes(kinds or b""),
                source,
                outlet,
                url,
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
                kinds,
                tellings,
                source,
                outlet,
                url,
            ) in rows
        }


def _found_in(keys: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """The positions in `stored` (sorted, a key perhaps more than once) of `keys` (sorted, each
    once), ascending: the two walked in step (kernels.c; matching a batch's 250,000 LSH bands
    against ten 280,000-key blocks took 30 ms with a table of their low bits first)."""
    out = np.empty(len(stored), np.int64)
    return out[: kernels.found_in(keys, np.ascontiguousarray(stored, np.int64), out)]


def _sorted_once(keys: Iterable[int] | np.ndarray) -> list[int]:
    return _sorted_keys(keys).tolist()


def _sorted_keys(keys: Iterable[int] | np.ndarray) -> np.ndarray:
    """`keys` sorted, each once, as int64."""
    return distinct(
        np.asarray(keys, np.int64) if isinstance(keys, np.ndarray) else np.fromiter(keys, np.int64)
    )


def _unpack_terms(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    n = len(blob) // 6
    hashes = np.frombuffer(blob, "<u4", n).astype(np.int64)
    return hashes, np.frombuffer(blob, "<u2", n, offset=4 * n).astype(np.int64)
