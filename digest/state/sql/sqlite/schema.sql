-- The schema, one migration a name (migrate_N brings a state to version N). Each runs in its
-- own transaction; statements end with a semicolon at the end of a line.

-- name: migrate_1
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
    report TEXT NOT NULL,           -- older digests: the run report (JSON); now {}
    articles TEXT NOT NULL,         -- the stories frozen with the issue (state/frozen.py)
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
-- What was sent, for later selections (digest/state/sent.py encodes the blobs).
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
    terms BLOB NOT NULL             -- top content and name words: uint32 hashes then uint16 counts
);
CREATE INDEX sent_articles_day ON sent_articles(day);
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
CREATE TABLE sent_terms (           -- in how many sent articles each content or name word occurs
    key INTEGER PRIMARY KEY,
    articles INTEGER NOT NULL
);

-- name: migrate_2
-- Stories: every remembered telling belongs to a story (the id of its first telling; a
-- version-1 article is a story of its own), and its facts' classes are kept for the conflict
-- rule. GUID keys became scoped to their feed: version-1 GUID keys no longer match anything.
ALTER TABLE sent_articles ADD COLUMN story_id INTEGER;
UPDATE sent_articles SET story_id = id;
ALTER TABLE sent_articles ADD COLUMN classes BLOB;
ALTER TABLE sent_articles ADD COLUMN paragraphs BLOB;

-- name: migrate_3
-- Several senders: who ran, who claimed and delivered each reader, until when a claim holds;
-- one issue per slot; the articles' count kept with the issue.
ALTER TABLE runs ADD COLUMN sender TEXT;
ALTER TABLE issues ADD COLUMN slot TEXT;
ALTER TABLE issues ADD COLUMN article_count INTEGER;
ALTER TABLE deliveries ADD COLUMN sender TEXT;
ALTER TABLE deliveries ADD COLUMN run_id INTEGER;
ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
CREATE UNIQUE INDEX issues_slot ON issues(slot) WHERE slot IS NOT NULL;
CREATE INDEX deliveries_status ON deliveries(issue_id, status);
CREATE INDEX deliveries_run ON deliveries(run_id);

-- name: migrate_4
-- Feeds and article pages (digest/sources): per feed URL its HTTP caching info (ETag,
-- Last-Modified, a permanent redirect's target, not-before from Retry-After or max-age), its
-- health and its last body (zlib-packed: a 304 reads it again); per article URL the main
-- text extracted from its page (a JSON list of paragraphs, NULL when none: `problem` says why).
CREATE TABLE feed_cache (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    moved_to TEXT,
    not_before TEXT,
    asked_because TEXT,
    last_fetch TEXT,
    status TEXT,
    last_success TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    entries INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    body BLOB,
    content_type TEXT
);
CREATE TABLE page_cache (
    url TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    paragraphs TEXT,
    problem TEXT
);
CREATE INDEX sent_articles_url ON sent_articles(url);

-- name: migrate_5
-- Readers: status, name, where they came from, the proof of consent (when and from which
-- address the form was sent, when it was confirmed), a pause; the bounces read
-- (digest/state/readers.py has the rules).
ALTER TABLE subscribers ADD COLUMN name TEXT;
ALTER TABLE subscribers ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE subscribers ADD COLUMN source TEXT;
ALTER TABLE subscribers ADD COLUMN created_at TEXT;
ALTER TABLE subscribers ADD COLUMN updated_at TEXT;
ALTER TABLE subscribers ADD COLUMN consent_at TEXT;
ALTER TABLE subscribers ADD COLUMN consent_ip TEXT;
ALTER TABLE subscribers ADD COLUMN confirmed_at TEXT;
ALTER TABLE subscribers ADD COLUMN paused_until TEXT;
ALTER TABLE subscribers ADD COLUMN reason TEXT;
UPDATE subscribers SET status = 'unsubscribed' WHERE unsubscribed_at IS NOT NULL;
CREATE INDEX subscribers_status ON subscribers(status);
CREATE TABLE bounce_events (
    email TEXT NOT NULL,
    kind TEXT NOT NULL,             -- hard | soft | complaint
    at TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX bounce_events_email ON bounce_events(email, at);
CREATE TABLE bounce_messages (
    key TEXT PRIMARY KEY,           -- sha256 of the message: each is read once
    read_at TEXT NOT NULL
);

-- name: migrate_6
-- The keys and facts of what was sent, in blocks: one block of each kind per `remember`, its
-- keys sorted with their articles (and days) beside them, little-endian arrays (state/sent.py).
-- A daily batch appends its blocks and writes bytes in proportion to itself; one index over
-- every key took in random places and rewrote most of its pages each time. (schema.py moves
-- what sent_keys and sent_facts held into blocks, one per issue, then drops them.)
CREATE TABLE sent_blocks (
    kind TEXT NOT NULL,             -- keys: exact-text, GUID, URL, LSH bands; facts; rare_words
    first_article INTEGER NOT NULL,  -- the first article id the block's `remember` wrote
    newest_day INTEGER NOT NULL,     -- the newest story day in it
    keys BLOB NOT NULL,              -- int64, sorted
    articles BLOB NOT NULL,          -- int64, the article of each key
    days BLOB,                       -- facts, rare_words (schema 9): int32, the story day of each key
    PRIMARY KEY (kind, first_article)
);

-- name: migrate_7
-- The tellings of a sent story, counted when a candidate is compared with one of them: a match
-- with a few tellings of a story sent many ways rests on what those few hold alone.
CREATE INDEX sent_articles_story ON sent_articles(story_id);

-- name: migrate_8
-- The kind of each fact of a sent telling (one ASCII letter each, facts.py): sent tellings are
-- grouped with the candidates, and two of them share a date or a figure only by its kind.
ALTER TABLE sent_articles ADD COLUMN fact_kinds BLOB;

-- name: migrate_9
-- The rare content words of what was sent, in blocks like its facts (kind `rare_words`): a
-- candidate that names little is compared with a sent telling when they share rare words of
-- their own. (schema.py makes the blocks of what was sent before, one per issue, from
-- sent_articles; `days` then holds the story day of each word too.)

-- name: migrate_10
-- The outlet readers saw of each sent telling (a feed's name, or the outlet an aggregator's
-- entry names): two items of one outlet in one feed under one title (a newsletter's "Daily
-- Brief" every day) are not one story by their headline. Tellings sent before: NULL.
ALTER TABLE sent_articles ADD COLUMN outlet TEXT;

-- name: migrate_11
-- Deliveries of a finished issue, once older than `state_deliveries_days`: counted here (per
-- run, sender and status, with the first and last time) as their rows are deleted, a batch at
-- a time (exactly_once.forget_readers). Every count reads the rows left plus these. (IF NOT
-- EXISTS: a state whose version was set back is migrated again as it is.)
CREATE TABLE IF NOT EXISTS delivery_tallies (
    issue_id INTEGER NOT NULL,
    run_id INTEGER NOT NULL,        -- 0: no run recorded it
    sender TEXT NOT NULL,           -- '': no sender recorded it
    status TEXT NOT NULL,           -- a DeliveryStatus
    readers INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (issue_id, run_id, sender, status)
);
CREATE INDEX IF NOT EXISTS delivery_tallies_run ON delivery_tallies(run_id);

-- name: migrate_12
-- Nothing here: the index on (issue_id, status) already reads a claim's readers in the order
-- it takes them (rowid); PostgreSQL's claims, in address order, got an index of their own.
