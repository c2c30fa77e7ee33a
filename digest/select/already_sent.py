"""Against what was sent: which candidates are tellings of a story an earlier digest sent.

The same relations as within the batch decide: the same text, the same article, a copy
(copies.py), or another report by the same-story score, the sent stories' tellings being
grouped with the candidates as if they had come in this batch (`sent_groups`, stories.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from ..models import ALREADY_SENT, NEAR_DUPLICATE, SAME_STORY
from .batch import (
    ANCHOR_KINDS,
    ANCHOR_MAX_DF,
    COPIES,
    MIN_ANCHORS,
    MIN_RARE_WORDS,
    STORY_WINDOW_DAYS,
    Batch,
)
from .copies import (
    Telling,
    estimated_similarity,
    is_copy,
    republished,
    same_article,
    telling_of_sent,
)
from .facts import weekday_bits
from .fingerprint import HEADLINE_WORDS
from .keys import distinct, is_among
from .pairs import pairs_sharing, unique_pairs
from .sent import SentArticle, SentStories
from .similarity import MIN_SCORE, same_story, sent_facets, weigh
from .stories import SentLinks, Story

SENT_AT_ONCE = 1024  # sent articles scored against the candidates in one go
MAX_SENT_TELLINGS = 128  # of one sent story, grouped with the candidates (_kept_tellings)


@dataclass(frozen=True)
class SentMatch:
    reason: str  # already-sent, near-duplicate or same-story
    title: str  # the sent telling's title
    story: int  # the sent story


@dataclass(frozen=True)
class SentScores:
    """Same-story probabilities of candidates with sent tellings, a pair each."""

    candidate: np.ndarray  # int64
    article: np.ndarray  # int64: the sent telling
    story: np.ndarray  # int64: its story
    p: np.ndarray  # float64

    @classmethod
    def none(cls) -> SentScores:
        empty = np.zeros(0, np.int64)
        return cls(empty, empty, empty, np.zeros(0))


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
    for n in np.flatnonzero(is_among(ids, found)).tolist():
        ident_hits[live[id_rows[n]]].update(sent_with[int(ids[n])])
    for n in np.flatnonzero(is_among(heads, found)).tolist():
        band_hits[live[titled[n]]].update(sent_with[int(heads[n])])
    hit = is_among(batch.bands, found)
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
    batch.forget_tellings()
    return out


def scores_against_history(batch: Batch, history: SentStories, settled: set[int]) -> SentScores:
    """For each candidate not `settled` (already a copy of something sent), the same-story
    probability with each sent telling that shares MIN_ANCHORS anchors or MIN_RARE_WORDS rare
    words with it, as in the batch (sent articles within STORY_WINDOW_DAYS), from MIN_SCORE
    on. A pair sharing a paragraph has no score (the paragraph may have been mixed in or
    quoted); and a candidate whose copies run in the batch, holding a paragraph of a sent
    telling, was mixed by a republisher: it has no score with that telling's story at all,
    whose other outlets' tellings would otherwise take it for theirs (the republished real
    pages, seed 59: a story lost)."""
    fps = batch.fps
    if not len(fps) or not history.count():
        return SentScores.none()
    days = [d for d in map(batch.day, batch.live) if d is not None]
    since = (max(days) if days else dt.date.today().toordinal()) - STORY_WINDOW_DAYS
    settled_rows = batch.row_of[list(settled)]
    pairs = unique_pairs(
        np.concatenate(
            [
                _sharing_anchors(batch, history, since, settled_rows),
                _sharing_rare_words(batch, history, since, settled_rows),
            ]
        )
    )
    rows, sent_ids = pairs[:, 0], pairs[:, 1]
    live = np.asarray(batch.live, np.int64)
    order = np.lexsort((sent_ids, live[rows]))
    rows, sent_ids = rows[order], sent_ids[order]
    reports = batch.reports(history)
    mixed: set[tuple[int, int]] = set()  # (candidate, sent story)
    out: list[tuple[int, int, int, float]] = []
    told = distinct(sent_ids)
    for start in range(0, len(told), SENT_AT_ONCE):  # memory holds a block of sent articles
        block = told[start : start + SENT_AT_ONCE]
        in_block = np.flatnonzero(is_among(sent_ids, block))
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
            if fps.paragraphs(r).isdisjoint(sent[aid].paragraphs):
                out.append((batch.live[r], aid, sent[aid].story, float(p[k])))
            elif _has_copies(batch, batch.live[r]):
                mixed.add((batch.live[r], sent[aid].story))
    kept = [pair for pair in out if (pair[0], pair[2]) not in mixed]
    if not kept:
        return SentScores.none()
    candidate, article, story, p = zip(*kept, strict=True)
    return SentScores(
        np.array(candidate, np.int64),
        np.array(article, np.int64),
        np.array(story, np.int64),
        np.array(p, np.float64),
    )


def _sharing_anchors(
    batch: Batch, history: SentStories, since: int, settled_rows: np.ndarray
) -> np.ndarray:
    """(candidate row, sent article) of the open candidates and the sent articles dated
    `since` or later that share MIN_ANCHORS anchors (each held by at most ANCHOR_MAX_DF of
    them together)."""
    facts = batch.facts()
    counts = history.fact_counts(facts.keys[np.isin(facts.kinds, ANCHOR_KINDS)], since)
    if not counts:
        return np.zeros((0, 2), np.int64)
    sent_keys = np.fromiter(counts, np.int64, len(counts))  # sent articles holding each fact
    at = facts.at(sent_keys)
    usable = np.fromiter(counts.values(), np.int64, len(counts)) + facts.holders.lengths()[at]
    anchor_keys = sent_keys[usable <= ANCHOR_MAX_DF]
    held = facts.holders.take(at[usable <= ANCHOR_MAX_DF])
    open_rows = ~is_among(held.values, settled_rows)
    sent_held = _rows_of_two(history.facts_since(anchor_keys, since))
    return np.column_stack(
        pairs_sharing(
            held.values[open_rows],
            anchor_keys[held.holders()[open_rows]],
            sent_held[:, 1],
            sent_held[:, 0],
            MIN_ANCHORS,  # as in the batch
        )
    )


def _sharing_rare_words(
    batch: Batch, history: SentStories, since: int, settled_rows: np.ndarray
) -> np.ndarray:
    """(candidate row, sent article) of the open candidates and the sent articles dated
    `since` or later that share MIN_RARE_WORDS rare content words (Batch.rare_words): a
    second write-up that names little (ECB+ dev: a one-sentence report of an arrest, a day
    after the story) shares no facts with the first, but its words. A word is rare by all that
    was ever sent, not only within the window as the anchors are (the state counts words over
    all of it): a long history leaves fewer words rare."""
    rows, words = batch.rare_words(history, with_sent=True)
    open_rows = ~is_among(rows, settled_rows)
    rows, words = rows[open_rows], words[open_rows].astype(np.int64)
    sent = _rows_of_two(history.rare_words_since(words, since))
    return np.column_stack(pairs_sharing(rows, words, sent[:, 1], sent[:, 0], MIN_RARE_WORDS))


def _rows_of_two(pairs: list[tuple[int, int]]) -> np.ndarray:
    """(key, article) pairs as int64 rows (np.array reads a list of tuples twice as slowly)."""
    flat = np.fromiter(itertools.chain.from_iterable(pairs), np.int64, 2 * len(pairs))
    return flat.reshape(-1, 2)


def _has_copies(batch: Batch, i: int) -> bool:
    return any(kind in COPIES for kind in batch.relations().get(i, {}).values())


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


def sent_groups(batch: Batch, history: SentStories, scores: SentScores) -> SentLinks:
    """The sent stories some candidate scored with (`scores`: scores_against_history), to be
    grouped with the candidates: their tellings (`_kept_tellings`), in groups of copies as the
    batch groups its own (the fullest first, each joining the first group it copies), each
    group's score with each candidate and with the story's other groups, and the title
    readers got."""
    every = history.tellings_of(distinct(scores.story).tolist())
    by_story: dict[int, list[SentArticle]] = defaultdict(list)
    for aid in sorted(every):
        by_story[every[aid].story].append(every[aid])
    best: dict[int, float] = {}  # each scored telling's best score with a candidate
    for aid, p in zip(scores.article.tolist(), scores.p.tolist(), strict=True):
        best[aid] = max(p, best.get(aid, 0.0))
    kept = {s: _kept_tellings(told, best) for s, told in by_story.items()}
    tellings = {h.id: h for told in kept.values() for h in told}
    scored = is_among(scores.article, np.fromiter(tellings, np.int64, len(tellings)))
    links = SentLinks(
        [], [], scores.candidate[scored], np.zeros(0, np.int64), scores.p[scored], {}, {}
    )
    group_of: dict[int, int] = {}
    pairs: list[tuple[int, int]] = []  # tellings of one story in two groups
    for story, told in kept.items():
        groups: list[list[tuple[SentArticle, Telling]]] = []
        for h in sorted(told, key=lambda h: (-h.words, h.id)):
            mine = telling_of_sent(h)
            home = next((g for g in groups if _copies(h, mine, *g[0])), None)
            if home is None:
                groups.append([(h, mine)])
            else:
                home.append((h, mine))
        for g in groups:
            group_of.update((h.id, len(links.story)) for h, _ in g)
            links.story.append(story)
            links.tellings.append(sorted(h.id for h, _ in g))
            links.weekdays.append(weekday_bits(key for h, _ in g for key in h.facts))
        links.title[story] = by_story[story][0].title  # its first telling's
        # the telling whose fact kinds are known first: only its kinds tell a shared figure
        ids = sorted((not h.fact_kinds, h.id) for h in told)
        pairs += [
            (x, y)
            for (_, x), (_, y) in itertools.combinations(ids, 2)
            if group_of[x] != group_of[y]
        ]
    links.group = np.array([group_of[aid] for aid in scores.article[scored].tolist()], np.int64)
    if pairs:
        ids = sorted(tellings)
        row = {aid: n for n, aid in enumerate(ids)}
        weighed = weigh(sent_facets([tellings[a] for a in ids]), batch.reports(history).vocabulary)
        p = same_story(
            weighed,
            np.array([row[x] for x, _ in pairs], np.int64),
            weighed,
            np.array([row[y] for _, y in pairs], np.int64),
        )
        for (x, y), score in zip(pairs, p.tolist(), strict=True):
            a, b = sorted((group_of[x], group_of[y]))
            links.among[a, b] = links.among.get((a, b), 0.0) + score / (
                len(links.tellings[a]) * len(links.tellings[b])
            )
    return links


def _kept_tellings(told: list[SentArticle], best: dict[int, float]) -> list[SentArticle]:
    """The tellings of a sent story that are grouped with the candidates (`told`, by id):
    all of them, or, of a story told more than MAX_SENT_TELLINGS ways, those candidates
    scored best with and then the fullest. Each pair of them is compared (as copies, and by
    the same-story score): without a cap, 460 tellings of one story cost a selection 0.5 s,
    and the cost grows as their square."""
    if len(told) <= MAX_SENT_TELLINGS:
        return told
    ranked = sorted(told, key=lambda h: (-best.get(h.id, -1.0), -h.words, h.id))
    return sorted(ranked[:MAX_SENT_TELLINGS], key=lambda h: h.id)


def _copies(h: SentArticle, mine: Telling, first: SentArticle, theirs: Telling) -> bool:
    """A sent telling is a copy of the first of a group of its story's tellings."""
    return is_copy(mine, theirs) or republished(mine, theirs, h.day, first.day)


def grouped_with_sent(story: Story, links: SentLinks) -> SentMatch | None:
    """The sent story grouping put this story with, under the title readers got."""
    if story.sent is None:
        return None
    return SentMatch(SAME_STORY, links.title[story.sent], story.sent)
