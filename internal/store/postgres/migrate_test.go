package postgres

import (
	"context"
	"database/sql"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/wardenauth/warden/internal/store/postgres/pgtest"
	"github.com/wardenauth/warden/internal/store/sqlstore"
)

// TestSearchMigrationKeysExistingEmailsAsGoDoes: identities written before the search's
// migration get the email key every later write gives (store.EmailKey), and text that
// PostgreSQL's jsonb refuses (an escaped NUL, which Go's JSON writes) does not stop it.
func TestSearchMigrationKeysExistingEmailsAsGoDoes(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	s := sqlstore.New(db, db, sqlstore.Dialect{Name: "postgres"})
	defer s.Close()
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	before := fstest.MapFS{}
	for _, f := range files {
		if f < "migrations/0007" {
			b, _ := fs.ReadFile(migrations, f)
			before[f] = &fstest.MapFile{Data: b}
		}
	}
	if err := s.Migrate(ctx, before); err != nil {
		t.Fatal(err)
	}
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
