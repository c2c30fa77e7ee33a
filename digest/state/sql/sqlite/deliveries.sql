-- Deliveries: one row an issue and reader; claimed by one sender at a time.

-- Readers nobody has yet, for the next claim (store.claimable takes them in this order):
-- pending ones in the order they were frozen, those whose claim by another sender ran out,
-- then those deferred in an earlier run. One query a status, each read in order from the
-- index on (issue_id, status) and stopped at the limit: one OR over the statuses read and
-- sorted every row of the issue for each batch of 100 (quadratic in the readers).

-- name: claimable_pending
-- params: issue, pending, limit
SELECT recipient FROM deliveries WHERE issue_id = ? AND status = ? ORDER BY rowid LIMIT ?;

-- name: claimable_expired
-- params: issue, claimed, now, run, limit
-- (never this run's own: a batch is claimed while the one before it is still going out)
SELECT recipient FROM deliveries WHERE issue_id = ? AND status = ? AND lease_until < ?
    AND (run_id IS NULL OR run_id <> ?)
ORDER BY rowid LIMIT ?;

-- name: claimable_retrying
-- params: issue, retrying, run, limit
SELECT recipient FROM deliveries
WHERE issue_id = ? AND status = ? AND (run_id IS NULL OR run_id <> ?)
ORDER BY rowid LIMIT ?;

-- name: claim_delivery
UPDATE deliveries SET status = ?, sender = ?, run_id = ?, lease_until = ?
WHERE issue_id = ? AND recipient = ?;

-- name: others_claims
SELECT count(*) FROM deliveries
WHERE issue_id = ? AND status = ? AND run_id <> ? AND lease_until >= ?;

-- name: release_claims
UPDATE deliveries SET status = ?, lease_until = NULL
WHERE issue_id = ? AND run_id = ? AND status = ?;

-- name: renew_lease
UPDATE deliveries SET lease_until = ? WHERE issue_id = ? AND run_id = ? AND status = ?;

-- name: record_delivery
UPDATE deliveries SET status = ?, answer = ?, attempts = attempts + 1,
    message_id = coalesce(?, message_id), updated_at = ?, sender = ?,
    run_id = coalesce(?, run_id), lease_until = NULL
WHERE issue_id = ? AND recipient = ?;

-- name: give_up_deferred
UPDATE deliveries SET status = ?,
    answer = coalesce(answer, '') || ' (gave up after ' || attempts || ' runs)', updated_at = ?
WHERE issue_id = ? AND status = ? AND attempts >= ?;

-- name: delivery_counts
SELECT status, count(*) FROM deliveries WHERE issue_id = ? GROUP BY status;

-- name: count_with_status
SELECT count(*) FROM deliveries WHERE issue_id = ? AND status = ?;

-- name: deliveries
SELECT issue_id, recipient, status, attempts, answer, message_id, updated_at, sender, run_id,
       lease_until
FROM deliveries WHERE issue_id = ? ORDER BY recipient;

-- name: counts_by_run
-- What each run last tried, counted by status (any issue: a run also finishes older ones).
SELECT run_id, status, count(*) FROM deliveries WHERE run_id IN (SELECT value FROM json_each(?)) GROUP BY run_id, status;

-- name: recipients_left
-- Pending readers in the order they were frozen, then the deferred ones.
SELECT recipient FROM deliveries WHERE issue_id = ? AND status IN (?, ?)
ORDER BY status = ?, rowid;
