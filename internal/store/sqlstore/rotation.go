package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardenauth/warden/internal/store"
)

// RotateSessionToken implements store.Store.
func (s *Store) RotateSessionToken(ctx context.Context, appID, sessionID string, presented, next []byte, now, graceStart time.Time) (store.Rotation, error) {
	var out store.Rotation
	err := s.tx(ctx, func(tx conn) error {
		var current, prev []byte
		var rotated int64
		err := tx.QueryRowContext(ctx, `SELECT token_hash, prev_token_hash, rotated_at FROM sessions WHERE app_id = $1 AND id = $2`+s.d.ForUpdate, appID, sessionID).
			Scan(&current, &prev, &rotated)
		if err != nil {
			return notFound(err)
		}
		switch {
		case store.HashesEqual(current, presented):
			out = store.RotationDone
			_, err = tx.ExecContext(ctx, `UPDATE sessions SET prev_token_hash = token_hash, token_hash = $1, rotated_at = $2 WHERE app_id = $3 AND id = $4`,
				next, ms(now), appID, sessionID)
			return err
		case len(prev) > 0 && store.HashesEqual(prev, presented) && rotated >= ms(graceStart):
			out = store.RotationGrace
			_, err = tx.ExecContext(ctx, `UPDATE sessions SET token_hash = $1 WHERE app_id = $2 AND id = $3`, next, appID, sessionID)
			return err
		}
		out = store.RotationReuse
		return deleteSession(ctx, tx, appID, sessionID)
	})
	if err != nil {
		return 0, fmt.Errorf("store: rotate session token: %w", err)
	}
	return out, nil
}
