-- Feeds and article pages (digest/sources/fetch.py, fulltext.py). URL lists come as one JSON
-- array.

-- name: feed_caches
SELECT url, etag, last_modified, moved_to, not_before, asked_because, last_fetch, status,
       last_success, failures, entries, bytes, body, content_type
FROM feed_cache ORDER BY url;

-- name: save_feed_cache
INSERT INTO feed_cache(url, etag, last_modified, moved_to, not_before, asked_because,
    last_fetch, status, last_success, failures, entries, bytes, body, content_type)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
    moved_to = excluded.moved_to, not_before = excluded.not_before,
    asked_because = excluded.asked_because, last_fetch = excluded.last_fetch,
    status = excluded.status, last_success = excluded.last_success,
    failures = excluded.failures, entries = excluded.entries, bytes = excluded.bytes,
    body = excluded.body, content_type = excluded.content_type;

-- name: page_texts
SELECT p.url, p.paragraphs, p.problem FROM json_each(?) j JOIN page_cache p ON p.url = j.value;

-- name: save_page_text
INSERT INTO page_cache(url, fetched_at, paragraphs, problem) VALUES (?, ?, ?, ?)
ON CONFLICT(url) DO UPDATE SET fetched_at = excluded.fetched_at,
    paragraphs = excluded.paragraphs, problem = excluded.problem;

-- name: sent_urls
SELECT DISTINCT a.url FROM json_each(?) j JOIN sent_articles a ON a.url = j.value;
