-- Push registrations: the device tokens that the native SDKs' PushClient registers per
-- user, device and push service. Warden sends no pushes; it keeps them for the app (and
-- for operators), as App Services did, so that apps that register at start keep working.
CREATE TABLE push_registrations (
    app_id     TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    device_id  TEXT    NOT NULL,
    service    TEXT    NOT NULL,
    token      TEXT    NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id, device_id, service),
    FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id) ON DELETE CASCADE
);
