"""Choosing the next digest's stories, told by which telling, and why each other candidate
is left out.

`select(candidates, sent, config, as_of)` is a pure read: `sent` (the state layer's
`SentStories`) is only asked questions, never written to (preview passes a read-only view).

Order. Newest page first: the articles of the newest page in page order, then the other
pages by date, newest first, each in page order; pages of one date in the order they were
read. An undated article sorts as if dated on the reference day. A story sits where its
first telling is.

Window. `lookback_days` counts back from the reference day (digest/lookback.py): `as_of`
when given, else the newest article date not in the future; articles dated earlier are
`too-old`. Articles without a date count as new.

Titles. A candidate under a title its feed sent two stories under is titled by its text
(`titles.py`: the feed's one title, "Daily Brief", told across days).

Stories. Candidates are related as exact copies, changed copies (`copies.py`) and other
reports of one event (scored in `similarity.py`; `batch.py`), grouped into stories by average
linkage so that two events never chain together (`stories.py`), the tellings of the sent
stories they score with grouped among them as if they had come in this batch: a story grouped
with a sent one, or whose tellings copy a sent one, is already sent (`already_sent.py`). A new
story is shown once, by its best
telling (not an excerpt, not mixed with another story, the most central, then the fullest);
its other tellings stay attached (`Chosen.tellings`, `Chosen.also`) and are listed as skipped
with the reason they joined it (`duplicate`, `near-duplicate`, `same-story`) and the best
telling's title. Every telling of
a story already sent is skipped as `already-sent` with the sent telling's title, however it
matched (the same text, GUID within its feed or article URL, a copy, another report:
`Skipped.relation` says which).

Cap. The first `max_articles` new stories are chosen; the rest are `over-limit` (every
telling), and come back in the next run while they are within the window.

Sections. See `sections.py`.

Source rules. `over_cap(best telling)`, when given (digest/rules.py: `max_per_source`),
names the rule that leaves a story out (every telling `excluded`, with that rule).
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from ..config import SelectionConfig
from ..heap import give_back
from ..lookback import reference_day, window_start
from ..models import (
    ALREADY_SENT,
    DUPLICATE,
    EXCLUDED,
    OVER_LIMIT,
    SAME_STORY,
    TOO_OLD,
    Article,
    Chosen,
    Problem,
    Selection,
    Skipped,
)
from ..state.sent import SentRecord
from . import facts
from .already_sent import (
    against_history,
    grouped_with_sent,
    scores_against_history,
    sent_groups,
    story_sent,
    texts_already_sent,
    without_sent_copies,
)
from .batch import Batch
from .fingerprint import Fingerprints, fingerprint, text_hashes
from .parallel import fingerprint_unsent
from .sent import SentStories
from .similarity import candidate_facets, feed_title_of
from .stories import group
from .titles import titled_by_history


def select(
    candidates: list[Article],
    sent: SentStories,
    config: SelectionConfig,
    as_of: dt.date | None = None,
    over_cap: Callable[[Article], str | None] | None = None,
) -> Selection:
    """Choose the next digest's stories; every other candidate is skipped with its reason.

    No article's text can stop a selection: should one trip a bug, it is left out, named in
    `problems`, and the others are selected as if it were not there."""
    with paused_gc():
        try:
            return _select(candidates, sent, config, as_of, over_cap)
        except Exception:
            unreadable = {id(a): error for a in candidates if (error := _unreadable(a))}
            if not unreadable:
                raise  # not the articles: a bug of the selection itself, or of the state
        rest = [a for a in candidates if id(a) not in unreadable]
        selection = _select(rest, sent, config, as_of, over_cap)
        selection.problems = [
            Problem(a.source, f"{a.title!r} left out: selection failed on it ({error})", a.line)
            for a in candidates
            if (error := unreadable.get(id(a)))
        ]
        return selection


def _unreadable(article: Article) -> str | None:
    """What fingerprinting this article alone raises, None when it is fine."""
    try:
        fps = fingerprint([article], [text_hashes(article)])
        candidate_facets(fps), fps.paragraphs(0)  # noqa: B018 (made when first asked)
    except Exception as e:  # any bug: the article is named, the digest goes out without it
        return f"{type(e).__name__}: {e}"
    return None


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: selection makes many small acyclic objects, and
    with thousands of candidates in memory each full collection walks them all (a fifth of
    the time of a 10,000-candidate selection)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _select(
    candidates: list[Article],
    sent: SentStories,
    config: SelectionConfig,
    as_of: dt.date | None,
    over_cap: Callable[[Article], str | None] | None = None,
) -> Selection:
    if not candidates:
        return Selection([], [])
    candidates, feed_titles = titled_by_history(candidates, sent)
    ref = reference_day(candidates, as_of, dt.date.today())
    order = _stable_order(candidates, ref)
    position = {i: n for n, i in enumerate(order)}
    cutoff = window_start(ref, config.lookback_days)
    live = [i for i in order if not (cutoff and candidates[i].date and candidates[i].date < cutoff)]
    found, prints = fingerprint_unsent(
        [candidates[i] for i in live], lambda keys: texts_already_sent(keys, sent)
    )
    known = {live[n]: match for n, match in found.items()}
    facts.forget()
    give_back()  # what fingerprinting freed (and, below, grouping), before the next peak
    fresh = [i for i in live if i not in known]
    batch = Batch(candidates, fresh, prints, ref, feed_titles)
    matches = against_history(batch, sent)
    score = batch.story_scorer(sent)
    links = sent_groups(batch, sent, scores_against_history(batch, sent, set(matches)))
    pairs = batch.anchor_pairs(sent)
    common = batch.common_anchors()
    batch.forget_facts()  # grouping's peak comes without them
    stories = group(batch, batch.relations(), pairs, score, position, links, common)
    give_back()

    chosen: list[Chosen] = []
    skipped = {i: Skipped(candidates[i], m.reason, m.title, DUPLICATE) for i, m in known.items()}
    told: list[list[int]] = []  # the chosen stories' tellings, best first
    for story in stories:
        match = story_sent(story, matches) or grouped_with_sent(story, links)
        if match is None:
            story, sent_copies = without_sent_copies(story, matches, batch, position)
            for m in sent_copies:
                how = DUPLICATE if matches[m].reason == ALREADY_SENT else matches[m].reason
                skipped[m] = Skipped(candidates[m], ALREADY_SENT, matches[m].title, how)
        rep = candidates[story.rep]
        if match is not None:  # every telling of a story already sent, however it matched
            for m in story.members:
                how = matches[m].reason if m in matches else SAME_STORY
                how = DUPLICATE if how == ALREADY_SENT else how  # the same article (GUID, URL)
                title = matches[m].title if m in matches else match.title  # what it copies
                skipped[m] = Skipped(candidates[m], ALREADY_SENT, title, how)
            continue
        if len(chosen) >= config.max_articles:
            for m in story.members:
                skipped[m] = Skipped(
                    candidates[m], OVER_LIMIT, None if m == story.rep else rep.title
                )
            continue
        rule = over_cap(rep) if over_cap is not None else None
        if rule is not None:
            for m in story.members:
                skipped[m] = Skipped(candidates[m], EXCLUDED, rule=rule)
            continue
        tellings = tuple(candidates[m] for m in story.others)
        chosen.append(Chosen(rep, tellings))
        for m in story.others:
            skipped[m] = Skipped(candidates[m], story.kind[m], rep.title, story.kind[m])
        told.append(story.members)
    alive = set(live)
    out = [
        skipped[i] if i in alive else Skipped(candidates[i], TOO_OLD)
        for i in order
        if i not in alive or i in skipped
    ]

    told_rows = [[batch.row[m] for m in members] for members in told]
    del batch  # what is remembered needs the fingerprints of the chosen alone

    def make_records() -> list[SentRecord]:
        return [r for n, rows in enumerate(told_rows) for r in _records(n, prints, rows)]

    return Selection(chosen, out, make_records)


def _stable_order(candidates: Sequence[Article], ref: dt.date | None) -> list[int]:
    """Newest page first, pages of one date in reading order, page order within each."""
    first_seen: dict[str, int] = {}
    for i, a in enumerate(candidates):
        first_seen.setdefault(a.source, i)

    def key(i: int) -> tuple[int, int, int]:
        a = candidates[i]
        day = a.date or ref
        return (-day.toordinal() if day else 0, first_seen[a.source], i)

    return sorted(range(len(candidates)), key=key)


def _records(story: int, fps: Fingerprints, rows: Sequence[int]) -> list[SentRecord]:
    out = []
    for r in rows:
        a = fps.articles[r]
        terms = sorted(zip(fps.terms[r].tolist(), fps.counts[r].tolist(), strict=True))
        key = fps.key_of_headline(r)
        out.append(
            SentRecord(
                story=story,
                title=a.title,
                source=a.source,
                outlet=a.source_name or "",
                url=a.url,
                guid=a.guid,
                day=a.date.toordinal() if a.date else None,
                words=int(fps.words[r]),
                shingles=int(fps.size[r]),
                excerpt=bool(fps.excerpt[r]),
                fact_weight=float(fps.fact_weight[r]),
                facts=tuple(fps.facts[r].tolist()),
                classes=tuple(fps.classes[r].tolist()),
                signature=fps.signature[r].astype("<u4").tobytes(),
                lead=fps.lead[r].astype("<u4").tobytes(),
                terms=tuple(terms),
                keys=tuple(
                    sorted(
                        {int(fps.exact[r]), *fps.ids[r].tolist(), *fps.bands[r].tolist()}
                        | ({key} if key is not None else set())
                        | {feed_title_of(a, given=True)}  # for titles.titled_by_history
                    )
                ),
                paragraphs=tuple(sorted(fps.paragraphs(r))),
                fact_kinds=fps.kinds[fps.facts.starts[r] : fps.facts.starts[r + 1]].tobytes(),
            )
        )
    return out


def sent_records(stories: Sequence[Sequence[Article]]) -> list[SentRecord]:
    """The records of stories chosen in an earlier run (a resumed issue): the fingerprints
    computed again from the frozen articles, the same values selection made."""
    flat = [a for story in stories for a in story]
    with paused_gc():
        fps = fingerprint(flat)
        out: list[SentRecord] = []
        rows = iter(range(len(flat)))
        for n, story in enumerate(stories):
            out += _records(n, fps, [next(rows) for _ in story])
    return out
