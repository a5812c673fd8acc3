-- Rotating refresh tokens (for clients that opt in): the previous token's hash stays
-- valid for a short grace window after a rotation, for a response that was lost.
ALTER TABLE sessions ADD COLUMN prev_token_hash BLOB;
ALTER TABLE sessions ADD COLUMN rotated_at INTEGER NOT NULL DEFAULT 0;
