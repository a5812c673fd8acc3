-- Browser OAuth logins in progress: the state Warden put into the provider's URL names
-- one row until the provider's callback takes it (once), or it expires.
CREATE TABLE oauth_states (
    id              TEXT    PRIMARY KEY,
    app_id          TEXT    NOT NULL,
    provider        TEXT    NOT NULL,
    client_state    TEXT    NOT NULL,
    redirect        TEXT    NOT NULL,
    callback        TEXT    NOT NULL,
    device          TEXT    NOT NULL DEFAULT '{}',
    link_session_id TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
