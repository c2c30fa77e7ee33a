"""Stories: the related candidates grouped, each story once.

Grouping never chains two stories through a weak link: copies are grouped first, fullest
first (the whole article before an excerpt, more words first, earlier on ties), each joining
the group whose first telling it copies, or of which it copies a copy, or most of whose
members it copies (`copy_groups`); then the groups by average linkage of their tellings'
same-story scores; then the parts of an event told too many ways for its tellings to be
paired, by average linkage of the stories (`_join_split_stories`); and a small story left
alone (up to SMALL_STORY copy groups) joins the bigger story it matches clearly better than
any other (`group`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..models import BODY_KINDS, DUPLICATE, NEAR_DUPLICATE, SAME_STORY, Article
from ..text import says_only_when
from .batch import COPIES, MIN_ANCHORS, STORY_WINDOW_DAYS, STRENGTH, Batch
from .keys import distinct
from .pairs import pair_groups, pairs_within
from .ragged import Ragged
from .similarity import ATTACH_P, MIN_SCORE, SAME_STORY_P, SPLIT_P, average_linkage, rivals

SMALL_STORY = 4  # copy groups: a story this small may join a bigger one (join_small_stories)
SPLIT_SHARERS = 50  # stories sharing a too common anchor, at most, for it to join them
SPLIT_SAMPLE = 8  # tellings of each of two stories whose pairs estimate their mean
LINK_POST_WORDS = 5  # a body of fewer words tells no story (_tells_little)
CENTRAL_SAMPLE = 32  # tellings a telling of a bigger story is compared with (_centrality)
COPY_LINKAGE = 0.4  # see _join_copy_groups


@dataclass
class SentLinks:
    """Sent stories to group with the candidates, as nodes: each story's tellings in groups of
    copies (as the candidates' are), each group's story and tellings; the same-story
    probability of candidates with tellings of the groups, a pair each; each group's mean
    with each other group of its story; and the title readers got of each story."""

    story: list[int]  # of each group
    tellings: list[list[int]]  # of each group
    candidate: np.ndarray  # int64, a pair each
    group: np.ndarray  # int64: the group of the pair's sent telling
    p: np.ndarray  # float64
    among: dict[tuple[int, int], float]  # (group, group), the first first
    title: dict[int, str]  # by story
    weekdays: list[int] = field(default_factory=list)  # of each group (facts.weekday_bits)


@dataclass
class Story:
    rep: int  # the best telling: fullest non-excerpt, earliest on ties
    members: list[int] = field(default_factory=list)  # rep first
    kind: dict[int, str] = field(default_factory=dict)  # member -> its relation to the rep
    sent: int | None = None  # the sent story it was grouped with: its tellings are already sent

    @property
    def others(self) -> list[int]:
        return self.members[1:]


def group(
    batch: Batch,
    rel: dict[int, dict[int, str]],
    pairs: np.ndarray,
    score: Callable[[np.ndarray], np.ndarray],
    position: dict[int, int],
    sent: SentLinks | None = None,
    common: Ragged | None = None,
) -> list[Story]:
    """Candidates into stories: copies first (`copy_groups`), then the copy groups by
    average linkage of the same-story scores of their tellings (`pairs`: the pairs of
    candidates worth a score, rows of two); a small story then joins the bigger one it
    clearly belongs to, if any (`join_small_stories`).

    The groups of `sent` tellings are grouped with them, as they would have been had they
    come in this batch, but that two sent stories never join: a story grouped with a sent one
    is already sent (`Story.sent`). A new report of a sent event thus joins the part of it
    that tells the event its way, not the mean of all its tellings.

    Stories that share anchors too common to pair their tellings (`common`:
    Batch.common_anchors) are joined when they are parts of one event (`_join_split_stories`)."""
    copies = copy_groups(batch, rel, position)
    rep = np.arange(len(batch.candidates))
    rep[[m for s in copies for m in s.members]] = np.repeat(
        [s.rep for s in copies], [len(s.members) for s in copies]
    )
    place = np.zeros(len(batch.candidates), np.int64)
    place[list(position)] = list(position.values())
    a, b = rep[pairs[:, 0]], rep[pairs[:, 1]]
    between = a != b
    a, b, pairs = a[between], b[between], pairs[between]
    a, b = np.where(place[a] < place[b], a, b), np.where(place[a] < place[b], b, a)
    # Two copy groups score the mean over their tellings' pairs (pairs not worth a score count
    # 0), not their best tellings' alone: copies differ in headline and opening, which the
    # score reads (ECB+ dev: 60 stories become 59, recall 0.816 to 0.839, precision kept).
    node_pairs, at = pair_groups(np.column_stack([a, b]))  # the first on the page first
    size = np.bincount(rep, minlength=len(rep))
    sums = np.bincount(at, score(pairs), len(node_pairs))
    p = sums / (size[node_pairs[:, 0]] * size[node_pairs[:, 1]])
    kept = p >= MIN_SCORE
    node_score = dict(zip(map(tuple, node_pairs[kept].tolist()), p[kept].tolist(), strict=True))
    nodes = sorted((s.rep for s in copies), key=position.__getitem__)
    weekdays: dict[int, int] = defaultdict(int)  # a copy group names what its copies name
    for m, days in batch.weekdays_named().items():
        weekdays[int(rep[m])] |= days
    story_of: dict[int, int] = {}  # node -> the sent story it is a part of
    if sent is not None:
        story_of = _add_sent(nodes, node_score, weekdays, sent, rep, size)
    clusters = average_linkage(nodes, node_score, SAME_STORY_P, apart=story_of, weekdays=weekdays)
    by_rep = {s.rep: s for s in copies}
    if common is not None:
        clusters = _join_split_stories(
            clusters, common, rep, by_rep, score, batch.day, story_of, position
        )
    clusters = join_small_stories(clusters, node_score, story_of)
    stories = []
    for cluster in clusters:
        told = [r for r in cluster if r in by_rep]
        if told:
            stories.append(_merged([by_rep[r] for r in told], SAME_STORY))
            stories[-1].sent = next((story_of[r] for r in cluster if r in story_of), None)
    _best_tellings(stories, batch, position, _centrality(stories, rep.tolist(), score))
    return _in_page_order(stories, position)


def _in_page_order(stories: list[Story], position: dict[int, int]) -> list[Story]:
    """Each story's other tellings in page order, and each story where its first telling is:
    newest page first, page order."""
    for s in stories:
        if len(s.members) > 2:
            s.members[1:] = sorted(s.members[1:], key=position.__getitem__)
    stories.sort(key=lambda s: min(map(position.__getitem__, s.members[:2])))
    return stories


def _add_sent(
    nodes: list[int],
    score: dict[tuple[int, int], float],
    weekdays: dict[int, int],
    sent: SentLinks,
    rep: np.ndarray,
    size: np.ndarray,
) -> dict[int, int]:
    """The groups of sent tellings added to `nodes` (numbered after the candidates), their
    mean scores to `score`, as a copy group's are: over their tellings' pairs, and the weekdays
    they name to `weekdays`. Their sent stories, by node."""
    first = len(rep)
    pairs, at = pair_groups(np.column_stack([rep[sent.candidate], sent.group]))
    told = np.fromiter(map(len, sent.tellings), np.int64, len(sent.tellings))
    means = np.bincount(at, sent.p, len(pairs)) / (size[pairs[:, 0]] * told[pairs[:, 1]])
    for (r, k), mean in zip(pairs.tolist(), means.tolist(), strict=True):
        if mean >= MIN_SCORE:  # as the candidates' own scores were kept
            score[r, first + k] = mean
    for (x, y), mean in sent.among.items():
        if mean >= MIN_SCORE:
            score[first + x, first + y] = mean
    weekdays.update((first + k, days) for k, days in enumerate(sent.weekdays))
    story_of = {first + k: story for k, story in enumerate(sent.story)}
    nodes += sorted(story_of)
    return story_of


def _centrality(
    stories: list[Story],
    rep_of: Sequence[int],
    score: Callable[[np.ndarray], np.ndarray],
) -> dict[int, float]:
    """Each telling's mean same-story score with the other tellings of its story (a copy
    of it counts 1), in stories of three copy groups or more; in a story of more than
    CENTRAL_SAMPLE tellings, with CENTRAL_SAMPLE of them spread over it (its pairs grow as
    the square of its tellings: 1,000 are half a million)."""
    several = [
        s for s in stories if len(s.members) >= 3 and len({rep_of[m] for m in s.members}) >= 3
    ]
    samples = [_spread(s.members, CENTRAL_SAMPLE) for s in several]
    pairs = sorted(
        {
            (min(m, x), max(m, x))
            for s, sample in zip(several, samples, strict=True)
            for m in s.members
            for x in sample
            if rep_of[m] != rep_of[x]
        }
    )
    scored = dict(zip(pairs, score(np.array(pairs, np.int64)).tolist(), strict=True))
    out = {}
    for s, sample in zip(several, samples, strict=True):
        for m in s.members:
            others = [x for x in sample if x != m]
            total = sum(
                1.0 if rep_of[m] == rep_of[x] else scored[min(m, x), max(m, x)] for x in others
            )
            out[m] = total / len(others)
    return out


def _spread(items: list[int], n: int) -> list[int]:
    """`n` of `items` spread evenly over them (all of them when they are no more)."""
    if len(items) <= n:
        return items
    return [items[k * len(items) // n] for k in range(n)]


def _join_split_stories(
    clusters: list[list[int]],
    common: Ragged,
    rep: np.ndarray,
    copies: dict[int, Story],
    score: Callable[[np.ndarray], np.ndarray],
    day: Callable[[int], int | None],
    sent: dict[int, int],
    position: dict[int, int],
) -> list[list[int]]:
    """Stories that are parts of one event told a few hundred ways, joined. Pairs are found
    by anchors held by at most batch.ANCHOR_MAX_DF candidates, and average linkage counts a
    pair never scored as 0: the reports of one event past that many share no anchor and
    split into parts. Stories that share MIN_ANCHORS of the anchors too common to pair
    reports (`common`: the holders of each), each held by at most SPLIT_SHARERS stories, are
    joined by average linkage over the stories (`rep`: each candidate's copy group, a node),
    each pair's mean estimated from up to SPLIT_SAMPLE tellings of each (its first copy
    groups' faces, then their copies; two tellings further apart in `day` than
    batch.STORY_WINDOW_DAYS count 0, as they are never paired), never two holding parts of
    two sent stories (`sent`: node -> its sent story)."""
    if not len(common) or len(clusters) < 2:
        return clusters
    cluster_of = np.full(len(rep), -1, np.int32)  # of each copy group's node
    nodes = [(n, k) for k, c in enumerate(clusters) for n in c if n < len(rep)]
    cluster_of[[n for n, _ in nodes]] = [k for _, k in nodes]
    # The stories holding each anchor that few enough hold, an anchor at a time (at 40,000
    # generated candidates anchors too common to pair reports are held 700,000 times).
    held_by: list[np.ndarray] = []
    for anchor in range(len(common)):
        stories = distinct(cluster_of[rep[common[anchor]]])
        stories = stories[stories >= 0]
        if 2 <= len(stories) <= SPLIT_SHARERS:
            held_by.append(stories)
    if not held_by:
        return clusters
    holding = Ragged.of(np.concatenate(held_by), [len(h) for h in held_by])  # a row an anchor
    pairs = pairs_within(holding.values, holding.holders(), MIN_ANCHORS)
    if not len(pairs):
        return clusters
    sample = {k: _first_tellings(clusters[k], copies, position) for k in distinct(pairs).tolist()}
    tellings = np.array(
        [(a, b) for x, y in pairs.tolist() for a in sample[x] for b in sample[y]], np.int64
    )
    told_on = {t: day(t) for told in sample.values() for t in told}
    days = np.array([told_on[t] for t in tellings.ravel().tolist()], float)  # nan: undated
    far = np.abs(days[0::2] - days[1::2]) > STORY_WINDOW_DAYS
    counts = [len(sample[x]) * len(sample[y]) for x, y in pairs.tolist()]
    p = np.where(far, 0.0, score(tellings))
    means = np.add.reduceat(p, np.cumsum([0, *counts[:-1]])) / counts
    home = cluster_of[rep]  # of each candidate (-1: none, a candidate not selected from)
    weight = np.bincount(home[home >= 0], minlength=len(clusters)).clip(1).tolist()
    sums = {
        (x, y): mean * weight[x] * weight[y]
        for (x, y), mean in zip(pairs.tolist(), means.tolist(), strict=True)
        if mean >= MIN_SCORE
    }
    apart = {k: sent[n] for k, c in enumerate(clusters) for n in c if n in sent}
    joined = average_linkage(range(len(clusters)), sums, SAME_STORY_P, weight, apart)
    return [[n for k in group for n in clusters[k]] for group in joined]


def _first_tellings(
    nodes: list[int], copies: dict[int, Story], position: dict[int, int]
) -> list[int]:
    """SPLIT_SAMPLE tellings of a story (`nodes`): its copy groups' faces in page order, then
    their copies."""
    groups = sorted((copies[n] for n in nodes if n in copies), key=lambda s: position[s.rep])
    faces = [s.rep for s in groups]
    return (faces + [m for s in groups for m in s.others])[:SPLIT_SAMPLE]


def join_small_stories(
    clusters: list[list[int]], score: dict[tuple[int, int], float], sent: dict[int, int]
) -> list[list[int]]:
    """Small stories that average linkage kept apart join a bigger story they clearly belong
    to, the smallest first (ECB+ dev: 84 stories for 40 events become 62, precision 0.98 and
    5 of 460 articles under another event's story both before and after; so in each half of
    the topics):
    - a story of one copy group, at a mean score of ATTACH_P with the bigger story's tellings,
      similarity.ATTACH_MARGIN times its mean with any other -- or with other stories that
      match the first at SPLIT_P, one event left in parts, or at ATTACH_P when all hold parts
      of sent stories (an event sent in parts: already sent, whichever it joined);
    - a story of up to SMALL_STORY copy groups, at a mean of SPLIT_P, ATTACH_MARGIN times its
      mean with any other;
    never two stories holding parts of two sent stories (`sent`: node -> its sent story)."""
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
    out = list(clusters)  # the stories as they grow (`clusters` keeps their first sizes)
    held: dict[int, set[int]] = defaultdict(set)  # the sent stories each story holds parts of
    for n, story in sent.items():
        held[home[n]].add(story)
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
            # A rival is no rival when it is the best's other part, or when both hold parts
            # of sent stories that match each other at ATTACH_P (an event sent in parts): a
            # lone report they claim is already sent whichever it joins.
            fits = m >= ATTACH_P and all(
                mean(best, k) >= SPLIT_P or (held[best] and held[k] and mean(best, k) >= ATTACH_P)
                for k in claimants
            )
        else:
            fits = m >= SPLIT_P and not claimants
        if fits and not held[best] and _a_part_of_a_sent_story(x, out, held, sent):
            fits = False
        if fits and len(held[best] | held[x]) <= 1:
            out[best] = out[best] + out[x]
            out[x] = []
            held[best] |= held[x]
            joined.add(x)
    return [c for c in out if c]


def _a_part_of_a_sent_story(
    x: int, out: list[list[int]], held: dict[int, set[int]], sent: dict[int, int]
) -> bool:
    """Story `x` is sent tellings alone, of a sent story whose other tellings are grouped
    apart here: it is one telling of that story, and the story readers got decides, not that
    telling. Joining a new story, it would call the new story already sent on its word alone
    (ECB+ dev, the stories over the limit of one run selected again in the next: one report
    of a Vancouver office shooting scored 0.71 with a report of a bank bombing the same week,
    and the bombing was lost; max_articles 5 to 50: 3 of 137 waiting events lost, now 0, and
    2 more of 143 sent events shown again)."""
    if not held[x] or any(n not in sent for n in out[x]):
        return False
    return any(held[k] & held[x] for k, c in enumerate(out) if c and k != x)


def copy_groups(
    batch: Batch, rel: dict[int, dict[int, str]], position: dict[int, int]
) -> list[Story]:
    """Candidates into groups of copies, fullest first, without chaining through a weak link."""
    row, exact = batch.row, batch.fps.exact.tolist()
    # by batch.fullness, then page order (row r of the fingerprints is batch.live[r])
    places = np.fromiter(map(position.__getitem__, batch.live), np.int64, len(batch.live))
    fullest = np.lexsort((places, -batch.fps.words, batch.fps.excerpt))
    order = np.asarray(batch.live, np.int64)[fullest].tolist()
    stories: list[Story] = []
    story_of: dict[int, Story] = {}
    for i in order:
        related = rel.get(i)
        if not related:  # most candidates: a group of their own
            story_of[i] = Story(i, [i])
            stories.append(story_of[i])
            continue
        best: tuple | None = None
        touched: dict[int, list[str]] = defaultdict(list)
        for j, kind in related.items():
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
            for s in {id(story_of[j]): story_of[j] for j in related if j in story_of}.values():
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
    return _in_page_order(stories, position)


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


def _tells_little(article: Article) -> bool:
    """A link post: its body is a byline at most (Reddit's "submitted by /u/... [link]
    [comments]"), no story told, and no paragraph for another story's to be mixed into either.
    (ECB+ holds a whole report of seven words: "The parliament election is over in
    Turkmenistan.")"""
    words = 0
    for p in article.paragraphs:
        if p.kind in BODY_KINDS:
            # up to LINK_POST_WORDS words of each: splitting a long body whole was most of it
            words += len(p.text.split(None, LINK_POST_WORDS - 1))
            if words >= LINK_POST_WORDS:
                return False
    return True


def _best_tellings(
    stories: list[Story],
    batch: Batch,
    position: dict[int, int],
    central: dict[int, float] | None = None,
) -> None:
    """Each story's best telling, the one shown and remembered as the story: not an excerpt,
    under a headline of its own (not one made of an untitled post's first sentence, not a date
    and time: "Posted 11/27/2005 7:21 AM", as some sites' feeds title posts), with text to
    tell it (`_tells_little`), with no
    paragraph of another story in it, then the most central (`central`: its mean
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

        best = _first_by(
            s.members,
            lambda m: bool(fps.excerpt[row[m]]),
            lambda m: batch.candidates[m].untitled or says_only_when(batch.candidates[m].title),
            lambda m: _tells_little(batch.candidates[m]),
            mixed,
            lambda m: -round((central or {}).get(m, 0.0), 1),
            lambda m: -int(fps.words[row[m]]),
            position.__getitem__,
        )
        if best != s.rep:
            s.kind[s.rep] = s.kind.pop(best)
            s.members.remove(best)
            s.members.insert(0, best)
            s.rep = best


def _first_by(items: list[int], *keys: Callable[[int], object]) -> int:
    """The first of `items` least by `keys` in turn (as `min` by the tuple of them), each key
    asked only of the items the keys before it tie: most tellings are told apart by the
    first ones, and the later ones (whether a telling is mixed with another story) cost more."""
    for key in keys:
        if len(items) == 1:
            break
        values = [key(m) for m in items]
        least = min(values)
        items = [m for m, v in zip(items, values, strict=True) if v == least]
    return items[0]
