// Package postgres is the store for several Warden nodes: one PostgreSQL database shared
// by every node (the queries are in store/sqlstore, the migrations here). Every node
// reads sessions, users and keys from the database on each request, so a revocation,
// a disabled or deleted user and a deleted API key take effect on all nodes at once.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/wardenauth/warden/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune the connection pool.
type Options struct {
	// MaxConns bounds the pool (default 20).
	MaxConns int
}

// Open connects to the database at dsn (postgres://...) and migrates it. Several nodes
// may start at once: migrations take an advisory lock.
func Open(ctx context.Context, dsn string, opts Options) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 20
	}
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	s := sqlstore.New(db, db, sqlstore.Dialect{
		Name:              "postgres",
		IsUniqueViolation: isUniqueViolation,
		LockMigrations:    `SELECT pg_advisory_xact_lock(7349201)`,
		ForShare:          ` FOR SHARE`,
		ForUpdate:         ` FOR NO KEY UPDATE`,
	})
	if err := s.Migrate(ctx, migrations); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}
