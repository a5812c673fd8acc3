package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/wardenauth/warden/internal/store/sqlstore"
)

// migrationsBefore is the migrations older than version first (a file name prefix).
func migrationsBefore(t *testing.T, all fs.FS, first string) fs.FS {
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

// TestSearchMigrationKeysExistingEmailsAsGoDoes: identities written before the search's
// migration get the email key every later write gives (store.EmailKey: trimmed, lower
// case beyond ASCII), so the operators find them as they find new ones.
func TestSearchMigrationKeysExistingEmailsAsGoDoes(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	s := sqlstore.New(db, db, sqlstore.Dialect{Name: "sqlite"})
	defer s.Close()
	if err := s.Migrate(ctx, migrationsBefore(t, migrations, "0009")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO users (app_id, id, type, created_at, last_login_at) VALUES ('a', 'u1', 'normal', 1, 1)`,
		`INSERT INTO identities (app_id, provider_type, id, user_id, provider_id, data, position, created_at) VALUES
			('a', 'oauth2-google', 'g1', 'u1', 'google', '{"email":" Émile.Zola@Example.FR ","name":"É"}', 0, 1),
			('a', 'custom-token', 'c1', 'u1', 'jwt', '{"name":"no \u0000 email here","email":""}', 1, 1),
			('a', 'anon-user', 'x1', 'u1', 'anon', '{}', 2, 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx, migrations); err != nil {
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
