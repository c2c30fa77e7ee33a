"""What was already sent, stored so that later selections can recognise it.

`remember` records each delivered article: its exact-text key, feed GUID and URL, its MinHash
signature and LSH band keys (near-duplicates), and its facts and top content words
(same-story). `History` answers the selection's questions with indexed lookups: the state is
never loaded whole, so a selection costs the same with ten or a million sent articles.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .models import Article

HISTORY_SCHEMA = """
CREATE TABLE sent_articles (
    id INTEGER PRIMARY KEY,
    issue_id INTEGER NOT NULL,      -- the issue it went out in (no FK: history outlives issues)
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT,
    guid TEXT,
    day INTEGER NOT NULL,           -- the story's date (proleptic ordinal), else the day sent
    sent_at TEXT NOT NULL,
    words INTEGER NOT NULL,         -- body length in words
    shingles INTEGER NOT NULL,      -- number of body shingles (containment estimates)
    excerpt INTEGER NOT NULL,
    fact_weight REAL NOT NULL,      -- all its facts, weighted by kind (same-story overlap)
    facts BLOB NOT NULL,            -- its facts' keys, little-endian int64
    signature BLOB NOT NULL,        -- MinHash of the body, NUM_PERM little-endian uint32
    lead BLOB NOT NULL,             -- MinHash of its opening words, LEAD_PERM uint32
    terms BLOB NOT NULL             -- top content words: uint32 hashes then uint16 counts
);
CREATE INDEX sent_articles_day ON sent_articles(day);
-- the pipeline asks whether an issue's articles are remembered yet
CREATE INDEX sent_articles_issue ON sent_articles(issue_id);
CREATE TABLE sent_keys (            -- exact-text, GUID, URL and LSH band keys
    key INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    PRIMARY KEY (key, article_id)
) WITHOUT ROWID;
CREATE TABLE sent_facts (           -- same-story evidence: dates, amounts, names
    key INTEGER NOT NULL,
    day INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    PRIMARY KEY (key, day, article_id)
) WITHOUT ROWID;
CREATE TABLE sent_terms (           -- in how many sent articles each content word occurs
    key INTEGER PRIMARY KEY,
    articles INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class SentArticle:
    id: int
    title: str
    words: int
    shingles: int
    excerpt: bool
    fact_weight: float
    facts: frozenset[int]
    signature: np.ndarray
    lead: np.ndarray
    terms: Counter[int]


class History:
    """The read side of what was sent, over a (possibly read-only) connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def _has_tables(self) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM sqlite_master WHERE name='sent_articles'").fetchone()
            is not None
        )

    def count(self) -> int:
        """How many articles were sent (ids are dense and never deleted: max(id) is cheap)."""
        if not self._has_tables():
            return 0
        return self.conn.execute("SELECT max(id) FROM sent_articles").fetchone()[0] or 0

    def matching_keys(self, keys: Iterable[int] | np.ndarray) -> list[tuple[int, int]]:
        """(key, article id) for every stored key among `keys`."""
        return self._join(
            "SELECT j.value, k.article_id FROM json_each(?) j JOIN sent_keys k ON k.key = j.value",
            keys,
        )

    def count_since(self, day: int) -> int:
        """How many sent articles tell stories dated `day` or later."""
        if not self._has_tables():
            return 0
        return self.conn.execute(
            "SELECT count(*) FROM sent_articles WHERE day >= ?", (day,)
        ).fetchone()[0]

    def fact_counts(self, keys: Iterable[int], day: int) -> dict[int, int]:
        """In how many articles dated `day` or later each fact of `keys` occurs."""
        return dict(
            self._join(
                "SELECT j.value, count(*) FROM json_each(?) j "
                "JOIN sent_facts f ON f.key = j.value AND f.day >= ? "
                "GROUP BY j.value",
                keys,
                day,
            )
        )

    def facts_since(self, keys: Iterable[int], day: int) -> list[tuple[int, int]]:
        """(fact key, article id) for articles whose story is dated `day` or later."""
        return self._join(
            "SELECT j.value, f.article_id FROM json_each(?) j "
            "JOIN sent_facts f ON f.key = j.value AND f.day >= ?",
            keys,
            day,
        )

    def term_frequencies(self, keys: Iterable[int]) -> dict[int, int]:
        return dict(
            self._join(
                "SELECT j.value, t.articles FROM json_each(?) j "
                "JOIN sent_terms t ON t.key = j.value",
                keys,
            )
        )

    def articles(self, ids: Iterable[int]) -> dict[int, SentArticle]:
        rows = self._join(
            "SELECT a.id, a.title, a.words, a.shingles, a.excerpt, a.fact_weight, a.facts, "
            "a.signature, a.lead, a.terms FROM json_each(?) j "
            "JOIN sent_articles a ON a.id = j.value",
            ids,
        )
        return {
            aid: SentArticle(
                aid,
                title,
                words,
                shingles,
                bool(excerpt),
                weight,
                frozenset(np.frombuffer(facts, "<i8").tolist()),
                np.frombuffer(signature, "<u4"),
                np.frombuffer(lead, "<u4"),
                _unpack_terms(terms),
            )
            for aid, title, words, shingles, excerpt, weight, facts, signature, lead, terms in rows
        }

    def _join(self, sql: str, keys: Iterable[int] | np.ndarray, *params: object) -> list[tuple]:
        # Sorted keys walk the index in order: many times faster than random probes.
        keys = np.sort(keys if isinstance(keys, np.ndarray) else np.fromiter(keys, np.int64))
        if not len(keys) or not self._has_tables():
            return []
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # np.unique: 50x slower
        return self.conn.execute(sql, (json.dumps(keys.tolist()), *params)).fetchall()


def remember(conn: sqlite3.Connection, issue_id: int, articles: list[Article]) -> None:
    """Record delivered articles; run inside the caller's open write transaction."""
    if not articles:
        return
    from . import select  # loads datasketch (and scipy): only when something is remembered

    with select.paused_gc():
        _insert(conn, issue_id, articles, select.fingerprint(articles))


def _insert(conn: sqlite3.Connection, issue_id: int, articles: list[Article], fps: list) -> None:
    from .select import term_counts, top_terms

    sent_at = dt.datetime.now(dt.UTC)
    today = sent_at.date().toordinal()
    first = (conn.execute("SELECT max(id) FROM sent_articles").fetchone()[0] or 0) + 1
    rows, keys, fact_rows = [], [], []
    term_df: Counter[int] = Counter()
    for n, (a, fp) in enumerate(zip(articles, fps, strict=True)):
        aid = first + n
        day = a.date.toordinal() if a.date else today
        counts = term_counts(a.title, a.text)
        term_df.update(counts.keys())
        rows.append(
            (
                aid,
                issue_id,
                a.title,
                a.source,
                a.url,
                a.guid,
                day,
                sent_at.isoformat(timespec="seconds"),
                fp.words,
                fp.size,
                int(a.excerpt),
                fp.fact_weight,
                np.array(list(fp.facts), "<i8").tobytes(),
                fp.signature.astype("<u4").tobytes(),
                fp.lead.astype("<u4").tobytes(),
                _pack_terms(top_terms(counts)),
            )
        )
        keys.extend((k, aid) for k in {fp.exact, *fp.ids, *fp.bands.tolist()})
        fact_rows.extend((k, day, aid) for k in fp.facts)
    # Sorted rows fill the indexes in order, much faster than at random.
    conn.executemany(f"INSERT INTO sent_articles VALUES ({', '.join('?' * 16)})", rows)
    conn.executemany("INSERT OR IGNORE INTO sent_keys VALUES (?, ?)", sorted(keys))
    conn.executemany("INSERT OR IGNORE INTO sent_facts VALUES (?, ?, ?)", sorted(fact_rows))
    conn.executemany(
        "INSERT INTO sent_terms VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
        "SET articles = articles + excluded.articles",
        sorted(term_df.items()),
    )


def _pack_terms(terms: Counter[int]) -> bytes:
    items = sorted(terms.items())
    hashes = np.array([t for t, _ in items], "<u4")
    counts = np.array([min(n, 65535) for _, n in items], "<u2")
    return hashes.tobytes() + counts.tobytes()


def _unpack_terms(blob: bytes) -> Counter[int]:
    n = len(blob) // 6
    hashes = np.frombuffer(blob, "<u4", n)
    counts = np.frombuffer(blob, "<u2", n, offset=4 * n)
    return Counter(dict(zip(hashes.tolist(), counts.tolist(), strict=True)))
