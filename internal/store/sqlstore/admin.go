package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/wardenauth/warden/internal/store"
)

// ListUsers implements store.Store.
func (s *Store) ListUsers(ctx context.Context, appID string, q store.UserQuery) ([]store.User, int, error) {
	where := []string{"u.app_id = $1"}
	args := []any{appID}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	from := "users u"
	if q.Search != "" {
		// An id (the user's or an identity's), or the start of an email: each found through
		// an index, and the users read by key from what they found (CROSS JOIN keeps SQLite
		// from walking every user in the page's order instead), so a search costs the same
		// with a thousand users or a million.
		exact := arg(q.Search)
		byEmail := ""
		if prefix := store.EmailKey(q.Search); prefix != "" { // blanks start every email
			lo, hi := arg(prefix), arg(prefix+"\U0010FFFF")
			byEmail = `
				UNION ALL SELECT i.user_id FROM identities i WHERE i.app_id = $1 AND i.email_key >= ` + lo + ` AND i.email_key < ` + hi
		}
		from = `(SELECT DISTINCT id FROM (
				SELECT CAST(` + exact + ` AS TEXT) AS id
				UNION ALL SELECT i.user_id FROM identities i WHERE i.app_id = $1 AND i.id = ` + exact + byEmail + `
			) found) matches CROSS JOIN users u`
		where = append(where, "u.id = matches.id")
	}
	if q.Provider != "" {
		where = append(where, `EXISTS (SELECT 1 FROM identities i WHERE i.app_id = u.app_id AND i.user_id = u.id AND i.provider_type = `+arg(q.Provider)+`)`)
	}
	switch q.State {
	case "enabled":
		where = append(where, "u.disabled = FALSE")
	case "disabled":
		where = append(where, "u.disabled = TRUE")
	}
	order, dir, offset := "u.created_at", "ASC", max(q.Offset, 0)
	if q.After != nil {
		at, id := arg(ms(q.After.CreatedAt)), arg(q.After.ID)
		where = append(where, `u.created_at >= `+at+` AND (u.created_at > `+at+` OR u.id > `+id+`)`)
		offset = 0
	}
	cond := strings.Join(where, " AND ")
	var total int
	if q.After == nil {
		if err := s.reader().QueryRowContext(ctx, `SELECT count(*) FROM `+from+` WHERE `+cond, args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("store: count users: %w", err)
		}
		if q.Sort == "last_login" {
			order = "u.last_login_at"
		}
		if q.Desc {
			dir = "DESC"
		}
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT u.id FROM `+from+` WHERE `+cond+` ORDER BY `+order+` `+dir+`, u.id `+dir+
		` LIMIT `+arg(limit)+` OFFSET `+arg(offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list users: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("store: list users: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list users: %w", err)
	}
	users := make([]store.User, 0, len(ids))
	for _, id := range ids {
		u, err := getUser(ctx, s.reader(), appID, id)
		if err != nil {
			continue // deleted meanwhile
		}
		users = append(users, u)
	}
	return users, total, nil
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u store.User, id store.Identity) error {
	err := s.tx(ctx, func(tx conn) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (app_id, id, type, disabled, created_at, last_login_at) VALUES ($1, $2, $3, FALSE, $4, $5)`,
			u.AppID, u.ID, u.Type, ms(u.CreatedAt), ms(u.CreatedAt)); err != nil {
			return err
		}
		data, err := encodeData(id.Data)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO identities (app_id, provider_type, id, user_id, provider_id, data, position, created_at, email_key) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)`,
			u.AppID, id.ProviderType, id.ID, u.ID, id.ProviderID, data, ms(id.CreatedAt), emailKeyOf(id.Data))
		if err != nil && s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err) {
			return store.ErrIdentityTaken
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create user: %w", err)
	}
	return nil
}

// ListUserSessions implements store.Store.
func (s *Store) ListUserSessions(ctx context.Context, appID, userID string) ([]store.SessionInfo, error) {
	rows, err := s.reader().QueryContext(ctx, `SELECT `+sessionColumnsOf("s.")+`,
			coalesce(d.platform, ''), coalesce(d.platform_version, ''), coalesce(d.sdk_version, ''), coalesce(d.client_app_name, ''), coalesce(d.client_app_version, ''), coalesce(d.last_seen_at, 0)
		FROM sessions s LEFT JOIN devices d ON d.app_id = s.app_id AND d.id = s.device_id
		WHERE s.app_id = $1 AND s.user_id = $2 ORDER BY s.last_used_at DESC, s.created_at DESC`, appID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []store.SessionInfo
	for rows.Next() {
		var si store.SessionInfo
		var seen int64
		if err := scanSessionWith(rows, &si.Session,
			&si.Device.Platform, &si.Device.PlatformVersion, &si.Device.SDKVersion, &si.Device.ClientAppName, &si.Device.ClientAppVer, &seen); err != nil {
			return nil, fmt.Errorf("store: list sessions: %w", err)
		}
		si.TokenHash = nil // an operator's listing never carries a token's hash
		si.Device.AppID, si.Device.ID, si.Device.LastSeenAt = appID, si.DeviceID, fromMS(seen)
		out = append(out, si)
	}
	return out, rows.Err()
}

// ListPendingAccounts implements store.Store.
func (s *Store) ListPendingAccounts(ctx context.Context, appID string, limit, offset int) ([]store.Account, error) {
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT id, email, status, created_at FROM accounts WHERE app_id = $1 AND status = $2 ORDER BY created_at, id LIMIT $3 OFFSET $4`,
		appID, store.AccountPending, limit, max(offset, 0))
	if err != nil {
		return nil, fmt.Errorf("store: list pending accounts: %w", err)
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a := store.Account{AppID: appID}
		var created int64
		if err := rows.Scan(&a.ID, &a.Email, &a.Status, &created); err != nil {
			return nil, fmt.Errorf("store: list pending accounts: %w", err)
		}
		a.CreatedAt = fromMS(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// ConfirmAccountByEmail implements store.Store.
func (s *Store) ConfirmAccountByEmail(ctx context.Context, appID, email string) (store.Account, error) {
	var a store.Account
	err := s.tx(ctx, func(tx conn) error {
		var err error
		a, err = getAccount(ctx, tx, `email_key = $2`, appID, store.EmailKey(email))
		if err != nil {
			return err
		}
		if a.Status == store.AccountConfirmed {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET status = $1 WHERE app_id = $2 AND id = $3`, store.AccountConfirmed, appID, a.ID); err != nil {
			return err
		}
		a.Status = store.AccountConfirmed
		_, err = tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE app_id = $1 AND account_id = $2 AND purpose = $3`, appID, a.ID, store.TokenConfirm)
		return err
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("store: confirm account: %w", err)
	}
	return a, nil
}

// CreateAdminKey implements store.Store.
func (s *Store) CreateAdminKey(ctx context.Context, k store.AdminKey) error {
	_, err := s.writer().ExecContext(ctx, `INSERT INTO admin_keys (id, name, hash, created_at) VALUES ($1, $2, $3, $4)`, k.ID, k.Name, k.Hash, ms(k.CreatedAt))
	if err != nil && s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err) {
		return fmt.Errorf("store: create admin key: %w", store.ErrNameTaken)
	}
	if err != nil {
		return fmt.Errorf("store: create admin key: %w", err)
	}
	return nil
}

// GetAdminKeyByHash implements store.Store.
func (s *Store) GetAdminKeyByHash(ctx context.Context, hash []byte) (store.AdminKey, error) {
	k := store.AdminKey{Hash: hash}
	var created int64
	err := s.reader().QueryRowContext(ctx, `SELECT id, name, created_at FROM admin_keys WHERE hash = $1`, hash).Scan(&k.ID, &k.Name, &created)
	if err != nil {
		return store.AdminKey{}, fmt.Errorf("store: get admin key: %w", notFound(err))
	}
	k.CreatedAt = fromMS(created)
	return k, nil
}

// ListAdminKeys implements store.Store.
func (s *Store) ListAdminKeys(ctx context.Context) ([]store.AdminKey, error) {
	rows, err := s.reader().QueryContext(ctx, `SELECT id, name, created_at FROM admin_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list admin keys: %w", err)
	}
	defer rows.Close()
	var out []store.AdminKey
	for rows.Next() {
		var k store.AdminKey
		var created int64
		if err := rows.Scan(&k.ID, &k.Name, &created); err != nil {
			return nil, fmt.Errorf("store: list admin keys: %w", err)
		}
		k.CreatedAt = fromMS(created)
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteAdminKey implements store.Store.
func (s *Store) DeleteAdminKey(ctx context.Context, idOrName string) error {
	res, err := s.writer().ExecContext(ctx, `DELETE FROM admin_keys WHERE id = $1 OR name = $2`, idOrName, idOrName)
	if err != nil {
		return fmt.Errorf("store: delete admin key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: delete admin key: %w", store.ErrNotFound)
	}
	return nil
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx conn) error {
		for _, e := range events {
			if err := appendAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	return nil
}

func appendAudit(ctx context.Context, tx conn, e store.AuditEvent) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (app_id, at, actor, action, target, outcome, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.AppID, ms(e.At), e.Actor, e.Action, e.Target, e.Outcome, e.Detail, e.IP)
	return err
}

// ListAudit implements store.Store.
func (s *Store) ListAudit(ctx context.Context, appID string, f store.AuditFilter) ([]store.AuditEvent, error) {
	where := []string{"app_id = $1"}
	args := []any{appID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if f.Target != "" {
		add("target = $%d", f.Target)
	}
	if f.Outcome != "" {
		add("outcome = $%d", f.Outcome)
	}
	if !f.Since.IsZero() {
		add("at >= $%d", ms(f.Since))
	}
	if f.BeforeSeq > 0 {
		add("seq < $%d", f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := s.reader().QueryContext(ctx, `SELECT seq, at, actor, action, target, outcome, detail, ip FROM audit_events WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		e := store.AuditEvent{AppID: appID}
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.Detail, &e.IP); err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ListAccountsWithoutPassword implements store.Store.
func (s *Store) ListAccountsWithoutPassword(ctx context.Context, appID, afterEmail string, limit int) ([]string, error) {
	rows, err := s.reader().QueryContext(ctx, `SELECT email FROM accounts WHERE app_id = $1 AND password_hash = $2 AND email_key > $3 ORDER BY email_key LIMIT $4`,
		appID, store.NoPassword, store.EmailKey(afterEmail), limit)
	if err != nil {
		return nil, fmt.Errorf("store: accounts without password: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var email string
		if err := rows.Scan(&email); err != nil {
			return nil, fmt.Errorf("store: accounts without password: %w", err)
		}
		out = append(out, email)
	}
	return out, rows.Err()
}
