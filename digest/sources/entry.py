"""What every feed reader makes of an entry: its HTML as text paragraphs, its link, the
marks that say it is an excerpt, a title when it has none, when it was published."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

from ..models import BODY_KINDS, CAPTION, CHROME, Article, Paragraph, Problem
from ..text import (
    clean_text,
    safe_href,
    site_of,
    title_key,
    without_tracking,
)
from ..untitled import titled_by_text
from .snapshot import paragraph_kind

# Feeds give an entry with no date a placeholder: Go's zero time, 0001-01-01 (Hugo's feeds),
# the Unix epoch, 1970-01-01, or the last day there is, 9999-12-31 (which no time zone east
# of UTC can even hold). No feed entry was published before 1971 or will be after 9000.
FIRST_PUBLISHED = dt.datetime(1971, 1, 1, tzinfo=dt.UTC)
LAST_PUBLISHED = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre table tr section article header "
    "footer figure figcaption hr".split()
)
SKIP_TAGS = frozenset({"script", "style", "head", "title", "noscript", "iframe", "object"})
# A block that is a link, or links, with at most this many words beside them is no text but
# a pointer to one: Hacker News's "Comments", Reddit's "[link] [comments]", Substack's
# "Subscribe now" and "Share", and Google News's headlines of other outlets' reports (each
# followed by the outlet's name), which made the story's most central telling and no lead.
LINK_TAIL_WORDS = 5
_WORD = re.compile(r"\w+")
# ... unless it is a sentence longer than that, links or not: a paragraph written around its
# links, a link blog's "<a>The Aral Sea is coming back to life</a>. Wonderful.", a description
# wrapped in its link ("See our markets page." and "Read more..." are pointers).
_SENTENCE_ENDS = re.compile(r"[\w\"'»”)][.!?][\"'»”)]?$")


def _a_sentence(text: str) -> bool:
    return bool(_SENTENCE_ENDS.search(text)) and len(_WORD.findall(text)) > LINK_TAIL_WORDS


# A link within the page whose text is a number or a return arrow is a footnote's mark or its
# way back (Substack's "Egypt.1 Neither", WordPress's and Markdown's "[1]", "↩︎"): no words.
_FOOTNOTE_MARK = re.compile(r"^\s*(?:\[?\d{1,3}\]?|↩\ufe0e?)\s*$")


class _TextBlocks(HTMLParser):
    """Collects the text of an HTML fragment as paragraphs, split at block elements, each
    with its kind when its markup tells it: CAPTION inside a <figcaption>, CHROME for links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str | None]] = []  # (text, CAPTION, CHROME or None)
        self._parts: list[tuple[str, bool]] = []  # (text, inside a link)
        self._skip = 0
        self._caption = 0
        self._link = 0
        self._in_page: list[int | None] = []  # per open <a>: where its text starts, if "#..."

    def _flush(self) -> None:
        text = clean_text("".join(part for part, _ in self._parts))
        if text:
            linked = sum(len(_WORD.findall(p)) for p, in_link in self._parts if in_link)
            kind = None
            if self._caption > 0:
                kind = CAPTION
            elif linked and self._chrome(linked, text):  # words in no link: counted if any are
                kind = CHROME
            self.blocks.append((text, kind))
        self._parts = []
        self._in_page = [None] * len(self._in_page)  # a link's text across blocks is kept

    def _chrome(self, linked: int, text: str) -> bool:
        beside = sum(len(_WORD.findall(p)) for p, in_link in self._parts if not in_link)
        return linked > beside and beside <= LINK_TAIL_WORDS and not _a_sentence(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_TAGS:
            self._skip += 1
        elif tag == "a":
            self._link += 1
            href = dict(attrs).get("href") or ""
            self._in_page.append(len(self._parts) if href.startswith("#") else None)
        elif tag in BLOCK_TAGS:
            self._flush()
            if tag == "li":
                self._parts.append(("• ", False))
            if tag == "figcaption":
                self._caption += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag == "a":
            self._link = max(0, self._link - 1)
            start = self._in_page.pop() if self._in_page else None
            if start is not None:
                if _FOOTNOTE_MARK.match("".join(part for part, _ in self._parts[start:])):
                    del self._parts[start:]
        elif tag in BLOCK_TAGS:
            self._flush()
            if tag == "figcaption":
                self._caption = max(0, self._caption - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._parts.append((data, self._link > 0))

    def close(self) -> None:
        super().close()
        self._flush()


def blocks(html: str) -> list[tuple[str, str | None]]:
    parser = _TextBlocks()
    parser.feed(html)
    parser.close()
    return parser.blocks


def html_to_paragraphs(html: str) -> list[Paragraph]:
    paragraphs = []
    for text, kind in blocks(html):
        text = re.sub(r"^•\s+", "• ", text)
        paragraphs.append(Paragraph(text, kind or paragraph_kind(text)))
    if paragraphs and _OPENING_TAG.match(paragraphs[0].text):  # escaped twice by its feed
        return html_to_paragraphs("\n".join(p.text for p in paragraphs))
    return paragraphs


def text_to_paragraphs(text: str) -> list[Paragraph]:
    """Text a feed calls plain (JSON Feed's content_text, Atom's type="text"): paragraphs at
    blank lines. Publishers put HTML there all the same (a story in <p>s, "&#8217;"): text
    with such tags or entities is read as HTML."""
    if _MARKUP.search(text):
        return html_to_paragraphs(text)
    return [
        Paragraph(t, paragraph_kind(t))
        for t in (clean_text(part) for part in re.split(r"\n\s*\n", text))
        if t
    ]


_HTML_TAGS = r"(?:p|br|div|span|a|strong|em|b|i|ul|ol|li|h[1-6]|blockquote|figure|img)"
_ENTITY = r"&(?:#[0-9]+|#x[0-9a-f]+|[a-z]{2,8}[0-9]?);"
_MARKUP = re.compile(rf"</?{_HTML_TAGS}\b[^<>]*>|{_ENTITY}", re.I)
HTML_ENTITY = re.compile(_ENTITY, re.I)
# A text whose every tag was escaped twice ("&amp;lt;p&amp;gt;") starts with one once read.
_OPENING_TAG = re.compile(rf"<{_HTML_TAGS}\b[^<>]*>", re.I)


# What feeds put in a teaser to say the rest is elsewhere: "[…]", "Continue reading →",
# "Read more". Such an entry is an excerpt. WordPress's "The post X appeared first on Y."
# (Yoast's footer) closes whole posts in content:encoded as well as teasers: it goes, and
# says nothing of which the entry is (a whole post marked an excerpt lost its story to a
# Google News headline with no text at all).
_POST_APPEARED = re.compile(r"^The post .+ appeared first on .+$", re.S)
_READ_ON = re.compile(
    r"^(?:continue reading|read more|read the (?:full|rest of the) (?:story|article))\b.{0,80}$",
    re.I,
)
_TRAILING_MARK = re.compile(r"\s*(?:\[(?:…|\.\.\.)\]|\(…\)|\[more\])\s*$", re.I)
_TRAILING_DOTS = ("...", "…")


def strip_excerpt_marks(paragraphs: list[Paragraph]) -> tuple[tuple[Paragraph, ...], bool]:
    """The paragraphs without the marks that say "this is an excerpt", and whether any was
    there (or the text ends cut short with an ellipsis)."""
    excerpt = False
    kept = []
    for n, p in enumerate(paragraphs, 1):
        last = n == len(paragraphs)
        if _POST_APPEARED.match(p.text):  # under a teaser and a whole post alike: no mark
            continue
        if last and _READ_ON.match(p.text):
            excerpt = True
            continue
        text = _TRAILING_MARK.sub("", p.text)
        if text != p.text:
            excerpt = True
            if not text:
                continue
            text = text if text.endswith(_TRAILING_DOTS) else text + " …"
            p = Paragraph(text, p.kind, p.line)
        kept.append(p)
    if kept and kept[-1].text.endswith(_TRAILING_DOTS):
        excerpt = True
    return tuple(kept), excerpt


_TIME_OF_DAY = re.compile(r"\d:\d\d|T\d\d")


def day_at_noon(when: dt.datetime, written: str) -> dt.datetime:
    """A date written without a time of day ("2025-11-09", RSS's dc:date) as noon UTC: the day
    it names in every zone from UTC-11 to UTC+11. Read as midnight UTC it was the day before
    everywhere west of Greenwich."""
    return when if _TIME_OF_DAY.search(written) else when.replace(hour=12)


_YEAR = re.compile(r"(?<![+\-\d])\b\d{4}\b")  # not a zone's "+0500"
_ENDS_AT_TIME = re.compile(r"\d\d:\d\d(?::\d\d)?\s*$")
_AM_PM = re.compile(r"\b(\d{1,2})(:\d\d(?::\d\d)?)\s*([AaPp])\.?[Mm]\.?(?!\w)")


def as_24_hour(written: str) -> str | None:
    """A date written with a twelve-hour time, its time on the 24-hour clock; None for any
    other."""
    if not (clock := _AM_PM.search(written)) or not 1 <= int(clock[1]) <= 12:
        return None
    hour = int(clock[1]) % 12 + (12 if clock[3] in "Pp" else 0)
    return f"{written[: clock.start()]}{hour:02d}{clock[2]}{written[clock.end() :]}"


def rfc822_date(written: str | None) -> dt.datetime | None:
    """An RFC 822 date as servers write them, where feedparser (or ISO 8601, in a JSON Feed)
    reads none: no zone ("Sun, 06 Dec 2026 17:00:00", PHP's date() without its "O": read as
    UTC, as feedparser reads an ISO date without one), no space after the weekday's comma,
    RFC 850's "Sunday, 06-Dec-26". Those entries went undated, a problem line each at every
    run. A twelve-hour time is read with its AM or PM ("5:00:00 PM GMT"). A time with anything
    after it that names no zone Python knows ("GMT+5") stays unread."""
    if not written:
        return None
    written = as_24_hour(written) or written
    try:
        when = email.utils.parsedate_to_datetime(written.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if (year := _YEAR.search(written)) and int(year.group()) != when.year:
        return None  # Python reads "0001" as 2001, as a two-digit year
    if when.tzinfo is None:
        if not _ENDS_AT_TIME.search(written):
            return None
        when = when.replace(tzinfo=dt.UTC)
    try:
        return when.astimezone(dt.UTC)
    except OverflowError:  # "Fri, 31 Dec 9999 23:59:59 -0500", a CMS's "never": year 10000
        return None


def published_at(when: dt.datetime | None) -> dt.datetime | None:
    """When an entry was published (time-zone aware), None for no date or a placeholder."""
    return when if when is not None and FIRST_PUBLISHED <= when < LAST_PUBLISHED else None


def resolved_link(link: str | None, base: str | None) -> str | None:
    """A feed's link as readers can follow it: resolved against `base`, a space escaped as
    browsers do, an aggregator's redirect followed, no tracking parameters; None when it is no
    web address."""
    link = (link or "").strip().replace(" ", "%20")
    if not link:
        return None
    try:
        href = safe_href(urljoin(base, link) if base else link)
    except ValueError:  # "http://[broken/1": urljoin cannot read it, and it is no link
        return None
    return without_tracking(_unwrapped(href)) if href else None


# Aggregators whose links are a click-counting redirect with the article's address in a
# query parameter: Bing News ("www.bing.com/news/apiclick.aspx?...&url=https%3a%2f%2f..."),
# Google Alerts ("www.google.com/url?rct=j&sa=t&url=https://..."). Google News's own links
# hide the address and stay as they are.
_REDIRECTS = {
    ("www.bing.com", "/news/apiclick.aspx"): "url",
    ("bing.com", "/news/apiclick.aspx"): "url",
    ("www.google.com", "/url"): "url",
}


def _unwrapped(href: str) -> str:
    """The article's own address when `href` is an aggregator's redirect to it."""
    parts = urlsplit(href)
    name = _REDIRECTS.get(((parts.hostname or "").lower(), parts.path.lower()))
    if name is None:
        return href
    target = next(iter(parse_qs(parts.query).get(name, ())), None)
    return safe_href(target) or href


class _Anchors(HTMLParser):
    """The links of an HTML fragment: (text, href) each."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.found.append((clean_text("".join(self._text)), self._href))
            self._href = None


# Reddit's link posts: the entry's link is the post's comments page, its text names the
# article it is about ("[link]", beside "[comments]"). The reader wants the article; a text
# post, an image or video on Reddit's own hosts, or a cross-post stays on Reddit's page.
_LINK_POST_HOSTS = ("reddit.com", "redd.it")


def _on(host: str, sites: tuple[str, ...]) -> bool:
    return any(host == site or host.endswith("." + site) for site in sites)


def linked_article(html: str, link: str | None) -> str | None:
    """The article a link post's comments page `link` is about (`_LINK_POST_HOSTS`), else
    None."""
    on_reddit = link and _on(site_of(link), _LINK_POST_HOSTS)
    if not on_reddit or "[link]" not in html:
        return None
    parser = _Anchors()
    parser.feed(html)
    parser.close()
    # Reddit's own "[link]" closes the entry, after the poster's words (which may link a page
    # as "[link]" too): the last one
    anchors = dict(parser.found)  # the last of each text
    target = resolved_link(anchors.get("[link]"), link)
    if not target or _on(site_of(target), _LINK_POST_HOSTS):
        return None
    return target


# A paragraph half or more of a feed's entries carry, and at least this many, is the feed's,
# not an entry's: a podcast's blurb under every episode, a YouTube channel's links under
# every video, Substack's "X is a reader-supported publication", a newsletter's footer. Taken
# for text, it made every entry a copy of the first (one episode per feed, each next one
# "already sent"). A story's paragraphs, in its updates and copies, are carried under its
# headline's words (`without_boilerplate`).
BOILERPLATE_ENTRIES = 3


def without_boilerplate(articles: list[Article]) -> list[Article]:
    """The articles of one feed with the paragraphs that are the feed's (BOILERPLATE_ENTRIES)
    marked CHROME (left out of their text, their leads and story matching), and titled by
    their text when their title is the feed's (`_titled_by_text`)."""
    return _titled_by_text(_without_shared_paragraphs(articles))


def _without_shared_paragraphs(articles: list[Article]) -> list[Article]:
    texts = [{p.utf8 for p in a.paragraphs if p.kind in BODY_KINDS} for a in articles]
    carried = Counter(text for t in texts for text in t)
    least = max(BOILERPLATE_ENTRIES, (len(articles) + 1) // 2)
    common = {text for text, n in carried.items() if n >= least}
    # ... under entries that tell other things: copies of one story in a small feed (its
    # republications, excerpts and updates) carry its paragraphs under its headline's words.
    # (Words in three titles of four are the feed's own: "Episode".)
    heads = [{w.lower().encode() for w in _WORD.findall(a.title) if len(w) > 3} for a in articles]
    title_words = Counter(w for h in heads for w in h)
    rests = [
        (t - common) | {w for w in h if 4 * title_words[w] < 3 * len(articles)}
        for t, h in zip(texts, heads, strict=True)
    ]
    common = {
        c
        for c in common
        if _apart([r for r, t in zip(rests, texts, strict=True) if c in t]) >= least
    }
    if not common:
        return articles
    return [
        replace(
            a,
            paragraphs=tuple(
                Paragraph.of_utf8(p.utf8, CHROME, p.line) if p.utf8 in common else p
                for p in a.paragraphs
            ),
        )
        if any(p.utf8 in common for p in a.paragraphs)
        else a
        for a in articles
    ]


# A title BOILERPLATE_ENTRIES or more of a feed's entries carry while telling other things is
# the feed's, not a headline: a newsletter's "Daily Brief" or "Morning Newsletter #212", a
# podcast's "New episode", "Untitled", a Telegram bridge's channel name over every post. Taken
# for a headline, it made each entry a copy or another report of the first (one entry a feed,
# the next day's "already sent") and said nothing in the digest. Such an entry is titled as an
# untitled one is, by its text's first sentence (a reader then sees what each entry tells).
# A time stamp for a title ("17 July 2012 Last updated at 12:34 GMT", BBC pages) is known for
# no headline already (text.says_only_when) and stays (`untitled.titled_by_text`, which this
# rule and select.titles both call): a BBC page's first "sentence" is its headline run into
# its lead, and so titled, a real report quoting a paragraph of its sent event was sent again
# (tests/test_stories_real.py).
def _titled_by_text(articles: list[Article]) -> list[Article]:
    texts = [{p.utf8 for p in a.paragraphs if p.kind in BODY_KINDS} for a in articles]
    # an aggregator's outlets: by the name it gives each, or else by the site each links to
    keys = [(a.source_name, site_of(a.url), title_key(a.title)) for a in articles]
    carriers: dict[tuple[str | None, str, str], list[set[bytes]]] = {}
    for key, text in zip(keys, texts, strict=True):
        carriers.setdefault(key, []).append(text)
    shared = {k for k, t in carriers.items() if _apart(t) >= BOILERPLATE_ENTRIES}
    if not shared:
        return articles
    return [
        titled_by_text(a) if key in shared else a for a, key in zip(articles, keys, strict=True)
    ]


def _apart(rests: list[set[bytes]]) -> int:
    """How many of these entries (each one's paragraphs and headline words but the feed's)
    share none with the ones counted before them."""
    seen: set[bytes] = set()
    apart = 0
    for rest in rests:
        if not rest & seen:
            apart += 1
        seen |= rest
    return apart


def unread_date(source: str, title: str, written: str) -> Problem:
    """The problem of an entry whose date could not be read: it is taken as undated."""
    return Problem(source, f"{title!r}: date {written.strip()[:60]!r} not read; taken as undated")


def empty_entries(source: str, count: int) -> Problem:
    """The problem of a feed some of whose entries have no title and no text: left out."""
    entries = "entry" if count == 1 else "entries"
    return Problem(source, f"{count} {entries} with no title and no text left out")
