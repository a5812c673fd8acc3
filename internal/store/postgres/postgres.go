// Package postgres is the store for several Warden nodes: one PostgreSQL database shared
// by every node (the queries are in store/sqlstore, the migrations here). Every node
// reads sessions, users and keys from the database on each request, so a revocation,
// a disabled or deleted user and a deleted API key take effect on all nodes at once.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
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
		Unavailable:       unavailable,
		LockMigrations:    `SELECT pg_advisory_xact_lock(7349201)`,
		ForShare:          ` FOR SHARE`,
		ForUpdate:         ` FOR NO KEY UPDATE`,
		Plan:              plan,
	})
	if err := s.Migrate(ctx, migrations); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// unavailable matches the errors of a PostgreSQL server that cannot be reached or is
// shutting down or starting up: a refused or lost connection, SQLSTATE class 08
// (connection exception) and 57P01-57P03 (shutdown, crash shutdown, cannot connect now).
func unavailable(err error) (string, bool) {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		if strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03" {
			return "the database server is unavailable (" + pg.Code + ")", true
		}
		return "", false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed") {
		return "the database server cannot be reached", true
	}
	return "", false
}

func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

// plan is PostgreSQL's generic plan of query (the one a prepared statement gets whatever
// its arguments), one line per node.
func plan(ctx context.Context, db *sql.DB, query string, nargs int) (string, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "RESET plan_cache_mode") //nolint:errcheck // the connection goes back to the pool either way
	if _, err := conn.ExecContext(ctx, "PREPARE warden_plan AS "+query); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DEALLOCATE warden_plan") //nolint:errcheck // as above
	args := strings.TrimSuffix(strings.Repeat("NULL, ", nargs), ", ")
	explain := "EXPLAIN EXECUTE warden_plan"
	if nargs > 0 {
		explain += "(" + args + ")"
	}
	rows, err := conn.QueryContext(ctx, explain)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), rows.Err()
}
