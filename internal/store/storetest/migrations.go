package storetest

import (
	"context"
	"database/sql"
	"io/fs"
	"testing"
	"testing/fstest"
)

// MigrationsBefore is the migrations of all whose file names sort before
// "migrations/"+first: the schema as an older version left it.
func MigrationsBefore(t *testing.T, all fs.FS, first string) fs.FS {
	t.Helper()
	files, err := fs.Glob(all, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	before := fstest.MapFS{}
	for _, f := range files {
		if f < "migrations/"+first {
			b, err := fs.ReadFile(all, f)
			if err != nil {
				t.Fatal(err)
			}
			before[f] = &fstest.MapFile{Data: b}
		}
	}
	return before
}

// EmailKeysOfExistingIdentities checks the search's migration on an engine: db holds the
// schema from before it, and migrate runs the rest. Identities written before it get the
// email key every later write gives (store.EmailKey: trimmed, lower case beyond ASCII);
// data with no email, an empty one, or text some engines' JSON refuses (an escaped NUL,
// which Go's JSON writes) gets none and does not stop it.
func EmailKeysOfExistingIdentities(t *testing.T, db *sql.DB, migrate func() error) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO users (app_id, id, type, created_at, last_login_at) VALUES ('a', 'u1', 'normal', 1, 1)`,
		`INSERT INTO identities (app_id, provider_type, id, user_id, provider_id, data, position, created_at) VALUES
			('a', 'oauth2-google', 'g1', 'u1', 'google', '{"email":" Émile.Zola@Example.FR ","name":"É"}', 0, 1),
			('a', 'custom-token', 'c1', 'u1', 'jwt', '{"name":"a \u0000 in a name","email":""}', 1, 1),
			('a', 'anon-user', 'x1', 'u1', 'anon', '{}', 2, 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate(); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]any{"g1": "émile.zola@example.fr", "c1": nil, "x1": nil} {
		var got any
		if err := db.QueryRowContext(ctx, `SELECT email_key FROM identities WHERE id = $1`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: email_key %v, want %v", id, got, want)
		}
	}
}
