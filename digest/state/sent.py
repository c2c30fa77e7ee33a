"""What was already sent, stored so that later selections can recognise it.

`remember` records each telling of each delivered story (the selection's `SentRecord`s, its
fingerprints computed once): the story it belongs to, its exact-text key, its GUID within its
feed and its article URL, its MinHash signature and LSH band keys (copies), and its facts and
top content words (same story). `History` is the selection's `SentStories`: indexed lookups,
the state is never loaded whole, so a selection costs the same with ten or a million sent
articles.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable

import numpy as np

from ..select.sent import SentArticle, SentRecord

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

# Version 2: stories. Every remembered telling belongs to a story (the id of the story's first
# telling; a version-1 article is a story of its own), and its facts' classes are kept for the
# conflict rule. GUID keys became scoped to their feed: version-1 GUID keys stay and no longer
# match anything (the text fingerprint and the URL still know those articles).
HISTORY_V2 = """
ALTER TABLE sent_articles ADD COLUMN story_id INTEGER;
UPDATE sent_articles SET story_id = id;
ALTER TABLE sent_articles ADD COLUMN classes BLOB;
ALTER TABLE sent_articles ADD COLUMN paragraphs BLOB;
"""


class History:
    """The read side of what was sent, over a (possibly read-only) connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def _has_tables(self) -> bool:
        return self.conn.has_table("sent_articles")

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
            "SELECT a.id, coalesce(a.story_id, a.id), a.title, a.words, a.shingles, a.excerpt, "
            "a.fact_weight, a.facts, a.classes, a.signature, a.lead, a.terms, a.paragraphs, a.day "
            "FROM json_each(?) j "
            "JOIN sent_articles a ON a.id = j.value",
            ids,
        )
        return {
            aid: SentArticle(
                aid,
                story,
                title,
                words,
                shingles,
                bool(excerpt),
                weight,
                frozenset(np.frombuffer(facts, "<i8").tolist()),
                tuple(np.frombuffer(classes, "<u2").tolist()) if classes else None,
                np.frombuffer(signature, "<u4"),
                np.frombuffer(lead, "<u4"),
                _unpack_terms(terms),
                frozenset(np.frombuffer(paras, "<i8").tolist()) if paras else frozenset(),
                day,
            )
            for (
                aid,
                story,
                title,
                words,
                shingles,
                excerpt,
                weight,
                facts,
                classes,
                signature,
                lead,
                terms,
                paras,
                day,
            ) in rows
        }

    def _join(self, sql: str, keys: Iterable[int] | np.ndarray, *params: object) -> list[tuple]:
        # Sorted keys walk the index in order: many times faster than random probes.
        keys = np.sort(keys if isinstance(keys, np.ndarray) else np.fromiter(keys, np.int64))
        if not len(keys) or not self._has_tables():
            return []
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # np.unique: 50x slower
        return self.conn.execute(sql, (json.dumps(keys.tolist()), *params)).fetchall()


def remember(conn: sqlite3.Connection, issue_id: int, records: list[SentRecord]) -> None:
    """Record the tellings of delivered stories; run inside the caller's open write
    transaction. Only what is added is written: rows in id order, keys sorted."""
    if not records:
        return
    sent_at = dt.datetime.now(dt.UTC)
    today = sent_at.date().toordinal()
    first = (conn.execute("SELECT max(id) FROM sent_articles").fetchone()[0] or 0) + 1
    story_ids: dict[int, int] = {}
    rows, keys, fact_rows = [], [], []
    term_df: Counter[int] = Counter()
    for n, r in enumerate(records):
        aid = first + n
        story = story_ids.setdefault(r.story, aid)
        day = r.day if r.day is not None else today
        term_df.update(t for t, _ in r.terms)
        rows.append(
            (
                aid,
                issue_id,
                r.title,
                r.source,
                r.url,
                r.guid,
                day,
                sent_at.isoformat(timespec="seconds"),
                r.words,
                r.shingles,
                int(r.excerpt),
                r.fact_weight,
                np.array(r.facts, "<i8").tobytes(),
                r.signature,
                r.lead,
                _pack_terms(Counter(dict(r.terms))),
                story,
                np.array(r.classes, "<u2").tobytes(),
                np.array(r.paragraphs, "<i8").tobytes(),
            )
        )
        keys.extend((k, aid) for k in r.keys)
        fact_rows.extend((k, day, aid) for k in r.facts)
    # Sorted rows fill the indexes in order, much faster than at random.
    conn.executemany(
        "INSERT INTO sent_articles(id, issue_id, title, source, url, guid, day, sent_at, words, "
        "shingles, excerpt, fact_weight, facts, signature, lead, terms, story_id, classes, "
        f"paragraphs) VALUES ({', '.join('?' * 19)})",
        rows,
    )
    conn.executemany("INSERT INTO sent_keys VALUES (?, ?) ON CONFLICT DO NOTHING", sorted(keys))
    conn.executemany(
        "INSERT INTO sent_facts VALUES (?, ?, ?) ON CONFLICT DO NOTHING", sorted(fact_rows)
    )
    conn.executemany(
        "INSERT INTO sent_terms VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
        "SET articles = sent_terms.articles + excluded.articles",
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
