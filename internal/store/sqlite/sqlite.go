// Package sqlite is the embedded default store: one SQLite file in WAL mode with
// durable commits (synchronous=FULL), versioned migrations embedded in the binary, and
// every multi-row change in one transaction (the queries are in store/sqlstore).
//
// Writes go through a single connection (SQLite has one writer at a time, and one
// connection avoids lock upgrades between connections of this process); reads use a pool.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/wardenauth/warden/internal/store/sqlstore"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune the store.
type Options struct {
	// Synchronous is SQLite's synchronous setting: "FULL" (default, durable against power
	// loss) or "NORMAL" (durable against process crashes only, faster).
	Synchronous string
}

// ownerOnly creates the file at path with mode 0600 if it does not exist, and sets an
// existing one (and its -wal and -shm files) to 0600.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: %s: %w", p, err)
		}
	}
	return nil
}

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string, opts Options) (*sqlstore.Store, error) {
	sync := strings.ToUpper(opts.Synchronous)
	if sync == "" {
		sync = "FULL"
	}
	if sync != "FULL" && sync != "NORMAL" {
		return nil, fmt.Errorf("sqlite: synchronous must be FULL or NORMAL, not %q", opts.Synchronous)
	}
	// The database holds password hashes and session secrets: it is the owner's alone,
	// whatever the directory's or the umask's mode. SQLite gives its -wal and -shm files
	// the database file's mode.
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	base := "file:" + path + "?" + q.Encode()

	// The writer keeps its temporary files in memory: above all the statement journal of
	// the savepoint each operation of a group commit runs in, which SQLite otherwise
	// writes page by page to a file (a profile of anonymous logins spent a quarter of its
	// time in those writes). It holds only the pages one operation changes, and the
	// database's durability does not depend on it. Readers, whose sorts can be large (an
	// export), keep theirs on disk.
	w, err := sql.Open("sqlite", base+"&_txlock=immediate&_pragma=temp_store(memory)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, 2*runtime.NumCPU()))
	r.SetMaxIdleConns(max(4, 2*runtime.NumCPU()))
	s := sqlstore.New(w, r, sqlstore.Dialect{Name: "sqlite", IsUniqueViolation: isUniqueViolation, Unavailable: unavailable, Plan: plan})
	// Migrations build indexes over whole tables: their sorts may spill to disk. (The
	// writer has one connection; one made anew later gets the memory setting again.)
	if _, err := w.ExecContext(ctx, "PRAGMA temp_store = DEFAULT"); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := s.Migrate(ctx, migrations); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := w.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.EnableBatching()
	return s, nil
}

// unavailable matches the errors of a database that cannot be written now: a full disk
// (SQLITE_FULL), an I/O error, a read-only file.
func unavailable(err error) (string, bool) {
	var coded interface{ Code() int }
	if !errors.As(err, &coded) {
		return "", false
	}
	switch coded.Code() & 0xff {
	case 13: // SQLITE_FULL
		return "the disk is full", true
	case 10: // SQLITE_IOERR
		return "disk I/O error", true
	case 8: // SQLITE_READONLY
		return "the database file is read-only", true
	}
	return "", false
}

// isUniqueViolation matches SQLite's constraint errors (SQLITE_CONSTRAINT_UNIQUE and
// _PRIMARYKEY), which a single writer never meets from a race, only from a real clash.
func isUniqueViolation(err error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code() == 2067 || coded.Code() == 1555
	}
	return false
}

// plan is SQLite's EXPLAIN QUERY PLAN of query, one step per line.
func plan(ctx context.Context, db *sql.DB, query string, nargs int) (string, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, make([]any, nargs)...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		steps = append(steps, detail)
	}
	return strings.Join(steps, "\n"), rows.Err()
}
