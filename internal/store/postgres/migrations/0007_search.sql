-- The operators' search, and their list of server keys, without reading every user: an
-- identity's email, lower-cased, in an index for prefix search (only identities that
-- have one; byte order, so that a prefix is a range whatever the database's collation),
-- identities by id, and the server users (a few among many).
ALTER TABLE identities ADD COLUMN email_key TEXT COLLATE "C";
UPDATE identities SET email_key = lower(data::jsonb->>'email') WHERE jsonb_typeof(data::jsonb->'email') = 'string';
CREATE INDEX identities_by_email ON identities (app_id, email_key) WHERE email_key IS NOT NULL;
CREATE INDEX identities_by_id ON identities (app_id, id);
CREATE INDEX users_servers ON users (app_id, id) WHERE type = 'server';
