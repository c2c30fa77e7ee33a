-- Subscribers: each address's token (the rest of a reader: readers.sql).

-- name: tokens
SELECT email, token FROM subscribers WHERE email IN (SELECT value FROM json_each(?));

-- name: add_token
INSERT INTO subscribers(email, token) VALUES (?, ?) ON CONFLICT(email) DO NOTHING;
