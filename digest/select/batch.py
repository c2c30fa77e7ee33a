"""The batch: the live candidates, their fingerprints and facts, and how they are related.

Two tellings are related as
  duplicate       the same text (case, quotes, punctuation and whitespace do not count);
  near-duplicate  a copy (copies.py): the same GUID in one feed or article URL, one LSH
                  bucket and contained, or one headline republished within days;
  same-story      another report of the same event: a same-story probability from their
                  words, names, headlines and facts (similarity.py) for pairs that share
                  rare facts or names, or rare content words (`anchor_pairs`); paragraphs
                  shared word for word without being copies (mixed in by a republisher) make
                  it 0.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..models import DUPLICATE, NEAR_DUPLICATE, SAME_STORY, Article
from ..state.sent import RARE_WORD_MAX_DF
from ..text import without_stop_words
from .copies import (
    LONG_HEADLINE,
    SAME_HEADLINE,
    Telling,
    Told,
    headline_similarity,
    is_copy,
    mixed_into,
    republished,
    same_article,
)
from .facts import AMOUNT, COUNT, DATE, NAME, NAME_WORD, PERCENT, WEEKDAY, weekday_bits
from .fingerprint import (
    HEADLINE_WORDS,
    Fingerprints,
    headline_words,
    paragraph_words,
)
from .pairs import (
    MAX_BUCKET,
    bucket_pairs,
    holding_one_key,
    pairs_among,
    pairs_within,
    unique_pairs,
)
from .ragged import Ragged
from .sent import SentArticle, SentStories
from .similarity import (
    Reports,
    candidate_facets,
    same_story,
    vocabulary,
    weigh,
)

# Two texts under different headlines sharing a paragraph or two, each holding more of its
# own, are copies only when their own paragraphs say alike (content-word Jaccard: copies
# edited word by word 0.56-0.91, such mixtures of the republished real pages 0-0.08).
OWN_TEXT_ALIKE = 0.3
# Reports of one event are compared within a season (same-story scores: similarity.py).
STORY_WINDOW_DAYS = 90
# Two articles are compared for same-story only when they share an anchor: a fact or a word of
# a name held by at most ANCHOR_MAX_DF of the compared articles. One held by more is no sign of
# one story, and the cap keeps the number of pairs linear in the candidates.
ANCHOR_MAX_DF = 50
MIN_ANCHORS = 2  # pairs sharing one anchor only never reached a same-story score on ECB+
ANCHORS = frozenset({DATE, AMOUNT, PERCENT, COUNT, NAME, NAME_WORD})
ANCHOR_KINDS = np.array([ord(k) for k in sorted(ANCHORS)], np.uint8)  # as Fingerprints.kinds
# Or when they share MIN_RARE_WORDS of their top content words each held by at most
# RARE_WORD_MAX_DF articles (state/sent.py: what was sent keeps its rare words by it): two
# write-ups that name little still tell their story in its own words (ECB+ dev: 89 stories for
# 40 events become 84, precision unchanged; against what was sent, 3 of 20 events sent again
# become 2).
MIN_RARE_WORDS = 3
STRENGTH = {DUPLICATE: 3, NEAR_DUPLICATE: 2, SAME_STORY: 1}
COPIES = (DUPLICATE, NEAR_DUPLICATE)


class Batch:
    """The live candidates with their fingerprints (row r of `fps` is candidate `live[r]`),
    and the facts they hold."""

    def __init__(
        self,
        candidates: Sequence[Article],
        live: Sequence[int],
        fps: Fingerprints,
        ref: dt.date | None,
        feed_titles: Sequence[int],
    ):
        """`feed_titles`: each candidate's `similarity.feed_title_of` key (titles.py made them)."""
        self.candidates = candidates
        self.fps = fps
        self.ref = ref
        self.live = list(live)
        self.row = {i: r for r, i in enumerate(self.live)}  # in fps and the batch's Reports
        self.row_of = np.full(len(candidates), -1, np.int64)  # the same, as an array
        self.row_of[self.live] = np.arange(len(self.live))
        self.bands = fps.bands
        self._tellings: dict[int, Telling] = {}  # kept while pairs are decided
        self._reports: Reports | None = None
        self._facts: _FactIndex | None = None
        self._relations: dict[int, dict[int, str]] | None = None
        self._feed_titles = feed_titles

    def telling(self, i: int) -> Telling:
        t = self._tellings.get(i)
        if t is None:
            r, fps = self.row[i], self.fps
            t = Telling(
                fps.signature[r], fps.lead[r], int(fps.size[r]), fps.headline_of(r),
                int(self.feed_titles[r]),
            )  # fmt: skip
            self._tellings[i] = t
        return t

    @functools.cached_property
    def feed_titles(self) -> np.ndarray:
        """Each candidate's `similarity.feed_title` key, by row (for its tellings and its
        facets)."""
        keys = self._feed_titles
        return np.fromiter((keys[i] for i in self.live), np.int64, len(self.live))

    def forget_tellings(self) -> None:
        """Drop the tellings kept while pairs were decided."""
        self._tellings.clear()

    def day(self, i: int) -> int | None:
        d = self.candidates[i].date or self.ref
        return d.toordinal() if d else None

    def paragraphs(self, i: int) -> frozenset[int]:
        return self.fps.paragraphs(self.row[i])

    def facts(self) -> _FactIndex:
        """The facts the candidates hold, with their holders (kept until `forget_facts`)."""
        if self._facts is None:
            self._facts = _FactIndex.of(self.fps)
        return self._facts

    def forget_facts(self) -> None:
        self._facts = None

    def weekdays_named(self) -> dict[int, int]:
        """The weekdays each candidate that names any names (facts.weekday_bits)."""
        fps = self.fps
        at = np.flatnonzero(fps.kinds == ord(WEEKDAY))
        keys: dict[int, list[int]] = defaultdict(list)
        for row, key in zip(
            fps.facts.holders()[at].tolist(), fps.facts.values[at].tolist(), strict=True
        ):
            keys[self.live[row]].append(key)
        return {i: weekday_bits(named) for i, named in keys.items()}

    @functools.cached_property
    def _fullness(self) -> list[tuple[bool, int]]:
        return list(zip(self.fps.excerpt.tolist(), (-self.fps.words).tolist(), strict=True))

    def fullness(self, i: int) -> tuple[bool, int]:
        """How full candidate `i` is, fullest least: not an excerpt, then the most words."""
        return self._fullness[self.row[i]]

    def told(self, i: int) -> Told:
        return Told(self.fps.headline_of(self.row[i]), functools.partial(self.paragraphs, i))

    def mixed_with_sent(self, i: int, h: SentArticle) -> bool:
        """Whether candidate `i` and the sent telling `h` only look like copies because one
        was mixed whole into the other (`mixed_into`; the candidates around `i` vote)."""
        sent = Told(headline_words(h.title), lambda: h.paragraphs)
        return mixed_into(self.told(i), sent, self._told_around(self.relations(), i))

    def _told_around(self, rel: Mapping[int, Iterable[int]], *of: int) -> Iterator[Told]:
        """The tellings related to those `of` (made when `mixed_into` asks: most pairs are
        settled by their headlines first)."""
        for h in {k for i in of for k in rel.get(i, ())} - set(of):
            yield self.told(h)

    def relations(self) -> dict[int, dict[int, str]]:
        """For each candidate, the batch candidates it copies or shares its story with
        (made once)."""
        if self._relations is None:
            self._relations = self._find_relations()
        return self._relations

    def _find_relations(self) -> dict[int, dict[int, str]]:
        rel: dict[int, dict[int, str]] = defaultdict(dict)

        def link(i: int, j: int, kind: str) -> None:
            if STRENGTH[kind] > STRENGTH.get(rel[i].get(j, ""), 0):
                rel[i][j] = rel[j][i] = kind

        def related(i: int, j: int) -> bool:
            return i in rel and j in rel[i]

        fps, live = self.fps, self.live
        for members in holding_one_key(fps.exact, live):
            for i, j in itertools.combinations(members, 2):
                link(i, j, DUPLICATE)
        # the same GUID in one feed, the same article URL
        for members in holding_one_key(fps.ids.values, [live[r] for r in fps.ids.holders()]):
            for i, j in itertools.combinations(members[:MAX_BUCKET], 2):
                if not related(i, j) and same_article(self.telling(i), self.telling(j)):
                    link(i, j, NEAR_DUPLICATE)

        titled = np.flatnonzero(fps.headline.lengths() >= HEADLINE_WORDS)
        for members in holding_one_key(fps.headline_key[titled], [live[r] for r in titled]):
            # The fullest telling under the headline is taken first when grouping: linking
            # each of the others to it is enough, and linear in the bucket.
            members.sort(key=self.fullness)
            first = members[0]
            for j in members[1:]:
                if not related(first, j) and republished(
                    self.telling(first), self.telling(j), self.day(first), self.day(j)
                ):
                    link(first, j, NEAR_DUPLICATE)
            for i, j in pairs_among(
                members[1:] if len(self.telling(first).headline) < LONG_HEADLINE else []
            ):
                if not related(i, j) and republished(
                    self.telling(i), self.telling(j), self.day(i), self.day(j)
                ):
                    link(i, j, NEAR_DUPLICATE)

        for i, j in bucket_pairs(self.live, self.bands):
            if not related(i, j) and is_copy(self.telling(i), self.telling(j)):
                link(i, j, NEAR_DUPLICATE)
        self.forget_tellings()
        self._unlink_mixed_in(rel)
        return rel

    def _unlink_mixed_in(self, rel: dict[int, dict[int, str]]) -> None:
        """Undo the copy links of a text to another story's copy it was mixed into whole."""
        found = {i: list(related) for i, related in rel.items()}  # who votes: all found
        for i in list(rel):
            for j, kind in list(rel[i].items()):
                if j < i or kind != NEAR_DUPLICATE:
                    continue
                if self._each_its_own(i, j) or mixed_into(
                    self.told(i), self.told(j), self._told_around(found, i, j)
                ):
                    del rel[i][j], rel[j][i]

    def _each_its_own(self, i: int, j: int) -> bool:
        """Whether `i` and `j`, under headlines that differ, share a paragraph or two while
        each holds more paragraphs of its own than they share, and their own say other
        things (OWN_TEXT_ALIKE): a long paragraph of another story mixed into both made
        them look like copies. (A copy edited word by word shares few paragraphs too, but
        its own stay alike.)"""
        mine, theirs = self.paragraphs(i), self.paragraphs(j)
        shared = mine & theirs
        if not shared or min(len(mine), len(theirs)) <= 2 * len(shared):
            return False
        if headline_similarity(self.told(i).headline, self.told(j).headline) >= SAME_HEADLINE:
            return False
        own_i, own_j = (self._own_words(x, shared) for x in (i, j))
        return len(own_i & own_j) < OWN_TEXT_ALIKE * len(own_i | own_j)

    def _own_words(self, i: int, shared: frozenset[int]) -> set[bytes]:
        """The content words of `i`'s paragraphs outside `shared`."""
        paragraphs = paragraph_words(self.fps.articles[self.row[i]])
        return {
            w for key, ws in paragraphs.items() if key not in shared for w in without_stop_words(ws)
        }

    def anchor_pairs(self, history: SentStories) -> np.ndarray:
        """The pairs of candidates worth a same-story score, close in time (rows of two
        candidates): those that share MIN_ANCHORS anchors, facts or name words held by at
        most ANCHOR_MAX_DF candidates (one held by more is no sign of one story, and the cap
        keeps the pairs linear in the candidates), or MIN_RARE_WORDS rare content words."""
        facts = self.facts()
        df = facts.holders.lengths()
        anchors = facts.holders.take(
            np.flatnonzero((df > 1) & (df <= ANCHOR_MAX_DF) & np.isin(facts.kinds, ANCHOR_KINDS))
        )
        by_anchors = pairs_within(anchors.values, anchors.holders(), MIN_ANCHORS)
        by_words = pairs_within(*self.rare_words(history), MIN_RARE_WORDS)
        rows = unique_pairs(np.concatenate([by_anchors, by_words]))
        known = [self.day(i) for i in self.live]
        days = np.array([d or 0 for d in known], np.int64)
        dated = np.array([d is not None for d in known], bool)
        a, b = rows[:, 0], rows[:, 1]
        close = ~(dated[a] & dated[b]) | (np.abs(days[a] - days[b]) <= STORY_WINDOW_DAYS)
        return np.asarray(self.live, np.int64)[rows[close]].reshape(-1, 2)

    def common_anchors(self) -> Ragged:
        """The holders (candidates) of each anchor held by more than ANCHOR_MAX_DF
        candidates, a row each: too common to pair its holders, but stories that share them
        may be parts of one event told a few hundred ways (stories.py:
        `_join_split_stories`)."""
        facts = self.facts()
        df = facts.holders.lengths()
        common = np.flatnonzero((df > ANCHOR_MAX_DF) & np.isin(facts.kinds, ANCHOR_KINDS))
        held = facts.holders.take(common)
        return Ragged(np.asarray(self.live, np.int32)[held.values], held.starts)

    def rare_words(
        self, history: SentStories, with_sent: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(holder row, word) of each rare content word: one held by more than one candidate
        and at most RARE_WORD_MAX_DF (as the same-story score's vocabulary counts them); or,
        `with_sent`, one that sent articles hold too, held by at most RARE_WORD_MAX_DF
        candidates and sent articles together. Read off the weighed content words (a column
        per word of the vocabulary), not searched for."""
        reports = self.reports(history)
        vocab = reports.vocabulary
        df = vocab.used_by + vocab.sent_by if with_sent else vocab.used_by
        shared = vocab.sent_by > 0 if with_sent else vocab.used_by > 1
        rare = shared & (df <= RARE_WORD_MAX_DF)  # content words: the matrix holds no names
        words = Ragged(reports.words.indices, reports.words.indptr)  # the columns of each row
        found = rare[words.values]
        return words.holders()[found], vocab.terms[words.values[found]].astype(np.uint32)

    def story_scorer(self, history: SentStories) -> Callable[[np.ndarray], np.ndarray]:
        """The same-story probability (similarity.py) of each of many pairs of candidates
        (rows of two)."""

        def scores(pairs: np.ndarray) -> np.ndarray:
            pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
            if not len(pairs):
                return np.zeros(0)
            rows_a = self.row_of[pairs.min(axis=1)]
            rows_b = self.row_of[pairs.max(axis=1)]
            reports = self.reports(history)
            p = same_story(reports, rows_a, reports, rows_b)
            # Paragraphs two reports share word for word without being copies were mixed in
            # by a republisher: no evidence that they tell one story (looked at only where it
            # changes the score: most pairs score 0).
            paragraphs = self.fps.paragraphs
            for k in np.flatnonzero(p).tolist():
                if not paragraphs(rows_a[k]).isdisjoint(paragraphs(rows_b[k])):
                    p[k] = 0.0
            return p

        return scores

    def reports(self, history: SentStories) -> Reports:
        """The candidates weighed for the same-story score by the terms' rarity over them and
        what was sent (made once a selection: the batch and history scores use the same)."""
        if self._reports is None:
            facets = candidate_facets(self.fps, self.feed_titles)
            self._reports = weigh(facets, vocabulary(facets, history))
        return self._reports


@dataclass(frozen=True)
class _FactIndex:
    """Each fact the candidates hold, with its kind as the first candidate holding it gives it
    and the rows of the candidates holding it, in order."""

    keys: np.ndarray  # sorted
    kinds: np.ndarray  # uint8
    holders: Ragged

    @classmethod
    def of(cls, fps: Fingerprints) -> _FactIndex:
        order = np.argsort(fps.facts.values, kind="stable")
        keys = fps.facts.values[order]
        new = np.ones(len(keys), bool)
        new[1:] = keys[1:] != keys[:-1]
        first = np.flatnonzero(new)
        rows = fps.facts.holders()[order].astype(np.int32)
        lengths = np.diff(np.append(first, len(keys)))
        return cls(keys[first], fps.kinds[order[first]], Ragged.of(rows, lengths))

    def at(self, keys: np.ndarray) -> np.ndarray:
        """Where each of `keys` (facts the candidates hold) is."""
        return np.searchsorted(self.keys, keys)
