-- The stories already sent (selection's SentStories). Key lists come as one JSON array,
-- sorted: the index is walked in order.

-- name: remembered
SELECT 1 FROM sent_articles WHERE issue_id = ? LIMIT 1;

-- name: newest_sent_article
SELECT max(id) FROM sent_articles;

-- name: sent_count_since
SELECT count(*) FROM sent_articles WHERE day >= ?;

-- name: sent_blocks
-- The keys alone: a block's articles and days are read only when a key is found in it
-- (`sent_block_holders`), and most lookups find keys in few blocks.
SELECT first_article, keys FROM sent_blocks WHERE kind = ? AND newest_day >= ?
ORDER BY first_article;

-- name: sent_block_holders
SELECT articles, days FROM sent_blocks WHERE kind = ? AND first_article = ?;

-- name: term_frequencies
SELECT j.value, t.articles FROM json_each(?) j JOIN sent_terms t ON t.key = j.value;

-- name: sent_articles
SELECT a.id, coalesce(a.story_id, a.id), a.title, a.words, a.shingles, a.excerpt,
       a.fact_weight, a.facts, a.classes, a.signature, a.lead, a.terms, a.paragraphs, a.day,
       a.fact_kinds,
       (SELECT count(*) FROM sent_articles s WHERE s.story_id = coalesce(a.story_id, a.id)),
       a.source, a.outlet, a.url
FROM json_each(?) j JOIN sent_articles a ON a.id = j.value;

-- name: sent_articles_before_10
-- A state of schema 8 or 9, read by `preview` before any `run` migrated it (PostgreSQL:
-- read-only opens never migrate): no outlets yet.
SELECT a.id, coalesce(a.story_id, a.id), a.title, a.words, a.shingles, a.excerpt,
       a.fact_weight, a.facts, a.classes, a.signature, a.lead, a.terms, a.paragraphs, a.day,
       a.fact_kinds,
       (SELECT count(*) FROM sent_articles s WHERE s.story_id = coalesce(a.story_id, a.id)),
       a.source, NULL, a.url
FROM json_each(?) j JOIN sent_articles a ON a.id = j.value;

-- name: sent_articles_before_8
-- A state of schema 7 or older, likewise: no fact kinds and no outlets yet.
SELECT a.id, coalesce(a.story_id, a.id), a.title, a.words, a.shingles, a.excerpt,
       a.fact_weight, a.facts, a.classes, a.signature, a.lead, a.terms, a.paragraphs, a.day,
       NULL,
       (SELECT count(*) FROM sent_articles s WHERE s.story_id = coalesce(a.story_id, a.id)),
       a.source, NULL, a.url
FROM json_each(?) j JOIN sent_articles a ON a.id = j.value;

-- name: sent_story_articles
SELECT a.id FROM json_each(?) j JOIN sent_articles a ON a.story_id = j.value ORDER BY a.id;

-- name: insert_sent_article
INSERT INTO sent_articles(id, issue_id, title, source, url, guid, day, sent_at, words, shingles,
    excerpt, fact_weight, facts, signature, lead, terms, story_id, classes, paragraphs,
    fact_kinds, outlet)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: insert_sent_block
INSERT INTO sent_blocks(kind, first_article, newest_day, keys, articles, days)
VALUES (?, ?, ?, ?, ?, ?);

-- name: add_sent_term
INSERT INTO sent_terms VALUES (?, ?) ON CONFLICT(key) DO UPDATE
SET articles = sent_terms.articles + excluded.articles;

-- name: legacy_sent_keys
SELECT a.issue_id, k.key, k.article_id, a.day FROM sent_keys k
JOIN sent_articles a ON a.id = k.article_id ORDER BY a.issue_id, k.key, k.article_id;

-- name: legacy_sent_facts
SELECT a.issue_id, f.key, f.article_id, f.day FROM sent_facts f
JOIN sent_articles a ON a.id = f.article_id ORDER BY a.issue_id, f.key, f.article_id;

-- name: sent_term_counts
SELECT key, articles FROM sent_terms;

-- name: sent_article_terms
SELECT issue_id, id, day, terms FROM sent_articles ORDER BY issue_id, id;

-- name: drop_legacy_sent_index
DROP TABLE sent_keys;
DROP TABLE sent_facts;
