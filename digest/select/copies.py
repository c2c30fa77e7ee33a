"""Whether two tellings are copies of one text: one pair at a time, a candidate or a sent
telling on either side.

A copy is one text republished: most of the smaller text is contained in the larger (a trimmed,
reordered, re-wrapped or excerpted copy, a paragraph added), or about half of it when the
headlines agree once republishing labels ("Update:", "(Part 2)") are taken off. Sharing one or
two paragraphs with another story makes no copy of it (`mixed_into`). Two items under one
identity key are one article unless the key was reused (`same_article`), and one headline
republished within days is one story even when its copies share little text (`republished`).
MinHash estimates decide a pair in the batch and against what was sent alike, so a copy
skipped in one run is a copy in the next.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .fingerprint import NUM_PERM, headline_words
from .sent import SentArticle
from .similarity import feed_title

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
BYLINE_SHINGLES = 5  # fewer shingles than this (a byline) makes no two headlines one
# - tellings republished under the same headline (labels off) within a week are one story even
#   when each keeps a different half of the text; with fewer than LONG_HEADLINE content words
#   they must also share a tenth of the smaller text.
REPUBLISHED_DAYS = 7
LONG_HEADLINE = 6
REPUBLISHED_CONTAINMENT = 0.1


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
    feed_title: int  # similarity.feed_title: its feed, outlet, site and title


def is_copy(a: Telling, b: Telling) -> bool:
    """One is a copy of the other. The smaller inside the larger is not enough when the larger
    is mostly something else under another headline: a short article mixed into another
    story's copy does not make that copy a telling of it."""
    jac, cont, cont_larger = _containments(a.signature, b.signature, a.size, b.size)
    headlines = headline_similarity(a.headline, b.headline)
    if min(a.size, b.size) < BYLINE_SHINGLES and headlines < SAME_HEADLINE:
        # A byline is no article: Reddit's "submitted by /u/..." is one text under every post
        # of one user, and they are two posts. (A short brief under two headlines is a copy.)
        return False
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
    """Two tellings under one headline (its labels off, fingerprint.HEADLINE_WORDS content
    words or more) within a few days: a story republished in parts, its copies sharing little
    text. Some text in common is asked of headlines that are not long enough to be
    unmistakable, and any of two items of one feed and outlet (`similarity.feed_title`)."""
    if day_a is not None and day_b is not None and abs(day_a - day_b) > REPUBLISHED_DAYS:
        return False
    if headline_similarity(a.headline, b.headline) < 1.0:
        return False
    _, cont, _ = _containments(a.signature, b.signature, a.size, b.size)
    if len(a.headline) < LONG_HEADLINE:
        return cont >= REPUBLISHED_CONTAINMENT
    # Two items of one feed and outlet under one title that share no text at all: the title
    # may be the feed's own, over each item of a feed that holds one at a time.
    return a.feed_title != b.feed_title or cont > 0


def telling_of_sent(h: SentArticle) -> Telling:
    return Telling(
        h.signature, h.lead, h.shingles, headline_words(h.title),
        feed_title(h.source, h.outlet, h.url, h.title),
    )  # fmt: skip
