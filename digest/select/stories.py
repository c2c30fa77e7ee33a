"""Stories: which candidates tell the same story, and which stories were already sent.

Two tellings are related as
  duplicate       the same text (case, quotes, punctuation and whitespace do not count);
  near-duplicate  a copy: most of the smaller text is contained in the larger (a trimmed,
                  reordered, re-wrapped or excerpted copy, a paragraph added), or about half
                  of it when the headlines agree once republishing labels ("Update:",
                  "(Part 2)") are taken off. Sharing one or two paragraphs with another story
                  makes no copy of it;
  same-story      another report of the same event: a same-story probability from their
                  words, names, headlines and facts (similarity.py) for pairs that share a
                  rare fact or name; paragraphs shared word for word without being copies
                  (mixed in by a republisher) make it 0.
The same relations decide a pair in the batch and against what was sent (MinHash estimates
both ways, one score), so a copy skipped in one run is a copy in the next.

Grouping never chains two stories through a weak link: copies are grouped first, fullest
first (the whole article before an excerpt, more words first, earlier on ties), each joining
the group whose first telling it copies, or of which it copies a copy, or most of whose
members it copies (`copy_groups`); then the groups by average linkage of their best
tellings' same-story scores, and a group of one left alone joins the story it matches
clearly better than any other (`group`).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ..models import ALREADY_SENT, DUPLICATE, NEAR_DUPLICATE, SAME_STORY, Article
from ..text import without_stop_words
from .facts import AMOUNT, COUNT, DATE, NAME, NAME_WORD, PERCENT
from .fingerprint import (
    HEADLINE_WORDS,
    NUM_PERM,
    Fingerprints,
    candidate_facets,
    headline_words,
    paragraph_words,
    sent_facets,
)
from .ragged import Ragged
from .sent import SentArticle, SentStories
from .similarity import (
    ATTACH_P,
    HISTORY_P,
    MIN_SCORE,
    NAME_BIT,
    SAME_STORY_P,
    SPLIT_P,
    Reports,
    average_linkage,
    rivals,
    same_story,
    vocabulary,
    weigh,
)

# Thresholds measured on tests/test_neardup.py's labelled set (real articles, their changed
# copies, other outlets' reports of the same events, same-topic different events) and on the
# republished feeds of tests/test_stories.py:
# - changed copies hold >= 0.8 of the smaller text's shingles in the larger (estimated from
#   64-value MinHashes); different articles <= 0.45, a copy mixed with two paragraphs of
#   another story holds 0.2-0.5 of it. Jaccard >= 0.5 alone is a copy too.
NEAR_JACCARD = 0.5
NEAR_CONTAINMENT = 0.8
# - a republished copy (same headline once labels are off) trimmed to half its paragraphs
#   and mixed with others holds >= 0.45 of itself in the original.
TITLED_CONTAINMENT = 0.45
SAME_HEADLINE = 0.6  # headline content-word Jaccard
# - ... and, under another headline, the copy is not mostly other text (a short article mixed
#   whole into another story's copy is half of it or less).
LARGER_SHARE = 0.6
# - under headlines that share hardly a word, a copy must be nearly all of the same text: two
#   republished copies of different stories, each mixed with the other, share half or more.
OTHER_HEADLINE = 0.2
RETITLED_JACCARD = 0.7
RETITLED_CONTAINMENT = 0.9
# - excerpts hold >= 0.6 of their shingles inside the full article and open with its words.
EXCERPT_CONTAINMENT = 0.6
NEAR_LEAD = 0.5  # MinHash Jaccard of the opening words
MIN_CONTAINED = 20  # fewer shingles than this is too little text to call it contained
# - two texts under different headlines sharing a paragraph or two, each holding more of its
#   own, are copies only when their own paragraphs say alike (content-word Jaccard: copies
#   edited word by word 0.56-0.91, such mixtures of the republished real pages 0-0.08).
OWN_TEXT_ALIKE = 0.3
# - reports of one event are compared within a season (same-story scores: similarity.py).
STORY_WINDOW_DAYS = 90
# - tellings republished under the same headline (labels off) within a week are one story even
#   when each keeps a different half of the text; with fewer than LONG_HEADLINE content words
#   they must also share a tenth of the smaller text.
REPUBLISHED_DAYS = 7
LONG_HEADLINE = 6
REPUBLISHED_CONTAINMENT = 0.1

# Two articles are compared for same-story only when they share an anchor: a fact or a word of
# a name held by at most ANCHOR_MAX_DF of the compared articles. One held by more is no sign of
# one story, and the cap keeps the number of pairs linear in the candidates.
ANCHOR_MAX_DF = 50
MIN_ANCHORS = 2  # pairs sharing one anchor only never reached a same-story score on ECB+
ANCHORS = frozenset({DATE, AMOUNT, PERCENT, COUNT, NAME, NAME_WORD})
_ANCHORS = np.array([ord(k) for k in sorted(ANCHORS)], np.uint8)  # as Fingerprints.kinds
# Or when they share MIN_RARE_WORDS of their top content words each held by at most
# RARE_WORD_MAX_DF articles: two write-ups that name little still tell their story in its own
# words (ECB+ dev: 89 stories for 40 events become 84, precision unchanged).
RARE_WORD_MAX_DF = 20
MIN_RARE_WORDS = 3
SMALL_STORY = 4  # copy groups: a story this small may join a bigger one (_join_small_stories)
RARE_AT_ONCE = 4096  # candidates whose words are looked up among the rare ones at once
SENT_AT_ONCE = 1024  # sent articles scored against the candidates in one go
SHARING_AT_ONCE = 2048  # holders whose shared keys are counted in one sparse product
MAX_BUCKET = 50  # LSH bucket members compared with each other, beyond: only with the first
COPY_LINKAGE = 0.4  # see _join_copy_groups
STRENGTH = {DUPLICATE: 3, NEAR_DUPLICATE: 2, SAME_STORY: 1}
COPIES = (DUPLICATE, NEAR_DUPLICATE)


# --- one pair ---------------------------------------------------------------------------------


def estimated_similarity(
    sig_a: np.ndarray, sig_b: np.ndarray, size_a: int, size_b: int
) -> tuple[float, float]:
    """Jaccard from two MinHash signatures, containment of the smaller from it and the sizes."""
    j, small, _ = _containments(sig_a, sig_b, size_a, size_b)
    return j, small


def _containments(
    sig_a: np.ndarray, sig_b: np.ndarray, size_a: int, size_b: int
) -> tuple[float, float, float]:
    """Jaccard, and how much of the smaller and of the larger text the two have in common."""
    j = float(np.count_nonzero(sig_a == sig_b)) / NUM_PERM
    if not min(size_a, size_b):
        return 0.0, 0.0, 0.0
    common = j * (size_a + size_b) / (1 + j)
    return j, min(1.0, common / min(size_a, size_b)), min(1.0, common / max(size_a, size_b))


def lead_similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def headline_similarity(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class Telling:
    """What a pair decision needs of either side (a candidate or a sent article)."""

    signature: np.ndarray
    lead: np.ndarray
    size: int
    headline: frozenset[int]


def is_copy(a: Telling, b: Telling) -> bool:
    """One is a copy of the other. The smaller inside the larger is not enough when the larger
    is mostly something else under another headline: a short article mixed into another
    story's copy does not make that copy a telling of it."""
    jac, cont, cont_larger = _containments(a.signature, b.signature, a.size, b.size)
    headlines = headline_similarity(a.headline, b.headline)
    if a.headline and b.headline and headlines < OTHER_HEADLINE:
        # Headlines with no word in common: two stories, unless nearly all of the text is one.
        return jac >= RETITLED_JACCARD or (
            cont >= RETITLED_CONTAINMENT and cont_larger >= LARGER_SHARE
        )
    if jac >= NEAR_JACCARD:
        return True
    if min(a.size, b.size) < MIN_CONTAINED:
        return False
    same_headline = headlines >= SAME_HEADLINE
    same_opening = lead_similarity(a.lead, b.lead) >= NEAR_LEAD
    if cont >= NEAR_CONTAINMENT and (cont_larger >= LARGER_SHARE or same_headline or same_opening):
        return True
    if cont >= TITLED_CONTAINMENT and same_headline:
        return True
    return cont >= EXCERPT_CONTAINMENT and same_opening


@dataclass(frozen=True)
class Told:
    """What `mixed_into` asks of a telling: its headline words and its paragraphs' keys
    (`keys` makes them, when first asked: most pairs are settled by their headlines)."""

    headline: frozenset[int]
    keys: Callable[[], frozenset[int]]

    @functools.cached_property
    def paragraphs(self) -> frozenset[int]:
        return self.keys()


def mixed_into(a: Told, b: Told, around: Iterable[Told]) -> bool:
    """Whether `a` and `b` only look like copies because a republisher mixed one story's
    paragraphs whole into a copy of another: a paragraph or two of one story make its short
    tellings look contained in that copy (a long paragraph may be most of it), and two such
    mixtures may even hold the same text under two headlines.

    Under headlines that differ, a paragraph the two share is at home with the headline more
    of its holders carry (the two and the tellings `around` them) than any other; when it is
    at home with one side and the other holds paragraphs of its own, that other is a
    mixture, not a copy; two texts each holding a paragraph at home with the other are two
    mixtures; and so are two holding a paragraph at home under a third headline, unless
    they hold nothing else. Two that each hold paragraphs of their own and share one with
    no home are left copies (a copy retitled, with a paragraph added and one dropped, is
    that too), unless the other tellings under each headline all lack it: then it was mixed
    into both. (Other tellings trimmed hard enough to drop the same paragraph of their own
    would make it look mixed in too.)"""
    if headline_similarity(a.headline, b.headline) >= SAME_HEADLINE:
        return False
    shared = a.paragraphs & b.paragraphs
    if not shared:
        return False
    around = list(around)
    holders = [t for t in (a, b, *around) if not t.paragraphs.isdisjoint(shared)]
    sides = [
        [headline_similarity(t.headline, side.headline) >= SAME_HEADLINE for t in holders]
        for side in (a, b)
    ]
    sides.append([not (x or y) for x, y in zip(*sides, strict=True)])  # neither headline
    homes = set()
    for p in shared:
        votes = [
            sum(v for t, v in zip(holders, side, strict=True) if p in t.paragraphs)
            for side in sides[:2]
        ]
        # a third side is the one third headline most of the others carry (its labels off),
        # not all of them: a paragraph mixed into many stories' copies is at home with none
        third = Counter(
            t.headline for t, v in zip(holders, sides[2], strict=True) if v and p in t.paragraphs
        )
        votes.append(max(third.values(), default=0))
        if votes.count(max(votes)) == 1:
            homes.add(votes.index(max(votes)))
    if 2 in homes:  # a third story's paragraphs, mixed into both
        return a.paragraphs != b.paragraphs
    if homes == {0, 1}:
        return True  # each holds the other's paragraphs: two mixtures of one text
    if homes == {0}:
        return not b.paragraphs <= a.paragraphs  # a's paragraphs inside b, which has more
    if homes == {1}:
        return not a.paragraphs <= b.paragraphs
    if not homes:  # no headline carries them more than another: at home with neither side?
        return a.paragraphs != b.paragraphs and all(
            _foreign(shared, side, around) for side in (a, b)
        )
    return False


def _foreign(paragraphs: frozenset[int], side: Told, around: Sequence[Told]) -> bool:
    """Whether the tellings `around` under `side`'s headline (two or more) all lack these
    paragraphs `side` holds: trimmed copies drop a paragraph of their own now and then, not
    every time."""
    kin = [t for t in around if headline_similarity(t.headline, side.headline) >= SAME_HEADLINE]
    return len(kin) >= 2 and all(t.paragraphs.isdisjoint(paragraphs) for t in kin)


def same_article(a: Telling, b: Telling) -> bool:
    """Two items under one identity key (a GUID in one feed, an article URL) are one article,
    perhaps updated, when their headlines agree or the text is a copy; otherwise the key was
    reused for another item (feeds that number their items, a partner keeping a GUID)."""
    return headline_similarity(a.headline, b.headline) >= SAME_HEADLINE or is_copy(a, b)


def republished(a: Telling, b: Telling, day_a: int | None, day_b: int | None) -> bool:
    """Two tellings under one headline (its labels off, HEADLINE_WORDS content words or more)
    within a few days: a story republished in parts, its copies sharing little text. Some text
    in common is asked of headlines that are not long enough to be unmistakable."""
    if day_a is not None and day_b is not None and abs(day_a - day_b) > REPUBLISHED_DAYS:
        return False
    if headline_similarity(a.headline, b.headline) < 1.0:
        return False
    _, cont, _ = _containments(a.signature, b.signature, a.size, b.size)
    return len(a.headline) >= LONG_HEADLINE or cont >= REPUBLISHED_CONTAINMENT


def telling_of_sent(h: SentArticle) -> Telling:
    return Telling(h.signature, h.lead, h.shingles, headline_words(h.title))


# --- the batch --------------------------------------------------------------------------------


class Batch:
    """The live candidates with their fingerprints (row r of `fps` is candidate `live[r]`),
    and the facts they hold."""

    def __init__(
        self,
        candidates: Sequence[Article],
        live: Sequence[int],
        fps: Fingerprints,
        ref: dt.date | None,
    ):
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

    def telling(self, i: int) -> Telling:
        t = self._tellings.get(i)
        if t is None:
            r, fps = self.row[i], self.fps
            t = Telling(fps.signature[r], fps.lead[r], int(fps.size[r]), fps.headline_of(r))
            self._tellings[i] = t
        return t

    def day(self, i: int) -> int | None:
        d = self.candidates[i].date or self.ref
        return d.toordinal() if d else None

    def paragraphs(self, i: int) -> frozenset[int]:
        return self.fps.paragraphs(self.row[i])

    def facts(self) -> _FactIndex:
        """The facts the candidates hold, with their holders."""
        if self._facts is None:
            self._facts = _FactIndex.of(self.fps)
        return self._facts

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
        for members in _holding_one_key(fps.exact, live):
            for i, j in itertools.combinations(members, 2):
                link(i, j, DUPLICATE)
        # the same GUID in one feed, the same article URL
        for members in _holding_one_key(fps.ids.values, [live[r] for r in fps.ids.holders()]):
            for i, j in itertools.combinations(members[:MAX_BUCKET], 2):
                if not related(i, j) and same_article(self.telling(i), self.telling(j)):
                    link(i, j, NEAR_DUPLICATE)

        titled = np.flatnonzero(fps.headline.lengths() >= HEADLINE_WORDS)
        for members in _holding_one_key(fps.headline_key[titled], [live[r] for r in titled]):
            # The fullest telling under the headline is taken first when grouping: linking
            # each of the others to it is enough, and linear in the bucket.
            members.sort(key=self.fullness)
            first = members[0]
            for j in members[1:]:
                if not related(first, j) and republished(
                    self.telling(first), self.telling(j), self.day(first), self.day(j)
                ):
                    link(first, j, NEAR_DUPLICATE)
            for i, j in _pairs(
                members[1:] if len(self.telling(first).headline) < LONG_HEADLINE else []
            ):
                if not related(i, j) and republished(
                    self.telling(i), self.telling(j), self.day(i), self.day(j)
                ):
                    link(i, j, NEAR_DUPLICATE)

        for i, j in bucket_pairs(self.live, self.bands):
            if not related(i, j) and is_copy(self.telling(i), self.telling(j)):
                link(i, j, NEAR_DUPLICATE)
        self._tellings.clear()
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

    def anchor_pairs(self) -> np.ndarray:
        """The pairs of candidates worth a same-story score, close in time (rows of two
        candidates): those that share MIN_ANCHORS anchors, facts or name words held by at
        most ANCHOR_MAX_DF candidates (one held by more is no sign of one story, and the cap
        keeps the pairs linear in the candidates), or MIN_RARE_WORDS rare content words."""
        facts = self.facts()
        df = facts.holders.lengths()
        anchors = facts.holders.take(
            np.flatnonzero((df > 1) & (df <= ANCHOR_MAX_DF) & np.isin(facts.kinds, _ANCHORS))
        )
        by_anchors = pairs_within(anchors.values, anchors.holders(), MIN_ANCHORS)
        by_words = pairs_within(*self._rare_words(), MIN_RARE_WORDS)
        rows = _unique_pairs(np.concatenate([by_anchors, by_words]))
        known = [self.day(i) for i in self.live]
        days = np.array([d or 0 for d in known], np.int64)
        dated = np.array([d is not None for d in known], bool)
        a, b = rows[:, 0], rows[:, 1]
        close = ~(dated[a] & dated[b]) | (np.abs(days[a] - days[b]) <= STORY_WINDOW_DAYS)
        return np.asarray(self.live, np.int64)[rows[close]].reshape(-1, 2)

    def _rare_words(self) -> tuple[np.ndarray, np.ndarray]:
        """(holder row, word) of each rare content word, one held by more than one candidate
        and at most RARE_WORD_MAX_DF; looked up a block of rows at a time (at 40,000
        candidates the words are 2 million)."""
        terms = self.fps.terms
        used, df = np.unique(terms.values[(terms.values & NAME_BIT) == 0], return_counts=True)
        rare = used[(df > 1) & (df <= RARE_WORD_MAX_DF)]
        holders, words = [np.zeros(0, np.int64)], [np.zeros(0, np.uint32)]
        for start in range(0, len(terms), RARE_AT_ONCE):
            block = terms.block(start, min(start + RARE_AT_ONCE, len(terms)))
            at = np.minimum(np.searchsorted(rare, block.values), max(len(rare) - 1, 0))
            found = rare[at] == block.values if len(rare) else np.zeros(len(at), bool)
            holders.append(block.holders()[found] + start)
            words.append(block.values[found])
        return np.concatenate(holders), np.concatenate(words)

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
            facets = candidate_facets(self.fps)
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


def _holding_one_key(keys: np.ndarray, holders: Sequence[int]) -> list[list[int]]:
    """The holders of each key held more than once (`holders[n]` holds `keys[n]`), in order,
    the keys in the order they first occur."""
    order = np.argsort(keys, kind="stable")
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


def _sharing(
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


def _unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Each pair (a row of two ids) once, in order (np.unique(pairs, axis=0), in less memory)."""
    if not len(pairs):
        return np.zeros((0, 2), np.int64)
    n = int(pairs.max()) + 1
    keys = np.unique(pairs[:, 0].astype(np.int64) * n + pairs[:, 1])
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


def _pairs(members: list[int]) -> Iterable[tuple[int, int]]:
    for n, i in enumerate(members):
        for j in members[n + 1 : MAX_BUCKET if n else None]:
            yield (i, j)


def bucket_pairs(live: list[int], bands: np.ndarray) -> set[tuple[int, int]]:
    """Pairs of candidates that share an LSH band key (most keys are unique: numpy finds
    the shared ones, Python only walks those)."""
    flat = bands.ravel()
    order = np.argsort(flat, kind="stable")
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
    return {p for members in buckets.values() for p in _pairs(members)}


# --- grouping ---------------------------------------------------------------------------------


@dataclass
class Story:
    rep: int  # the best telling: fullest non-excerpt, earliest on ties
    members: list[int] = field(default_factory=list)  # rep first
    kind: dict[int, str] = field(default_factory=dict)  # member -> its relation to the rep

    @property
    def others(self) -> list[int]:
        return self.members[1:]


def group(
    batch: Batch,
    rel: dict[int, dict[int, str]],
    pairs: np.ndarray,
    score: Callable[[np.ndarray], np.ndarray],
    position: dict[int, int],
) -> list[Story]:
    """Candidates into stories: copies first (`copy_groups`), then the copy groups by
    average linkage of the same-story scores of their best tellings (`pairs`: the pairs of
    candidates worth a score, rows of two); a small story then joins the bigger one it
    clearly belongs to, if any (`_join_small_stories`)."""
    copies = copy_groups(batch, rel, position)
    rep = np.arange(len(batch.candidates))
    for s in copies:
        rep[s.members] = s.rep
    place = np.zeros(len(batch.candidates), np.int64)
    place[list(position)] = list(position.values())
    a, b = rep[pairs[:, 0]], rep[pairs[:, 1]]
    a, b = np.where(place[a] < place[b], a, b), np.where(place[a] < place[b], b, a)
    # each pair of best tellings once, the first on the page first
    node_pairs = _unique_pairs(np.column_stack([a[a != b], b[a != b]]))
    p = score(node_pairs)
    kept = p >= MIN_SCORE
    node_score = dict(zip(map(tuple, node_pairs[kept].tolist()), p[kept].tolist(), strict=True))
    nodes = sorted((s.rep for s in copies), key=position.__getitem__)
    clusters = average_linkage(nodes, node_score, SAME_STORY_P)
    clusters = _join_small_stories(clusters, node_score)
    by_rep = {s.rep: s for s in copies}
    stories = [_merged([by_rep[r] for r in cluster], SAME_STORY) for cluster in clusters]
    _best_tellings(stories, batch, position, _centrality(stories, rep.tolist(), score))
    for s in stories:  # each story where its first telling is: newest page first, page order
        s.members[1:] = sorted(s.members[1:], key=position.__getitem__)
    stories.sort(key=lambda s: min(position[m] for m in s.members))
    return stories


def _centrality(
    stories: list[Story],
    rep_of: Sequence[int],
    score: Callable[[np.ndarray], np.ndarray],
) -> dict[int, float]:
    """Each telling's mean same-story score with the other tellings of its story (a copy
    of it counts 1), in stories of three copy groups or more."""
    several = [s for s in stories if len({rep_of[m] for m in s.members}) >= 3]
    pairs = [
        (m, x)
        for s in several
        for m, x in itertools.combinations(sorted(s.members), 2)
        if rep_of[m] != rep_of[x]
    ]
    scored = dict(zip(pairs, score(np.array(pairs, np.int64)).tolist(), strict=True))
    out = {}
    for s in several:
        for m in s.members:
            total = sum(
                1.0 if rep_of[m] == rep_of[x] else scored[min(m, x), max(m, x)]
                for x in s.members
                if x != m
            )
            out[m] = total / (len(s.members) - 1)
    return out


def _join_small_stories(
    clusters: list[list[int]], score: dict[tuple[int, int], float]
) -> list[list[int]]:
    """Small stories that average linkage kept apart join a bigger story they clearly belong
    to, the smallest first (ECB+ dev: 84 stories for 40 events become 62, precision 0.98 and
    5 of 460 articles under another event's story both before and after; so in each half of
    the topics):
    - a story of one copy group, at a mean score of ATTACH_P with the bigger story's tellings,
      ATTACH_MARGIN times its mean with any other -- or with other stories that match the
      first at SPLIT_P, one event left in parts;
    - a story of up to SMALL_STORY copy groups, at a mean of SPLIT_P, ATTACH_MARGIN times its
      mean with any other."""
    home = {n: k for k, c in enumerate(clusters) for n in c}
    between: Counter[tuple[int, int]] = Counter()  # score sums between two stories
    for (a, b), p in score.items():
        if home[a] != home[b]:
            between[(min(home[a], home[b]), max(home[a], home[b]))] += p

    def mean(k: int, r: int) -> float:
        return between[(min(k, r), max(k, r))] / (len(clusters[k]) * len(clusters[r]))

    touching: dict[int, set[int]] = defaultdict(set)
    for k, r in between:
        touching[k].add(r)
        touching[r].add(k)
    out = [list(c) for c in clusters]
    joined: set[int] = set()
    for x in sorted(range(len(clusters)), key=lambda k: len(clusters[k])):
        size = len(clusters[x])
        if size > SMALL_STORY:
            break
        means = {k: mean(x, k) for k in touching[x] if len(clusters[k]) > size and k not in joined}
        if not means:
            continue
        best, m = max(means.items(), key=lambda kv: kv[1])
        claimants = rivals(means, best)
        if size == 1:
            fits = m >= ATTACH_P and all(mean(best, k) >= SPLIT_P for k in claimants)
        else:
            fits = m >= SPLIT_P and not claimants
        if fits:
            out[best] += out[x]
            out[x] = []
            joined.add(x)
    return [c for c in out if c]


def copy_groups(
    batch: Batch, rel: dict[int, dict[int, str]], position: dict[int, int]
) -> list[Story]:
    """Candidates into groups of copies, fullest first, without chaining through a weak link."""
    row, exact = batch.row, batch.fps.exact.tolist()
    order = sorted(batch.live, key=lambda i: (*batch.fullness(i), position[i]))
    stories: list[Story] = []
    story_of: dict[int, Story] = {}
    for i in order:
        best: tuple | None = None
        touched: dict[int, list[str]] = defaultdict(list)
        for j, kind in rel.get(i, {}).items():
            s = story_of.get(j)
            if s is None:
                continue
            touched[id(s)].append(kind)
            if j == s.rep:
                rank = (3, STRENGTH[kind], kind)
            elif kind in COPIES and s.kind[j] in COPIES:
                rank = (2, STRENGTH[kind], NEAR_DUPLICATE)
            else:
                continue
            key = (rank[0], rank[1], -position[s.rep])
            if best is None or key > best[0]:
                best = (key, s, rank[2])
        if best is None:
            for s in {
                id(story_of[j]): story_of[j] for j in rel.get(i, {}) if j in story_of
            }.values():
                kinds = touched[id(s)]
                if 2 * len(kinds) > len(s.members):
                    kind = max(kinds, key=STRENGTH.__getitem__)
                    key = (1, STRENGTH[kind], -position[s.rep])
                    if best is None or key > best[0]:
                        best = (key, s, kind)
        if best is None:
            s = Story(i, [i])
            stories.append(s)
        else:
            _, s, kind = best
            if exact[row[i]] == exact[row[s.rep]]:
                kind = DUPLICATE
            s.members.append(i)
            s.kind[i] = kind
        story_of[i] = s
    stories = _join_copy_groups(stories, rel)
    _best_tellings(stories, batch, position)
    for s in stories:  # each story where its first telling is: newest page first, page order
        s.members[1:] = sorted(s.members[1:], key=position.__getitem__)
    stories.sort(key=lambda s: min(position[m] for m in s.members))
    return stories


def _join_copy_groups(stories: list[Story], rel: dict[int, dict[int, str]]) -> list[Story]:
    """Copy groups most of whose tellings are copies of each other's, as one (average
    linkage of the share of their pairs that are copies, from COPY_LINKAGE on). A story
    republished many times over, trimmed and reordered, falls into several groups by which
    of its long tellings came first (copy_groups does not chain), and those groups share
    paragraphs, which the same-story score takes for mixing."""
    group_of = {m: n for n, s in enumerate(stories) for m in s.members}
    links: Counter[tuple[int, int]] = Counter()
    for i, related in rel.items():
        for j, kind in related.items():
            a, b = group_of.get(i), group_of.get(j)
            if i < j and kind in COPIES and a is not None and b is not None and a != b:
                links[min(a, b), max(a, b)] += 1
    if not links:
        return stories
    sizes = [len(s.members) for s in stories]
    return [
        _merged([stories[n] for n in cluster], NEAR_DUPLICATE)
        for cluster in average_linkage(range(len(stories)), links, COPY_LINKAGE, sizes)
    ]


def _merged(parts: list[Story], kind: str) -> Story:
    """The first of `parts` with the others' tellings added, each other part's face related
    to it as `kind`."""
    story = parts[0]
    for part in parts[1:]:
        story.members += part.members
        story.kind.update(part.kind)
        story.kind[part.rep] = kind
    return story


def _best_tellings(
    stories: list[Story],
    batch: Batch,
    position: dict[int, int],
    central: dict[int, float] | None = None,
) -> None:
    """Each story's best telling, the one shown and remembered as the story: not an excerpt,
    with no paragraph of another story in it, then the most central (`central`: its mean
    same-story score with the story's other tellings, to a tenth: a story's oddest report,
    often its longest, is a poor face for it), then the fullest, then the first.

    A paragraph's home is the story most of whose tellings have it; in a story told three or
    more ways, a paragraph no other telling has was mixed in by a republisher. A copy mixed
    with another story is a poor face for either, and would carry that story's facts into
    what is remembered."""
    row, fps = batch.row, batch.fps
    several = [s for s in stories if len(s.members) > 1]
    texts_with: dict[int, Counter[int]] = defaultdict(Counter)  # paragraph -> story -> texts
    for n, s in enumerate(several):
        for m in {int(fps.exact[row[m]]): m for m in s.members}.values():
            for p in batch.paragraphs(m):
                texts_with[p][n] += 1
    for n, s in enumerate(several):
        told = len({int(fps.exact[row[m]]) for m in s.members})

        def mixed(m: int, n: int = n, told: int = told) -> bool:
            for p in batch.paragraphs(m):
                if not texts_with[p]:  # the same text as another telling, wrapped otherwise
                    continue
                home, count = texts_with[p].most_common(1)[0]
                if home != n and count > texts_with[p][n]:
                    return True
                if told >= 3 and (texts_with[p][n] == 1 or 3 * texts_with[p][n] < told):
                    return True
            return False

        def rank(m: int) -> tuple:
            centrality = -round((central or {}).get(m, 0.0), 1)
            r = row[m]
            return (bool(fps.excerpt[r]), mixed(m), centrality, -int(fps.words[r]), position[m])

        best = min(s.members, key=rank)
        if best != s.rep:
            s.kind[s.rep] = s.kind.pop(best)
            s.members.remove(best)
            s.members.insert(0, best)
            s.rep = best


# --- against what was sent ----------------------------------------------------------------------


@dataclass(frozen=True)
class SentMatch:
    reason: str  # already-sent, near-duplicate or same-story
    title: str  # the sent telling's title
    story: int  # the sent story


def texts_already_sent(keys: dict[int, int], history: SentStories) -> dict[int, SentMatch]:
    """Candidates (`keys`: their exact-text keys) whose very text was sent: known at the cost
    of one lookup each, before any fingerprint is made (a run with nothing new stops here).
    They take no part in grouping: whatever copies them copies the sent telling, which
    history answers for."""
    if not keys or not history.count():
        return {}
    sent_with: dict[int, list[int]] = defaultdict(list)
    for key, aid in history.matching_keys(np.fromiter(set(keys.values()), np.int64)):
        sent_with[key].append(aid)
    if not sent_with:
        return {}
    sent = history.articles({aid for aids in sent_with.values() for aid in aids})
    out = {}
    for i, key in keys.items():
        if key in sent_with:
            h = sent[min(sent_with[key])]
            out[i] = SentMatch(ALREADY_SENT, h.title, h.story)
    return out


def against_history(batch: Batch, history: SentStories) -> dict[int, SentMatch]:
    """Candidates that are tellings of a sent story: as the same article (its GUID in its
    feed, its URL), as a copy, or as another report of it. (The same text was looked up
    before fingerprinting: see texts_already_sent.)"""
    fps, live = batch.fps, batch.live
    if not len(fps) or not history.count():
        return {}
    ids = fps.ids.values
    titled = np.flatnonzero(fps.headline.lengths() >= HEADLINE_WORDS)
    heads = fps.headline_key[titled]
    sent_with: dict[int, list[int]] = defaultdict(list)
    for key, aid in history.matching_keys(np.concatenate([batch.bands.ravel(), ids, heads])):
        sent_with[key].append(aid)
    found = np.fromiter(sent_with, np.int64, len(sent_with))
    ident_hits: dict[int, set[int]] = defaultdict(set)
    band_hits: dict[int, set[int]] = defaultdict(set)
    id_rows = fps.ids.holders()
    for n in np.flatnonzero(np.isin(ids, found)).tolist():
        ident_hits[live[id_rows[n]]].update(sent_with[int(ids[n])])
    for n in np.flatnonzero(np.isin(heads, found)).tolist():
        band_hits[live[titled[n]]].update(sent_with[int(heads[n])])
    hit = np.isin(batch.bands, found)
    for row, col in zip(*np.nonzero(hit), strict=True):
        band_hits[live[row]].update(sent_with[int(batch.bands[row, col])])
    wanted = {a for hits in (ident_hits, band_hits) for s in hits.values() for a in s}
    sent = history.articles(wanted)
    out: dict[int, SentMatch] = {}
    for i, aids in ident_hits.items():
        for aid in sorted(aids):
            h = sent[aid]
            if same_article(batch.telling(i), telling_of_sent(h)):  # else: a reused GUID
                out[i] = SentMatch(ALREADY_SENT, h.title, h.story)
                break
    for i, aids in band_hits.items():
        if i in out:
            continue
        best = None
        for aid in sorted(aids):
            h = sent[aid]
            t = telling_of_sent(h)
            mine = batch.telling(i)
            if (
                is_copy(mine, t) or republished(mine, t, batch.day(i), h.day)
            ) and not batch.mixed_with_sent(i, h):
                jac, _ = estimated_similarity(mine.signature, h.signature, mine.size, h.shingles)
                if best is None or jac > best[0]:
                    best = (jac, h)
        if best:
            out[i] = SentMatch(NEAR_DUPLICATE, best[1].title, best[1].story)
    batch._tellings.clear()
    return out


def scores_against_history(
    batch: Batch, history: SentStories, settled: set[int]
) -> dict[int, dict[int, tuple[float, SentArticle]]]:
    """For each candidate not `settled` (already a copy of something sent), the same-story
    probability with each sent telling that shares MIN_ANCHORS anchors with it (sent articles
    within STORY_WINDOW_DAYS): candidate -> sent article id -> (probability, the sent
    article)."""
    fps = batch.fps
    if not len(fps) or not history.count():
        return {}
    days = [d for d in map(batch.day, batch.live) if d is not None]
    since = (max(days) if days else dt.date.today().toordinal()) - STORY_WINDOW_DAYS
    facts = batch.facts()
    counts = history.fact_counts(facts.keys[np.isin(facts.kinds, _ANCHORS)], since)
    if not counts:
        return {}
    sent_keys = np.fromiter(counts, np.int64, len(counts))  # sent articles holding each fact
    at = facts.at(sent_keys)
    usable = np.fromiter(counts.values(), np.int64, len(counts)) + facts.holders.lengths()[at]
    anchor_keys = sent_keys[usable <= ANCHOR_MAX_DF]
    held = facts.holders.take(at[usable <= ANCHOR_MAX_DF])
    open_rows = ~np.isin(held.values, batch.row_of[list(settled)])
    sent_held = np.array(history.facts_since(anchor_keys, since), np.int64).reshape(-1, 2)
    rows, sent_ids = _sharing(
        held.values[open_rows],
        anchor_keys[held.holders()[open_rows]],
        sent_held[:, 1],
        sent_held[:, 0],
        MIN_ANCHORS,  # as in the batch
    )
    live = np.asarray(batch.live, np.int64)
    order = np.lexsort((sent_ids, live[rows]))
    rows, sent_ids = rows[order], sent_ids[order]
    reports = batch.reports(history)
    out: dict[int, dict[int, tuple[float, SentArticle]]] = defaultdict(dict)
    told = np.unique(sent_ids)
    for start in range(0, len(told), SENT_AT_ONCE):  # memory holds a block of sent articles
        block = told[start : start + SENT_AT_ONCE]
        in_block = np.flatnonzero(np.isin(sent_ids, block))
        sent = history.articles(block.tolist())
        tellings = list(sent.values())
        sent_row = {h.id: r for r, h in enumerate(tellings)}
        p = same_story(
            reports,
            rows[in_block],
            weigh(sent_facets(tellings), reports.vocabulary),
            np.array([sent_row[aid] for aid in sent_ids[in_block].tolist()], np.int64),
        )
        for k in np.flatnonzero(p >= MIN_SCORE).tolist():
            r, aid = int(rows[in_block[k]]), int(sent_ids[in_block[k]])
            # paragraphs mixed in by a republisher: see Batch.story_scorer
            if fps.paragraphs(r).isdisjoint(sent[aid].paragraphs):
                out[batch.live[r]][aid] = (float(p[k]), sent[aid])
    return out


def story_sent_by_score(
    story: Story, scores: dict[int, dict[int, tuple[float, SentArticle]]]
) -> SentMatch | None:
    """The sent story this story is another report of, by the mean same-story probability
    of its tellings with that story's tellings (average linkage, as within the batch, over
    the tellings `_compared` says), and
    ATTACH_MARGIN times that of any other sent story (a report that two sent stories could
    claim is more often a new event of the same kind than one sent in two parts) -- unless
    the other claims are as strong as a match needs too: then it was sent in two parts."""
    sums: Counter[int] = Counter()
    tellings: dict[int, dict[int, SentArticle]] = defaultdict(dict)
    for m in story.members:
        for aid, (p, h) in scores.get(m, {}).items():
            sums[h.story] += p
            tellings[h.story][aid] = h
    means = {sid: s / (len(story.members) * _compared(tellings[sid])) for sid, s in sums.items()}
    if not means:
        return None
    sid, mean = max(means.items(), key=lambda kv: kv[1])
    told = tellings[sid]
    # As in the batch: one report and one sent telling are one story at SAME_STORY_P; a
    # lone report joins a story told several ways from HISTORY_P on.
    needed = HISTORY_P if len(story.members) > 1 or len(told) > 1 else SAME_STORY_P
    # Two sent stories that each match it as well as a match needs are one event sent in two
    # parts (ECB+ dev: 1 event of 20 fewer sent again, no new one lost); a weaker second
    # claim makes it a new event of the same kind, unless the first is clearly stronger.
    claimants = rivals(means, sid)
    if mean < needed or (claimants and max(means[k] for k in claimants) < needed):
        return None
    face = told.get(sid) or told[min(told)]  # the telling readers got, when it was compared
    return SentMatch(SAME_STORY, face.title, sid)


def _compared(tellings: dict[int, SentArticle]) -> int:
    """How many tellings of a sent story the mean is over: those a candidate was compared
    with (sharing anchors), and at least a quarter of all it was sent with. A match with
    fewer of a story sent many ways rests on what those few hold alone, such as another
    story's paragraph a republisher mixed into them (the republished real pages, seeds
    1-120: 7 stories lost without; ECB+ dev, whose sent stories are told by 1 to 11
    outlets: no match changed)."""
    sent_with = max(h.tellings for h in tellings.values())
    return max(len(tellings), -(-sent_with // 4))


def story_sent(story: Story, matches: dict[int, SentMatch]) -> SentMatch | None:
    """The sent story a candidate story is a telling of: the one most of its tellings are
    tellings of, its representative counting twice (so a story of one or two tellings goes by
    its representative). One telling alone, a copy mixed with another story, decides nothing.
    A story whose every telling copies a sent one is sent, even split between sent stories:
    one event sent as two stories, their copies now grouped as one."""
    weight = {m: 2 if m == story.rep else 1 for m in story.members}
    votes: Counter[int] = Counter()
    for m in story.members:
        if m in matches:
            votes[matches[m].story] += weight[m]
    if not votes:
        return None
    sid, n = votes.most_common(1)[0]
    if 2 * n <= sum(weight.values()) and not all(m in matches for m in story.members):
        return None
    if story.rep in matches and matches[story.rep].story == sid:
        return matches[story.rep]
    return next(matches[m] for m in story.members if m in matches and matches[m].story == sid)


def without_sent_copies(
    story: Story, matches: dict[int, SentMatch], batch: Batch, position: dict[int, int]
) -> tuple[Story, list[int]]:
    """A new story without its tellings that copy a sent one (story_sent found too few of them
    to call the story sent), and those tellings: a telling readers already got is no face for
    news, and is skipped as already sent. The fullest telling left is the face."""
    sent = [m for m in story.members if m in matches]
    fresh = [m for m in story.members if m not in matches]
    if not sent or not fresh:
        return story, []
    rep = min(fresh, key=lambda m: (*batch.fullness(m), position[m]))
    copy = story.kind.get(rep) in COPIES
    kind = {
        m: story.kind[m] if copy and story.kind.get(m) in COPIES else SAME_STORY
        for m in fresh
        if m != rep
    }
    others = sorted(kind, key=position.__getitem__)
    return Story(rep, [rep, *others], kind), sent
