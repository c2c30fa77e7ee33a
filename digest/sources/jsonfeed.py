"""Reader for JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1)."""

from __future__ import annotations

import datetime as dt
import json

from ..encoding import opening, utf8_with_strays
from ..language import declared_language
from ..models import Article, Problem, ReadResult
from ..text import clean_text, safe_href, well_formed
from ..untitled import title_from_text
from .entry import (
    day_at_noon,
    empty_entries,
    html_to_paragraphs,
    published_at,
    resolved_link,
    rfc822_date,
    strip_excerpt_marks,
    text_to_paragraphs,
    unread_date,
    without_boilerplate,
)
from .limits import cap_name


def looks_like_json(data: bytes) -> bool:
    """An object (a JSON Feed) or an array (an API's list, served as a feed by mistake)."""
    return opening(data, 16).startswith((b"{", b"["))


def _date(value: object) -> dt.datetime | None:
    when = _iso(value)
    if when is None:
        return None
    return published_at(
        day_at_noon(when if when.tzinfo else when.replace(tzinfo=dt.UTC), str(value))
    )


def _iso(value: object) -> dt.datetime | None:
    """An ISO 8601 time, or the RFC 822 date some generators write instead (RSS's habit)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return rfc822_date(value)


def _unread_date(item: dict) -> str | None:
    """A date the item writes that is no ISO 8601 time (nor RFC 822), if any."""
    dates = (item.get("date_published"), item.get("date_modified"))
    return next((d for d in dates if isinstance(d, str) and d.strip() and not _iso(d)), None)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _loads(source: str, data: bytes, result: ReadResult) -> object:
    """The JSON document: UTF-8, or UTF-16 or -32 as its first bytes say; UTF-8 with a few
    stray bytes (a Windows-1252 quote pasted into one item) read as the readers read them,
    with a problem, where one such byte lost the whole feed."""
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        utf8 = utf8_with_strays(data)
        if utf8 is None:
            raise
        result.problems.append(Problem(source, utf8.stray_problem, utf8.stray_line))
        return json.loads(utf8.text.removeprefix("\ufeff"))  # a BOM, as json.loads(bytes) takes


def read_json_feed(source: str, data: bytes) -> ReadResult:
    result = ReadResult()
    try:
        doc = _loads(source, data, result)
    except ValueError as e:  # not JSON, not UTF-8, or an integer of over 4,300 digits
        line = getattr(e, "lineno", None)
        result.problems.append(Problem(source, f"not a readable JSON Feed ({e})", line))
        return result
    except RecursionError:  # arrays or objects nested a thousand deep
        result.problems.append(Problem(source, "not a readable JSON Feed (nested too deeply)"))
        return result
    if not isinstance(doc, dict):  # it opens with "[": an array
        result.problems.append(
            Problem(
                source,
                "JSON, but not a JSON Feed: an array, not an object with `version` and `items`",
            )
        )
        return result
    version = doc.get("version", "")
    if not (isinstance(version, str) and version.startswith("https://jsonfeed.org/version/")):
        result.problems.append(
            Problem(
                source, "JSON, but not a JSON Feed (no https://jsonfeed.org/version/ in `version`)"
            )
        )
        return result
    items = doc.get("items")
    if not isinstance(items, list):
        result.problems.append(Problem(source, "JSON Feed without an `items` list"))
        return result
    name = cap_name(clean_text(_text(doc.get("title"))) or None, source, result.problems)
    home = resolved_link(_text(doc.get("home_page_url")), None)
    base = home or safe_href(_text(doc.get("feed_url"))) or safe_href(source)  # "/posts/5"
    empty = 0
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            result.problems.append(Problem(source, f"item {number} is not an object; skipped"))
            continue
        html = _text(item.get("content_html"))
        if html:
            paragraphs = html_to_paragraphs(html)
        else:
            plain = _text(item.get("content_text")) or _text(item.get("summary"))
            paragraphs = text_to_paragraphs(plain)
        body, excerpt = strip_excerpt_marks(paragraphs)
        given = clean_text(_text(item.get("title")))
        title = given or title_from_text(body)
        if not title:  # no title and no text: nothing to show
            empty += 1
            continue
        published = _date(item.get("date_published")) or _date(item.get("date_modified"))
        if published is None and (written := _unread_date(item)):
            result.problems.append(unread_date(source, title, written))
        url = resolved_link(_text(item.get("url")), base) or resolved_link(
            _text(item.get("external_url")), base
        )
        guid = item.get("id")
        result.articles.append(
            Article(
                title=title,
                paragraphs=body,
                source=source,
                date=published.date() if published else None,
                published=published,
                url=url,
                guid=well_formed(str(guid)) if guid not in (None, "") else url,
                excerpt=excerpt,
                untitled=not given,
                source_name=name,
                source_link=home,
                language=declared_language(_text(doc.get("language"))),
            )
        )
    if result.articles:
        result.articles = without_boilerplate(result.articles)
        result.sources_read = 1
        if empty:
            result.problems.append(empty_entries(source, empty))
    else:
        result.problems.append(Problem(source, "feed has no entries"))
    return result
