-- A browser OAuth login is bound to the browser that started it: the SHA-256 of a
-- secret cookie set there, checked when the provider sends the browser back.
ALTER TABLE oauth_states ADD COLUMN browser_binding TEXT NOT NULL DEFAULT '';
