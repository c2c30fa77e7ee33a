-- Readers (digest/state/readers.py): statuses, consent, bounces. A reader gets mail while
-- `active`, or `paused` with a pause that has ended.

-- name: reader
SELECT email, token, status, name, source, created_at, updated_at, consent_at, consent_ip, confirmed_at, paused_until, unsubscribed_at, reason
FROM subscribers WHERE email = ?;

-- name: reader_by_token
SELECT email, token, status, name, source, created_at, updated_at, consent_at, consent_ip, confirmed_at, paused_until, unsubscribed_at, reason
FROM subscribers WHERE token = ?;

-- name: all_readers
SELECT email, token, status, name, source, created_at, updated_at, consent_at, consent_ip, confirmed_at, paused_until, unsubscribed_at, reason
FROM subscribers ORDER BY email;

-- name: readers_with_status
SELECT email, token, status, name, source, created_at, updated_at, consent_at, consent_ip, confirmed_at, paused_until, unsubscribed_at, reason
FROM subscribers WHERE status = ? ORDER BY email;

-- name: sendable_readers
SELECT email, token, status, name, source, created_at, updated_at, consent_at, consent_ip, confirmed_at, paused_until, unsubscribed_at, reason
FROM subscribers
WHERE status = 'active' OR (status = 'paused' AND paused_until IS NOT NULL AND paused_until <= ?)
ORDER BY created_at, email;

-- name: blocked_readers
SELECT email FROM subscribers
WHERE NOT (status = 'active' OR (status = 'paused' AND paused_until IS NOT NULL AND paused_until <= ?));

-- name: blocked_among
SELECT email FROM subscribers
WHERE email IN (SELECT value FROM json_each(?))
AND NOT (status = 'active' OR (status = 'paused' AND paused_until IS NOT NULL AND paused_until <= ?));

-- name: reader_names
SELECT email, name FROM subscribers WHERE email IN (SELECT value FROM json_each(?)) AND name IS NOT NULL;

-- name: count_readers
SELECT count(*) FROM subscribers;

-- name: add_reader
INSERT INTO subscribers(email, token, name, status, source, created_at, updated_at, consent_at, consent_ip)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(email) DO NOTHING;

-- name: reactivate_reader
UPDATE subscribers SET status = 'active', name = coalesce(?, name), paused_until = NULL,
    reason = NULL, updated_at = ?
WHERE email = ?;

-- name: sign_up
-- A new address pending, or a known one pending again (consent taken anew, the token kept);
-- an address already reading is left as it is (no row changed). One statement both ways.
INSERT INTO subscribers(email, token, name, status, source, created_at, updated_at, consent_at, consent_ip)
VALUES (?, ?, ?, 'pending', 'web', ?, ?, ?, ?)
ON CONFLICT(email) DO UPDATE SET status = 'pending', name = coalesce(excluded.name, subscribers.name),
    consent_at = excluded.consent_at, consent_ip = excluded.consent_ip, confirmed_at = NULL,
    updated_at = excluded.updated_at
WHERE subscribers.status NOT IN ('active', 'paused');

-- name: confirm_reader
UPDATE subscribers SET status = 'active', confirmed_at = ?, unsubscribed_at = NULL,
    source = coalesce(source, 'web'), reason = NULL, updated_at = ?
WHERE token = ? AND status = 'pending';

-- name: set_reader_status
-- unsubscribed_at: kept from the first time for unsubscribed and complained, else cleared
UPDATE subscribers SET status = ?, reason = ?, paused_until = ?, updated_at = ?,
    unsubscribed_at = CASE WHEN ? THEN coalesce(unsubscribed_at, ?) ELSE NULL END
WHERE email = ?;

-- name: rename_reader
UPDATE subscribers SET name = ?, updated_at = ? WHERE email = ?;

-- name: remove_reader
DELETE FROM subscribers WHERE email = ?;

-- name: add_bounce
INSERT INTO bounce_events(email, kind, at, detail) VALUES (?, ?, ?, ?);

-- name: soft_bounces_since
SELECT count(*) FROM bounce_events WHERE email = ? AND kind = 'soft' AND at >= ?;

-- name: bounce_message_seen
SELECT 1 FROM bounce_messages WHERE key = ?;

-- name: mark_bounce_message
INSERT INTO bounce_messages(key, read_at) VALUES (?, ?) ON CONFLICT(key) DO NOTHING;
