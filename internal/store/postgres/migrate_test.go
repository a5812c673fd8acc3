package postgres

import (
	"context"
	"database/sql"
	"testing"

	"github.com/wardenauth/warden/internal/store/postgres/pgtest"
	"github.com/wardenauth/warden/internal/store/sqlstore"
	"github.com/wardenauth/warden/internal/store/storetest"
)

// TestSearchMigrationKeysExistingEmailsAsGoDoes: see storetest.EmailKeysOfExistingIdentities
// (jsonb refuses the escaped NUL that the check's data holds).
func TestSearchMigrationKeysExistingEmailsAsGoDoes(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	s := sqlstore.New(db, db, sqlstore.Dialect{Name: "postgres"})
	defer s.Close()
	if err := s.Migrate(ctx, storetest.MigrationsBefore(t, migrations, "0007")); err != nil {
		t.Fatal(err)
	}
	storetest.EmailKeysOfExistingIdentities(t, db, func() error { return s.Migrate(ctx, migrations) })
}
