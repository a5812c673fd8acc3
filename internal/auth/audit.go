package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wardenauth/warden/internal/store"
)

// auditor writes audit events durably before the request that recorded them is
// answered: every acknowledged change has its event, even across a kill. Events that
// arrive together are written in one transaction (group commit), so the cost is one
// commit per batch, not per event.
type auditor struct {
	st   store.Store
	ch   chan auditOp
	done chan struct{}
	once sync.Once
	log  func(msg string, args ...any)
}

type auditOp struct {
	e       store.AuditEvent
	written chan error // nil for a flush marker's own events
	flush   bool
}

const (
	auditQueue = 4096
	auditBatch = 256
	// auditWait bounds how long a request waits for its event; past it the event is
	// still written, and the wait is logged.
	auditWait = 10 * time.Second
)

func newAuditor(st store.Store, log func(string, ...any)) *auditor {
	a := &auditor{st: st, ch: make(chan auditOp, auditQueue), done: make(chan struct{}), log: log}
	go a.run()
	return a
}

func (a *auditor) run() {
	defer close(a.done)
	for op := range a.ch {
		batch := []auditOp{op}
	drain:
		for len(batch) < auditBatch {
			select {
			case more, ok := <-a.ch:
				if !ok {
					break drain
				}
				batch = append(batch, more)
			default:
				break drain
			}
		}
		events := make([]store.AuditEvent, 0, len(batch))
		for _, op := range batch {
			if !op.flush {
				events = append(events, op.e)
			}
		}
		var err error
		if len(events) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err = a.st.AppendAudit(ctx, events)
			cancel()
			if err != nil {
				a.log("writing the audit log failed", "events", len(events), "err", err)
			}
		}
		for _, op := range batch {
			op.written <- err
		}
	}
}

// record writes e and returns once it is committed (or ctx ends).
func (a *auditor) record(ctx context.Context, e store.AuditEvent) error {
	return a.send(ctx, auditOp{e: e, written: make(chan error, 1)})
}

// flush returns once every event recorded before it is written.
func (a *auditor) flush(ctx context.Context) error {
	return a.send(ctx, auditOp{flush: true, written: make(chan error, 1)})
}

func (a *auditor) send(ctx context.Context, op auditOp) (err error) {
	defer func() {
		if recover() != nil { // the auditor was closed: the service is stopping
			err = errors.New("audit log closed")
		}
	}()
	select {
	case a.ch <- op:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-op.written:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *auditor) close() {
	a.once.Do(func() { close(a.ch) })
	<-a.done
}

// FlushAudit returns once every audit event recorded so far is in the store.
func (s *Service) FlushAudit(ctx context.Context) error { return s.audit.flush(ctx) }

// recordAudit records an event in the app's audit log, durably: it returns once the event is
// committed, so that a change acknowledged after it has its event even if the process
// is killed. A failure to write is logged; the change it describes has happened.
func (s *core) recordAudit(e store.AuditEvent) {
	if e.At.IsZero() {
		e.At = s.clock.Now()
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditWait)
	defer cancel()
	if err := s.audit.record(ctx, e); err != nil {
		s.log.Error("audit event not written", "app", e.AppID, "action", e.Action, "err", err)
	}
}

// AuditLog lists an app's audit events, newest first.
func (s *Operators) AuditLog(ctx context.Context, appID string, f store.AuditFilter) ([]store.AuditEvent, error) {
	app, err := s.app(appID)
	if err != nil {
		return nil, err
	}
	return s.store.ListAudit(ctx, app.ClientAppID, f)
}

// Close writes the audit events still queued. The Service must not be used after.
func (s *Service) Close() { s.audit.close() }
