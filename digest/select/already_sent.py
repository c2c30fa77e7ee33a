"""Against what was sent: which candidates are tellings of a story an earlier digest sent.

The same relations as within the batch decide: the same text, the same article, a copy
(copies.py), or another report by the same-story score averaged over the sent story's
tellings (as average linkage does within the batch).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from ..models import ALREADY_SENT, NEAR_DUPLICATE, SAME_STORY
from .batch import ANCHOR_KINDS, ANCHOR_MAX_DF, COPIES, MIN_ANCHORS, STORY_WINDOW_DAYS, Batch
from .copies import estimated_similarity, is_copy, republished, same_article, telling_of_sent
from .fingerprint import HEADLINE_WORDS, sent_facets
from .pairs import pairs_sharing
from .sent import SentArticle, SentStories
from .similarity import HISTORY_P, MIN_SCORE, SAME_STORY_P, rivals, same_story, weigh
from .stories import Story

SENT_AT_ONCE = 1024  # sent articles scored against the candidates in one go


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
    batch.forget_tellings()
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
    counts = history.fact_counts(facts.keys[np.isin(facts.kinds, ANCHOR_KINDS)], since)
    if not counts:
        return {}
    sent_keys = np.fromiter(counts, np.int64, len(counts))  # sent articles holding each fact
    at = facts.at(sent_keys)
    usable = np.fromiter(counts.values(), np.int64, len(counts)) + facts.holders.lengths()[at]
    anchor_keys = sent_keys[usable <= ANCHOR_MAX_DF]
    held = facts.holders.take(at[usable <= ANCHOR_MAX_DF])
    open_rows = ~np.isin(held.values, batch.row_of[list(settled)])
    sent_held = np.array(history.facts_since(anchor_keys, since), np.int64).reshape(-1, 2)
    rows, sent_ids = pairs_sharing(
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
    the tellings `_compared` says), and similarity.ATTACH_MARGIN times that of any other
    sent story (a report that two sent stories could claim is more often a new event of the
    same kind than one sent in two parts) -- unless the other claims are as strong as a match
    needs too: then it was sent in two parts."""
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
