package auth

import (
	"context"
	"fmt"
	"time"
)

// anonymousCleanupBatch bounds one delete statement, so that a large backlog is removed
// in short transactions that never hold the database for long.
const anonymousCleanupBatch = 500

// Maintain does the periodic housekeeping: it deletes anonymous users that have not
// logged in or refreshed for anonAfter (0: never), and removes expired rate counters and
// OAuth states. Every step is a single statement on the shared database, so several
// nodes may run it at the same time.
func (s *Operators) Maintain(ctx context.Context, anonAfter time.Duration) error {
	now := s.clock.Now()
	if anonAfter > 0 {
		for _, app := range s.appList() {
			total := 0
			for {
				n, err := s.store.DeleteInactiveAnonymousUsers(ctx, app.ClientAppID, now.Add(-anonAfter), anonymousCleanupBatch)
				if err != nil {
					return fmt.Errorf("anonymous cleanup of %s: %w", app.ClientAppID, err)
				}
				total += n
				if n < anonymousCleanupBatch {
					break
				}
			}
			if total > 0 {
				s.metrics.AnonymousDeleted(total)
				s.log.InfoContext(ctx, "inactive anonymous users deleted", "app", app.ClientAppID, "count", total, "inactive_for", anonAfter.String())
			}
		}
	}
	if err := s.store.DeleteExpired(ctx, now); err != nil {
		return err
	}
	return nil
}

// RunMaintenance runs Maintain every interval until ctx ends, logging failures.
func (s *Operators) RunMaintenance(ctx context.Context, interval, anonAfter time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Maintain(ctx, anonAfter); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "maintenance failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
