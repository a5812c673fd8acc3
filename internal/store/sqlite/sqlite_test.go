package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wardenauth/warden/internal/store"
	"github.com/wardenauth/warden/internal/store/sqlite"
	"github.com/wardenauth/warden/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "warden.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestReopenKeepsData checks that committed rows survive closing and reopening the file,
// and that migrating an already migrated database changes nothing.
func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "warden.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	acct := store.Account{AppID: "a", ID: "acct", Email: "x@y.z", PasswordHash: "h", Status: store.AccountConfirmed}
	if err := s.CreateAccount(ctx, acct, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetAccountByEmail(ctx, "a", "x@y.z")
	if err != nil || got.ID != "acct" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

func TestOpenRejectsUnknownSynchronous(t *testing.T) {
	_, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), sqlite.Options{Synchronous: "OFF"})
	if err == nil {
		t.Fatal("synchronous=OFF accepted: commits would not be durable")
	}
}

// TestDatabaseFilesAreOwnerOnly: the database (password hashes, session secrets) and its
// WAL are 0600 in a 0755 directory, new or already there with a looser mode.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "old.db")
	if err := os.WriteFile(existing, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "new.db"), existing} {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal"} {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if mode := st.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s: mode %o, want 600", filepath.Base(p), mode)
			}
		}
		s.Close()
	}
}
