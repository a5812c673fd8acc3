-- User and server API keys. key_hash is SHA-256 of the key (64 random characters).
CREATE TABLE api_keys (
    app_id     TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    key_hash   BLOB    NOT NULL UNIQUE,
    disabled   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, id),
    UNIQUE (app_id, user_id, name),
    FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id) ON DELETE CASCADE
);
CREATE INDEX api_keys_by_user ON api_keys (app_id, user_id, created_at);
CREATE INDEX sessions_by_identity ON sessions (app_id, provider_type, identity_id);
