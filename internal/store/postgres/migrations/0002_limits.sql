-- Rate-limit counters (fixed windows, shared by everything using this database) and the
-- failed password logins of each account key, for progressive lockout.
CREATE TABLE rate_counters (
    key          TEXT    PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX rate_counters_by_expiry ON rate_counters (expires_at);

CREATE TABLE login_failures (
    app_id       TEXT    NOT NULL,
    account_key  TEXT    NOT NULL,
    failures     BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    PRIMARY KEY (app_id, account_key)
);
