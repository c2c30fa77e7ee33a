-- Deliveries: one row an issue and reader; claimed by one sender at a time.

-- Readers nobody has yet, for the next claim (store.claimable takes them in this order):
-- pending ones by address, those whose claim by another sender ran out, then those deferred
-- in an earlier run. Rows another sender is claiming are skipped: senders never share a
-- reader.

-- name: claimable_pending
-- params: issue, pending, limit
SELECT recipient FROM deliveries WHERE issue_id = %s AND status = %s
ORDER BY recipient LIMIT %s
FOR UPDATE SKIP LOCKED;

-- name: claimable_expired
-- params: issue, claimed, now, run, limit
-- (never this run's own: a batch is claimed while the one before it is still going out)
SELECT recipient FROM deliveries WHERE issue_id = %s AND status = %s AND lease_until < %s
    AND (run_id IS NULL OR run_id <> %s)
ORDER BY recipient LIMIT %s
FOR UPDATE SKIP LOCKED;

-- name: claimable_retrying
-- params: issue, retrying, run, run, limit
-- (deferred before this run began: one another sender deferred meanwhile waits for the next
-- run, as this run's own do; senders took each other's and tried them again, endlessly)
SELECT recipient FROM deliveries
WHERE issue_id = %s AND status = %s AND (run_id IS NULL OR run_id <> %s)
    AND updated_at <= (SELECT started_at FROM runs WHERE id = %s)
ORDER BY recipient LIMIT %s
FOR UPDATE SKIP LOCKED;

-- name: claim_delivery
UPDATE deliveries SET status = %s, sender = %s, run_id = %s, lease_until = %s
WHERE issue_id = %s AND recipient = %s;

-- name: others_claims
SELECT count(*) FROM deliveries
WHERE issue_id = %s AND status = %s AND run_id <> %s AND lease_until >= %s;

-- name: release_claims
-- (retrying again once tried: those deferred in an earlier run come last)
UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN %s ELSE %s END, lease_until = NULL
WHERE issue_id = %s AND run_id = %s AND status = %s;

-- name: renew_lease
UPDATE deliveries SET lease_until = %s WHERE issue_id = %s AND run_id = %s AND status = %s;

-- name: record_delivery
UPDATE deliveries SET status = %s, answer = %s, attempts = attempts + 1,
    message_id = coalesce(%s, message_id), updated_at = %s, sender = %s,
    run_id = coalesce(%s, run_id), lease_until = NULL
WHERE issue_id = %s AND recipient = %s;

-- name: give_up_deferred
UPDATE deliveries SET status = %s,
    answer = coalesce(answer, '') || ' (gave up after ' || attempts || ' runs)', updated_at = %s
WHERE issue_id = %s AND status = %s AND attempts >= %s
RETURNING recipient, answer;

-- name: delivery_counts
-- (the rows left, and the tallies of those forgotten)
SELECT status, CAST(sum(n) AS BIGINT) FROM (
    SELECT status, count(*) AS n FROM deliveries WHERE issue_id = %s GROUP BY status
    UNION ALL SELECT status, readers FROM delivery_tallies WHERE issue_id = %s
) AS t GROUP BY status;

-- name: count_with_status
SELECT (SELECT count(*) FROM deliveries WHERE issue_id = %s AND status = %s)
    + (SELECT coalesce(sum(readers), 0) FROM delivery_tallies WHERE issue_id = %s AND status = %s);

-- name: deliveries
SELECT issue_id, recipient, status, attempts, answer, message_id, updated_at, sender, run_id,
       lease_until
FROM deliveries WHERE issue_id = %s ORDER BY recipient;

-- name: deliveries_not_sent
-- params: issue, sent, limit
SELECT issue_id, recipient, status, attempts, answer, message_id, updated_at, sender, run_id,
       lease_until
FROM deliveries WHERE issue_id = %s AND status <> %s ORDER BY recipient LIMIT %s;

-- name: counts_by_run
-- What each run last tried, counted by status (any issue: a run also finishes older ones).
SELECT run_id, status, CAST(sum(n) AS BIGINT) FROM (
    SELECT run_id, status, count(*) AS n FROM deliveries WHERE run_id = ANY(%s)
    GROUP BY run_id, status
    UNION ALL SELECT run_id, status, readers FROM delivery_tallies WHERE run_id = ANY(%s)
) AS t GROUP BY run_id, status;

-- name: recipients_left
-- Pending readers by address, then the deferred ones.
SELECT recipient FROM deliveries WHERE issue_id = %s AND status IN (%s, %s)
ORDER BY status = %s, recipient;

-- name: senders_of_issue
-- How many readers each sender sent the issue to.
SELECT sender, CAST(sum(n) AS BIGINT) FROM (
    SELECT sender, count(*) AS n FROM deliveries
    WHERE issue_id = %s AND status = %s AND sender IS NOT NULL GROUP BY sender
    UNION ALL SELECT sender, readers FROM delivery_tallies
    WHERE issue_id = %s AND status = %s AND sender <> ''
) AS t GROUP BY sender;

-- name: forgotten
SELECT 1 FROM delivery_tallies WHERE issue_id = %s LIMIT 1;

-- name: issues_to_forget
-- params: sending, created before, pending, claimed, retrying
-- Finished issues old enough that still hold readers' rows: not sending, nobody left to try.
SELECT i.id FROM issues i
WHERE i.status <> %s AND i.created_at < %s
    AND EXISTS (SELECT 1 FROM deliveries d WHERE d.issue_id = i.id)
    AND NOT EXISTS (SELECT 1 FROM deliveries d
                    WHERE d.issue_id = i.id AND d.status IN (%s, %s, %s))
ORDER BY i.id;

-- name: forget_deliveries
-- params: issue, issue, limit: a batch of its rows, deleted, what they held returned
DELETE FROM deliveries
WHERE issue_id = %s AND recipient IN (SELECT recipient FROM deliveries WHERE issue_id = %s LIMIT %s)
RETURNING run_id, sender, status, updated_at;

-- name: add_tally
INSERT INTO delivery_tallies(issue_id, run_id, sender, status, readers, first_at, last_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (issue_id, run_id, sender, status) DO UPDATE
SET readers = delivery_tallies.readers + excluded.readers,
    first_at = LEAST(delivery_tallies.first_at, excluded.first_at),
    last_at = GREATEST(delivery_tallies.last_at, excluded.last_at);

-- Of a state before schema 11 (a read-only look at an older PostgreSQL state, never
-- migrated: no tallies yet), the counts above over the readers' rows alone.

-- name: delivery_counts_before_11
SELECT status, count(*) FROM deliveries WHERE issue_id = %s GROUP BY status;

-- name: counts_by_run_before_11
SELECT run_id, status, count(*) FROM deliveries WHERE run_id = ANY(%s) GROUP BY run_id, status;

-- name: senders_of_issue_before_11
SELECT sender, count(*) FROM deliveries
WHERE issue_id = %s AND status = %s AND sender IS NOT NULL GROUP BY sender;
