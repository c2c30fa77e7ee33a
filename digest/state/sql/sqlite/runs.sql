-- Runs: one row a `digest run`; `slot` is the scheduled slot it served.

-- name: insert_run
INSERT INTO runs(started_at, slot, status, sender, message) VALUES (?, ?, ?, ?, ?) RETURNING id;

-- name: slot_owner
-- The run that counts for a slot: not one that failed or was killed before freezing an issue
-- (nothing was sent then, so the slot may run again).
SELECT r.id, r.status FROM runs r
WHERE r.slot = ?
  AND NOT (r.status IN (?, ?) AND NOT EXISTS (SELECT 1 FROM issues i WHERE i.run_id = r.id));

-- name: release_slot
UPDATE runs SET slot = NULL,
    message = coalesce(message || '; ', '') || 'slot ' || slot || ' released for a new run'
WHERE slot = ?;

-- name: finish_run
UPDATE runs SET finished_at = ?, status = ?, chosen = ?, sent = ?, failed = ?, message = ?
WHERE id = ?;

-- name: runs_with_status
SELECT id FROM runs WHERE status = ?;

-- name: release_claims_of_runs
UPDATE deliveries SET status = CASE WHEN attempts > 0 THEN ? ELSE ? END,
    sender = NULL, lease_until = NULL
WHERE status = ? AND run_id IN (SELECT value FROM json_each(?));

-- name: mark_runs
UPDATE runs SET status = ?, finished_at = ?
WHERE status = ? AND id IN (SELECT value FROM json_each(?));

-- name: recorded_slots
SELECT slot FROM runs WHERE slot IS NOT NULL;

-- name: runs
SELECT id, started_at, finished_at, slot, status, chosen, sent, failed, message, sender
FROM runs ORDER BY id DESC LIMIT ?;

-- name: run
SELECT id, started_at, finished_at, slot, status, chosen, sent, failed, message, sender
FROM runs WHERE id = ?;

-- name: clock_seconds
-- The database's clock, in seconds since 1970 (senders on several machines share it).
SELECT (julianday('now') - 2440587.5) * 86400.0;
