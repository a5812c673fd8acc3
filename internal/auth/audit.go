package auth

import (
	"context"
	"sync"
	"time"

	"github.com/wardenauth/warden/internal/store"
)

// auditor writes audit events in the background, in batches, so that recording a login
// never slows it down. Events still queued when the process is killed are lost (at most
// a tenth of a second's worth); a graceful stop flushes them.
type auditor struct {
	st      store.Store
	ch      chan store.AuditEvent
	flushes chan chan struct{}
	done    chan struct{}
	once    sync.Once
	log     func(msg string, args ...any)
}

const auditQueue = 4096

func newAuditor(st store.Store, log func(string, ...any)) *auditor {
	a := &auditor{st: st, ch: make(chan store.AuditEvent, auditQueue), flushes: make(chan chan struct{}), done: make(chan struct{}), log: log}
	go a.run()
	return a
}

func (a *auditor) run() {
	defer close(a.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var batch []store.AuditEvent
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.st.AppendAudit(ctx, batch); err != nil {
			a.log("writing the audit log failed", "events", len(batch), "err", err)
		}
		cancel()
		batch = batch[:0]
	}
	for {
		select {
		case e, ok := <-a.ch:
			if !ok {
				flush()
				return
			}
			batch = append(batch, e)
			if len(batch) >= 256 {
				flush()
			}
		case <-tick.C:
			flush()
		case written := <-a.flushes:
			for drained := false; !drained; {
				select {
				case e, ok := <-a.ch:
					if !ok {
						drained = true
						break
					}
					batch = append(batch, e)
				default:
					drained = true
				}
			}
			flush()
			close(written)
		}
	}
}

// flush writes every event queued before it was called, and returns once they are in
// the store (or ctx ends, or the auditor has stopped).
func (a *auditor) flush(ctx context.Context) error {
	written := make(chan struct{})
	select {
	case a.flushes <- written:
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-written:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *auditor) add(e store.AuditEvent) {
	select {
	case a.ch <- e:
	default:
		a.log("audit queue full: event dropped", "action", e.Action)
	}
}

func (a *auditor) close() {
	a.once.Do(func() { close(a.ch) })
	<-a.done
}

// FlushAudit writes every audit event recorded so far to the store before it returns (for
// tests and for readers that must see their own events).
func (s *Service) FlushAudit(ctx context.Context) error { return s.audit.flush(ctx) }

// Audit records an event in the app's audit log.
func (s *Service) Audit(e store.AuditEvent) {
	if e.At.IsZero() {
		e.At = s.clock.Now()
	}
	s.audit.add(e)
}

// AuditLog lists an app's audit events, newest first. Events of the last tenth of a
// second may still be on their way.
func (s *Service) AuditLog(ctx context.Context, appID string, f store.AuditFilter) ([]store.AuditEvent, error) {
	app, err := s.App(appID)
	if err != nil {
		return nil, err
	}
	return s.store.ListAudit(ctx, app.ClientAppID, f)
}

// Close writes the audit events still queued. The Service must not be used after.
func (s *Service) Close() { s.audit.close() }
