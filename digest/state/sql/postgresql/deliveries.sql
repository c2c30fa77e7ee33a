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
-- params: issue, retrying, run, limit
SELECT recipient FROM deliveries
WHERE issue_id = %s AND status = %s AND (run_id IS NULL OR run_id <> %s)
ORDER BY recipient LIMIT %s
FOR UPDATE SKIP LOCKED;

-- name: claim_delivery
UPDATE deliveries SET status = %s, sender = %s, run_id = %s, lease_until = %s
WHERE issue_id = %s AND recipient = %s;

-- name: others_claims
SELECT count(*) FROM deliveries
WHERE issue_id = %s AND status = %s AND run_id <> %s AND lease_until >= %s;

-- name: release_claims
UPDATE deliveries SET status = %s, lease_until = NULL
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
WHERE issue_id = %s AND status = %s AND attempts >= %s;

-- name: delivery_counts
SELECT status, count(*) FROM deliveries WHERE issue_id = %s GROUP BY status;

-- name: count_with_status
SELECT count(*) FROM deliveries WHERE issue_id = %s AND status = %s;

-- name: deliveries
SELECT issue_id, recipient, status, attempts, answer, message_id, updated_at, sender, run_id,
       lease_until
FROM deliveries WHERE issue_id = %s ORDER BY recipient;

-- name: counts_by_run
-- What each run last tried, counted by status (any issue: a run also finishes older ones).
SELECT run_id, status, count(*) FROM deliveries WHERE run_id = ANY(%s) GROUP BY run_id, status;

-- name: recipients_left
-- Pending readers by address, then the deferred ones.
SELECT recipient FROM deliveries WHERE issue_id = %s AND status IN (%s, %s)
ORDER BY status = %s, recipient;
