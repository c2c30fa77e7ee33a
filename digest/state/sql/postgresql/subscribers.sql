-- Subscribers: each address's token (the rest of a reader: readers.sql).

-- name: tokens
SELECT email, token FROM subscribers WHERE email = ANY(%s);

-- name: add_token
INSERT INTO subscribers(email, token) VALUES (%s, %s) ON CONFLICT(email) DO NOTHING;
