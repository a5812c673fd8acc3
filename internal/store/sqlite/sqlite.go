// Package sqlite is the embedded default store: one SQLite file in WAL mode with
// durable commits (synchronous=FULL), versioned migrations embedded in the binary, and
// every multi-row change in one transaction.
//
// Writes go through a single connection (SQLite has one writer at a time, and one
// connection avoids lock upgrades between connections of this process); reads use a pool.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wardenauth/warden/internal/store"
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

// Store is a store.Store on one SQLite file.
type Store struct {
	w *sql.DB // the single writer
	r *sql.DB // readers
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	sync := strings.ToUpper(opts.Synchronous)
	if sync == "" {
		sync = "FULL"
	}
	if sync != "FULL" && sync != "NORMAL" {
		return nil, fmt.Errorf("sqlite: synchronous must be FULL or NORMAL, not %q", opts.Synchronous)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	base := "file:" + path + "?" + q.Encode()

	w, err := sql.Open("sqlite", base+"&_txlock=immediate")
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
	s := &Store{w: w, r: r}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrations table: %w", err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: listing migrations: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		name := strings.TrimPrefix(f, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: name must start with a number", name)
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", name, err)
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", name, err)
		}
	}
	return nil
}

// tx runs fn in one write transaction.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func encodeData(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encoding identity data: %w", err)
	}
	return string(b), nil
}

func decodeData(s string) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal([]byte(s), &m)
	return m
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// LogIn implements store.Store.
func (s *Store) LogIn(ctx context.Context, p store.LoginParams) (store.User, bool, error) {
	var userID string
	created := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		data, err := encodeData(p.Identity.Data)
		if err != nil {
			return err
		}
		if p.UserID != "" {
			userID = p.UserID
			err = nil
		} else {
			err = tx.QueryRowContext(ctx, `SELECT user_id FROM identities WHERE app_id = ? AND provider_type = ? AND id = ?`,
				p.AppID, p.Identity.ProviderType, p.Identity.ID).Scan(&userID)
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			userID = p.NewUser.ID
			created = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (app_id, id, type, disabled, created_at, last_login_at) VALUES (?, ?, ?, 0, ?, ?)`,
				p.AppID, userID, p.NewUser.Type, ms(p.NewUser.CreatedAt), ms(p.Session.CreatedAt)); err != nil {
				return fmt.Errorf("inserting user: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO identities (app_id, provider_type, id, user_id, provider_id, data, position, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)`,
				p.AppID, p.Identity.ProviderType, p.Identity.ID, userID, p.Identity.ProviderID, data, ms(p.Session.CreatedAt)); err != nil {
				return fmt.Errorf("inserting identity: %w", err)
			}
		case err != nil:
			return fmt.Errorf("finding identity: %w", err)
		default:
			var disabled bool
			if err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE app_id = ? AND id = ?`, p.AppID, userID).Scan(&disabled); err != nil {
				return fmt.Errorf("reading user: %w", notFound(err))
			}
			if disabled {
				return store.ErrUserDisabled
			}
			if p.Identity.Data != nil && p.UserID == "" {
				if _, err := tx.ExecContext(ctx, `UPDATE identities SET data = ? WHERE app_id = ? AND provider_type = ? AND id = ?`,
					data, p.AppID, p.Identity.ProviderType, p.Identity.ID); err != nil {
					return fmt.Errorf("updating identity: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE app_id = ? AND id = ?`,
				ms(p.Session.CreatedAt), p.AppID, userID); err != nil {
				return fmt.Errorf("updating user: %w", err)
			}
		}
		d := p.Device
		if _, err := tx.ExecContext(ctx, `INSERT INTO devices (app_id, id, platform, platform_version, sdk_version, client_app_name, client_app_version, created_at, last_seen_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (app_id, id) DO UPDATE SET platform = excluded.platform, platform_version = excluded.platform_version,
				sdk_version = excluded.sdk_version, client_app_name = excluded.client_app_name,
				client_app_version = excluded.client_app_version, last_seen_at = excluded.last_seen_at`,
			p.AppID, d.ID, d.Platform, d.PlatformVersion, d.SDKVersion, d.ClientAppName, d.ClientAppVer, ms(d.CreatedAt), ms(d.LastSeenAt)); err != nil {
			return fmt.Errorf("recording device: %w", err)
		}
		se := p.Session
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (app_id, id, token_hash, user_id, device_id, provider_type, identity_id, created_at, expires_at, last_used_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.AppID, se.ID, se.TokenHash, userID, se.DeviceID, p.Identity.ProviderType, p.Identity.ID, ms(se.CreatedAt), ms(se.ExpiresAt), ms(se.CreatedAt)); err != nil {
			return fmt.Errorf("inserting session: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.User{}, false, fmt.Errorf("sqlite: log in: %w", err)
	}
	u, err := getUser(ctx, s.w, p.AppID, userID)
	if err != nil {
		return store.User{}, false, err
	}
	return u, created, nil
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, appID, userID string) (store.User, error) {
	return getUser(ctx, s.r, appID, userID)
}

func getUser(ctx context.Context, q querier, appID, userID string) (store.User, error) {
	u := store.User{AppID: appID, ID: userID}
	var created, last int64
	err := q.QueryRowContext(ctx, `SELECT type, disabled, created_at, last_login_at FROM users WHERE app_id = ? AND id = ?`, appID, userID).
		Scan(&u.Type, &u.Disabled, &created, &last)
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: get user: %w", notFound(err))
	}
	u.CreatedAt, u.LastLogin = fromMS(created), fromMS(last)
	rows, err := q.QueryContext(ctx, `SELECT id, provider_type, provider_id, data, created_at FROM identities WHERE app_id = ? AND user_id = ? ORDER BY position`, appID, userID)
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: get identities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id store.Identity
		var data string
		var at int64
		if err := rows.Scan(&id.ID, &id.ProviderType, &id.ProviderID, &data, &at); err != nil {
			return store.User{}, fmt.Errorf("sqlite: get identities: %w", err)
		}
		id.Data = decodeData(data)
		id.CreatedAt = fromMS(at)
		u.Identities = append(u.Identities, id)
	}
	if err := rows.Err(); err != nil {
		return store.User{}, fmt.Errorf("sqlite: get identities: %w", err)
	}
	u.Data = store.MergeIdentityData(u.Identities)
	return u, nil
}

// LinkIdentity implements store.Store.
func (s *Store) LinkIdentity(ctx context.Context, appID, userID string, id store.Identity) (store.User, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM identities WHERE app_id = ? AND provider_type = ? AND id = ?`, appID, id.ProviderType, id.ID).Scan(&owner)
		switch {
		case err == nil && owner == userID:
			return nil
		case err == nil:
			return store.ErrIdentityTaken
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var disabled bool
		if err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE app_id = ? AND id = ?`, appID, userID).Scan(&disabled); err != nil {
			return notFound(err)
		}
		if disabled {
			return store.ErrUserDisabled
		}
		data, err := encodeData(id.Data)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO identities (app_id, provider_type, id, user_id, provider_id, data, position, created_at)
			VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(position), -1) + 1 FROM identities WHERE app_id = ? AND user_id = ?), ?)`,
			appID, id.ProviderType, id.ID, userID, id.ProviderID, data, appID, userID, ms(id.CreatedAt))
		return err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: link identity: %w", err)
	}
	return getUser(ctx, s.w, appID, userID)
}

// DeleteUser implements store.Store.
func (s *Store) DeleteUser(ctx context.Context, appID, userID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return deleteUser(ctx, tx, appID, userID) })
	if err != nil {
		return fmt.Errorf("sqlite: delete user: %w", err)
	}
	return nil
}

func deleteUser(ctx context.Context, tx *sql.Tx, appID, userID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE app_id = ? AND id IN
		(SELECT id FROM identities WHERE app_id = ? AND user_id = ? AND provider_type = 'local-userpass')`, appID, appID, userID); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE app_id = ? AND id = ?`, appID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// SetUserDisabled implements store.Store.
func (s *Store) SetUserDisabled(ctx context.Context, appID, userID string, disabled bool) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE app_id = ? AND id = ?`, disabled, appID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		if disabled {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE app_id = ? AND user_id = ?`, appID, userID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: set user disabled: %w", err)
	}
	return nil
}

// DeleteUserSessions implements store.Store.
func (s *Store) DeleteUserSessions(ctx context.Context, appID, userID string) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE app_id = ? AND user_id = ?`, appID, userID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete user sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

const sessionColumns = `app_id, id, token_hash, user_id, device_id, provider_type, identity_id, created_at, expires_at, last_used_at`

func scanSession(row *sql.Row) (store.Session, error) {
	var se store.Session
	var created, expires, used int64
	err := row.Scan(&se.AppID, &se.ID, &se.TokenHash, &se.UserID, &se.DeviceID, &se.ProviderType, &se.IdentityID, &created, &expires, &used)
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlite: get session: %w", notFound(err))
	}
	se.CreatedAt, se.ExpiresAt, se.LastUsedAt = fromMS(created), fromMS(expires), fromMS(used)
	return se, nil
}

// GetSessionByTokenHash implements store.Store.
func (s *Store) GetSessionByTokenHash(ctx context.Context, hash []byte) (store.Session, error) {
	return scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`, hash))
}

// GetSession implements store.Store.
func (s *Store) GetSession(ctx context.Context, appID, sessionID string) (store.Session, error) {
	return scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE app_id = ? AND id = ?`, appID, sessionID))
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, appID, sessionID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE app_id = ? AND id = ? RETURNING user_id`, appID, sessionID).Scan(&userID)
		if err != nil {
			return notFound(err)
		}
		// An anonymous-only user with no session left can never be reached again.
		var sessions, others, anon int
		if err := tx.QueryRowContext(ctx, `SELECT
				(SELECT count(*) FROM sessions WHERE app_id = ?1 AND user_id = ?2),
				(SELECT count(*) FROM identities WHERE app_id = ?1 AND user_id = ?2 AND provider_type <> 'anon-user'),
				(SELECT count(*) FROM identities WHERE app_id = ?1 AND user_id = ?2 AND provider_type = 'anon-user')`,
			appID, userID).Scan(&sessions, &others, &anon); err != nil {
			return err
		}
		if sessions == 0 && others == 0 && anon > 0 {
			return deleteUser(ctx, tx, appID, userID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}

// TouchSession implements store.Store.
func (s *Store) TouchSession(ctx context.Context, appID, sessionID string, t time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE sessions SET last_used_at = ? WHERE app_id = ? AND id = ?`, ms(t), appID, sessionID); err != nil {
		return fmt.Errorf("sqlite: touch session: %w", err)
	}
	return nil
}

// CreateAccount implements store.Store.
func (s *Store) CreateAccount(ctx context.Context, a store.Account, tok *store.AccountToken) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE app_id = ? AND email_key = ?`, a.AppID, store.EmailKey(a.Email)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return store.ErrEmailTaken
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (app_id, id, email, email_key, password_hash, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.AppID, a.ID, a.Email, store.EmailKey(a.Email), a.PasswordHash, a.Status, ms(a.CreatedAt)); err != nil {
			return err
		}
		if tok != nil {
			return insertToken(ctx, tx, *tok)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: create account: %w", err)
	}
	return nil
}

func insertToken(ctx context.Context, tx *sql.Tx, t store.AccountToken) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE app_id = ? AND account_id = ? AND purpose = ?`, t.AppID, t.AccountID, t.Purpose); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO account_tokens (app_id, token_id, hash, account_id, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.AppID, t.TokenID, t.Hash, t.AccountID, t.Purpose, ms(t.CreatedAt), ms(t.ExpiresAt))
	return err
}

// GetAccountByEmail implements store.Store.
func (s *Store) GetAccountByEmail(ctx context.Context, appID, email string) (store.Account, error) {
	return getAccount(ctx, s.r, `email_key = ?`, appID, store.EmailKey(email))
}

func getAccount(ctx context.Context, q querier, where, appID string, arg any) (store.Account, error) {
	a := store.Account{AppID: appID}
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, email, password_hash, status, created_at FROM accounts WHERE app_id = ? AND `+where, appID, arg).
		Scan(&a.ID, &a.Email, &a.PasswordHash, &a.Status, &created)
	if err != nil {
		return store.Account{}, fmt.Errorf("sqlite: get account: %w", notFound(err))
	}
	a.CreatedAt = fromMS(created)
	return a, nil
}

// AddAccountToken implements store.Store.
func (s *Store) AddAccountToken(ctx context.Context, tok store.AccountToken) error {
	if err := s.tx(ctx, func(tx *sql.Tx) error { return insertToken(ctx, tx, tok) }); err != nil {
		return fmt.Errorf("sqlite: add account token: %w", err)
	}
	return nil
}

// consumeToken deletes the token if it matches and is live, and returns its account id.
func consumeToken(ctx context.Context, tx *sql.Tx, appID, tokenID, purpose string, hash []byte, now time.Time) (string, error) {
	var accountID string
	var stored []byte
	var expires int64
	err := tx.QueryRowContext(ctx, `SELECT account_id, hash, expires_at FROM account_tokens WHERE app_id = ? AND token_id = ? AND purpose = ?`,
		appID, tokenID, purpose).Scan(&accountID, &stored, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrTokenInvalid
	}
	if err != nil {
		return "", err
	}
	if !store.HashesEqual(stored, hash) || now.UnixMilli() >= expires {
		return "", store.ErrTokenInvalid
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE app_id = ? AND token_id = ?`, appID, tokenID); err != nil {
		return "", err
	}
	return accountID, nil
}

// ConfirmAccount implements store.Store.
func (s *Store) ConfirmAccount(ctx context.Context, appID, tokenID string, hash []byte, now time.Time) (store.Account, error) {
	var a store.Account
	err := s.tx(ctx, func(tx *sql.Tx) error {
		id, err := consumeToken(ctx, tx, appID, tokenID, store.TokenConfirm, hash, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET status = ? WHERE app_id = ? AND id = ?`, store.AccountConfirmed, appID, id); err != nil {
			return err
		}
		a, err = getAccount(ctx, tx, `id = ?`, appID, id)
		return err
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("sqlite: confirm account: %w", err)
	}
	return a, nil
}

// ResetPassword implements store.Store.
func (s *Store) ResetPassword(ctx context.Context, appID, tokenID string, hash []byte, passwordHash string, now time.Time) (store.Account, error) {
	var a store.Account
	err := s.tx(ctx, func(tx *sql.Tx) error {
		id, err := consumeToken(ctx, tx, appID, tokenID, store.TokenReset, hash, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ? WHERE app_id = ? AND id = ?`, passwordHash, appID, id); err != nil {
			return err
		}
		a, err = getAccount(ctx, tx, `id = ?`, appID, id)
		return err
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("sqlite: reset password: %w", err)
	}
	return a, nil
}

const apiKeyColumns = `app_id, id, user_id, name, key_hash, disabled, created_at`

func scanAPIKey(sc interface{ Scan(...any) error }) (store.APIKey, error) {
	var k store.APIKey
	var created int64
	if err := sc.Scan(&k.AppID, &k.ID, &k.UserID, &k.Name, &k.Hash, &k.Disabled, &created); err != nil {
		return store.APIKey{}, notFound(err)
	}
	k.CreatedAt = fromMS(created)
	return k, nil
}

func insertAPIKey(ctx context.Context, tx *sql.Tx, k store.APIKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.AppID, k.ID, k.UserID, k.Name, k.Hash, k.Disabled, ms(k.CreatedAt))
	return err
}

// CreateAPIKey implements store.Store.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey, limit int) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n, same, users int
		if err := tx.QueryRowContext(ctx, `SELECT
				(SELECT count(*) FROM api_keys WHERE app_id = ?1 AND user_id = ?2),
				(SELECT count(*) FROM api_keys WHERE app_id = ?1 AND user_id = ?2 AND name = ?3),
				(SELECT count(*) FROM users WHERE app_id = ?1 AND id = ?2)`, k.AppID, k.UserID, k.Name).Scan(&n, &same, &users); err != nil {
			return err
		}
		switch {
		case users == 0:
			return store.ErrNotFound
		case same > 0:
			return store.ErrNameTaken
		case limit > 0 && n >= limit:
			return store.ErrLimitReached
		}
		return insertAPIKey(ctx, tx, k)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create api key: %w", err)
	}
	return nil
}

// CreateServerAPIKey implements store.Store.
func (s *Store) CreateServerAPIKey(ctx context.Context, u store.User, id store.Identity, k store.APIKey) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		data, err := encodeData(id.Data)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (app_id, id, type, disabled, created_at, last_login_at) VALUES (?, ?, ?, 0, ?, ?)`,
			u.AppID, u.ID, u.Type, ms(u.CreatedAt), ms(u.CreatedAt)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO identities (app_id, provider_type, id, user_id, provider_id, data, position, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)`,
			u.AppID, id.ProviderType, id.ID, u.ID, id.ProviderID, data, ms(id.CreatedAt)); err != nil {
			return err
		}
		return insertAPIKey(ctx, tx, k)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create server api key: %w", err)
	}
	return nil
}

// GetAPIKeyByHash implements store.Store.
func (s *Store) GetAPIKeyByHash(ctx context.Context, appID string, hash []byte) (store.APIKey, error) {
	k, err := scanAPIKey(s.r.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = ? AND app_id = ?`, hash, appID))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("sqlite: get api key: %w", err)
	}
	return k, nil
}

// GetAPIKey implements store.Store.
func (s *Store) GetAPIKey(ctx context.Context, appID, id string) (store.APIKey, error) {
	k, err := scanAPIKey(s.r.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE app_id = ? AND id = ?`, appID, id))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("sqlite: get api key: %w", err)
	}
	return k, nil
}

func (s *Store) listAPIKeys(ctx context.Context, query string, args ...any) ([]store.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list api keys: %w", err)
	}
	defer rows.Close()
	out := []store.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list api keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list api keys: %w", err)
	}
	return out, nil
}

// ListAPIKeys implements store.Store.
func (s *Store) ListAPIKeys(ctx context.Context, appID, userID string) ([]store.APIKey, error) {
	return s.listAPIKeys(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE app_id = ? AND user_id = ? ORDER BY created_at, id`, appID, userID)
}

// ListServerAPIKeys implements store.Store.
func (s *Store) ListServerAPIKeys(ctx context.Context, appID string) ([]store.APIKey, error) {
	return s.listAPIKeys(ctx, `SELECT `+prefixed("k.", apiKeyColumns)+` FROM api_keys k JOIN users u ON u.app_id = k.app_id AND u.id = k.user_id
		WHERE k.app_id = ? AND u.type = ? ORDER BY k.created_at, k.id`, appID, store.UserTypeServer)
}

func prefixed(p, columns string) string {
	parts := strings.Split(columns, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

func endKeySessions(ctx context.Context, tx *sql.Tx, appID, id string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE app_id = ? AND provider_type = 'api-key' AND identity_id = ?`, appID, id)
	return err
}

// SetAPIKeyDisabled implements store.Store.
func (s *Store) SetAPIKeyDisabled(ctx context.Context, appID, id string, disabled bool) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET disabled = ? WHERE app_id = ? AND id = ?`, disabled, appID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		if disabled {
			return endKeySessions(ctx, tx, appID, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: set api key disabled: %w", err)
	}
	return nil
}

// DeleteAPIKey implements store.Store.
func (s *Store) DeleteAPIKey(ctx context.Context, appID, id string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, `DELETE FROM api_keys WHERE app_id = ? AND id = ? RETURNING user_id`, appID, id).Scan(&userID)
		if err != nil {
			return notFound(err)
		}
		if err := endKeySessions(ctx, tx, appID, id); err != nil {
			return err
		}
		var typ string
		var left int
		if err := tx.QueryRowContext(ctx, `SELECT type, (SELECT count(*) FROM api_keys WHERE app_id = ?1 AND user_id = ?2) FROM users WHERE app_id = ?1 AND id = ?2`,
			appID, userID).Scan(&typ, &left); err != nil {
			return notFound(err)
		}
		if typ == store.UserTypeServer && left == 0 {
			return deleteUser(ctx, tx, appID, userID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete api key: %w", err)
	}
	return nil
}

// PutOAuthState implements store.Store.
func (s *Store) PutOAuthState(ctx context.Context, st store.OAuthState) error {
	dev, err := encodeData(st.Device)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_states WHERE expires_at <= ?`, ms(st.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_states (id, app_id, provider, client_state, redirect, callback, device, link_session_id, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.ID, st.AppID, st.Provider, st.ClientState, st.Redirect, st.Callback, dev, st.LinkSessionID, ms(st.CreatedAt), ms(st.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put oauth state: %w", err)
	}
	return nil
}

// TakeOAuthState implements store.Store.
func (s *Store) TakeOAuthState(ctx context.Context, id string, now time.Time) (store.OAuthState, error) {
	st := store.OAuthState{ID: id}
	var dev string
	var created, expires int64
	err := s.w.QueryRowContext(ctx, `DELETE FROM oauth_states WHERE id = ? RETURNING app_id, provider, client_state, redirect, callback, device, link_session_id, created_at, expires_at`, id).
		Scan(&st.AppID, &st.Provider, &st.ClientState, &st.Redirect, &st.Callback, &dev, &st.LinkSessionID, &created, &expires)
	if err != nil {
		return store.OAuthState{}, fmt.Errorf("sqlite: take oauth state: %w", notFound(err))
	}
	st.Device, st.CreatedAt, st.ExpiresAt = decodeData(dev), fromMS(created), fromMS(expires)
	if !now.Before(st.ExpiresAt) {
		return store.OAuthState{}, fmt.Errorf("sqlite: take oauth state: %w", store.ErrNotFound)
	}
	return st, nil
}
