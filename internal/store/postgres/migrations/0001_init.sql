-- Users, identities, devices, sessions, email/password accounts and their tokens,
-- API keys and OAuth states. Times are Unix milliseconds, as in the SQLite store.

CREATE TABLE users (
    app_id        TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    last_login_at BIGINT  NOT NULL,
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
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (app_id, provider_type, id),
    FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id) ON DELETE CASCADE
);
CREATE INDEX identities_by_user ON identities (app_id, user_id, position);

CREATE TABLE devices (
    app_id             TEXT   NOT NULL,
    id                 TEXT   NOT NULL,
    platform           TEXT   NOT NULL DEFAULT '',
    platform_version   TEXT   NOT NULL DEFAULT '',
    sdk_version        TEXT   NOT NULL DEFAULT '',
    client_app_name    TEXT   NOT NULL DEFAULT '',
    client_app_version TEXT   NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    last_seen_at       BIGINT NOT NULL,
    PRIMARY KEY (app_id, id)
);

CREATE TABLE sessions (
    app_id        TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    token_hash    BYTEA  NOT NULL UNIQUE,
    user_id       TEXT   NOT NULL,
    device_id     TEXT   NOT NULL,
    provider_type TEXT   NOT NULL,
    identity_id   TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, id),
    FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_by_user ON sessions (app_id, user_id);
CREATE INDEX sessions_by_identity ON sessions (app_id, provider_type, identity_id);

CREATE TABLE accounts (
    app_id        TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    email         TEXT   NOT NULL,
    email_key     TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (app_id, id),
    UNIQUE (app_id, email_key)
);

CREATE TABLE account_tokens (
    app_id     TEXT   NOT NULL,
    token_id   TEXT   NOT NULL,
    hash       BYTEA  NOT NULL,
    account_id TEXT   NOT NULL,
    purpose    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, token_id),
    FOREIGN KEY (app_id, account_id) REFERENCES accounts (app_id, id) ON DELETE CASCADE
);
CREATE INDEX account_tokens_by_account ON account_tokens (app_id, account_id, purpose);

CREATE TABLE api_keys (
    app_id     TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    key_hash   BYTEA   NOT NULL UNIQUE,
    disabled   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (app_id, id),
    UNIQUE (app_id, user_id, name),
    FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id) ON DELETE CASCADE
);
CREATE INDEX api_keys_by_user ON api_keys (app_id, user_id, created_at);

CREATE TABLE oauth_states (
    id              TEXT   PRIMARY KEY,
    app_id          TEXT   NOT NULL,
    provider        TEXT   NOT NULL,
    client_state    TEXT   NOT NULL,
    redirect        TEXT   NOT NULL,
    callback        TEXT   NOT NULL,
    device          TEXT   NOT NULL DEFAULT '{}',
    link_session_id TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
