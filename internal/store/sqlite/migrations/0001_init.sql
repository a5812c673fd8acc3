-- Users, identities, devices, sessions, email/password accounts and their tokens.
-- Times are Unix milliseconds. Every row belongs to one app (app_id = client app id).

CREATE TABLE users (
    app_id        TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
);

CREATE TABLE identities (
    app_id        TEXT    NOT NULL,
    provider_type TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    provider_id   TEXT    NOT NULL,
    data          TEXT    NOT NULL DEFAULT '{}',
    position      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (app_id, provider_type, id),
    FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id) ON DELETE CASCADE
);
CREATE INDEX identities_by_user ON identities (app_id, user_id, position);

CREATE TABLE devices (
    app_id             TEXT    NOT NULL,
    id                 TEXT    NOT NULL,
    platform           TEXT    NOT NULL DEFAULT '',
    platform_version   TEXT    NOT NULL DEFAULT '',
    sdk_version        TEXT    NOT NULL DEFAULT '',
    client_app_name    TEXT    NOT NULL DEFAULT '',
    client_app_version TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    last_seen_at       INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
);

CREATE TABLE sessions (
    app_id        TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    token_hash    BLOB    NOT NULL UNIQUE,
    user_id       TEXT    NOT NULL,
    device_id     TEXT    NOT NULL,
    provider_type TEXT    NOT NULL,
    identity_id   TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, id),
    FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_by_user ON sessions (app_id, user_id);

CREATE TABLE accounts (
    app_id        TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    email_key     TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (app_id, id),
    UNIQUE (app_id, email_key)
);

CREATE TABLE account_tokens (
    app_id     TEXT    NOT NULL,
    token_id   TEXT    NOT NULL,
    hash       BLOB    NOT NULL,
    account_id TEXT    NOT NULL,
    purpose    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, token_id),
    FOREIGN KEY (app_id, account_id) REFERENCES accounts (app_id, id) ON DELETE CASCADE
);
CREATE INDEX account_tokens_by_account ON account_tokens (app_id, account_id, purpose);
