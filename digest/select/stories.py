"""Stories: which candidates tell the same story, and which stories were already sent.

Two tellings are related as
  duplicate       the same text (case, quotes, punctuation and whitespace do not count);
  near-duplicate  a copy: most of the smaller text is contained in the larger (a trimmed,
                  reordered, re-wrapped or excerpted copy, a paragraph added), or about half
                  of it when the headlines agree once republishing labels ("Update:",
                  "(Part 2)") are taken off. Sharing one or two paragraphs with another story
                  makes no copy of it;
  same-story      another report of the same event: the facts both state add up, are a good
                  share of the facts of the shorter one, and their words agree; when all they
                  share is names, a kind of specific fact (dates, amounts, shares, counts) both
                  state and share none of counts against.
The same relation decides a pair in the batch and against what was sent (MinHash estimates
both ways), so a copy skipped in one run is a copy in the next.

Grouping never chains two stories through a weak link: candidates are taken fullest first
(the whole article before an excerpt, more words first, earlier on ties), and each joins the
story whose first telling (its representative, the best telling) it matches, or a story of
which it copies a copy, or one most of whose tellings it matches; otherwise it starts a
story of its own.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..models import ALREADY_SENT, DUPLICATE, NEAR_DUPLICATE, SAME_STORY, Article
from .facts import CLASSES, FEW, WEAK_KINDS, conflicts, cosine, facts, story_evidence, story_overlap
from .fingerprint import (
    FULL_BANDS,
    LEAD_BANDS,
    NUM_PERM,
    Fingerprint,
    headline_words,
    paragraph_keys,
)
from .sent import SentArticle, SentStories

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
# - same-story pairs share facts worth >= 3.75 taken two by two (>= 3.2 weighted by rarity),
#   same-topic different events <= 2.0 (<= 1.6);
STORY_EVIDENCE = 2.5
# - for each kind of fact (dates, amounts, shares, counts, small counts) both state and share
#   none of, the evidence loses as much as it needs to reach: one disagreement outweighs the
#   names a same-topic pair shares (same place, institutions, people).
CONFLICT_WEIGHT = 2.5
SPECIFIC = frozenset(CLASSES) - {FEW}  # a date, an amount, a share or a count
# - ... making up >= 0.52 of the facts of the article with fewer; different events <= 0.42;
STORY_OVERLAP = 0.3
# - content-word cosine of same-story pairs >= 0.30, but same-topic different events reach
#   0.38: the cosine only vetoes pairs whose shared facts are a coincidence.
STORY_COSINE = 0.15
STORY_WINDOW_DAYS = 90
# - tellings republished under the same headline (labels off) within a week are one story even
#   when each keeps a different half of the text; with fewer than LONG_HEADLINE content words
#   they must also share a tenth of the smaller text.
REPUBLISHED_DAYS = 7
LONG_HEADLINE = 6
REPUBLISHED_CONTAINMENT = 0.1

# Two articles are compared for same-story only when they share two anchors: facts (not weak
# ones) held by at most ANCHOR_MAX_DF of the compared articles. A fact held by more is no sign
# of one story, and a fixed limit keeps the number of pairs linear in the candidates.
ANCHOR_MAX_DF = 20
EVIDENCE_MAX_DF = 200  # a fact in more compared articles is left out of the evidence
MAX_BUCKET = 50  # LSH bucket members compared with each other, beyond: only with the first
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


def telling_of(fp: Fingerprint) -> Telling:
    return Telling(fp.signature, fp.lead, fp.size, fp.headline)


def telling_of_sent(h: SentArticle) -> Telling:
    return Telling(h.signature, h.lead, h.shingles, headline_words(h.title))


@dataclass(frozen=True)
class _Weight:
    fact_weight: float


def same_story(
    shared: list[tuple[str, int]],
    total: int,
    a_weight: float,
    b_weight: float,
    a_classes: Sequence[int] | None,
    b_classes: Sequence[int] | None,
) -> float | None:
    """The evidence that two articles tell one story by their facts, None when it is not.

    When all they share is names (a place, institutions, people), every kind of specific fact
    both state and share none of counts against: one event at that place is not another. Once
    they agree on a date, an amount or a count, the other figures each adds are detail."""
    evidence = story_evidence(shared, total)
    if not any(kind in SPECIFIC for kind, _ in shared):
        evidence -= CONFLICT_WEIGHT * conflicts((k for k, _ in shared), a_classes, b_classes)
    overlap = story_overlap(shared, _Weight(a_weight), _Weight(b_weight))
    if evidence >= STORY_EVIDENCE and overlap >= STORY_OVERLAP:
        return evidence
    return None


# --- the batch --------------------------------------------------------------------------------


class Batch:
    """The live candidates with their fingerprints, and the facts they hold."""

    def __init__(
        self, candidates: Sequence[Article], fps: dict[int, Fingerprint], ref: dt.date | None
    ):
        self.candidates = candidates
        self.fps = fps
        self.ref = ref
        self.live = list(fps)
        self.tellings = {i: telling_of(fp) for i, fp in fps.items()}
        self.bands = (
            np.vstack([fp.bands for fp in fps.values()])
            if fps
            else np.zeros((0, FULL_BANDS + LEAD_BANDS), np.int64)
        )
        self.fact_holders: dict[int, list[int]] = defaultdict(list)
        for i, fp in fps.items():
            for k in fp.facts:
                self.fact_holders[k].append(i)

    def day(self, i: int) -> int | None:
        d = self.candidates[i].date or self.ref
        return d.toordinal() if d else None

    def relations(self) -> dict[int, dict[int, str]]:
        """For each candidate, the batch candidates it copies or shares its story with."""
        rel: dict[int, dict[int, str]] = defaultdict(dict)

        def link(i: int, j: int, kind: str) -> None:
            if STRENGTH[kind] > STRENGTH.get(rel[i].get(j, ""), 0):
                rel[i][j] = rel[j][i] = kind

        by_text: dict[int, list[int]] = defaultdict(list)
        by_id: dict[int, list[int]] = defaultdict(list)
        for i, fp in self.fps.items():
            by_text[fp.exact].append(i)
            for k in fp.ids:
                by_id[k].append(i)
        for members in by_text.values():
            for i, j in itertools.combinations(members, 2):
                link(i, j, DUPLICATE)
        for members in by_id.values():  # the same GUID in one feed, the same article URL
            for i, j in itertools.combinations(members[:MAX_BUCKET], 2):
                if j not in rel[i] and same_article(self.tellings[i], self.tellings[j]):
                    link(i, j, NEAR_DUPLICATE)

        by_headline: dict[int, list[int]] = defaultdict(list)
        for i, fp in self.fps.items():
            if fp.headline_key is not None:
                by_headline[fp.headline_key].append(i)
        for members in by_headline.values():
            if len(members) < 2:
                continue
            # The fullest telling under the headline is taken first when grouping: linking
            # each of the others to it is enough, and linear in the bucket.
            members.sort(key=lambda i: (self.fps[i].excerpt, -self.fps[i].words))
            first = members[0]
            for j in members[1:]:
                if j not in rel[first] and republished(
                    self.tellings[first], self.tellings[j], self.day(first), self.day(j)
                ):
                    link(first, j, NEAR_DUPLICATE)
            for i, j in _pairs(
                members[1:] if len(self.tellings[first].headline) < LONG_HEADLINE else []
            ):
                if j not in rel[i] and republished(
                    self.tellings[i], self.tellings[j], self.day(i), self.day(j)
                ):
                    link(i, j, NEAR_DUPLICATE)

        for i, j in bucket_pairs(self.live, self.bands):
            if j not in rel[i] and is_copy(self.tellings[i], self.tellings[j]):
                link(i, j, NEAR_DUPLICATE)

        anchors: Counter[tuple[int, int]] = Counter()
        for k, holders in self.fact_holders.items():
            if (
                1 < len(holders) <= ANCHOR_MAX_DF
                and self.fps[holders[0]].facts[k] not in WEAK_KINDS
            ):
                anchors.update(itertools.combinations(holders, 2))
        agree = []
        total = len(self.fps)
        for (i, j), n in anchors.items():
            if n < 2 or j in rel[i] or not close_in_time(self.day(i), self.day(j)):
                continue
            a, b = self.fps[i], self.fps[j]
            common = a.facts.keys() & b.facts
            if a.paragraphs & b.paragraphs:
                common -= mixed_in_facts(self.candidates[i], a.paragraphs & b.paragraphs)
            shared = [
                (a.facts[k], len(self.fact_holders[k]))
                for k in common
                if len(self.fact_holders[k]) <= EVIDENCE_MAX_DF
            ]
            if same_story(shared, total, a.fact_weight, b.fact_weight, a.classes, b.classes):
                agree.append((i, j))
        if agree:
            idf = self.idf({i for p in agree for i in p}, {}, 0)
            for i, j in agree:
                if cosine(self.fps[i].terms, self.fps[j].terms, idf) >= STORY_COSINE:
                    link(i, j, SAME_STORY)
        return rel

    def idf(self, involved: set[int], sent_df: dict[int, int], sent_count: int) -> dict[int, float]:
        """Inverse document frequency over the sent articles and the involved candidates."""
        df: Counter[int] = Counter(sent_df)
        for i in involved:
            df.update(self.fps[i].terms.keys())
        n = sent_count + len(involved)
        return {t: math.log((n + 1) / (c + 1)) + 1 for t, c in df.items()}


def mixed_in_facts(article: Article, paragraphs: frozenset[int]) -> set[int]:
    """The facts of the paragraphs two articles share word for word without being copies:
    paragraphs mixed in from another story are no evidence that they tell it."""
    out: set[int] = set()
    for key, text in paragraph_keys(article):
        if key in paragraphs:
            out |= _paragraph_facts(text)
    return out


@functools.lru_cache(maxsize=4096)  # a paragraph mixed in once is often mixed in again
def _paragraph_facts(text: str) -> frozenset[int]:
    return frozenset(facts("", text))


def close_in_time(a: int | None, b: int | None) -> bool:
    return a is None or b is None or abs(a - b) <= STORY_WINDOW_DAYS


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
    live: Sequence[int],
    fps: dict[int, Fingerprint],
    rel: dict[int, dict[int, str]],
    position: dict[int, int],
) -> list[Story]:
    """Candidates into stories, fullest first, without chaining through a weak link."""
    order = sorted(live, key=lambda i: (fps[i].excerpt, -fps[i].words, position[i]))
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
            if fps[i].exact == fps[s.rep].exact:
                kind = DUPLICATE
            s.members.append(i)
            s.kind[i] = kind
        story_of[i] = s
    _best_tellings(stories, fps, position)
    for s in stories:  # each story where its first telling is: newest page first, page order
        s.members[1:] = sorted(s.members[1:], key=position.__getitem__)
    stories.sort(key=lambda s: min(position[m] for m in s.members))
    return stories


def _best_tellings(
    stories: list[Story], fps: dict[int, Fingerprint], position: dict[int, int]
) -> None:
    """Each story's best telling, the one shown and remembered as the story: not an excerpt,
    with no paragraph of another story in it, then the fullest, then the first.

    A paragraph's home is the story most of whose tellings have it; in a story told three or
    more ways, a paragraph no other telling has was mixed in by a republisher. A copy mixed
    with another story is a poor face for either, and would carry that story's facts into
    what is remembered."""
    several = [s for s in stories if len(s.members) > 1]
    texts_with: dict[int, Counter[int]] = defaultdict(Counter)  # paragraph -> story -> texts
    for n, s in enumerate(several):
        for m in {fps[m].exact: m for m in s.members}.values():
            for p in fps[m].paragraphs:
                texts_with[p][n] += 1
    for n, s in enumerate(several):
        told = len({fps[m].exact for m in s.members})

        def mixed(m: int, n: int = n, told: int = told) -> bool:
            for p in fps[m].paragraphs:
                if not texts_with[p]:  # the same text as another telling, wrapped otherwise
                    continue
                home, count = texts_with[p].most_common(1)[0]
                if home != n and count > texts_with[p][n]:
                    return True
                if told >= 3 and texts_with[p][n] == 1:
                    return True
            return False

        best = min(s.members, key=lambda m: (fps[m].excerpt, mixed(m), -fps[m].words, position[m]))
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
    fps = batch.fps
    if not fps or not history.count():
        return {}
    ident: dict[int, list[int]] = defaultdict(list)
    heads: dict[int, list[int]] = defaultdict(list)
    for i, fp in fps.items():
        for k in fp.ids:
            ident[k].append(i)
        if fp.headline_key is not None:
            heads[fp.headline_key].append(i)
    keys = np.concatenate(
        [
            batch.bands.ravel(),
            np.fromiter(ident, np.int64, len(ident)),
            np.fromiter(heads, np.int64, len(heads)),
        ]
    )
    sent_with: dict[int, list[int]] = defaultdict(list)
    for key, aid in history.matching_keys(keys):
        sent_with[key].append(aid)
    ident_hits: dict[int, set[int]] = defaultdict(set)
    band_hits: dict[int, set[int]] = defaultdict(set)
    for key, aids in sent_with.items():
        for i in ident.get(key, ()):
            ident_hits[i].update(aids)
        for i in heads.get(key, ()):
            band_hits[i].update(aids)
    found = np.isin(batch.bands, np.fromiter(sent_with, np.int64, len(sent_with)))
    for row, col in zip(*np.nonzero(found), strict=True):
        band_hits[batch.live[row]].update(sent_with[int(batch.bands[row, col])])
    wanted = {a for hits in (ident_hits, band_hits) for s in hits.values() for a in s}
    sent = history.articles(wanted)
    out: dict[int, SentMatch] = {}
    for i, aids in ident_hits.items():
        for aid in sorted(aids):
            h = sent[aid]
            if same_article(batch.tellings[i], telling_of_sent(h)):  # else: a reused GUID
                out[i] = SentMatch(ALREADY_SENT, h.title, h.story)
                break
    for i, aids in band_hits.items():
        if i in out:
            continue
        best = None
        for aid in sorted(aids):
            h = sent[aid]
            t = telling_of_sent(h)
            if is_copy(batch.tellings[i], t) or republished(
                batch.tellings[i], t, batch.day(i), h.day
            ):
                jac, _ = estimated_similarity(
                    fps[i].signature, h.signature, fps[i].size, h.shingles
                )
                if best is None or jac > best[0]:
                    best = (jac, h)
        if best:
            out[i] = SentMatch(NEAR_DUPLICATE, best[1].title, best[1].story)
    out.update(_same_story_in_history(batch, history, set(out)))
    return out


def _same_story_in_history(
    batch: Batch, history: SentStories, settled: set[int]
) -> dict[int, SentMatch]:
    fps = batch.fps
    days = [d for d in map(batch.day, fps) if d is not None]
    since = (max(days) if days else dt.date.today().toordinal()) - STORY_WINDOW_DAYS
    counts = history.fact_counts(batch.fact_holders, since)  # sent articles holding each fact

    def df(key: int) -> int:
        return counts.get(key, 0) + len(batch.fact_holders[key])

    compared = len(fps) + history.count_since(since)
    anchor_keys = [
        k
        for k in counts
        if df(k) <= ANCHOR_MAX_DF and fps[batch.fact_holders[k][0]].facts[k] not in WEAK_KINDS
    ]
    anchors: Counter[tuple[int, int]] = Counter()
    sent_holders: dict[int, list[int]] = defaultdict(list)
    for key, aid in history.facts_since(anchor_keys, since):
        sent_holders[key].append(aid)
    for key, aids in sent_holders.items():
        mine = [i for i in batch.fact_holders[key] if i not in settled]
        anchors.update(itertools.product(mine, aids))
    pairs = [p for p, n in anchors.items() if n >= 2]
    if not pairs:
        return {}
    sent = history.articles({aid for _, aid in pairs})
    # Another report of a sent story is told by the facts of the telling readers got, the
    # story's representative: its other tellings may carry paragraphs of other stories.
    pairs = [(i, aid) for i, aid in pairs if sent[aid].id == sent[aid].story]
    agree = []
    for i, aid in pairs:
        fp, h = fps[i], sent[aid]
        shared = [
            (fp.facts[k], df(k)) for k in fp.facts.keys() & h.facts if df(k) <= EVIDENCE_MAX_DF
        ]
        evidence = same_story(
            shared, compared, fp.fact_weight, h.fact_weight, fp.classes, h.classes
        )
        if evidence is not None:
            agree.append((evidence, i, aid))
    if not agree:
        return {}
    involved = {i for _, i, _ in agree}
    words = {t for _, _, aid in agree for t in sent[aid].terms}
    words.update(t for i in involved for t in fps[i].terms)
    idf = batch.idf(involved, history.term_frequencies(words), history.count())
    out: dict[int, SentMatch] = {}
    for _, i, aid in sorted(agree, reverse=True):
        h = sent[aid]
        if i not in out and cosine(fps[i].terms, h.terms, idf) >= STORY_COSINE:
            out[i] = SentMatch(SAME_STORY, h.title, h.story)
    return out


def story_sent(story: Story, matches: dict[int, SentMatch]) -> SentMatch | None:
    """The sent story a candidate story is a telling of: the one most of its tellings are
    tellings of, its representative counting twice (so a story of one or two tellings goes by
    its representative). One telling alone, a copy mixed with another story, decides nothing."""
    weight = {m: 2 if m == story.rep else 1 for m in story.members}
    votes: Counter[int] = Counter()
    for m in story.members:
        if m in matches:
            votes[matches[m].story] += weight[m]
    if not votes:
        return None
    sid, n = votes.most_common(1)[0]
    if 2 * n <= sum(weight.values()):
        return None
    if story.rep in matches and matches[story.rep].story == sid:
        return matches[story.rep]
    return next(matches[m] for m in story.members if m in matches and matches[m].story == sid)
