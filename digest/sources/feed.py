"""Reader for RSS 2.0 and Atom feeds (feedparser), from a local file or a URL.

HTML in entries is reduced to text paragraphs; dates become aware datetimes (UTC);
the entry's GUID and link are kept for identity.
"""

from __future__ import annotations

import calendar
import codecs
import datetime as dt
import email.message
import html
import re
from urllib.parse import urlsplit, urlunsplit

import feedparser

from ..encoding import marked_encoding, opening, utf8_with_strays
from ..language import declared_language
from ..models import BODY_KINDS, Article, Paragraph, Problem, ReadResult
from ..text import clean_text, safe_href, site_of
from ..untitled import title_from_text
from .entry import (
    HTML_ENTITY,
    as_24_hour,
    blocks,
    day_at_noon,
    empty_entries,
    html_to_paragraphs,
    linked_article,
    published_at,
    resolved_link,
    rfc822_date,
    strip_excerpt_marks,
    text_to_paragraphs,
    unread_date,
    without_boilerplate,
)
from .jsonfeed import looks_like_json, read_json_feed
from .limits import cap_name
from .webpage import looks_like_html, web_page_problem

ENTRY_TAG = re.compile(rb"<(?:item|entry)[\s>/]")

# Zone names feeds write that feedparser does not know: it read them as UTC, hours off
# without a word ("10:00 MSK" as 13:00 Moscow time). IST is India's (Irish and Israeli
# feeds write +0100 / +0200 as a rule); zones whose names clash (AMT, AST) are left out.
_ZONES = feedparser.datetimes.rfc822.timezone_names
_ZONES.update(
    utc=0, wet=0, west=1, bst=1, cet=1, cest=2, eet=2, eest=3, msk=3, trt=3, get=4, azt=4,
    pkt=5, uzt=5, tjt=5, tmt=5, almt=5, qyzt=5, ist=5.5, kgt=6, ict=7, wib=7, hkt=8, sgt=8,
    awst=8, jst=9, kst=9, aest=10, aedt=11, nzst=12, nzdt=13, wat=1, cat=2, sast=2, eat=3,
    hst=-10, akst=-9, akdt=-8,
)  # fmt: skip
_ZONE_NAME = re.compile(r"\d\d:\d\d(?::\d\d)?\s+([A-Za-z]{1,5})\s*$")


def _when(entry: feedparser.FeedParserDict) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        if value := entry.get(key):
            written = entry.get(key.removesuffix("_parsed"), "")
            # feedparser takes a twelve-hour time's "PM" for an unknown zone (UTC) and leaves
            # any zone after it unread ("5:00:00 PM -0800" was 05:00 UTC, 20 hours early): it
            # reads the time on the 24-hour clock, with the zones it knows ("5:00 PM MSK")
            if clock := as_24_hour(written):
                value = feedparser.datetimes._parse_date(clock) or value
            try:
                when = dt.datetime.fromtimestamp(calendar.timegm(value), tz=dt.UTC)
            except (ValueError, OverflowError):  # a placeholder out of the calendar's range
                continue  # ("0000-00-00", year 1 east of UTC), as `published_at`'s
            when = published_at(day_at_noon(when, written))
            if when:  # else a placeholder: the next date the entry gives, if any
                return when
    for key in ("published", "updated", "created"):
        if not entry.get(f"{key}_parsed") and (when := published_at(rfc822_date(entry.get(key)))):
            return when
    return None


def _unknown_zone(entry: feedparser.FeedParserDict) -> str | None:
    """A zone name the entry's date ends in that feedparser took for UTC, if any."""
    for key in ("published", "updated", "created"):
        if (written := entry.get(key)) and (name := _ZONE_NAME.search(written)):
            return None if name.group(1).lower() in _ZONES else name.group(1)
    return None


def _unread_date(entry: feedparser.FeedParserDict) -> str | None:
    """A date the entry writes that feedparser could not read, if any."""
    return next(
        (
            entry[k]
            for k in ("published", "updated", "created")
            if entry.get(k) and not entry.get(f"{k}_parsed")
        ),
        None,
    )


_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _xml_headers(
    content_type: str | None, data: bytes, result: ReadResult, source: str
) -> dict[str, str] | None:
    """The HTTP header feedparser is given: its charset alone, on an XML type. The media type
    says nothing feedparser should act on: servers send feeds as text/html, and text/xml
    with no charset, which RFC 3023 read as US-ASCII and RFC 7303 (2014) lets the document
    declare; feedparser went by the first, and warned of both for correct feeds. A charset
    the document's own declaration contradicts yields to it when the bytes read in it (a
    server's charset is most often its site-wide default; the feed's is its CMS's), with a
    warning unless the bytes bear the declaration out."""
    given = charset = _header_charset(content_type)
    declared = _declared(data)
    if charset is None:
        return _stale_single_byte(f"the feed declares {declared}", declared, data, result, source)
    if declared and _codec(declared) not in (None, _codec(charset)):
        read = charset if _is_utf8(charset, data) else declared
        if read == declared:
            try:
                data.decode(declared)
                charset = declared
            except UnicodeDecodeError:
                read = charset
        # The feed's own word, which its bytes bear out (plain ASCII, or UTF-8 beyond it),
        # over a server's site-wide default (Apache's ISO-8859-1): nothing to check, and a
        # warning at every run for every such feed buried the feeds that were failing.
        if not (read == declared and (data.isascii() or _is_utf8(declared, data))):
            result.problems.append(
                Problem(
                    source,
                    f"the server says charset={given}, the feed declares "
                    f"{declared}; read as {read}: check its text",
                )
            )
    said = (
        f"the feed declares {declared}"
        if charset != given
        else f"the server says charset={given}"
        + (", as the feed declares" if declared and _codec(declared) == _codec(given) else "")
    )
    stale = _stale_single_byte(said, charset, data, result, source)
    return stale or {"content-type": f"application/xml; charset={charset}"}


def _stale_single_byte(
    said: str, charset: str | None, data: bytes, result: ReadResult, source: str
) -> dict[str, str] | None:
    """UTF-8 for a feed `said` to be in a single-byte `charset` whose bytes are UTF-8,
    non-ASCII included (a site moved to UTF-8 whose template or server still says
    windows-1251), with a problem; else None. Any bytes read in a single-byte charset, so
    every letter came out as mojibake ("Р’ Р‘РёС€РєРµРєРµ") without a word."""
    codec = _codec(charset) if charset else None
    if codec is None or codec.startswith("utf") or not _is_utf8("utf-8", data):
        return None
    problem = f"{said}, but its text is UTF-8; read as utf-8: check its text"
    result.problems.append(Problem(source, problem))
    return {"content-type": "application/xml; charset=utf-8"}


def _header_charset(content_type: str | None) -> str | None:
    """The charset an HTTP Content-Type names, if any."""
    if not content_type:
        return None
    message = email.message.Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return charset.strip() if isinstance(charset, str) and charset.strip() else None


def _declared(data: bytes) -> str | None:
    """The encoding the XML declaration names, if any."""
    match = _DECLARED.match(data[:200])
    return match.group(1).decode() if match else None


def _utf8_strays_read(
    data: bytes, content_type: str | None, result: ReadResult, source: str, lines_cut: int = 0
) -> bytes:
    """A feed in UTF-8 (by its mark, else its declaration, else the server's charset, else
    XML's default) but for a few stray bytes (a Windows-1252 quote pasted into one entry), as UTF-8
    with those read as Windows-1252: feedparser read it all as ISO-8859-1, and every other
    entry's quotes and dashes as mojibake ("Kazakhstan\u00e2\u20ac\u2122s"). `lines_cut`:
    the blank lines `_declaration_first` took off, so that the problem names the file's line."""
    # the declaration over the server's charset (most often a site-wide default), as
    # `_xml_headers` reads them
    said = [_declared(data) or _header_charset(content_type), (marked_encoding(data) or [None])[0]]
    if any(name is not None and _codec(name) != "utf-8" for name in said):
        return data
    utf8 = utf8_with_strays(data)
    if utf8 is None or utf8.stray_line is None:
        return data
    result.problems.append(Problem(source, utf8.stray_problem, utf8.stray_line + lines_cut))
    return utf8.text.encode()


def _is_utf8(charset: str, data: bytes) -> bool:
    """The header says UTF-8 and the bytes are UTF-8, non-ASCII included: that holds (a
    single-byte charset reads any bytes, so its reading proves nothing)."""
    if _codec(charset) != "utf-8" or data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _entry_link(entry: feedparser.FeedParserDict, base: str | None) -> str | None:
    """The entry's link, resolved against the channel link; else, when its <link> is empty,
    its GUID if that is a web address (RSS's permalink); else its enclosure (a podcast's
    episode). A GUID that is no URL (feedparser offers an RSS <guid> as the link when the
    entry has none) is never a link; a space in a link is escaped, as browsers do. Feedburner's
    <feedburner:origLink> is the article's own address, its <link> a feedproxy.google.com
    redirect (a service Google has retired). A Reddit link post's link is its comments page:
    the article its text links is the entry's (`linked_article`)."""
    link = entry.get("feedburner_origlink") or entry.get("link") or ""
    candidates = [link]
    if not link.strip():
        candidates.append(entry.get("id") if safe_href(entry.get("id")) else None)
    candidates += [e.get("href") for e in entry.get("links", ()) if e.get("rel") == "enclosure"]
    for candidate in candidates:
        if candidate is link and entry.get("guidislink") and not safe_href(link):
            continue
        if href := resolved_link(candidate, base):
            value, plain = _content(entry)
            return (None if plain else linked_article(value, href)) or href
    return None


def _content(entry: feedparser.FeedParserDict) -> tuple[str, bool]:
    """The entry's longest content, else its summary, and whether the feed says it is plain
    text (Atom's type="text", where "<slot>" is words, not a tag) rather than HTML."""
    detail = entry.get("summary_detail") or {}
    if entry.get("content"):
        detail = max(entry.content, key=lambda c: len(c.get("value", "")))
    value = detail.get("value", "") or entry.get("summary", "")
    return value, detail.get("type") == "text/plain"


def _text(entry: feedparser.FeedParserDict) -> list[Paragraph]:
    """The entry's text (`_content`) as paragraphs; its summary's when the content holds no
    body (a <content:encoded> of the featured image alone, the text in <description>: the
    story had no text, no lead)."""
    value, plain = _content(entry)
    paragraphs = _paragraphs(value, plain)
    summary = entry.get("summary", "")
    if entry.get("content") and summary and not any(p.kind in BODY_KINDS for p in paragraphs):
        return _paragraphs(summary, (entry.get("summary_detail") or {}).get("type") == "text/plain")
    return paragraphs


def _paragraphs(value: str, plain: bool) -> list[Paragraph]:
    return text_to_paragraphs(value) if plain else html_to_paragraphs(value)


def _title(item: feedparser.FeedParserDict) -> str:
    """An entry's or the channel's title as one line of text (an HTML title's tags gone). An
    entity still there once it is read was escaped twice by its feed ("AT&amp;amp;T", which
    readers saw as "AT&amp;T"): it is read once more."""
    title = item.get("title", "")
    if "html" in item.get("title_detail", {}).get("type", ""):
        title = " ".join(block for block, _ in blocks(title))
    if HTML_ENTITY.search(title):
        title = html.unescape(title)
    return clean_text(title)


def _outlet(
    entry: feedparser.FeedParserDict, title: str, url: str | None, feed_link: str | None
) -> tuple[str, str | None, str]:
    """The outlet an aggregator's entry names in its <source> (RSS 2.0: the channel the item
    came from; Google News names the publisher there and ends the title with " - Reuters") or
    in Bing News's <News:Source>, its home page (the site of the source's address, which RSS
    makes its feed's; for Bing, of the article's, when that is not the aggregator's own), and
    the title without that ending; ("", None, title) when it names none."""
    source = entry.get("source") or {}
    name = clean_text(source.get("title") or "")
    href = safe_href(source.get("href"))
    if not name and isinstance(entry.get("news_source"), str):
        name = clean_text(entry.news_source)
        href = url if url and site_of(url) != site_of(feed_link) else None
    if not name:
        return "", None, title
    home = href and urlunsplit((*urlsplit(href)[:2], "", "", ""))
    return name, home, title.removesuffix(f" - {name}") or title


def _declared_language(entry: feedparser.FeedParserDict, channel) -> str | None:
    """The entry's language as the feed declares it: its content's xml:lang, else the
    channel's <language>."""
    details = [*entry.get("content", ()), entry.get("summary_detail"), entry.get("title_detail")]
    for tag in (*(d.get("language") for d in details if d), channel.get("language")):
        if language := declared_language(tag):
            return language
    return None


def _declaration_first(data: bytes) -> bytes:
    """The feed without the white space before its XML declaration, which XML forbids and
    WordPress sites send (a theme's or plugin's stray blank lines): feedparser read such a
    feed leniently, and every run called it "not well-formed"."""
    mark = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    rest = data[len(mark) :].lstrip(b" \t\r\n")
    return mark + rest if rest.startswith(b"<?xml") else data


def read_feed(source: str, data: bytes, content_type: str | None = None) -> ReadResult:
    """Read an RSS, Atom or JSON feed already in memory (`content_type`: the HTTP header's,
    whose charset wins over the document's own). Problems are reported, never raised."""
    result = ReadResult()
    if not data.strip():
        result.problems.append(Problem(source, "empty feed"))
        return result
    if looks_like_json(data):
        return read_json_feed(source, data)
    if looks_like_html(data):
        result.problems.append(web_page_problem(source, data))
        return result
    start = _declaration_first(data)
    cut = data.count(b"\n") - start.count(b"\n")
    data = _utf8_strays_read(start, content_type, result, source, cut)
    marked = marked_encoding(data)
    if marked:  # a byte-order mark is the encoding, whatever the server's charset says
        content_type = None
    if marked and marked[0] != "utf-8" and not opening(data, 16).startswith(b"<?xml"):
        # UTF-16 or -32 with no XML declaration, which feedparser cannot read: it gets the
        # text as UTF-8.
        data = data[marked[1] :].decode(marked[0], errors="replace").encode()
    # Our own reader turns the HTML into text (markup, scripts and styles dropped) and the
    # renderer escapes it: feedparser's sanitizer and URI rewriting would cost a third of the
    # parse for nothing.
    headers = _xml_headers(content_type, data, result, source)
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
        result.problems.append(Problem(source, f"{what} ({message})", line and line + cut))
    elif not parsed.version:
        result.problems.append(Problem(source, "not an RSS or Atom feed"))
        return result

    channel = parsed.get("feed", {})
    feed_name = cap_name(_title(channel) or None, source, result.problems)
    home = resolved_link(channel.get("link"), None)  # as readers follow it: no tracking
    feed_link = home or safe_href(source)
    empty = 0
    for entry in parsed.entries:
        paragraphs, excerpt = strip_excerpt_marks(_text(entry))
        url = _entry_link(entry, feed_link)
        outlet, outlet_link, given = _outlet(entry, _title(entry), url, feed_link)
        title = given or title_from_text(paragraphs)
        if not title:  # no title and no text: nothing to show
            empty += 1
            continue
        published = _when(entry)
        if published is None and (written := _unread_date(entry)):
            result.problems.append(unread_date(source, title, written))
        elif published is not None and (zone := _unknown_zone(entry)):
            message = f"{title!r}: time zone {zone!r} unknown; its time read as UTC"
            result.problems.append(Problem(source, message))
        result.articles.append(
            Article(
                title=title,
                paragraphs=paragraphs,
                source=source,
                date=published.date() if published else None,
                published=published,
                url=url,
                guid=entry.get("id") or entry.get("link") or None,
                excerpt=excerpt,
                untitled=not given,
                source_name=outlet or feed_name,
                source_link=outlet_link if outlet else home,
                language=_declared_language(entry, channel),
            )
        )
    if result.articles:
        result.articles = without_boilerplate(result.articles)
        result.sources_read = 1
        if empty:
            result.problems.append(empty_entries(source, empty))
    elif not parsed.bozo:
        what = "feed has no entries" if not parsed.entries else "feed's entries are all empty"
        result.problems.append(Problem(source, what))
    return result
