-- Rate-limit counters (fixed windows, shared by everything using this database) and the
-- failed password logins of each account key, for progressive lockout.
CREATE TABLE rate_counters (
    key          TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX rate_counters_by_expiry ON rate_counters (expires_at);

CREATE TABLE login_failures (
    app_id       TEXT    NOT NULL,
    account_key  TEXT    NOT NULL,
    failures     INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    PRIMARY KEY (app_id, account_key)
);
