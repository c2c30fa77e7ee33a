"""What was already sent: fingerprints of delivered articles, for the selection stage.

(Placeholder schema; the selection stage owns and extends this module.)
"""

HISTORY_SCHEMA = """
CREATE TABLE sent_articles (
    id INTEGER PRIMARY KEY,
    issue_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT,
    guid TEXT,
    exact_hash TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
CREATE INDEX sent_articles_exact ON sent_articles(exact_hash);
"""
