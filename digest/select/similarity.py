"""Same story: how likely two reports tell one event, from their words, names and facts.

Same-topic reports of different events share most of their words (two earthquakes, two
celebrities entering rehab); what tells them apart is who and when: the people and places
they name and the days and figures they give. The score combines
  words   TF-IDF cosine of their content words (title and opening, FACT_CHARS),
  names   TF-IDF cosine of the words of the names they use, one spelling across scripts
          and transliterations (facts.name_key), so "Brian G. Nichols" meets "Brian Nichols"
          and "Токаев" meets "Tokayev",
  facts   weekdays and figures both give: shared ones for, none shared against,
  headline the content words of the two headlines, weighted by rarity (none for two
          items of one feed under one title: "Daily Brief" over every item is the feed's),
into the probability that the two tell one story (a logistic model; its weights below were
fitted on the pairs of ECB+ topics 1-22, real news from many outlets grouped by event, see
WEIGHTS).

Stories are then grouped by average linkage over these probabilities: a report joins a story
when it is likely the same story as its tellings on average, so two events are never chained
together through one ambiguous report.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy import sparse

from ..models import Article
from ..state.sent import NAME_BIT
from ..text import EN_WEEKDAYS, MONTHS, WEEKDAYS, site_of, title_key
from . import kernels
from .facts import AMOUNT, CLASSES, COUNT, DATE, PERCENT, WEEKDAY, name_key
from .fingerprint import Fingerprints, headline_words, word_hashes
from .keys import KeySet, distinct, key64, positions_in
from .ragged import Ragged
from .sent import SentArticle, SentStories

K = TypeVar("K")
FIGURES = (DATE, AMOUNT, PERCENT, COUNT)
_FIGURE_KINDS = np.array([ord(k) for k in FIGURES], np.uint8)  # as Facets.kinds holds them
_SHARED_KINDS = np.array([ord(k) for k in (*FIGURES, WEEKDAY)], np.uint8)

# The logistic model: intercept, then one weight per feature of `features`. Fitted on ECB+
# dev as the features stood when the model was made, and kept since because they group dev
# better than a maximum-likelihood refit on today's features: a figure in sample, and a sharp
# one (benchmarks/stories_ecb.py --out-of-sample: the refit puts 7 of 460 articles under
# another event's story, these weights 5; each topic's refit without it, moved onto these
# weights as the whole refit moves, 10). The intercept lies in the range where every
# in-sample figure of the acceptance check holds (-6.09 to -5.79, by 0.05), near its gentle
# end: above it two events of one topic merge at once (at -5.74, 13 articles under another
# event and one event lost; 18 and two at -5.69), below it stories per event and events
# sent again creep up one at a time. From -5.84 to here the 30 topic subsets within 10%
# sent again went from 11/30 to 17/30. The date conflict's weight is set by hand: ECB+'s
# events of one kind lie years apart and rarely give a day, so a fit learns nothing of it
# (the first fit gave +0.2; of the same-topic pairs with a date conflict, about as many tell
# one event as two); at -8, two reports that each give a date and share no date or figure
# are two events however alike their names (tests/test_stories.py: two finds at one site,
# one team).
WEIGHTS = (-6.04, 11.2, 11.99, -1.0, -8.0, -0.79, 1.09, 6.41)
# Two groups of reports are one story from this mean probability on (average linkage).
SAME_STORY_P = 0.65
# Two groups with this many reports each that name weekdays, no weekday named in both, are
# two events however alike (average_linkage): the reports of one event name its day.
DAY_WITNESSES = 3
# A report left alone joins the story whose tellings it matches with this mean probability,
# when that is ATTACH_MARGIN times its mean with any other story (also against history).
ATTACH_P = 0.15
# Two stories whose tellings match each other at this mean are one event that average linkage
# left in parts: a lone report both could claim joins the stronger; a small story joins a
# bigger one at this mean (stories.join_small_stories).
SPLIT_P = 0.3
ATTACH_MARGIN = 2.0
MIN_SCORE = 0.02  # pairs scored lower are left out of the means (they count 0)
# Reports in one script whose content words' cosine is below this are never one story: on
# generated news with names drawn from a small pool (benchmarks/selection.py), names alone
# joined 149 of 2,266 unrelated articles to others; with this floor, 1 (ECB+ unchanged).
MIN_WORDS = 0.05
# Names that say little count only with the words, when their cosine reaches WEAK_NAMES_WORDS:
# - a teaser's (a body cut short) naming fewer name words than TEASER_NAMES, in one script:
#   "Three new metro stations opened in Almaty on Monday.…" shares all its names with the next
#   day's report of an earthquake in Almaty on Monday (names cosine 0.50, words 0.09); a
#   teaser of a sent metro story (words 0.32) is still that story. Across scripts names are
#   all there is. (ECB+ has no teasers: it is unchanged.)
# - names shared only by the calendar (English capitalises "March", "Sunday"): three briefs
#   of one day (a water tariff in Dushanbe, flights to Frankfurt, a coal ban in Bishkek), each
#   "said on February 20" and dated "from March 1/15", scored names cosines of 0.32-0.46 on
#   those words alone (words 0.06) and were one story. A one-sentence report ("officials
#   announced Saturday") of a story whose other report says "police said Saturday" shares
#   its words (ECB+ 16ecb): there the day still counts. (Not name words at all, the weekdays
#   cost ECB+ dev 12 articles under another event: they tell its sibling events apart.)
TEASER_NAMES = 3
WEAK_NAMES_WORDS = 0.2
# The calendar's name words, as story_terms hashes them ("March", "Sunday", "Sundays"): a
# KeySet, each report's every term asked of it (np.isin sorted them all: 40 ms a block).
_CALENDAR_NAMES = KeySet(
    word_hashes(
        [name_key(w).encode() for w in (*MONTHS, *WEEKDAYS, *(d + "s" for d in EN_WEEKDAYS))]
    )
    | np.uint32(NAME_BIT)
)
WEIGH_AT_ONCE = 4096  # reports weighed in one go
PAIRS_AT_ONCE = 4096  # pairs whose features are made in one go


@dataclass(frozen=True)
class Facets:
    """What the score needs of many reports, a row each: their term counts (content words and
    name words, told apart by NAME_BIT), how many facts of each class they state
    (facts.CLASSES), the content words of their headline (NAME_BIT clear), whether that is in
    Cyrillic (see `script_of`), their facts with the kind of each (as a byte; a sent
    telling's kinds are not kept: 0), and the key of their source and title (`feed_title`)."""

    terms: Ragged
    counts: Ragged  # of each term
    classes: np.ndarray  # (reports, len(CLASSES))
    headline: Ragged
    cyrillic: np.ndarray  # bool
    facts: Ragged
    kinds: np.ndarray  # uint8, of each of facts.values
    feed_title: np.ndarray  # int64
    excerpt: np.ndarray  # bool: a teaser cut short

    def __len__(self) -> int:
        return len(self.cyrillic)


def candidate_facets(fps: Fingerprints, feed_titles: np.ndarray | None = None) -> Facets:
    """What the same-story score needs of the candidates (see `Facets`; `feed_titles`: their
    `feed_title` keys, when known)."""
    cyrillic = (script_of(a.title) == "cyrillic" for a in fps.articles)
    if feed_titles is None:
        feed_titles = np.fromiter(map(feed_title_of, fps.articles), np.int64, len(fps))
    return Facets(
        fps.terms,
        fps.counts,
        fps.classes,
        headline_terms(fps.headline),
        np.fromiter(cyrillic, bool, len(fps)),
        fps.facts,
        fps.kinds,
        feed_titles,
        fps.excerpt,
    )


def sent_facets(tellings: Sequence[SentArticle]) -> Facets:
    """What the same-story score needs of sent tellings: as of candidates, but that the kinds
    of their facts and their classes are not known (0) of tellings stored before they were
    kept."""
    classes = np.zeros((len(tellings), len(CLASSES)), np.int64)
    for row, h in enumerate(tellings):
        stored = (h.classes or ())[: len(CLASSES)]
        classes[row, : len(stored)] = stored
    facts = Ragged.from_rows([h.facts for h in tellings])
    kinds = [
        np.frombuffer(h.fact_kinds, np.uint8)
        if len(h.fact_kinds) == len(h.facts)
        else np.zeros(len(h.facts), np.uint8)
        for h in tellings
    ]
    lengths = [len(h.terms) for h in tellings]
    return Facets(
        Ragged.of(np.concatenate([np.zeros(0, np.int64), *(h.terms for h in tellings)]), lengths),
        Ragged.of(
            np.concatenate([np.zeros(0, np.int64), *(h.term_counts for h in tellings)]), lengths
        ),
        classes,
        headline_terms(Ragged.from_rows([sorted(headline_words(h.title)) for h in tellings])),
        np.array([script_of(h.title) == "cyrillic" for h in tellings], bool),
        facts,
        np.concatenate([np.zeros(0, np.uint8), *kinds]),
        np.array([feed_title(h.source, h.outlet, h.url, h.title) for h in tellings], np.int64),
        np.array([h.excerpt for h in tellings], bool),
    )


def feed_title_of(article: Article, given: bool = False) -> int:
    """`feed_title` of a candidate (its outlet: the name readers see of it); `given`: of the
    title its feed gave it, when that was the feed's and it is titled by its text (kept with
    what is sent: a feed that showed its one title in a read of three and holds fewer later
    is known by what it sent, titles.titled_by_history)."""
    title = (article.feed_title or article.title) if given else article.title
    return feed_title(article.source, article.source_name or "", article.url, title)


def feed_title(source: str, outlet: str | None, link: str | None, title: str) -> int:
    """The key of a report's source, outlet, the site it links to and its title
    (text.title_key): two items of one outlet in one feed on one site under one title share
    it, and their headline says nothing of whether they tell one story (a feed's one title
    over items that tell other things is the feed's: the reader titles them by their text
    when it sees three, `sources.entry`; a feed that holds one or two items at a time shows
    it only against what was sent from it). Two outlets an aggregator lists under one
    headline keep it as evidence, named (Google News's <source>) or not (Google Alerts:
    each links to its outlet's site), and so does a telling sent before its outlet was kept
    (None: no candidate's key)."""
    if outlet is None:
        return key64("feed title, outlet unknown", source, title_key(title))
    return key64("feed title", source, outlet, site_of(link), title_key(title))


def headline_terms(words: Ragged) -> Ragged:
    """Headline words (headline_words) as term hashes, the same as story_terms gives: each
    row sorted, each term once."""
    keys = distinct(words.holders() << 32 | (words.values.astype(np.int64) & (NAME_BIT - 1)))
    return Ragged.of(keys & 0xFFFFFFFF, np.bincount(keys >> 32, minlength=len(words)))


@dataclass(frozen=True)
class Vocabulary:
    """The columns of the reports' matrices, made once a selection from its candidates: their
    terms (content and name words, headline words), each with its IDF over the candidates
    and what was sent, and the facts whose sharing the score counts (figures, weekdays)."""

    terms: np.ndarray  # sorted term hashes
    idf: np.ndarray  # of each of `terms`
    used_by: np.ndarray  # how many candidates use each of `terms` (0: in a headline only)
    sent_by: np.ndarray  # how many sent articles use each of `terms`
    unseen_idf: float  # of a term no candidate uses
    facts: np.ndarray  # sorted fact keys


def vocabulary(candidates: Facets, history: SentStories) -> Vocabulary:
    """The candidates' vocabulary. A term's IDF counts the candidates and the sent articles
    that use it (among sent articles only when any of them uses a candidate's term)."""
    used, df = np.unique(candidates.terms.values, return_counts=True)
    sent_terms, sent_df = history.term_frequencies(used) if history.count() else ((), ())
    n = len(candidates) + (history.count() if len(sent_terms) else 0)
    terms = distinct(np.concatenate([used, candidates.headline.values]))  # np.union1d hashes
    used_by = np.zeros(len(terms), np.int64)
    used_by[np.searchsorted(terms, used)] = df
    sent_by = np.zeros(len(terms), np.int64)
    if len(sent_terms):
        sent_by[np.searchsorted(terms, sent_terms)] = sent_df
    shared = np.isin(candidates.kinds, _SHARED_KINDS)
    return Vocabulary(
        terms,
        np.log((n + 1) / (used_by + sent_by + 1)) + 1,
        used_by,
        sent_by,
        float(np.log(n + 1) + 1),
        distinct(candidates.facts.values[shared]),
    )


@dataclass(frozen=True)
class Reports:
    """Many reports weighed once by the terms' rarity, a row each (columns: a Vocabulary):
    unit-length TF-IDF vectors of their content words and of their name words, their
    headline words and those words' IDF sum, their figure and weekday facts and all their
    facts the vocabulary holds, how many facts of each class they state."""

    vocabulary: Vocabulary
    words: sparse.csr_array
    names: sparse.csr_array
    proper_names: sparse.csr_array  # 1 for each name word not of the calendar
    headline: sparse.csr_array  # 1 for each headline word
    headline_weight: np.ndarray
    figures: sparse.csr_array  # 1 for each fact of a FIGURES kind
    weekdays: sparse.csr_array  # 1 for each WEEKDAY fact
    facts: sparse.csr_array  # 1 for each fact, whatever its kind
    kinds: np.ndarray  # (reports, len(CLASSES)) facts of each class
    few_names: np.ndarray  # bool: a teaser naming fewer than TEASER_NAMES name words
    cyrillic: np.ndarray  # its headline is in Cyrillic
    feed_title: np.ndarray  # int64 (Facets.feed_title)


def weigh(reports: Facets, vocab: Vocabulary) -> Reports:
    """The reports' rows, WEIGH_AT_ONCE reports at a time (memory holds one block's
    temporaries). A sent telling may use terms no candidate uses: they count in its vector's
    length and its headline weight, and are left out of the matrices (no candidate's row
    could share them)."""
    blocks = [
        _weigh_block(reports, vocab, start, min(start + WEIGH_AT_ONCE, len(reports)))
        for start in range(0, len(reports), WEIGH_AT_ONCE)
    ] or [_weigh_block(reports, vocab, 0, 0)]
    matrices = []
    for k in (0, 1, 2, 4, 5, 6, 8):  # each stacked and its parts dropped before the next
        parts = [b[k] for b in blocks]
        for b in blocks:
            b[k] = None
        matrices.append(sparse.vstack(parts, format="csr"))
        del parts
    words, names, headline, figures, weekdays, facts, proper_names = matrices
    return Reports(
        vocab,
        words,
        names,
        proper_names,
        headline,
        np.concatenate([b[3] for b in blocks]),
        figures,
        weekdays,
        facts,
        reports.classes,
        np.concatenate([b[7] for b in blocks]) & reports.excerpt,
        reports.cyrillic,
        reports.feed_title,
    )


def _weigh_block(reports: Facets, vocab: Vocabulary, start: int, end: int) -> list:
    n = end - start
    block = reports.terms.block(start, end)
    rows, terms = block.holders(), block.values.astype(np.int64)
    counts = reports.counts.block(start, end).values.astype(np.int64)
    term_col = positions_in(vocab.terms, terms)
    weights = (1 + np.log(counts)) * _idf(vocab, term_col)
    is_name = (terms & NAME_BIT) != 0
    proper = is_name & ~_CALENDAR_NAMES.contains(terms.astype(np.uint32))  # term hashes: uint32
    words, names = (
        _matrix(rows[m], term_col[m], _unit(rows[m], weights[m], n), n, len(vocab.terms))
        for m in (~is_name, is_name)
    )
    head = reports.headline.block(start, end)
    head_rows, head_col = head.holders(), positions_in(vocab.terms, head.values)
    facts = reports.facts.block(start, end)
    fact_rows, fact_col = facts.holders(), positions_in(vocab.facts, facts.values)
    kinds = reports.kinds[reports.facts.starts[start] : reports.facts.starts[end]]
    figure = np.isin(kinds, _FIGURE_KINDS)
    weekday = kinds == ord(WEEKDAY)
    ones, n_facts = np.ones(len(fact_col)), len(vocab.facts)
    return [
        words,
        names,
        _matrix(head_rows, head_col, np.ones(len(head_col)), n, len(vocab.terms)),
        np.bincount(head_rows, _idf(vocab, head_col), n),
        _matrix(fact_rows[figure], fact_col[figure], ones[figure], n, n_facts),
        _matrix(fact_rows[weekday], fact_col[weekday], ones[weekday], n, n_facts),
        _matrix(fact_rows, fact_col, ones, n, n_facts),
        np.bincount(rows[is_name], minlength=n) < TEASER_NAMES,
        _matrix(rows[proper], term_col[proper], np.ones(int(proper.sum())), n, len(vocab.terms)),
    ]


def script_of(text: str) -> str:
    """ "cyrillic" when most of its letters are, else "latin"."""
    if text.isascii():
        return "latin"
    letters = [c for c in text if c.isalpha()]
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in letters)
    return "cyrillic" if cyrillic * 2 > len(letters) else "latin"


def same_story(a: Reports, rows_a: np.ndarray, b: Reports, rows_b: np.ndarray) -> np.ndarray:
    """The probability that each pair of reports (row `rows_a[k]` of `a`, `rows_b[k]` of
    `b`) tells one story. Two reports in one script that share next to none of their words
    are two stories however many names they share: the people of a region turn up in many
    unrelated stories (in two scripts the words cannot agree, and the names and figures
    decide). Two that name no one in common and differ in figures or weekdays are two
    stories however many words they share."""
    p = np.zeros(len(rows_a))
    a_names, b_names = np.diff(a.names.indptr) > 0, np.diff(b.names.indptr) > 0  # names any
    for start in range(0, len(rows_a), PAIRS_AT_ONCE):  # memory holds one block's features
        part = slice(start, start + PAIRS_AT_ONCE)
        x = features(a, rows_a[part], b, rows_b[part])
        p[part] = probability(x)
        one_script = a.cyrillic[rows_a[part]] == b.cyrillic[rows_b[part]]
        p[part][one_script & (x[:, 0] < MIN_WORDS)] = 0.0
        # Two reports in one script that each name people or places, none the same, and
        # differ in their figures or weekdays tell two events however alike their words:
        # formulaic news (a bridge opened in Leipzig on Sunday, another in Graz on Thursday,
        # in one template's sentences) was one story. On ECB+ dev none of the 310 same-topic
        # pairs so apart tells one event. (Across scripts a name's two spellings need not
        # meet: "Лейпциге" and "Leipzig".)
        named = one_script & a_names[rows_a[part]] & b_names[rows_b[part]]
        differ = (x[:, 2] > 0) | (x[:, 4] > 0)  # a weekday or a figure conflict
        p[part][named & (x[:, 1] == 0) & differ] = 0.0
    return p


def features(a: Reports, rows_a: np.ndarray, b: Reports, rows_b: np.ndarray) -> np.ndarray:
    """A row per pair: words cosine, names cosine, weekday conflict, date conflict, figure
    conflict, shared figures (at most 3), headline words in common (IDF-weighted Jaccard;
    none for two items of one feed under one title, `feed_title`).
    The facts shared are counted by the kind the first report gives them. (Shared years were
    evidence on ECB+, whose same-topic events are years apart, but in a week of news every
    article gives this year.)"""
    figures_shared = _row_dots(a.figures, rows_a, b.facts, rows_b)
    weekdays_shared = _row_dots(a.weekdays, rows_a, b.facts, rows_b)

    def both(kind: str) -> np.ndarray:
        c = CLASSES.index(kind)
        return (a.kinds[rows_a, c] > 0) & (b.kinds[rows_b, c] > 0)

    no_figure = figures_shared == 0
    common = _row_dots(a.headline, rows_a, b.headline, rows_b, a.vocabulary.idf)
    union = a.headline_weight[rows_a] + b.headline_weight[rows_b] - common
    common[a.feed_title[rows_a] == b.feed_title[rows_b]] = 0.0
    words = _row_dots(a.words, rows_a, b.words, rows_b)
    names = _row_dots(a.names, rows_a, b.names, rows_b)
    teaser = a.few_names[rows_a] | b.few_names[rows_b]
    one_script = a.cyrillic[rows_a] == b.cyrillic[rows_b]
    few_words = words < WEAK_NAMES_WORDS
    names[teaser & one_script & few_words] = 0.0
    k = np.flatnonzero(one_script & few_words & (names > 0))  # a name beside the calendar's?
    names[k[_row_dots(a.proper_names, rows_a[k], b.proper_names, rows_b[k]) == 0]] = 0.0
    return np.column_stack(
        [
            words,
            names,
            both(WEEKDAY) & (weekdays_shared == 0),
            both(DATE) & no_figure,
            no_figure & (both(AMOUNT) | both(PERCENT) | both(COUNT)),
            np.minimum(figures_shared, 3),
            np.divide(common, union, out=np.zeros(len(common)), where=union != 0),
        ]
    ).astype(float)


def probability(x: np.ndarray, weights: Sequence[float] = WEIGHTS) -> np.ndarray:
    """The logistic model's probability of each row of features."""
    z = weights[0] + x @ np.asarray(weights[1:])
    return 1 / (1 + np.exp(-z))


def _row_dots(
    a: sparse.csr_array,
    rows_a: np.ndarray,
    b: sparse.csr_array,
    rows_b: np.ndarray,
    column_weights: np.ndarray | None = None,
) -> np.ndarray:
    """The dot product of each pair of rows (each term weighted by `column_weights`), summed
    in double (kernels.c: scipy would copy each pair's rows into two new matrices first)."""
    out = np.zeros(len(rows_a))
    a.sum_duplicates(), b.sum_duplicates()  # each row's columns in order: nothing when they are
    kernels.row_dots(
        (a.indptr, a.indices, a.data),
        np.ascontiguousarray(rows_a, np.int64),
        (b.indptr, b.indices, b.data),
        np.ascontiguousarray(rows_b, np.int64),
        None if column_weights is None else np.ascontiguousarray(column_weights, np.float64),
        out,
    )
    return out


def _idf(vocab: Vocabulary, col: np.ndarray) -> np.ndarray:
    """The IDF of each term at `col` in the vocabulary (-1: a term no candidate uses)."""
    if not len(vocab.terms):
        return np.full(len(col), vocab.unseen_idf)
    return np.where(col >= 0, vocab.idf[col], vocab.unseen_idf)


def _unit(rows: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Weights scaled so that each row's vector has unit length."""
    return weights / np.sqrt(np.bincount(rows, weights * weights, n))[rows]


def _matrix(
    rows: np.ndarray, col: np.ndarray, values: np.ndarray, n: int, width: int
) -> sparse.csr_array:
    """A row per report of `values` in the columns `col` (`positions_in`: those at -1, keys not
    among the columns, left out)."""
    keep = col >= 0
    # Indices as small as they can be: scipy keeps the int64 it is given (a third of the
    # matrix's memory); values in single precision (a cosine needs no more), summed in double.
    index = np.int32 if max(n, width) < 2**31 else np.int64
    rows, col = rows[keep].astype(index), col[keep].astype(index)
    return sparse.csr_array((values[keep].astype(np.float32), (rows, col)), shape=(n, width))


def rivals(means: Mapping[K, float], best: K) -> list[K]:
    """The keys whose mean comes within ATTACH_MARGIN of `best`'s: a report two stories could
    claim that closely is no clear telling of either."""
    return [k for k, m in means.items() if k != best and means[best] < ATTACH_MARGIN * m]


def average_linkage(
    nodes: Sequence[int],
    score: Mapping[tuple[int, int], float],
    threshold: float,
    weight: Sequence[int] | None = None,
    apart: Mapping[int, int] | None = None,
    weekdays: Mapping[int, int] | None = None,
) -> list[list[int]]:
    """Groups of `nodes`, merged while two groups' mean pairwise score (pairs without a score
    count 0) reaches `threshold`, the closest two first. `score` keys are (i, j) with i < j
    in node order; only scored pairs are ever compared, so the cost follows their number.
    A node of `weight` w stands for w items: its score with another is the sum over their
    items' pairs. Nodes `apart` gives two different values never end in one group, nor do
    two groups with DAY_WITNESSES nodes each that name weekdays (`weekdays`: node -> the
    weekdays it names, a bit each), none named in both. Sibling events share people, places
    and words, but not their day (ECB+ dev, each topic with the model fitted without it: 16
    of 460 articles under another event's story and 1 event lost become 8 and none; the
    shipped weights' one run and two days unchanged). Only grown groups are held apart: one
    with fewer witnesses may take in another day's reports before it has them."""
    index = {n: k for k, n in enumerate(nodes)}
    # Only nodes with a score can merge: the others (most of a large batch) stay alone
    # without a record each.
    sums: dict[int, dict[int, float]] = defaultdict(dict)
    for (i, j), s in score.items():
        a, b = index[i], index[j]
        sums[a][b] = sums[a].get(b, 0.0) + s
        sums[b][a] = sums[b].get(a, 0.0) + s
    scored = set(sums)
    size = {k: weight[k] if weight else 1 for k in sums}
    members = {k: [nodes[k]] for k in sums}
    apart = apart or {}
    held: dict[int, set[int]] = defaultdict(set)  # the `apart` values each group holds
    for k in sums:
        if nodes[k] in apart:
            held[k].add(apart[nodes[k]])
    days: dict[int, int] = defaultdict(int)  # the weekdays each group names, a bit each
    witnesses: dict[int, int] = defaultdict(int)  # its nodes that name any
    for k in sums:
        if weekdays and weekdays.get(nodes[k]):
            days[k], witnesses[k] = weekdays[nodes[k]], 1

    heap = [
        (-s / (size[a] * size[b]), a, b)
        for a, row in sums.items()
        for b, s in row.items()
        if a < b and s >= threshold * size[a] * size[b]
    ]
    heapq.heapify(heap)
    while heap:
        neg, a, b = heapq.heappop(heap)
        if a not in size or b not in size:
            continue
        mean = sums[a].get(b, 0.0) / (size[a] * size[b])
        if abs(mean + neg) > 1e-12:
            continue  # stale: a or b changed since it was pushed
        if len(held[a] | held[b]) > 1:
            continue
        if min(witnesses[a], witnesses[b]) >= DAY_WITNESSES and not days[a] & days[b]:
            continue
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
        held[a] |= held.pop(b, set())
        days[a] |= days.pop(b, 0)
        witnesses[a] += witnesses.pop(b, 0)
        for c, s in sums[a].items():
            mean = s / (size[a] * size[c])
            if mean >= threshold:
                heapq.heappush(heap, (-mean, min(a, c), max(a, c)))
    merged_away = scored - members.keys()
    return [members.get(k, [n]) for k, n in enumerate(nodes) if k not in merged_away]
