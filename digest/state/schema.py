"""The schema and its migrations: the same for SQLite and PostgreSQL (written for SQLite, the
PostgreSQL backend translates the types). A database is brought up to SCHEMA_VERSION one
migration at a time, each in its own transaction; one from a newer digest is refused."""

from __future__ import annotations

from ..errors import StateError
from .db import Db
from .readers import SCHEMA_V4
from .sent import HISTORY_SCHEMA, HISTORY_V2

SCHEMA_VERSION = 4

SCHEMA_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    slot TEXT,                      -- the scheduled slot this run served (ISO), if any
    status TEXT NOT NULL,           -- a RunStatus (models.py)
    chosen INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    message TEXT
);
CREATE UNIQUE INDEX runs_slot ON runs(slot) WHERE slot IS NOT NULL;

CREATE TABLE issues (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    created_at TEXT NOT NULL,
    digest_date TEXT NOT NULL,
    subject TEXT NOT NULL,
    preheader TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    report TEXT NOT NULL,           -- the selection report (JSON) frozen with the issue
    articles TEXT NOT NULL,         -- the chosen articles (JSON), remembered once delivered
    status TEXT NOT NULL            -- an IssueStatus
);

CREATE TABLE deliveries (
    issue_id INTEGER NOT NULL REFERENCES issues(id),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,           -- a DeliveryStatus
    attempts INTEGER NOT NULL DEFAULT 0,
    answer TEXT,                    -- the server's last answer
    message_id TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (issue_id, recipient)
);

CREATE TABLE subscribers (
    email TEXT PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    unsubscribed_at TEXT
);

CREATE TABLE rate_history (
    issue_id INTEGER NOT NULL REFERENCES issues(id),
    pair TEXT NOT NULL,
    rate TEXT NOT NULL,
    change_pct TEXT NOT NULL,
    quoted_on TEXT,
    PRIMARY KEY (issue_id, pair)
);
"""

# Version 2: stories (the sent-article history's, see digest/state/sent.py).
# Version 3, several senders: who ran, who claimed and delivered each reader, until when a claim holds;
# one issue per slot; the articles' count kept with the issue.
SCHEMA_V3 = """
ALTER TABLE runs ADD COLUMN sender TEXT;
ALTER TABLE issues ADD COLUMN slot TEXT;
ALTER TABLE issues ADD COLUMN article_count INTEGER;
ALTER TABLE deliveries ADD COLUMN sender TEXT;
ALTER TABLE deliveries ADD COLUMN run_id INTEGER;
ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
CREATE UNIQUE INDEX issues_slot ON issues(slot) WHERE slot IS NOT NULL;
CREATE INDEX deliveries_status ON deliveries(issue_id, status);
CREATE INDEX deliveries_run ON deliveries(run_id)
"""

# Version 4: readers (status, consent, source) and the bounces read: digest/state/readers.py.
MIGRATIONS = {1: SCHEMA_V1 + HISTORY_SCHEMA, 2: HISTORY_V2, 3: SCHEMA_V3, 4: SCHEMA_V4}


def check_version(db: Db) -> int:
    version = db.schema_version()
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{db.where}: written by a newer digest (schema {version}; this one knows "
            f"{SCHEMA_VERSION}); left as it was",
            "upgrade digest, or point `state:` at another file",
        )
    return version


def migrate(db: Db, version: int) -> None:
    for target in sorted(v for v in MIGRATIONS if v > version):
        with db.transaction():
            db.lock_in_transaction("migrate")
            if db.schema_version() >= target:  # another sender migrated meanwhile
                continue
            for statement in db.ddl(MIGRATIONS[target]):
                db.execute(statement)
            db.set_schema_version(target)
