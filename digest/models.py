"""Plain dataclasses passed between the pipeline stages.

sources → Article / RateQuote → select → Selection → summarize → Digest → render → RenderedDigest
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from decimal import Decimal
from urllib.parse import urlsplit

from .text import clean_text, is_web_url

# Kinds of paragraph a reader can tell apart. Only BODY kinds make up `Article.text`;
# the summarizer takes its sentences from PROSE alone.
PROSE = "prose"  # ordinary running text (also interview answers)
QUESTION = "question"  # interview question lines, "TCA: ..."
BULLET = "bullet"  # list items: "• ...", "1. ..."
CAPTION = "caption"  # image captions and credits: "Still from the film ...; image: ..."
CHROME = "chrome"  # site furniture: "click here" footers, "Viewing results 1 - 6 of 181"
BODY_KINDS = frozenset({PROSE, QUESTION, BULLET})


def _setstate(self: object, state: dict | list) -> None:
    """Unpickling: a list of the fields' values, or a dict of them (pickled before slots). A
    field added since (at the end, with a default: `Article.untitled`) keeps its default."""
    known = fields(self)  # type: ignore[arg-type]
    if not isinstance(state, dict):
        if len(state) > len(known):
            raise ValueError(f"{len(state)} values pickled for {len(known)} fields")
        state = dict(zip((f.name for f in known), state, strict=False))  # fewer: added since
    for f in known:
        if f.name not in state and f.default is MISSING:
            raise ValueError(f"no {f.name!r} in the pickled {type(self).__name__}")
        object.__setattr__(self, f.name, state.get(f.name, f.default))


# Slots: a selection holds every candidate's paragraphs (40,000 articles: 375,000 of them),
# and an instance dictionary would cost more than many a paragraph's text. The text is held as
# UTF-8: one curly quote makes a Python string two bytes a character, and most news has one
# (the text of 40,000 generated candidates: about 145 MB as UTF-8, 265 MB as strings).
@dataclass(frozen=True, slots=True, init=False, repr=False)
class Paragraph:
    utf8: bytes  # the text; lone surrogates kept as they came ("surrogatepass")
    kind: str = PROSE
    line: int | None = None  # 1-based line in the source file, when it has lines

    def __init__(self, text: str, kind: str = PROSE, line: int | None = None) -> None:
        self._hold(text.encode("utf-8", "surrogatepass"), kind, line)

    @classmethod
    def of_utf8(cls, utf8: bytes, kind: str = PROSE, line: int | None = None) -> Paragraph:
        """A paragraph of text already in UTF-8 (as another's `utf8`), not decoded to be
        encoded again."""
        paragraph = cls.__new__(cls)
        paragraph._hold(utf8, kind, line)
        return paragraph

    def _hold(self, utf8: bytes, kind: str, line: int | None) -> None:
        object.__setattr__(self, "utf8", utf8)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "line", line)

    @property
    def text(self) -> str:
        return self.utf8.decode("utf-8", "surrogatepass")

    def __repr__(self) -> str:
        return f"Paragraph({self.text!r}, {self.kind!r}, {self.line!r})"

    def __setstate__(self, state: dict | list) -> None:
        """Unpickling, pickles made before the text was held as UTF-8 included."""
        if isinstance(state, dict) and "text" in state:
            state = [state["text"], state.get("kind", PROSE), state.get("line")]
        if isinstance(state[0], str):
            state = [state[0].encode("utf-8", "surrogatepass"), *state[1:]]
        _setstate(self, state)


# A file's path or name, which a reader must never see: "/srv/seeds/000.txt", "./feed.xml",
# "file:///x", "C:\\feeds\\a.rss", "rss.xml" (not "RFE/RL", an outlet).
_FILE_NAME = re.compile(
    r"^(?:file:|~?[/\\]|\.{1,2}[/\\]|[A-Za-z]:[/\\])|\.(?:txt|xml|rss|atom|rdf|html?|json|csv)$",
    re.I,
)


def shown_source(name: str | None, link: str | None, source: str) -> str:
    """A source as readers see it, in the JSON and the digest alike (DESIGN: `source` is the
    source's name): its name on one line, else its site's host (a name that is a URL gives
    its host too); never a file name, "" when nothing else is known."""
    name = clean_text(name or "")
    if name and not is_web_url(name) and not _FILE_NAME.search(name):
        return name
    for url in (name, link, source):
        if is_web_url(url):
            return (urlsplit(url.strip()).hostname or "").removeprefix("www.")
    return ""


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    paragraphs: tuple[Paragraph, ...]
    source: str  # file path or feed URL it was read from
    line: int | None = None  # 1-based line of the title (snapshots); None for feeds
    date: dt.date | None = None  # page date (snapshots) or the entry's date (feeds)
    published: dt.datetime | None = None  # aware timestamp, when the source gives one
    url: str | None = None  # link to the full article, when the source has one
    guid: str | None = None  # the feed's id for the entry
    excerpt: bool = False  # the body is a teaser cut short with "..."
    source_name: str | None = None  # what readers see: "The Times of Central Asia"
    source_link: str | None = None  # the source's home page
    language: str | None = None  # declared by the source ("ru"); digest.language.language_of
    listed: bool = False  # `date` is when a listing page showed it, not when it was published
    untitled: bool = False  # the source gave no title: `title` is its text's first sentence
    # the title the source gave when it is the feed's (a newsletter's "Daily Brief" over every
    # item) and `title` is the text's first sentence (untitled.titled_by_text)
    feed_title: str | None = None

    __setstate__ = _setstate

    @property
    def shown_source(self) -> str:
        """The source as readers see it (see `shown_source`)."""
        return shown_source(self.source_name, self.source_link, self.source)

    @property
    def text(self) -> str:
        """The body: its paragraphs separated by blank lines (captions and chrome left out)."""
        return self.body_utf8.decode("utf-8", "surrogatepass")

    @property
    def body_utf8(self) -> bytes:
        """The body (`text`) as UTF-8."""
        return b"\n\n".join(p.utf8 for p in self.paragraphs if p.kind in BODY_KINDS)

    @property
    def prose(self) -> tuple[str, ...]:
        return tuple(p.text for p in self.paragraphs if p.kind == PROSE)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass(frozen=True)
class RateQuote:
    pair: str  # as written in the source, "KGS/USD"
    rate: Decimal  # price of one unit of the first currency in the second
    change_pct: Decimal  # signed, as published; "-0%" keeps its sign
    source: str
    line: int | None = None
    date: dt.date | None = None  # the page date the quote was published with


@dataclass(frozen=True)
class Problem:
    """One input problem: where it is and what is wrong. Never fatal on its own."""

    source: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass
class ReadResult:
    """What reading a set of sources gave: everything found, plus every problem met."""

    articles: list[Article] = field(default_factory=list)
    rates: list[RateQuote] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sources_read: int = 0  # sources that gave at least something
    notes: list[str] = field(default_factory=list)  # what fetching did that is no problem
    origins: dict = field(default_factory=dict)  # Article.source -> the config's SourceSpec
    resting: dict[str, str] = field(default_factory=dict)  # hosts not asked again, and why

    def extend(self, other: ReadResult) -> None:
        self.articles.extend(other.articles)
        self.rates.extend(other.rates)
        self.problems.extend(other.problems)
        self.sources_read += other.sources_read
        self.notes.extend(other.notes)
        for source, spec in other.origins.items():
            self.origins.setdefault(source, spec)
        self.resting.update(other.resting)


# Reasons an article is left out of a digest (the CLI contract's `reason`).
ALREADY_SENT = "already-sent"
DUPLICATE = "duplicate"
NEAR_DUPLICATE = "near-duplicate"
SAME_STORY = "same-story"
TOO_OLD = "too-old"
OVER_LIMIT = "over-limit"
EXCLUDED = "excluded"  # a source rule (digest/rules.py); Skipped.rule names it
SKIP_REASONS = (ALREADY_SENT, DUPLICATE, NEAR_DUPLICATE, SAME_STORY, TOO_OLD, OVER_LIMIT, EXCLUDED)

# Where each reader's unsubscribe link goes in a rendered digest; delivery fills it per reader.
UNSUBSCRIBE_PLACEHOLDER = "{unsubscribe_url}"


def around_footer_link(part: str) -> tuple[str, str] | None:
    """The text before and after the footer's placeholder, None without one. The footer's is
    the last: source text comes before the footer, so a "{unsubscribe_url}" inside an article
    stays as written (delivery, preview and the archive all take this one)."""
    head, found, tail = part.rpartition(UNSUBSCRIBE_PLACEHOLDER)
    return (head, tail) if found else None


def fill_footer(part: str, link: str) -> str:
    """Put the link where the footer's placeholder is."""
    around = around_footer_link(part)
    return around[0] + link + around[1] if around else part


DEFAULT_SECTION = "Top stories"
OTHER_SECTION = "More news"  # stories no named section claims, after the named sections


@dataclass(frozen=True)
class Telling:
    """Another telling of a chosen story: for "Also reported by"."""

    title: str
    source: str  # the source's name as readers see it
    url: str | None
    date: dt.date | None


@dataclass(frozen=True)
class Chosen:
    """A story of the digest, shown by its best telling (its section is placed once the lead
    is written: plan.place)."""

    article: Article
    tellings: tuple[Article, ...] = ()  # the story's other tellings in this run

    @property
    def first_told(self) -> Article:
        """The telling the sources date earliest (a published date before a listing's on the
        same day; the shown telling on ties): when the story was first published, as far as
        the sources tell."""
        dated = [a for a in (self.article, *self.tellings) if a.date is not None]
        if not dated:
            return self.article
        return min(dated, key=lambda a: (a.date, a.listed, a is not self.article))

    @property
    def also(self) -> tuple[Telling, ...]:
        """The other tellings, one per source and link, in page order. A telling that links
        the article shown, or one listed, is that article again, not another report: a
        site's section feeds (its "World" and "Asia") both carry it, or an aggregator links it."""
        seen = {(self.article.shown_source, self.article.url)}
        links = {self.article.url}
        out = []
        for a in self.tellings:
            key = (a.shown_source, a.url)
            if key not in seen and (a.url is None or a.url not in links):
                seen.add(key)
                links.add(a.url)
                out.append(Telling(a.title, a.shown_source, a.url, a.date))
        return tuple(out)


@dataclass(frozen=True)
class Skipped:
    article: Article
    reason: str  # one of SKIP_REASONS
    duplicate_of: str | None = None  # title of the article it matched (batch or history)
    # How it matched: its reason, or for `already-sent` how it matched the sent telling
    # (duplicate, near-duplicate or same-story); None for too-old, over-limit, excluded.
    relation: str | None = None
    rule: str | None = None  # the source rule that left it out ("exclude: sponsored (...)")


@dataclass
class Selection:
    chosen: list[Chosen]
    skipped: list[Skipped]
    # Makes what to remember once the digest reached a reader: one record per telling of
    # each chosen story (the selection's SentRecords, from the fingerprints it made).
    make_records: Callable[[], list] = list
    problems: list[Problem] = field(default_factory=list)  # articles left out unread

    @functools.cached_property
    def records(self) -> list:
        return self.make_records()


@dataclass(frozen=True)
class RateRow:
    """One line of the digest's rate table."""

    pair: str  # as published, "KGS/USD"
    rate: Decimal
    change_pct: Decimal  # as published
    per_usd: Decimal | None  # how many units one USD buys, rounded to what the quote supports
    per_usd_approx: bool  # the quote is too coarse for a precise inverse: show it as "≈"
    since_last_pct: Decimal | None  # change since the previous digest; None on the first
    source: str = ""
    date: dt.date | None = None
    # The quote is too coarse for one figure (0.00008: 1 USD is 11,800 to 13,300 UZS): the
    # range the quote allows, shown instead of per_usd.
    per_usd_range: tuple[Decimal, Decimal] | None = None
    # The change of what one USD buys since the previous digest (the figure readers see):
    # the quote falling 0.08% is a dollar buying 0.09% more.
    per_usd_since_pct: Decimal | None = None

    @property
    def currency(self) -> str:
        return self.pair.split("/")[0]


@dataclass(frozen=True)
class DigestItem:
    title: str
    lead: str  # may be empty: the digest then shows the title alone
    source: str  # the source's name as readers see it ("" when it has none); never a file
    url: str | None = None
    date: dt.date | None = None
    source_link: str | None = None  # the source's home page, linked from its name
    also: tuple[Telling, ...] = ()  # the other tellings of the story: "Also reported by"
    listed: bool = False  # `date` is a listing page's ("listed 8 Dec"), not a publication's
    language: str | None = None  # the story's own ("ru"), for its lang= when not the digest's


@dataclass(frozen=True)
class DigestSection:
    name: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True)
class Digest:
    """Everything the renderer needs, and nothing it has to look up."""

    title: str  # masthead, from config
    date: dt.date  # the digest's date
    sections: tuple[DigestSection, ...]
    rates: tuple[RateRow, ...] = ()
    rates_date: dt.date | None = None
    rates_source: str | None = None  # the source's name as readers see it, never a file
    unsubscribe_url: str = UNSUBSCRIBE_PLACEHOLDER  # filled per recipient at delivery
    reason_line: str = ""  # why the reader gets this mail
    postal_address: str | None = None  # the sender's, in the footer (expected in bulk mail)
    view_url: str | None = None  # the page in the public archive: "View in browser"
    rates_since: dt.date | None = None  # date of the previous digest the change compares with
    language: str = "en"  # the digest's own words and dates (a catalogue in digest/i18n/)

    @property
    def items(self) -> list[DigestItem]:
        return [item for section in self.sections for item in section.items]


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    preheader: str
    html: str
    text: str
