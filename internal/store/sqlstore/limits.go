package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wardenauth/warden/internal/store"
)

// HitCounter implements store.Store: one upsert, so that concurrent hits from several
// nodes are all counted.
func (s *Store) HitCounter(ctx context.Context, key string, windowStart, windowEnd time.Time) (int, error) {
	var n int
	err := s.writer().QueryRowContext(ctx, `INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES ($1, $2, 1, $3)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN rate_counters.window_start = excluded.window_start THEN rate_counters.count + 1 ELSE 1 END,
			window_start = excluded.window_start,
			expires_at = excluded.expires_at
		RETURNING count`, key, ms(windowStart), ms(windowEnd)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: hit counter: %w", err)
	}
	return n, nil
}

// RecordLoginAttempt implements store.Store. The count is one upsert that does nothing
// while the key is locked, so parallel attempts are counted one by one on either
// engine and none past the lock gets through.
func (s *Store) RecordLoginAttempt(ctx context.Context, appID, key string, now, forgetBefore time.Time, lockFor func(int) time.Duration) (store.LoginFailures, bool, error) {
	var out store.LoginFailures
	allowed := false
	err := s.tx(ctx, func(tx conn) error {
		var locked, last int64
		err := tx.QueryRowContext(ctx, `INSERT INTO login_failures AS f (app_id, account_key, failures, locked_until, last_failure) VALUES ($1, $2, 1, 0, $3)
			ON CONFLICT (app_id, account_key) DO UPDATE SET
				failures = CASE WHEN f.last_failure < $4 THEN 1 ELSE f.failures + 1 END,
				locked_until = CASE WHEN f.last_failure < $4 THEN 0 ELSE f.locked_until END,
				last_failure = $3
			WHERE f.locked_until <= $3
			RETURNING failures, locked_until, last_failure`, appID, key, ms(now), ms(forgetBefore)).Scan(&out.Failures, &locked, &last)
		if errors.Is(err, sql.ErrNoRows) {
			out, err = getLoginFailures(ctx, tx, appID, key)
			return err
		}
		if err != nil {
			return err
		}
		allowed = true
		out.LockedUntil, out.LastFailure = fromMS(locked), fromMS(last)
		if d := lockFor(out.Failures); d > 0 {
			out.LockedUntil = now.Add(d)
			_, err = tx.ExecContext(ctx, `UPDATE login_failures SET locked_until = $1 WHERE app_id = $2 AND account_key = $3`, ms(out.LockedUntil), appID, key)
		}
		return err
	})
	if err != nil {
		return store.LoginFailures{}, false, fmt.Errorf("store: record login attempt: %w", err)
	}
	return out, allowed, nil
}

// GetLoginFailures implements store.Store.
func (s *Store) GetLoginFailures(ctx context.Context, appID, key string) (store.LoginFailures, error) {
	f, err := getLoginFailures(ctx, s.reader(), appID, key)
	if err != nil {
		return store.LoginFailures{}, fmt.Errorf("store: login failures: %w", err)
	}
	return f, nil
}

func getLoginFailures(ctx context.Context, q conn, appID, key string) (store.LoginFailures, error) {
	var f store.LoginFailures
	var locked, last int64
	err := q.QueryRowContext(ctx, `SELECT failures, locked_until, last_failure FROM login_failures WHERE app_id = $1 AND account_key = $2`, appID, key).
		Scan(&f.Failures, &locked, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return store.LoginFailures{}, nil
	}
	if err != nil {
		return store.LoginFailures{}, err
	}
	if locked > 0 {
		f.LockedUntil = fromMS(locked)
	}
	f.LastFailure = fromMS(last)
	return f, nil
}

// ClearLoginFailures implements store.Store.
func (s *Store) ClearLoginFailures(ctx context.Context, appID, key string) (bool, error) {
	res, err := s.writer().ExecContext(ctx, `DELETE FROM login_failures WHERE app_id = $1 AND account_key = $2`, appID, key)
	if err != nil {
		return false, fmt.Errorf("store: clear login failures: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteInactiveAnonymousUsers implements store.Store. The candidates are chosen and
// deleted in one statement, so several nodes may run it at once.
func (s *Store) DeleteInactiveAnonymousUsers(ctx context.Context, appID string, before time.Time, limit int) (int, error) {
	res, err := s.writer().ExecContext(ctx, `DELETE FROM users WHERE app_id = $1 AND id IN (
		SELECT u.id FROM users u
		WHERE u.app_id = $2 AND u.type = 'normal' AND u.last_login_at < $3
		  AND EXISTS (SELECT 1 FROM identities i WHERE i.app_id = u.app_id AND i.user_id = u.id AND i.provider_type = 'anon-user')
		  AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.app_id = u.app_id AND i.user_id = u.id AND i.provider_type <> 'anon-user')
		  AND NOT EXISTS (SELECT 1 FROM sessions x WHERE x.app_id = u.app_id AND x.user_id = u.id AND x.last_used_at >= $4)
		LIMIT $5)`, appID, appID, ms(before), ms(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete inactive anonymous users: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteExpired implements store.Store.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) error {
	for _, q := range []string{`DELETE FROM rate_counters WHERE expires_at <= $1`, `DELETE FROM oauth_states WHERE expires_at <= $1`} {
		if _, err := s.writer().ExecContext(ctx, q, ms(now)); err != nil {
			return fmt.Errorf("store: delete expired: %w", err)
		}
	}
	return nil
}
