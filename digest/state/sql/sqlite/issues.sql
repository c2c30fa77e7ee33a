-- Issues: what a run froze before sending (subject, HTML, text, report, stories), and its rates.

-- name: issue_of_run
SELECT id FROM issues WHERE run_id = ?;

-- name: newest_issue_id
SELECT max(id) FROM issues;

-- name: issue_for_slot
SELECT id FROM issues WHERE slot = ?;

-- name: insert_issue
INSERT INTO issues(run_id, created_at, digest_date, subject, preheader, html, text, report,
                   articles, status, slot, article_count)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id;

-- name: insert_delivery
INSERT INTO deliveries(issue_id, recipient, status, updated_at) VALUES (?, ?, ?, ?);

-- name: insert_rate
INSERT INTO rate_history(issue_id, pair, rate, change_pct, quoted_on) VALUES (?, ?, ?, ?, ?);

-- name: set_issue_status
UPDATE issues SET status = ? WHERE id = ?;

-- name: issues_with_status
SELECT id, run_id, created_at, digest_date, subject, preheader, html, text, report, articles,
       status, slot, article_count
FROM issues WHERE status = ? ORDER BY id;

-- name: issue
SELECT id, run_id, created_at, digest_date, subject, preheader, html, text, report, articles,
       status, slot, article_count
FROM issues WHERE id = ?;

-- name: issues
SELECT id, run_id, created_at, digest_date, subject, preheader, html, text, report, articles,
       status, slot, article_count
FROM issues ORDER BY id DESC LIMIT ?;

-- name: issues_of_runs
SELECT id, run_id, created_at, digest_date, subject, preheader, html, text, report, articles,
       status, slot, article_count
FROM issues WHERE run_id IN (SELECT value FROM json_each(?));

-- name: delivered_issues
-- Every issue at least one reader has, oldest first, with when the first reader got it (from
-- its rows, or the tallies of those forgotten).
SELECT i.id, i.run_id, i.digest_date, i.subject, i.html, i.text, i.report, i.articles,
       s.sent_at
FROM issues i JOIN (
    SELECT issue_id, min(at) AS sent_at FROM (
        SELECT issue_id, min(updated_at) AS at FROM deliveries WHERE status = ?
        GROUP BY issue_id
        UNION ALL SELECT issue_id, min(first_at) FROM delivery_tallies WHERE status = ?
        GROUP BY issue_id
    ) GROUP BY issue_id
) s ON s.issue_id = i.id
ORDER BY i.id;

-- name: previous_rates
-- The rates of the newest issue delivered to at least one reader, and its date.
SELECT r.pair, r.rate, i.digest_date FROM rate_history r LEFT JOIN issues i ON i.id = r.issue_id
WHERE r.issue_id = (SELECT max(issue_id) FROM rate_history
                  WHERE issue_id IN (SELECT issue_id FROM deliveries WHERE status = ?
                                     UNION SELECT issue_id FROM delivery_tallies
                                     WHERE status = ?));

-- Of a state before schema 11 (see deliveries.sql): from the readers' rows alone.

-- name: delivered_issues_before_11
SELECT i.id, i.run_id, i.digest_date, i.subject, i.html, i.text, i.report, i.articles,
       min(d.updated_at) AS sent_at
FROM issues i JOIN deliveries d ON d.issue_id = i.id AND d.status = ?
GROUP BY i.id, i.run_id, i.digest_date, i.subject, i.html, i.text, i.report, i.articles
ORDER BY i.id;

-- name: previous_rates_before_11
SELECT r.pair, r.rate, i.digest_date FROM rate_history r LEFT JOIN issues i ON i.id = r.issue_id
WHERE r.issue_id = (SELECT max(issue_id) FROM rate_history
                  WHERE issue_id IN (SELECT issue_id FROM deliveries WHERE status = ?));

-- name: analyze_deliveries
-- Nothing: SQLite claims in rowid order from the index on (issue_id, status) whatever it knows.
SELECT 1;
