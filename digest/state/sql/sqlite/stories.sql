-- The stories already sent (selection's SentStories). Key lists come as one JSON array,
-- sorted: the index is walked in order.

-- name: remembered
SELECT 1 FROM sent_articles WHERE issue_id = ? LIMIT 1;

-- name: newest_sent_article
SELECT max(id) FROM sent_articles;

-- name: sent_count_since
SELECT count(*) FROM sent_articles WHERE day >= ?;

-- name: matching_keys
SELECT j.value, k.article_id FROM json_each(?) j JOIN sent_keys k ON k.key = j.value;

-- name: fact_counts
SELECT j.value, count(*) FROM json_each(?) j
JOIN sent_facts f ON f.key = j.value AND f.day >= ?
GROUP BY j.value;

-- name: facts_since
SELECT j.value, f.article_id FROM json_each(?) j
JOIN sent_facts f ON f.key = j.value AND f.day >= ?;

-- name: term_frequencies
SELECT j.value, t.articles FROM json_each(?) j JOIN sent_terms t ON t.key = j.value;

-- name: sent_articles
SELECT a.id, coalesce(a.story_id, a.id), a.title, a.words, a.shingles, a.excerpt,
       a.fact_weight, a.facts, a.classes, a.signature, a.lead, a.terms, a.paragraphs, a.day
FROM json_each(?) j JOIN sent_articles a ON a.id = j.value;

-- name: insert_sent_article
INSERT INTO sent_articles(id, issue_id, title, source, url, guid, day, sent_at, words, shingles,
    excerpt, fact_weight, facts, signature, lead, terms, story_id, classes, paragraphs)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: insert_sent_key
INSERT INTO sent_keys VALUES (?, ?) ON CONFLICT DO NOTHING;

-- name: insert_sent_fact
INSERT INTO sent_facts VALUES (?, ?, ?) ON CONFLICT DO NOTHING;

-- name: add_sent_term
INSERT INTO sent_terms VALUES (?, ?) ON CONFLICT(key) DO UPDATE
SET articles = sent_terms.articles + excluded.articles;
