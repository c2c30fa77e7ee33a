"""Reader for RSS 2.0 and Atom feeds (feedparser), from a local file or a URL.

HTML in entries is reduced to text paragraphs; dates become aware datetimes (UTC);
the entry's GUID and link are kept for identity.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import feedparser

from ..models import Article, Paragraph, Problem, ReadResult
from .limits import cut_at_word
from .snapshot import clean, paragraph_kind

UNTITLED_CHARS = 90  # a title made from an untitled item's first sentence is cut to this
BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre table tr section article header "
    "footer figure figcaption hr".split()
)
ENTRY_TAG = re.compile(rb"<(?:item|entry)[\s>/]")
SKIP_TAGS = frozenset({"script", "style", "head", "title", "noscript", "iframe", "object"})


class _TextBlocks(HTMLParser):
    """Collects the text of an HTML fragment as paragraphs, split at block elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, bool]] = []  # (text, inside a <figcaption>)
        self._parts: list[str] = []
        self._skip = 0
        self._caption = 0

    def _flush(self) -> None:
        text = clean("".join(self._parts))
        if text:
            self.blocks.append((text, self._caption > 0))
        self._parts = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_TAGS:
            self._skip += 1
        elif tag in BLOCK_TAGS:
            self._flush()
            if tag == "li":
                self._parts.append("• ")
            if tag == "figcaption":
                self._caption += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in BLOCK_TAGS:
            self._flush()
            if tag == "figcaption":
                self._caption = max(0, self._caption - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def _blocks(html: str) -> list[tuple[str, bool]]:
    parser = _TextBlocks()
    parser.feed(html)
    parser.close()
    return parser.blocks


def html_to_paragraphs(html: str) -> list[Paragraph]:
    paragraphs = []
    for text, in_caption in _blocks(html):
        text = re.sub(r"^•\s+", "• ", text)
        paragraphs.append(Paragraph(text, "caption" if in_caption else paragraph_kind(text)))
    return paragraphs


def _when(entry: feedparser.FeedParserDict) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return dt.datetime.fromtimestamp(calendar.timegm(value), tz=dt.UTC)
    return None


def _web_link(url: str | None) -> str | None:
    """An absolute http(s) URL, else None."""
    if not url or any(ch.isspace() for ch in url.strip()):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.hostname else None


def _entry_link(entry: feedparser.FeedParserDict, base: str | None) -> str | None:
    """The entry's link, resolved against the channel link; a GUID that is no URL (feedparser
    offers an RSS <guid> as the link when the entry has none) is never a link."""
    link = entry.get("link")
    if not link:
        return None
    if entry.get("guidislink") and not _web_link(link):
        return None
    return _web_link(urljoin(base, link) if base else link)


def read_feed(source: str, data: bytes, content_type: str | None = None) -> ReadResult:
    """Read an RSS, Atom or JSON feed already in memory (`content_type`: the HTTP header's,
    whose charset wins over the document's own). Problems are reported, never raised."""
    result = ReadResult()
    if not data.strip():
        result.problems.append(Problem(source, "empty feed"))
        return result
    from .jsonfeed import looks_like_json, read_json_feed
    from .webpage import looks_like_html, web_page_problem

    if looks_like_json(data):
        return read_json_feed(source, data)
    if looks_like_html(data):
        result.problems.append(web_page_problem(source, data))
        return result
    # Our own reader turns the HTML into text (markup, scripts and styles dropped) and the
    # renderer escapes it: feedparser's sanitizer and URI rewriting would cost a third of the
    # parse for nothing.
    headers = {"content-type": content_type} if content_type else None
    parsed = feedparser.parse(
        data, sanitize_html=False, resolve_relative_uris=False, response_headers=headers
    )
    error = parsed.get("bozo_exception") if parsed.bozo else None
    if isinstance(error, feedparser.CharacterEncodingOverride):
        # The declared encoding did not fit the bytes; feedparser found one that does
        # (chardet, from the bytes themselves) and read the feed with it.
        result.problems.append(
            Problem(source, f"{error}: the text was read as {parsed.encoding}; check it")
        )
    elif error is not None:
        line = getattr(error, "getLineNumber", lambda: None)()
        message = getattr(error, "getMessage", lambda: str(error))()
        if not parsed.entries:
            what = "not a readable RSS/Atom feed"
        else:
            # feedparser reads the whole document again with its lenient parser: say how
            # many of the entries the file holds that gave.
            total = len(ENTRY_TAG.findall(data))
            found = len(parsed.entries)
            kept = (
                f"all {found} entries read"
                if found >= total
                else f"{found} of its {total} entries read"
            )
            what = f"feed is not well-formed XML; read leniently, {kept}"
        result.problems.append(Problem(source, f"{what} ({message})", line))
    elif not parsed.version:
        result.problems.append(Problem(source, "not an RSS or Atom feed"))
        return result

    channel = parsed.get("feed", {})
    feed_name = clean(channel.get("title", "")) or None
    feed_link = _web_link(channel.get("link")) or _web_link(source)
    for entry in parsed.entries:
        html = ""
        if entry.get("content"):
            html = max((c.get("value", "") for c in entry.content), key=len)
        html = html or entry.get("summary", "")
        paragraphs, excerpt = strip_excerpt_marks(html_to_paragraphs(html))
        title = entry.get("title", "")
        if "html" in entry.get("title_detail", {}).get("type", ""):
            title = " ".join(block for block, _ in _blocks(title))
        title = clean(title) or title_from_text(paragraphs)
        if not title:
            continue  # no title and no text: nothing to show
        published = _when(entry)
        result.articles.append(
            Article(
                title=title,
                paragraphs=paragraphs,
                source=source,
                date=published.date() if published else None,
                published=published,
                url=_entry_link(entry, feed_link),
                guid=entry.get("id") or entry.get("link") or None,
                excerpt=excerpt,
                source_name=feed_name,
                source_link=_web_link(channel.get("link")),
            )
        )
    if result.articles:
        result.sources_read = 1
    elif not parsed.bozo:
        what = "feed has no entries" if not parsed.entries else "feed's entries are all empty"
        result.problems.append(Problem(source, what))
    return result


# What feeds put in a teaser to say the rest is elsewhere: WordPress's "The post X appeared
# first on Y.", "[…]", "Continue reading →", "Read more". Such an entry is an excerpt.
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
        if _POST_APPEARED.match(p.text) or (last and _READ_ON.match(p.text)):
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


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'“‘(\[]?[A-ZА-ЯЁ0-9])")


def title_from_text(paragraphs: tuple[Paragraph, ...]) -> str:
    """A title for an item that has none (valid RSS: Mastodon, podcasts): its text's first
    sentence, cut at a word within UNTITLED_CHARS."""
    for p in paragraphs:
        if p.kind not in ("prose", "question", "bullet"):
            continue
        first = _SENTENCE_END.split(p.text.lstrip("• "), 1)[0].strip()
        if first:
            return cut_at_word(first.rstrip("."), UNTITLED_CHARS)
    return ""
