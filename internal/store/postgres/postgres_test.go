package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/wardenauth/warden/internal/store"
	"github.com/wardenauth/warden/internal/store/postgres"
	"github.com/wardenauth/warden/internal/store/postgres/pgtest"
	"github.com/wardenauth/warden/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// TestConformance runs the store suite, unchanged, on a real PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.Database(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestConcurrentMigrations starts several stores on one empty database at once, as
// several nodes starting together would.
func TestConcurrentMigrations(t *testing.T) {
	dsn := pgtest.Database(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
