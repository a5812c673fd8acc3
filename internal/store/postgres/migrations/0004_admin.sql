-- Operators: admin API keys (server-wide) and the audit log of admin actions and
-- security-relevant auth events.
CREATE TABLE admin_keys (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    hash       BYTEA    NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    seq     BIGSERIAL PRIMARY KEY,
    app_id  TEXT    NOT NULL,
    at      BIGINT NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL DEFAULT '',
    outcome TEXT    NOT NULL DEFAULT '',
    detail  TEXT    NOT NULL DEFAULT '',
    ip      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_by_app ON audit_events (app_id, seq);
CREATE INDEX users_by_created ON users (app_id, created_at);
CREATE INDEX users_by_last_login ON users (app_id, last_login_at);
