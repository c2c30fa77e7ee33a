"""An HTML page given where a feed was expected: say so, and name the feed it links to."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

from ..encoding import opening
from ..models import Problem
from ..text import is_web_url

_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>])", re.I | re.S
)
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
)


def looks_like_html(data: bytes) -> bool:
    return bool(_HTML_START.match(opening(data)))


class _Alternates(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.feeds: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        a = {k: (v or "") for k, v in attrs}
        rels = a.get("rel", "").lower().split()
        if "alternate" in rels and a.get("type", "").lower() in FEED_TYPES and a.get("href"):
            self.feeds.append(a["href"].strip())


def feed_links(source: str, data: bytes) -> list[str]:
    """The feeds a page names with <link rel="alternate" type="application/rss+xml" ...>."""
    parser = _Alternates()
    parser.feed(data[:500_000].decode("utf-8", "replace"))
    base = source if is_web_url(source) else ""
    return list(dict.fromkeys(url for href in parser.feeds if (url := _joined(base, href))))


def _joined(base: str, href: str) -> str | None:
    try:
        return urljoin(base, href)
    except ValueError:  # "http://[:": no address; it stopped the fetch of every feed
        return None


def web_page_problem(source: str, data: bytes) -> Problem:
    feeds = feed_links(source, data)
    if feeds:
        also = f" (and {len(feeds) - 1} more)" if len(feeds) > 1 else ""
        return Problem(
            source,
            f"this is a web page, not a feed; it names its feed: {feeds[0]}{also} "
            "- put that address in `feed:`",
        )
    return Problem(source, "this is a web page, not a feed, and it names no feed")
