-- Issues: what a run froze before sending (subject, HTML, text, report, stories), and its rates.

-- name: issue_of_run
SELECT id FROM issues WHERE run_id = %s;

-- name: newest_issue_id
SELECT max(id) FROM issues;

-- name: issue_for_slot
SELECT id FROM issues WHERE slot = %s;

-- name: insert_issue
INSERT INTO issues(run_id, created_at, digest_date, subject, preheader, html, text, report,
                   articles, status, slot, article_count)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id;

-- name: insert_delivery
INSERT INTO deliveries(issue_id, recipient, status, updated_at) VALUES (%s, %s, %s, %s);

-- name: insert_rate
INSERT INTO rate_history(issue_id, pair, rate, change_pct, quoted_on) VALUES (%s, %s, %s, %s, %s);

-- name: set_issue_status
UPDATE issues SET status = %s WHERE id = %s;

-- name: issues_with_status
SELECT id, run_id, created_at, digest_date, subject, preheader, html, text, report, articles,
       status, slot, article_count
FROM issues WHERE status = %s ORDER BY id;

-- name: issue
SELECT id, run_id, created_at, digest_date, subject, preheader, html, text, report, articles,
       status, slot, article_count
FROM issues WHERE id = %s;

-- name: issues
SELECT id, run_id, created_at, digest_date, subject, preheader, html, text, report, articles,
       status, slot, article_count
FROM issues ORDER BY id DESC LIMIT %s;

-- name: issues_of_runs
SELECT id, run_id, created_at, digest_date, subject, preheader, html, text, report, articles,
       status, slot, article_count
FROM issues WHERE run_id = ANY(%s);

-- name: delivered_issues
-- Every issue at least one reader has, oldest first, with when the first reader got it (from
-- its rows, or the tallies of those forgotten).
SELECT i.id, i.run_id, i.digest_date, i.subject, i.html, i.text, i.report, i.articles,
       s.sent_at
FROM issues i JOIN (
    SELECT issue_id, min(at) AS sent_at FROM (
        SELECT issue_id, min(updated_at) AS at FROM deliveries WHERE status = %s
        GROUP BY issue_id
        UNION ALL SELECT issue_id, min(first_at) FROM delivery_tallies WHERE status = %s
        GROUP BY issue_id
    ) AS t GROUP BY issue_id
) s ON s.issue_id = i.id
ORDER BY i.id;

-- name: previous_rates
-- The rates of the newest issue delivered to at least one reader, and its date.
SELECT r.pair, r.rate, i.digest_date FROM rate_history r LEFT JOIN issues i ON i.id = r.issue_id
WHERE r.issue_id = (SELECT max(issue_id) FROM rate_history
                  WHERE issue_id IN (SELECT issue_id FROM deliveries WHERE status = %s
                                     UNION SELECT issue_id FROM delivery_tallies
                                     WHERE status = %s));

-- Of a state before schema 11 (see deliveries.sql): from the readers' rows alone.

-- name: delivered_issues_before_11
SELECT i.id, i.run_id, i.digest_date, i.subject, i.html, i.text, i.report, i.articles,
       min(d.updated_at) AS sent_at
FROM issues i JOIN deliveries d ON d.issue_id = i.id AND d.status = %s
GROUP BY i.id, i.run_id, i.digest_date, i.subject, i.html, i.text, i.report, i.articles
ORDER BY i.id;

-- name: previous_rates_before_11
SELECT r.pair, r.rate, i.digest_date FROM rate_history r LEFT JOIN issues i ON i.id = r.issue_id
WHERE r.issue_id = (SELECT max(issue_id) FROM rate_history
                  WHERE issue_id IN (SELECT issue_id FROM deliveries WHERE status = %s));

-- name: analyze_deliveries
-- After an issue is frozen: the planner then knows its readers are pending, and claims them
-- in address order from deliveries_claim (schema 12). With the statistics of before (the
-- issue unknown: one row, it guessed), reading the issue by address from its first reader,
-- passing over those done, cost it the same: each claim read every reader done before it.
ANALYZE deliveries;
