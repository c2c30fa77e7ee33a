-- Subscribers: each address's unsubscribe token, and whether it unsubscribed.

-- name: tokens
SELECT email, token FROM subscribers WHERE email = ANY(%s);

-- name: add_token
INSERT INTO subscribers(email, token) VALUES (%s, %s) ON CONFLICT(email) DO NOTHING;

-- name: subscriber
SELECT email FROM subscribers WHERE email = %s OR token = %s;

-- name: add_unsubscribed
INSERT INTO subscribers(email, token, unsubscribed_at) VALUES (%s, %s, %s)
ON CONFLICT(email) DO UPDATE
SET unsubscribed_at = coalesce(subscribers.unsubscribed_at, excluded.unsubscribed_at);

-- name: mark_unsubscribed
UPDATE subscribers SET unsubscribed_at = coalesce(unsubscribed_at, %s) WHERE email = %s;

-- name: unsubscribed
SELECT email FROM subscribers WHERE unsubscribed_at IS NOT NULL;
