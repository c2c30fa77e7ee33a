-- Subscribers: each address's unsubscribe token, and whether it unsubscribed.

-- name: tokens
SELECT email, token FROM subscribers WHERE email IN (SELECT value FROM json_each(?));

-- name: add_token
INSERT INTO subscribers(email, token) VALUES (?, ?) ON CONFLICT(email) DO NOTHING;

-- name: subscriber
SELECT email FROM subscribers WHERE email = ? OR token = ?;

-- name: add_unsubscribed
INSERT INTO subscribers(email, token, unsubscribed_at) VALUES (?, ?, ?)
ON CONFLICT(email) DO UPDATE
SET unsubscribed_at = coalesce(subscribers.unsubscribed_at, excluded.unsubscribed_at);

-- name: mark_unsubscribed
UPDATE subscribers SET unsubscribed_at = coalesce(unsubscribed_at, ?) WHERE email = ?;

-- name: unsubscribed
SELECT email FROM subscribers WHERE unsubscribed_at IS NOT NULL;
