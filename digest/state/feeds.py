"""What the state remembers of each fetched feed and article page, between runs.

`feed_cache`: per feed URL, the HTTP caching info (ETag, Last-Modified, a permanent
redirect's target, not-before from Retry-After / max-age) and its health (last fetch, status,
last success, failures in a row, entries, bytes), with the last body (zlib-packed): a 304, or
a wait the server asked for, reads that body again, so the stories still waiting in the feed
for the next digest are not lost.

`page_cache`: per article URL, the main text extracted from its page (or why it could not
be), so a page is fetched once.

Preview never writes here (DESIGN: preview never writes state): it reads the cache (sends the
remembered validators, reads a 304's body from here, honours a remembered wait) and what it
learns (new ETags, new bodies, new waits) is forgotten; the next `run` asks again.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable

from ..sources.fetch import CacheInfo
from .db import Db

FEEDS_SCHEMA = """
CREATE TABLE feed_cache (
    url TEXT PRIMARY KEY,           -- as the config names it
    etag TEXT,
    last_modified TEXT,
    moved_to TEXT,                  -- where a permanent redirect sent it
    not_before TEXT,                -- ISO time: not asked before (Retry-After, max-age)
    asked_because TEXT,             -- "Retry-After" | "max-age"
    last_fetch TEXT,
    status TEXT,                    -- "200", "304", "429", or what failed
    last_success TEXT,
    failures INTEGER NOT NULL DEFAULT 0,   -- failed fetches in a row
    entries INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    body BLOB,                      -- the last body read, zlib-packed
    content_type TEXT
);
CREATE TABLE page_cache (
    url TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    paragraphs TEXT,                -- JSON list of the extracted paragraphs, NULL: failed
    problem TEXT                    -- why no text was extracted
)
"""

_COLUMNS = (
    "url, etag, last_modified, moved_to, not_before, asked_because, last_fetch, status, "
    "last_success, failures, entries, bytes, body, content_type"
)


class FeedCache:
    """The feed and page caches of one state (see the module's doc)."""

    def __init__(self, db: Db):
        self.db = db
        self.present = db.has_table("feed_cache")  # an older read-only state has none yet

    def feeds(self, urls: Iterable[str] | None = None) -> dict[str, CacheInfo]:
        """The remembered info of these feeds (all feeds when None)."""
        if not self.present:
            return {}
        rows = self.db.fetchall(f"SELECT {_COLUMNS} FROM feed_cache ORDER BY url")
        wanted = None if urls is None else set(urls)
        out = {}
        for row in rows:
            if wanted is not None and row[0] not in wanted:
                continue
            values = list(row)
            values[12] = zlib.decompress(bytes(values[12])) if values[12] is not None else None
            out[row[0]] = CacheInfo(*values)
        return out

    def save_feeds(self, infos: Iterable[CacheInfo]) -> None:
        rows = []
        for i in infos:
            body = zlib.compress(i.body, 6) if i.body is not None else None
            rows.append(
                (
                    i.url,
                    i.etag,
                    i.last_modified,
                    i.moved_to,
                    i.not_before,
                    i.asked_because,
                    i.last_fetch,
                    i.status,
                    i.last_success,
                    i.failures,
                    i.entries,
                    i.bytes,
                    body,
                    i.content_type,
                )
            )
        if not rows:
            return
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS.split(", ")[1:])
        with self.db.transaction():
            self.db.executemany(
                f"INSERT INTO feed_cache({_COLUMNS}) VALUES ({', '.join('?' * 14)}) "
                f"ON CONFLICT(url) DO UPDATE SET {updates}",
                rows,
            )

    def pages(self, urls: Iterable[str]) -> dict[str, tuple[list[str] | None, str | None]]:
        """URL -> (paragraphs, problem) for the pages already extracted."""
        urls = list(dict.fromkeys(urls))
        if not self.present or not urls:
            return {}
        out = {}
        for start in range(0, len(urls), 500):
            part = urls[start : start + 500]
            marks = ", ".join("?" * len(part))
            for url, paragraphs, problem in self.db.fetchall(
                f"SELECT url, paragraphs, problem FROM page_cache WHERE url IN ({marks})", part
            ):
                out[url] = (json.loads(paragraphs) if paragraphs else None, problem)
        return out

    def save_pages(self, pages: dict[str, tuple[list[str] | None, str | None]], when: str) -> None:
        rows = [
            (url, when, json.dumps(paragraphs) if paragraphs is not None else None, problem)
            for url, (paragraphs, problem) in pages.items()
        ]
        if not rows:
            return
        with self.db.transaction():
            self.db.executemany(
                "INSERT INTO page_cache(url, fetched_at, paragraphs, problem) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET fetched_at = excluded.fetched_at, "
                "paragraphs = excluded.paragraphs, problem = excluded.problem",
                rows,
            )

    def sent_urls(self, urls: Iterable[str]) -> set[str]:
        """Which of these article URLs an earlier digest already sent."""
        urls = list(dict.fromkeys(urls))
        if not urls or not self.db.has_table("sent_articles"):
            return set()
        out: set[str] = set()
        for start in range(0, len(urls), 500):
            part = urls[start : start + 500]
            marks = ", ".join("?" * len(part))
            out.update(
                r[0]
                for r in self.db.fetchall(
                    f"SELECT DISTINCT url FROM sent_articles WHERE url IN ({marks})", part
                )
            )
        return out
