-- Runs: one row a `digest run`; `slot` is the scheduled slot it served.

-- name: insert_run
INSERT INTO runs(started_at, slot, status, sender, message) VALUES (%s, %s, %s, %s, %s) RETURNING id;

-- name: slot_owner
-- The run that counts for a slot: not one that failed or was killed before freezing an issue
-- (nothing was sent then, so the slot may run again).
SELECT r.id, r.status FROM runs r
WHERE r.slot = %s
  AND NOT (r.status IN (%s, %s) AND NOT EXISTS (SELECT 1 FROM issues i WHERE i.run_id = r.id));

-- name: release_slot
UPDATE runs SET slot = NULL,
    message = coalesce(message || '; ', '') || 'slot ' || slot || ' released for a new run'
WHERE slot = %s;

-- name: finish_run
UPDATE runs SET finished_at = %s, status = %s, chosen = %s, sent = %s, failed = %s, message = %s
WHERE id = %s;

-- name: runs_with_status
SELECT id FROM runs WHERE status = %s;

-- name: release_claims_of_runs
UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN %s ELSE %s END,
    sender = NULL, lease_until = NULL
WHERE status = %s AND run_id = ANY(%s);

-- name: mark_runs
UPDATE runs SET status = %s, finished_at = %s
WHERE status = %s AND id = ANY(%s);

-- name: recorded_slots
SELECT slot FROM runs WHERE slot IS NOT NULL;

-- name: runs
SELECT id, started_at, finished_at, slot, status, chosen, sent, failed, message, sender
FROM runs ORDER BY id DESC LIMIT %s;

-- name: run
SELECT id, started_at, finished_at, slot, status, chosen, sent, failed, message, sender
FROM runs WHERE id = %s;

-- name: clock_seconds
-- The database's clock, in seconds since 1970 (senders on several machines share it).
SELECT extract(epoch FROM clock_timestamp());
