"""What selection needs to know of the stories already sent, and what it hands back to be
remembered. The state layer implements `SentStories` and stores `SentRecord`s; selection
never sees a database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np


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
    facts: frozenset[int]
    classes: tuple[int, ...] | None  # dates, amounts, shares, counts; None: not recorded
    signature: np.ndarray
    lead: np.ndarray
    terms: Counter[int]
    paragraphs: frozenset[int] = frozenset()  # keys of its body paragraphs
    day: int | None = None  # its date (proleptic ordinal)


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
    terms: tuple[tuple[int, int], ...]  # top content words: (hash, count)
    keys: tuple[int, ...]  # exact-text, identity and LSH band keys
    paragraphs: tuple[int, ...] = ()  # keys of its body paragraphs


class SentStories(Protocol):
    """The read side of what was sent, with indexed lookups: never loaded whole."""

    def count(self) -> int: ...

    def count_since(self, day: int) -> int: ...

    def matching_keys(self, keys: Iterable[int] | np.ndarray) -> list[tuple[int, int]]:
        """(key, article id) for every stored key among `keys`."""
        ...

    def fact_counts(self, keys: Iterable[int], day: int) -> dict[int, int]: ...

    def facts_since(self, keys: Iterable[int], day: int) -> list[tuple[int, int]]: ...

    def term_frequencies(self, keys: Iterable[int]) -> dict[int, int]: ...

    def articles(self, ids: Iterable[int]) -> dict[int, SentArticle]: ...
