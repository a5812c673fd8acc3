package sqlstore

import (
	"context"
	"sync"
)

// Group commit: on an engine with one writer (SQLite), every commit waits for its own
// fsync. Logins that arrive together are run by one writer goroutine in one transaction
// instead, each inside its own savepoint (a failing login rolls back alone), and all are
// answered after the one durable commit. Nothing is acknowledged before it is committed.

const maxBatch = 128

type batchOp struct {
	fn   func(conn) error
	done chan error
}

type batcher struct {
	ops  chan *batchOp
	wg   sync.WaitGroup
	once sync.Once
}

// EnableBatching starts the group-commit writer. Call it once, before use.
func (s *Store) EnableBatching() {
	s.batch = &batcher{ops: make(chan *batchOp, 4*maxBatch)}
	s.batch.wg.Add(1)
	go s.runBatches()
}

func (s *Store) stopBatching() {
	if s.batch == nil {
		return
	}
	s.batch.once.Do(func() { close(s.batch.ops) })
	s.batch.wg.Wait()
}

// batched runs fn in a shared transaction when batching is on, else in its own (with
// retries on lost unique races).
func (s *Store) batched(ctx context.Context, fn func(conn) error) error {
	if s.batch == nil {
		return s.retry(ctx, fn)
	}
	op := &batchOp{fn: fn, done: make(chan error, 1)}
	select {
	case s.batch.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the op may be committed.
	return <-op.done
}

func (s *Store) runBatches() {
	defer s.batch.wg.Done()
	for op := range s.batch.ops {
		ops := []*batchOp{op}
	drain:
		for len(ops) < maxBatch {
			select {
			case o, ok := <-s.batch.ops:
				if !ok {
					break drain
				}
				ops = append(ops, o)
			default:
				break drain
			}
		}
		s.runBatch(ops)
	}
}

func (s *Store) runBatch(ops []*batchOp) {
	ctx := context.Background()
	fail := func(err error) {
		for _, op := range ops {
			op.done <- err
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	errs := make([]error, len(ops))
	for i, op := range ops {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			_ = tx.Rollback()
			fail(err)
			return
		}
		if errs[i] = op.fn(preparedTx{tx: tx, s: s}); errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT op"); err != nil {
				_ = tx.Rollback()
				fail(err)
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT op"); err != nil {
			_ = tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	for i, op := range ops {
		op.done <- errs[i]
	}
}
