package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// conn is what queries run on: a transaction or a pool, with prepared statements.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// prepared returns the statement for query on db, or nil while it is not prepared yet:
// the first use starts its preparation in the background and runs unprepared. (Preparing
// inline could wait forever for the connection that the caller's own transaction holds:
// the SQLite writer pool has exactly one.) Queries without arguments (migrations,
// savepoints) are never prepared: a multi-statement text must run as a whole.
func (s *Store) prepared(db *sql.DB, query string) *sql.Stmt {
	k := stmtKey{db, query}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[k]; ok {
		return st // nil while its preparation is under way
	}
	if s.stmts == nil {
		s.stmts = map[stmtKey]*sql.Stmt{}
	}
	if s.closed {
		return nil
	}
	s.stmts[k] = nil
	s.preparing.Add(1)
	go func() {
		defer s.preparing.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := db.PrepareContext(ctx, query)
		s.stmtMu.Lock()
		defer s.stmtMu.Unlock()
		switch {
		case err != nil || s.closed:
			if st != nil {
				_ = st.Close()
			}
			delete(s.stmts, k) // try again on a later use
		default:
			s.stmts[k] = st
		}
	}()
	return nil
}

func (s *Store) closeStatements() {
	s.stmtMu.Lock()
	s.closed = true
	s.stmtMu.Unlock()
	s.preparing.Wait()
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	for _, st := range s.stmts {
		if st != nil {
			_ = st.Close()
		}
	}
	s.stmts = nil
}

// preparedTx runs a transaction's queries through prepared statements.
type preparedTx struct {
	tx *sql.Tx
	s  *Store
}

func (p preparedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if len(args) > 0 {
		if st := p.s.prepared(p.s.w, q); st != nil {
			return p.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		}
	}
	return p.tx.ExecContext(ctx, q, args...)
}

func (p preparedTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if len(args) > 0 {
		if st := p.s.prepared(p.s.w, q); st != nil {
			return p.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		}
	}
	return p.tx.QueryContext(ctx, q, args...)
}

func (p preparedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if len(args) > 0 {
		if st := p.s.prepared(p.s.w, q); st != nil {
			return p.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
		}
	}
	return p.tx.QueryRowContext(ctx, q, args...)
}

// preparedDB runs queries on a pool through prepared statements.
type preparedDB struct {
	db *sql.DB
	s  *Store
}

func (s *Store) reader() preparedDB { return preparedDB{s.r, s} }
func (s *Store) writer() preparedDB { return preparedDB{s.w, s} }

func (p preparedDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if len(args) == 0 {
		// fall through to the plain call below
	} else if st := p.s.prepared(p.db, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.db.ExecContext(ctx, q, args...)
}

func (p preparedDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if len(args) == 0 {
		// fall through to the plain call below
	} else if st := p.s.prepared(p.db, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, q, args...)
}

func (p preparedDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if len(args) == 0 {
		// fall through to the plain call below
	} else if st := p.s.prepared(p.db, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, q, args...)
}
