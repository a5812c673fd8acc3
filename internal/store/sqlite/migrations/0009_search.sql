-- The operators' search, and their list of server keys, without reading every user: an
-- identity's email, lower-cased, in an index for prefix search (only identities that
-- have one; the rows there are get theirs from Go, as store.EmailKey makes it), identities
-- by id, and the server users (a few among many).
ALTER TABLE identities ADD COLUMN email_key TEXT;
CREATE INDEX identities_by_email ON identities (app_id, email_key) WHERE email_key IS NOT NULL;
CREATE INDEX identities_by_id ON identities (app_id, id);
CREATE INDEX users_servers ON users (app_id, id) WHERE type = 'server';
