package postgres_test

import (
	"context"
	"os"
	"strings"
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

// TestPlansOfTheOperatorsQueries asks PostgreSQL for the generic plan of every statement
// a search, a listing page and the server keys' list run (the benchmark prints them for a
// million users), and checks that the search's finds its users through the indexes.
func TestPlansOfTheOperatorsQueries(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.Database(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []store.UserQuery{{Search: "ann@"}, {Limit: 50, Offset: 100}} {
		if _, _, err := s.ListUsers(ctx, "app", q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ListServerAPIKeys(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	stmts := s.Statements()
	if len(stmts) < 5 {
		t.Fatalf("%d statements: %q", len(stmts), stmts)
	}
	for _, q := range stmts {
		p, err := s.Plan(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if strings.Contains(q, "email_key >=") && (!strings.Contains(p, "identities_by_email") || !strings.Contains(p, "identities_by_id")) {
			t.Errorf("the search does not use its indexes:\n%s\nplan:\n%s", q, p)
		}
	}
}
