package sqlstore

import (
	"context"
	"fmt"

	"github.com/wardenauth/warden/internal/store"
)

// PutPushRegistration implements store.Store.
func (s *Store) PutPushRegistration(ctx context.Context, r store.PushRegistration) error {
	err := s.tx(ctx, func(tx conn) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE app_id = $1 AND id = $2`, r.AppID, r.UserID).Scan(&one); err != nil {
			return notFound(err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO push_registrations (app_id, user_id, device_id, service, token, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (app_id, user_id, device_id, service) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at`,
			r.AppID, r.UserID, r.DeviceID, r.Service, r.Token, ms(r.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: put push registration: %w", err)
	}
	return nil
}

// DeletePushRegistration implements store.Store.
func (s *Store) DeletePushRegistration(ctx context.Context, appID, userID, deviceID, service string) error {
	_, err := s.writer().ExecContext(ctx, `DELETE FROM push_registrations WHERE app_id = $1 AND user_id = $2 AND device_id = $3 AND service = $4`,
		appID, userID, deviceID, service)
	if err != nil {
		return fmt.Errorf("store: delete push registration: %w", err)
	}
	return nil
}

// ListPushRegistrations implements store.Store.
func (s *Store) ListPushRegistrations(ctx context.Context, appID, userID string) ([]store.PushRegistration, error) {
	rows, err := s.reader().QueryContext(ctx, `SELECT device_id, service, token, updated_at FROM push_registrations
		WHERE app_id = $1 AND user_id = $2 ORDER BY updated_at DESC, device_id, service`, appID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list push registrations: %w", err)
	}
	defer rows.Close()
	var out []store.PushRegistration
	for rows.Next() {
		r := store.PushRegistration{AppID: appID, UserID: userID}
		var at int64
		if err := rows.Scan(&r.DeviceID, &r.Service, &r.Token, &at); err != nil {
			return nil, fmt.Errorf("store: list push registrations: %w", err)
		}
		r.UpdatedAt = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
