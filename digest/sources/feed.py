"""Reader for RSS 2.0 and Atom feeds (feedparser), from a local file or a URL.

HTML in entries is reduced to text paragraphs; dates become aware datetimes (UTC);
the entry's GUID and link are kept for identity.
"""

from __future__ import annotations

import calendar
import datetime as dt
import http.client
import re
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import feedparser

from ..language import declared_language
from ..models import Article, Paragraph, Problem, ReadResult
from .snapshot import clean, paragraph_kind

FETCH_TIMEOUT = 20.0
MAX_FEED_BYTES = 20_000_000
USER_AGENT = "digest/0.1 (+newsletter digest generator)"
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


def fetch(url: str, timeout: float = FETCH_TIMEOUT, max_bytes: int = MAX_FEED_BYTES) -> bytes:
    """GET a feed within `timeout` seconds in all and `max_bytes`; OSError says what failed."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            chunks, size = [], 0
            while chunk := response.read(65536):
                size += len(chunk)
                if size > max_bytes:
                    raise OSError(f"larger than {max_bytes // 1_000_000} MB; not read")
                if time.monotonic() > deadline:
                    raise OSError(f"still arriving after {timeout:g} s; gave up")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as e:
        raise OSError(f"the server answered HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise OSError(f"could not connect ({e.reason})") from None
    except TimeoutError:
        raise OSError(f"no answer within {timeout:g} s") from None
    except (http.client.HTTPException, ValueError) as e:
        raise OSError(f"broken HTTP answer or address ({type(e).__name__}: {e})") from None


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


def _declared_language(entry: feedparser.FeedParserDict, channel) -> str | None:
    """The entry's language as the feed declares it: its content's xml:lang, else the
    channel's <language>."""
    details = [*entry.get("content", ()), entry.get("summary_detail"), entry.get("title_detail")]
    for tag in (*(d.get("language") for d in details if d), channel.get("language")):
        if language := declared_language(tag):
            return language
    return None


def read_feed(source: str, data: bytes) -> ReadResult:
    """Read an RSS or Atom document already in memory. Problems are reported, never raised."""
    result = ReadResult()
    if not data.strip():
        result.problems.append(Problem(source, "empty feed"))
        return result
    # Our own reader turns the HTML into text (markup, scripts and styles dropped) and the
    # renderer escapes it: feedparser's sanitizer and URI rewriting would cost a third of the
    # parse for nothing.
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
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
    for number, entry in enumerate(parsed.entries, start=1):
        title = entry.get("title", "")
        if "html" in entry.get("title_detail", {}).get("type", ""):
            title = " ".join(block for block, _ in _blocks(title))
        title = clean(title)
        if not title:
            result.problems.append(Problem(source, f"entry {number} has no title; skipped"))
            continue
        html = ""
        if entry.get("content"):
            html = max((c.get("value", "") for c in entry.content), key=len)
        html = html or entry.get("summary", "")
        paragraphs = tuple(html_to_paragraphs(html))
        published = _when(entry)
        last = paragraphs[-1].text if paragraphs else ""
        result.articles.append(
            Article(
                title=title,
                paragraphs=paragraphs,
                source=source,
                date=published.date() if published else None,
                published=published,
                url=_entry_link(entry, feed_link),
                guid=entry.get("id") or entry.get("link") or None,
                excerpt=last.endswith(("...", "…", "[…]", "[...]")),
                source_name=feed_name,
                source_link=_web_link(channel.get("link")),
                language=_declared_language(entry, channel),
            )
        )
    if result.articles:
        result.sources_read = 1
    elif not parsed.bozo:
        result.problems.append(Problem(source, "feed has no entries"))
    return result
