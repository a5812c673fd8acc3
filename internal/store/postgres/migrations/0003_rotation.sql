-- Rotating refresh tokens (for clients that opt in): the previous token's hash stays
-- valid for a short grace window after a rotation, for a response that was lost.
ALTER TABLE sessions ADD COLUMN prev_token_hash BYTEA;
ALTER TABLE sessions ADD COLUMN rotated_at BIGINT NOT NULL DEFAULT 0;
