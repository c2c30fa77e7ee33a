"""Same story: how likely two reports tell one event, from their words, names and facts.

Same-topic reports of different events share most of their words (two earthquakes, two
celebrities entering rehab); what tells them apart is who and when: the people and places
they name and the days and figures they give. The score combines
  words   TF-IDF cosine of their content words (title and opening, FACT_CHARS),
  names   TF-IDF cosine of the words of the names they use, one spelling across scripts
          and transliterations (facts.name_key), so "Brian G. Nichols" meets "Brian Nichols"
          and "Токаев" meets "Tokayev",
  facts   weekdays and figures both give: shared ones for, none shared against,
  headline the content words of the two headlines, weighted by rarity,
into the probability that the two tell one story (a logistic model; its weights below were
fitted on the pairs of ECB+ topics 1-22, real news from many outlets grouped by event, and
held up when fitted on half of the topics and tested on the other half).

Stories are then grouped by average linkage over these probabilities: a report joins a story
when it is likely the same story as its tellings on average, so two events are never chained
together through one ambiguous report.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .facts import AMOUNT, COUNT, DATE, PERCENT, WEEKDAY

K = TypeVar("K")
NAME_BIT = 1 << 31  # term hashes of name words carry it; content words never do
FIGURES = (DATE, AMOUNT, PERCENT, COUNT)

# The logistic model: intercept, then one weight per feature of `features`. Fitted on ECB+
# dev (benchmarks/stories_ecb.py measures them), but for the date conflict: ECB+'s events of
# one kind lie years apart and rarely give a day, so it learnt nothing of it (+0.2); set by
# hand so that two reports that each give a date and share no date or figure are two events
# however alike their names (tests/test_stories.py: two finds at one site, one team).
WEIGHTS = (-5.84, 11.2, 11.99, -1.0, -8.0, -0.79, 1.09, 6.41)
# Two groups of reports are one story from this mean probability on (average linkage).
SAME_STORY_P = 0.65
# A report left alone joins the story whose tellings it matches with this mean probability,
# when that is ATTACH_MARGIN times its mean with any other story (also against history).
ATTACH_P = 0.15
# Two stories whose tellings match each other at this mean are one event that average linkage
# left in parts: a lone report both could claim joins the stronger; a small story joins a
# bigger one at this mean (stories._join_small_stories).
SPLIT_P = 0.3
# A new story is a telling of a sent story from this mean probability on (and the margin).
HISTORY_P = 0.5
ATTACH_MARGIN = 2.0
MIN_SCORE = 0.02  # pairs scored lower are left out of the means (they count 0)
# Reports in one script whose content words' cosine is below this are never one story: on
# generated news with names drawn from a small pool (benchmarks/selection.py), names alone
# joined 149 of 2,266 unrelated articles to others; with this floor, 1 (ECB+ unchanged).
MIN_WORDS = 0.05


@dataclass(frozen=True)
class Facets:
    """What the score needs of one report: its term counts (content words and name words,
    told apart by NAME_BIT) and how many facts of each kind it states (facts.CLASSES)."""

    terms: Mapping[int, int]
    kinds: Mapping[str, int]
    headline: frozenset[int] = frozenset()  # content words of the headline (NAME_BIT clear)
    script: str = "latin"  # of its headline: "latin" or "cyrillic" (see `script_of`)


@dataclass(frozen=True)
class Weighed:
    """A report's facets weighed once by the terms' rarity: unit-length TF-IDF vectors of its
    content words and of its name words, the IDF of its headline words."""

    words: dict[int, float]
    names: dict[int, float]
    headline: dict[int, float]
    headline_weight: float
    kinds: Mapping[str, int]
    script: str


def weigh(facets: Facets, idf: Callable[[int], float]) -> Weighed:
    words: dict[int, float] = {}
    names: dict[int, float] = {}
    for t, n in facets.terms.items():
        (names if t & NAME_BIT else words)[t] = (1 + math.log(n)) * idf(t)
    headline = {t: idf(t) for t in facets.headline}
    return Weighed(
        _unit(words), _unit(names), headline, sum(headline.values()), facets.kinds, facets.script
    )


def script_of(text: str) -> str:
    """ "cyrillic" when most of its letters are, else "latin"."""
    letters = [c for c in text if c.isalpha()]
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in letters)
    return "cyrillic" if cyrillic * 2 > len(letters) else "latin"


def same_story(a: Weighed, b: Weighed, shared_kinds: Callable[[], Iterable[str]]) -> float:
    """The probability that two reports tell one story (`shared_kinds`: the kinds of the
    facts they share, asked only when needed). Two reports in one script that share next to
    none of their words are two stories however many names they share: the people of a
    region turn up in many unrelated stories (in two scripts the words cannot agree, and the
    names and figures decide)."""
    if a.script == b.script and _dot(a.words, b.words) < MIN_WORDS:
        return 0.0
    return probability(features(a, b, shared_kinds()))


def _unit(vector: dict[int, float]) -> dict[int, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {t: w / norm for t, w in vector.items()} if norm else vector


def _dot(a: dict[int, float], b: dict[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b[t] for t, w in a.items() if t in b)


def features(a: Weighed, b: Weighed, shared_kinds: Iterable[str]) -> tuple[float, ...]:
    """words cosine, names cosine, weekday conflict, date conflict, figure conflict, shared
    figures, headline words in common (IDF-weighted Jaccard). (Shared years were evidence on
    ECB+, whose same-topic events are years apart, but in a week of news every article gives
    this year.)"""
    shared = Counter(shared_kinds)
    both = lambda kind: a.kinds.get(kind, 0) and b.kinds.get(kind, 0)  # noqa: E731
    weekday_conflict = 1.0 if both(WEEKDAY) and not shared[WEEKDAY] else 0.0
    figures_shared = sum(shared[k] for k in FIGURES)
    figure_conflict = (
        1.0 if not figures_shared and any(both(k) for k in (AMOUNT, PERCENT, COUNT)) else 0.0
    )
    date_conflict = 1.0 if both(DATE) and not figures_shared else 0.0
    common = sum(w for t, w in a.headline.items() if t in b.headline)
    union = a.headline_weight + b.headline_weight - common
    return (
        _dot(a.words, b.words),
        _dot(a.names, b.names),
        weekday_conflict,
        date_conflict,
        figure_conflict,
        float(min(figures_shared, 3)),
        common / union if union else 0.0,
    )


def probability(x: Sequence[float], weights: Sequence[float] = WEIGHTS) -> float:
    z = weights[0] + sum(w * v for w, v in zip(weights[1:], x, strict=True))
    return 1 / (1 + math.exp(-z))


def clearly_best(means: Mapping[K, float]) -> tuple[K, float] | None:
    """The key with the highest mean, and its mean, when that is ATTACH_MARGIN times the
    runner-up's (a report two stories could claim joins neither); None otherwise."""
    if not means:
        return None
    ranked = sorted(means.items(), key=lambda kv: kv[1], reverse=True)
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    return ranked[0] if ranked[0][1] >= ATTACH_MARGIN * runner_up else None


def average_linkage(
    nodes: Sequence[int], score: Mapping[tuple[int, int], float], threshold: float
) -> list[list[int]]:
    """Groups of `nodes`, merged while two groups' mean pairwise score (pairs without a score
    count 0) reaches `threshold`, the closest two first. `score` keys are (i, j) with i < j
    in node order; only scored pairs are ever compared, so the cost follows their number."""
    index = {n: k for k, n in enumerate(nodes)}
    sums: dict[int, dict[int, float]] = {k: {} for k in range(len(nodes))}
    for (i, j), s in score.items():
        a, b = index[i], index[j]
        sums[a][b] = sums[a].get(b, 0.0) + s
        sums[b][a] = sums[b].get(a, 0.0) + s
    size = {k: 1 for k in sums}
    members = {k: [nodes[k]] for k in sums}

    heap = [
        (-s, a, b) for a, row in sums.items() for b, s in row.items() if a < b and s >= threshold
    ]
    heapq.heapify(heap)
    while heap:
        neg, a, b = heapq.heappop(heap)
        if a not in size or b not in size:
            continue
        mean = sums[a].get(b, 0.0) / (size[a] * size[b])
        if abs(mean + neg) > 1e-12:
            continue  # stale: a or b changed since it was pushed
        # b into a
        for c, s in sums.pop(b).items():
            sums[c].pop(b, None)
            if c == a:
                continue
            sums[a][c] = sums[a].get(c, 0.0) + s
            sums[c][a] = sums[a][c]
        sums[a].pop(b, None)
        size[a] += size.pop(b)
        members[a] += members.pop(b)
        for c, s in sums[a].items():
            mean = s / (size[a] * size[c])
            if mean >= threshold:
                heapq.heappush(heap, (-mean, min(a, c), max(a, c)))
    return [members[k] for k in sorted(members)]
