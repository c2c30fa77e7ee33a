"""Planning the next digest: read → select → lead → place → render, writing nothing.

`plan_digest` is the whole of what preview shows and what a run freezes: it reads the sources,
selects against the stories already sent, writes each chosen story's lead, places each story
in its section, and renders the digest. It only reads the state (through `SentStories` and the
previous rates handed in); sending and recording are `send.py`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace

from .archive import page_url
from .config import Config
from .errors import SourcesError
from .heap import give_back
from .i18n import catalogue
from .language import language_of
from .lookback import in_the_future, last_day, reference_day, window_start
from .models import (
    DUPLICATE,
    NEAR_DUPLICATE,
    TOO_OLD,
    Article,
    Chosen,
    Digest,
    DigestItem,
    DigestSection,
    Problem,
    RateQuote,
    RateRow,
    ReadResult,
    RenderedDigest,
    Selection,
    Skipped,
    shown_source,
)
from .progress import meter
from .rates import newest_ticker, rate_rows
from .render import render
from .rules import SourceRules
from .select.choose import select
from .select.fingerprint import exact_key, text_hashes
from .select.parallel import start_helpers_early
from .select.sections import assign_sections, section_order
from .select.sent import SentStories
from .sources import read_configured
from .sources.fulltext import with_full_text
from .state.models import PreviousRates
from .state.storage import Storage
from .summarize import make_summarizer
from .text import counted, tokens


@dataclass(frozen=True)
class PlannedStory:
    """A chosen story as the digest shows it: its best telling, the others, its lead, its
    section."""

    chosen: Chosen
    lead: str
    section: str

    @property
    def article(self) -> Article:
        return self.chosen.article

    @property
    def tellings(self) -> tuple[Article, ...]:
        """Every telling, the best first (what an issue freezes)."""
        return (self.chosen.article, *self.chosen.tellings)


@dataclass
class DigestPlan:
    """Everything a cycle decides before anything is sent or stored."""

    read: ReadResult
    selection: Selection  # what was chosen (in the selection's order) and skipped, and why
    stories: list[PlannedStory]  # the chosen stories as placed: section by section
    digest: Digest
    rendered: RenderedDigest | None  # None when nothing is new (and skip_empty is on)
    notes: list[str] = field(default_factory=list)


def read_sources(config: Config, store: Storage | None = None) -> ReadResult:
    """Every configured source; feed dates are taken in the config's time zone. With a
    `store`, feeds are fetched with what it remembers of them (ETag, waits, the last body),
    and what the fetches learned is remembered unless the store is read-only (preview).
    Selection's helpers start while reading goes on, once there are enough articles."""
    write = store is not None and not store.readonly
    result = read_configured(config, store, write, counted=start_helpers_early)
    if result.sources_read == 0:
        detail = "; ".join(str(p) for p in result.problems[:3]) or "no source configured"
        raise SourcesError(
            f"nothing could be read from the configured sources: {detail}",
            f"check `sources:` in {config.path}",
        )
    result.articles = [
        replace(a, date=a.published.astimezone(config.tz).date()) if a.published else a
        for a in result.articles
    ]
    return result


def plan_digest(
    config: Config,
    read: ReadResult,
    sent: SentStories,
    previous_rates: PreviousRates,
    as_of: dt.date | None = None,
    run_id: int | None = None,
    store: Storage | None = None,
) -> DigestPlan:
    """Select, lead, place and render. `as_of` moves the lookback (nothing published after it
    is a candidate yet); `run_id` names the issue's archive page, for "View in browser";
    `store` keeps the pages fetched for full text (none written when it is read-only)."""
    notes = list(read.notes)
    if as_of is not None:
        later = [a for a in read.articles if a.date and a.date > as_of]
        if later:
            read.articles = [a for a in read.articles if not (a.date and a.date > as_of)]
            waits = "waits" if len(later) == 1 else "wait"
            notes.append(
                f"{counted(len(later), 'article')} dated after {as_of} {waits} for a later digest"
            )
    today = dt.datetime.now(config.tz).date()
    if as_of is None:
        for a in read.articles:
            if a.date and in_the_future(a.date, today):
                problem = f"{a.title!r} is dated {a.date}, in the future"
                read.problems.append(Problem(a.source, problem, a.line))
    day = reference_day(read.articles, as_of, today)
    candidates, ruled_out, rules = apply_source_rules(config, store, read, day, notes)
    give_back()  # what reading freed, before selection's peak
    selection = select(candidates, sent, config.selection, day, rules.per_source_cap())
    selection.skipped.extend(ruled_out)
    read.problems.extend(selection.problems)  # articles selection could not read
    summarize = make_summarizer(config.summary)
    leads = []
    for chosen in selection.chosen:
        result = summarize(chosen.article)
        leads.append(result.lead)
        if result.note:
            notes.append(f"{chosen.article.title}: {result.note}")
    stories = place(config, selection.chosen, leads, rules)
    stories = drop_stale_stories(config, selection, stories, read.articles, day)
    stories = top_story_first(stories, today, config.language)
    rows = rate_rows(
        current_ticker(read, day, last_day(as_of, today), config, notes), previous_rates.rates
    )
    names = {a.source: a.source_name for a in read.articles if a.source_name}
    copies = {id(s.article) for s in selection.skipped if s.reason in (DUPLICATE, NEAR_DUPLICATE)}

    def digest_of(stories: list[PlannedStory], brief: Collection[int] = ()) -> Digest:
        return build_digest(
            config,
            stories,
            rows,
            source_names=names,
            today=today,
            copies=copies,
            brief=brief,
            rates_since=previous_rates.date,
        )

    def rendered_with(
        stories: list[PlannedStory], brief: Collection[int] = ()
    ) -> tuple[Digest, RenderedDigest]:
        digest = _with_view_url(config, digest_of(stories, brief), run_id)
        return digest, render(digest)

    if not stories and config.skip_empty:  # else the rates and "nothing new" go out
        return DigestPlan(read, selection, stories, digest_of([]), None, notes)
    digest, rendered = rendered_with(stories)
    size = len(rendered.html.encode())
    if size > MAX_HTML_BYTES and len(stories) > 1:
        digest, rendered = _fit_one_message(selection, stories, rendered_with, size, notes)
    return DigestPlan(read, selection, stories, digest, rendered, notes)


# Gmail shows a message whose HTML is over about 102 KB clipped: the rest, the unsubscribe
# link with it, behind "View entire message".
MAX_HTML_BYTES = 100_000


def _fit_one_message(
    selection: Selection,
    stories: list[PlannedStory],
    rendered_with: Callable[[list[PlannedStory], Collection[int]], tuple[Digest, RenderedDigest]],
    size: int,
    notes: list[str],
) -> tuple[Digest, RenderedDigest]:
    """The message under MAX_HTML_BYTES with every story in it: the fewest stories shown as
    their headline alone (no lead, no other tellings listed), the last in the selection's
    order first, never the top story; a note says how many, and whether even that is over."""
    rank = {id(c): n for n, c in enumerate(selection.chosen)}
    tail = sorted(stories[1:], key=lambda s: rank[id(s.chosen)], reverse=True)

    def brief(count: int) -> tuple[Digest, RenderedDigest]:
        return rendered_with(stories, {id(s) for s in tail[:count]})

    fits, too_few = len(tail), 0  # stories made brief: enough, and not enough
    best = brief(fits)
    if len(best[1].html.encode()) > MAX_HTML_BYTES:
        notes.append(
            f"the HTML is {len(best[1].html.encode()):,} bytes even with {fits} of "
            f"{len(stories)} stories as headlines alone: Gmail clips messages over about "
            "102 KB (lower selection.max_articles)"
        )
        return best
    while fits - too_few > 1:  # the HTML shrinks with every story made brief: halve the gap
        middle = (fits + too_few) // 2
        attempt = brief(middle)
        if len(attempt[1].html.encode()) <= MAX_HTML_BYTES:
            fits, best = middle, attempt
        else:
            too_few = middle
    notes.append(
        f"{fits} of {len(stories)} stories shown as their headline alone: with their leads "
        f"and other tellings the HTML would be {size:,} bytes, and Gmail clips messages over "
        "about 102 KB (lower selection.max_articles to choose fewer)"
    )
    return best


def apply_source_rules(
    config: Config,
    store: Storage | None,
    read: ReadResult,
    as_of: dt.date | None,
    notes: list[str],
) -> tuple[list[Article], list[Skipped], SourceRules]:
    """The candidates the source rules keep (digest/rules.py), with full text where a source
    asks for it (digest/sources/fulltext.py); the articles the rules leave out as skipped."""
    rules = SourceRules.of_config(config, read.origins)
    candidates, ruled_out = rules.too_old(read.articles, as_of)
    cutoff = window_start(as_of, config.selection.lookback_days)
    candidates, full_text_notes = with_full_text(
        candidates,
        lambda a: rules.full_text(a) and not (cutoff and a.date and a.date < cutoff),
        store,
        write=store is not None and not store.readonly,
        settings=config.fetch,
        progress=meter("fetching", "pages"),
        resting=read.resting,
    )
    notes.extend(full_text_notes)
    candidates, excluded = rules.excluded(candidates)
    return candidates, ruled_out + excluded, rules


def place(
    config: Config, chosen: list[Chosen], leads: list[str], rules: SourceRules | None = None
) -> list[PlannedStory]:
    """Each chosen story with its lead in its section (its source's `section:` rule, else its
    title or lead names it: see select.sections), sections in the config's order, the
    sources' own sections, and "More news" after them; the selection's order within each
    section."""
    sections = config.selection.sections
    names = assign_sections(
        [(c.article.title, lead) for c, lead in zip(chosen, leads, strict=True)], sections
    )
    order = section_order(sections)
    if rules is not None:
        names = [rules.section(c.article) or n for c, n in zip(chosen, names, strict=True)]
        extra = [n for n in rules.sections() if n not in order]
        # named sections, then the sources' own; "More news" (or, with no named sections,
        # the unnamed "Top stories") where it was
        order = order[:-2] + extra + order[-2:] if sections else order[-1:] + extra
    stories = [
        PlannedStory(c, lead, name) for c, lead, name in zip(chosen, leads, names, strict=True)
    ]
    return sorted(stories, key=lambda s: order.index(s.section))


def drop_stale_stories(
    config: Config,
    selection: Selection,
    stories: list[PlannedStory],
    articles: list[Article],
    day: dt.date | None,
) -> list[PlannedStory]:
    """A story a page lists today is not news when its very text was already on a page older
    than the lookback (a listing page re-showing an old article): it becomes too-old, and is
    not remembered as sent. Returns the stories kept."""
    cutoff = window_start(day, config.selection.lookback_days)
    if cutoff is None or not stories:
        return stories
    # the same text has the same title: only old articles titled as a chosen telling is are
    # hashed whole (a long feed history costs a title's tokens each, not a body's hashes)
    titles = {tuple(tokens(_given_title(a))) for s in stories for a in s.tellings}
    old: dict[int, dt.date] = {}
    for a in articles:
        if a.date and a.date < cutoff and tuple(tokens(_given_title(a))) in titles:
            key = _text_key(a)
            old[key] = min(a.date, old.get(key, a.date))
    if not old:
        return stories
    kept = [s for s in stories if not any(_text_key(a) in old for a in s.tellings)]
    return withdraw(selection, stories, kept, TOO_OLD)


def _given_title(article: Article) -> str:
    """The title its source gave: a feed's one title survives the article being titled by
    its text since (select.titles does it to a chosen item, not to what was read)."""
    return article.feed_title or article.title


def _text_key(article: Article) -> int:
    """The key of an article's text under the title its source gave."""
    return exact_key(text_hashes(replace(article, title=_given_title(article))))


def withdraw(
    selection: Selection, stories: list[PlannedStory], kept: list[PlannedStory], reason: str
) -> list[PlannedStory]:
    """`kept` of the chosen `stories`; the others become skipped for `reason`, no longer
    chosen, and are not remembered as sent. Returns `kept`."""
    ids = {id(s.chosen) for s in kept}
    dropped = [s for s in stories if id(s.chosen) not in ids]
    if not dropped:
        return kept
    gone = {(a.title, a.source) for s in dropped for a in s.tellings}
    selection.skipped.extend(Skipped(s.article, reason) for s in dropped)
    make = selection.make_records

    def kept_records() -> list:
        records = make()
        out = {r.story for r in records if (r.title, r.source) in gone}
        return [r for r in records if r.story not in out]

    selection.make_records = kept_records
    selection.__dict__.pop("records", None)  # made only after delivery; never stale
    selection.chosen[:] = [c for c in selection.chosen if id(c) in ids]
    return kept


def current_ticker(
    read: ReadResult,
    day: dt.date | None,
    until: dt.date,
    config: Config,
    notes: list[str],
) -> list[RateQuote]:
    """The rates the digest shows: the newest ticker in the lookback window, as its stories
    are. A ticker older than the window is not today's rates (its date in small capitals
    did not stop "$1 buys 87.5 KGS" heading a digest nine months later), and one dated after
    `until` (`--as-of`, else tomorrow) was not published yet (a page whose year was mistyped
    "2027" gave the day's rates): the digest then shows none, and a note says why."""
    since = window_start(day, config.selection.lookback_days)
    ticker = newest_ticker(read.rates, since, until)
    if not ticker and any(q.date is not None for q in read.rates):
        window = f"{since or 'the first day'} to {min(until, day or until)}"
        notes.append(f"no rates shown: none is dated in the lookback ({window})")
    return ticker


def top_story_first(
    stories: list[PlannedStory], today: dt.date, language: str
) -> list[PlannedStory]:
    """The top story first: the story the most outlets carried, then the newest (by when it
    was first told; a date in the future, a mistyped year, is none), then one in the digest's
    `language` (its headline is the subject), then the one told most often, then the placed
    order. Outlets are what readers see, as in "Also reported by" (Chosen.also): the pages of
    one unnamed source are one, and so is an article two section feeds of its site carry."""
    if len(stories) < 2:
        return stories

    def rank(n: int) -> tuple[int, int, bool, int, int]:
        c = stories[n].chosen
        outlets = len({c.article.shown_source, *(t.source for t in c.also)})
        day = c.first_told.date
        day = None if day and in_the_future(day, today) else day
        foreign = language_of(c.article) != language
        return (-outlets, -(day.toordinal() if day else 0), foreign, -len(c.tellings), n)

    top = min(range(len(stories)), key=rank)
    return [stories[top], *(s for n, s in enumerate(stories) if n != top)]


def build_digest(
    config: Config,
    stories: list[PlannedStory],
    rows: list[RateRow],
    *,
    source_names: dict[str, str] | None = None,
    today: dt.date | None = None,
    copies: Collection[int] = (),
    brief: Collection[int] = (),
    rates_since: dt.date | None = None,
) -> Digest:
    """The digest as readers get it. Its date is the day it goes out, in the config's zone
    (`today`); each story is dated when its sources first told it. `copies`: the ids of the
    articles that are copies (duplicate, near-duplicate) of their story's best telling: the
    same outlet's are no other outlet's report. `brief`: the ids of the stories shown as
    their headline alone (no lead, no other tellings listed: see _fit_one_message).
    `rates_since`: the date of the issue the rates' changes compare with."""
    date = today or dt.datetime.now(config.tz).date()
    sections: dict[str, list[DigestItem]] = {}
    for story in stories:
        a = story.article
        first = story.chosen.first_told
        others = tuple(
            t
            for t in story.chosen.tellings
            if t.shown_source != a.shown_source or id(t) not in copies
        )
        short = id(story) in brief
        sections.setdefault(story.section, []).append(
            DigestItem(
                a.title,
                "" if short else story.lead,
                a.shown_source,
                a.url,
                first.date,
                source_link=a.source_link,
                also=() if short else replace(story.chosen, tellings=others).also,
                listed=first.listed,
                language=language_of(a),
            )
        )
    rates_source = None
    if rows:
        source = rows[0].source
        rates_source = shown_source((source_names or {}).get(source), None, source)
    return Digest(
        title=config.title,
        date=date,
        sections=tuple(DigestSection(name, tuple(items)) for name, items in sections.items()),
        rates=tuple(rows),
        rates_date=rows[0].date if rows else None,
        rates_source=rates_source or None,
        rates_since=rates_since,
        reason_line=catalogue(config.language).t("reason", title=config.title),
        postal_address=config.delivery.postal_address,
        view_url=None,
        language=config.language,
    )


def _with_view_url(config: Config, digest: Digest, run_id: int | None) -> Digest:
    """With `archive.url`, a run's e-mail links to its page in the archive ("View in
    browser"); the page's name is known before the issue is frozen (date and run number)."""
    if not (config.archive and config.archive.url and run_id is not None):
        return digest
    return replace(digest, view_url=page_url(config.archive.url, digest.date, run_id))
