package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/wardenauth/warden/internal/store/sqlstore"
	"github.com/wardenauth/warden/internal/store/storetest"
)

// TestSearchMigrationKeysExistingEmailsAsGoDoes: see storetest.EmailKeysOfExistingIdentities.
func TestSearchMigrationKeysExistingEmailsAsGoDoes(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	s := sqlstore.New(db, db, sqlstore.Dialect{Name: "sqlite"})
	defer s.Close()
	if err := s.Migrate(ctx, storetest.MigrationsBefore(t, migrations, "0009")); err != nil {
		t.Fatal(err)
	}
	storetest.EmailKeysOfExistingIdentities(t, db, func() error { return s.Migrate(ctx, migrations) })
}
