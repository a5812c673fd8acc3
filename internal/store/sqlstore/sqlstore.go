// Package sqlstore implements store.Store on database/sql, for the SQL engines Warden
// supports (store/sqlite and store/postgres hold what differs: opening, migrations'
// home, and a Dialect). Queries use $1-style parameters, which both engines accept.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wardenauth/warden/internal/store"
)

// Dialect is what differs between engines.
type Dialect struct {
	// Name is the engine's name, for messages.
	Name string
	// IsUniqueViolation reports whether err is a unique-constraint violation: a concurrent
	// transaction inserted the same key first.
	IsUniqueViolation func(error) bool
	// LockMigrations, when set, runs at the start of each migration transaction to keep
	// several nodes from migrating at once.
	LockMigrations string
	// ForShare is appended to the reads that a transaction's writes depend on (" FOR
	// SHARE" on PostgreSQL), so that a concurrent delete or disable of the row waits for
	// the transaction, or the transaction for it. Empty for engines whose write
	// transactions are serialized anyway (SQLite).
	ForShare string
	// ForUpdate is ForShare for a row the transaction then updates (" FOR NO KEY UPDATE"
	// on PostgreSQL: taking the update lock at once, two logins of one user cannot
	// deadlock upgrading shared locks).
	ForUpdate string
	// Unavailable reports whether err means the database cannot serve requests now, and
	// why (nil: never).
	Unavailable func(error) (string, bool)
	// Plan returns the engine's plan for query, whose nargs arguments are all NULL (nil:
	// the engine cannot say).
	Plan func(ctx context.Context, db *sql.DB, query string, nargs int) (string, error)
}

// Store is a store.Store on a SQL database. Writes go through w, reads through r (the
// same pool for engines with many writers).
type Store struct {
	w, r  *sql.DB
	d     Dialect
	batch *batcher

	stmtMu    sync.Mutex
	stmts     map[stmtKey]*sql.Stmt
	closed    bool
	preparing sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// New returns a Store on the given pools.
func New(w, r *sql.DB, d Dialect) *Store { return &Store{w: w, r: r, d: d} }

// Close finishes queued writes and closes the pools.
// Unavailable implements store.Store.
func (s *Store) Unavailable(err error) (string, bool) {
	if err == nil || s.d.Unavailable == nil {
		return "", false
	}
	return s.d.Unavailable(err)
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader().QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: read: %w", err)
	}
	err := s.tx(ctx, func(tx conn) error {
		return tx.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	})
	if err != nil {
		return fmt.Errorf("store: write transaction: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.stopBatching()
	s.closeStatements()
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// Migrate applies the migrations/*.sql files of migrations that are not applied yet, in
// the order of their numbers, each in one transaction.
func (s *Store) Migrate(ctx context.Context, migrations fs.FS) error {
	err := s.tx(ctx, func(tx conn) error {
		if s.d.LockMigrations != "" {
			if _, err := tx.ExecContext(ctx, s.d.LockMigrations); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: migrations table: %w", s.d.Name, err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("%s: listing migrations: %w", s.d.Name, err)
	}
	sort.Strings(files)
	for _, f := range files {
		name := strings.TrimPrefix(f, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("%s: migration %s: name must start with a number", s.d.Name, name)
		}
		body, err := fs.ReadFile(migrations, f)
		if err != nil {
			return fmt.Errorf("%s: migration %s: %w", s.d.Name, name, err)
		}
		err = s.tx(ctx, func(tx conn) error {
			if s.d.LockMigrations != "" {
				if _, err := tx.ExecContext(ctx, s.d.LockMigrations); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			if step, ok := migrationSteps[strings.TrimSuffix(strings.SplitN(name, "_", 2)[1], ".sql")]; ok {
				if err := step(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: migration %s: %w", s.d.Name, name, err)
		}
	}
	return nil
}

// migrationSteps are the parts of migrations written in Go, by the name of the migration
// they end (its file name without number and .sql), for both engines: they run in the
// migration's transaction, after its SQL.
var migrationSteps = map[string]func(context.Context, conn) error{
	"search": fillEmailKeys,
}

// fillEmailKeys gives the identities that existed before identities.email_key theirs,
// made in Go as every later write makes it (store.EmailKey): SQL's lower() differs from
// it (SQLite folds only ASCII), and PostgreSQL's jsonb refuses some text that Go's JSON
// allows, which would stop the migration.
func fillEmailKeys(ctx context.Context, tx conn) error {
	rows, err := tx.QueryContext(ctx, `SELECT app_id, provider_type, id, data FROM identities WHERE data LIKE '%"email"%'`)
	if err != nil {
		return fmt.Errorf("reading identities: %w", err)
	}
	type keyed struct {
		app, provider, id string
		key               any
	}
	var fill []keyed
	for rows.Next() {
		var k keyed
		var data string
		if err := rows.Scan(&k.app, &k.provider, &k.id, &data); err != nil {
			rows.Close()
			return fmt.Errorf("reading identities: %w", err)
		}
		if k.key = emailKeyOf(decodeData(data)); k.key != nil {
			fill = append(fill, k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading identities: %w", err)
	}
	for _, k := range fill {
		if _, err := tx.ExecContext(ctx, `UPDATE identities SET email_key = $1 WHERE app_id = $2 AND provider_type = $3 AND id = $4`, k.key, k.app, k.provider, k.id); err != nil {
			return fmt.Errorf("filling email keys: %w", err)
		}
	}
	return nil
}

// retry runs fn in a transaction, again (a few times) when it lost a race on a unique
// key to a concurrent transaction: the next attempt sees the winner's row.
func (s *Store) retry(ctx context.Context, fn func(conn) error) error {
	var err error
	for range 4 {
		err = s.tx(ctx, fn)
		if err == nil || s.d.IsUniqueViolation == nil || !s.d.IsUniqueViolation(err) {
			return err
		}
	}
	return err
}

// tx runs fn in one write transaction.
func (s *Store) tx(ctx context.Context, fn func(conn) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(preparedTx{tx: tx, s: s}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// emailKeyOf is the identity's email as the operators' search finds it (store.EmailKey
// of data.email), or NULL when its data has none.
func emailKeyOf(data map[string]any) any {
	if email, ok := data["email"].(string); ok && email != "" {
		return store.EmailKey(email)
	}
	return nil
}

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
	var userID, encodedData string
	created := false
	err := s.batched(ctx, func(tx conn) error {
		created = false
		data, err := encodeData(p.Identity.Data)
		if err != nil {
			return err
		}
		if p.UserID != "" {
			userID = p.UserID
			err = nil
		} else {
			err = tx.QueryRowContext(ctx, `SELECT user_id FROM identities WHERE app_id = $1 AND provider_type = $2 AND id = $3`,
				p.AppID, p.Identity.ProviderType, p.Identity.ID).Scan(&userID)
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			userID = p.NewUser.ID
			created = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (app_id, id, type, disabled, created_at, last_login_at) VALUES ($1, $2, $3, FALSE, $4, $5)`,
				p.AppID, userID, p.NewUser.Type, ms(p.NewUser.CreatedAt), ms(p.Session.CreatedAt)); err != nil {
				return fmt.Errorf("inserting user: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO identities (app_id, provider_type, id, user_id, provider_id, data, position, created_at, email_key) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)`,
				p.AppID, p.Identity.ProviderType, p.Identity.ID, userID, p.Identity.ProviderID, data, ms(p.Session.CreatedAt), emailKeyOf(p.Identity.Data)); err != nil {
				return fmt.Errorf("inserting identity: %w", err)
			}
		case err != nil:
			return fmt.Errorf("finding identity: %w", err)
		default:
			var disabled bool
			if err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE app_id = $1 AND id = $2`+s.d.ForUpdate, p.AppID, userID).Scan(&disabled); err != nil {
				return fmt.Errorf("reading user: %w", notFound(err))
			}
			if disabled {
				return store.ErrUserDisabled
			}
			if p.APIKeyID != "" {
				// The key may have been deleted or disabled since it was checked: a session
				// must never outlive its key.
				var keyDisabled bool
				if err := tx.QueryRowContext(ctx, `SELECT disabled FROM api_keys WHERE app_id = $1 AND id = $2`+s.d.ForShare, p.AppID, p.APIKeyID).Scan(&keyDisabled); err != nil {
					return fmt.Errorf("reading api key: %w", notFound(err))
				}
				if keyDisabled {
					return fmt.Errorf("api key disabled: %w", store.ErrNotFound)
				}
			}
			if p.Identity.Data != nil && p.UserID == "" {
				if _, err := tx.ExecContext(ctx, `UPDATE identities SET data = $1, email_key = $5 WHERE app_id = $2 AND provider_type = $3 AND id = $4`,
					data, p.AppID, p.Identity.ProviderType, p.Identity.ID, emailKeyOf(p.Identity.Data)); err != nil {
					return fmt.Errorf("updating identity: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = $1 WHERE app_id = $2 AND id = $3`,
				ms(p.Session.CreatedAt), p.AppID, userID); err != nil {
				return fmt.Errorf("updating user: %w", err)
			}
		}
		d := p.Device
		if _, err := tx.ExecContext(ctx, `INSERT INTO devices (app_id, id, platform, platform_version, sdk_version, client_app_name, client_app_version, created_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (app_id, id) DO UPDATE SET platform = excluded.platform, platform_version = excluded.platform_version,
				sdk_version = excluded.sdk_version, client_app_name = excluded.client_app_name,
				client_app_version = excluded.client_app_version, last_seen_at = excluded.last_seen_at`,
			p.AppID, d.ID, d.Platform, d.PlatformVersion, d.SDKVersion, d.ClientAppName, d.ClientAppVer, ms(d.CreatedAt), ms(d.LastSeenAt)); err != nil {
			return fmt.Errorf("recording device: %w", err)
		}
		se := p.Session
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (app_id, id, token_hash, user_id, device_id, provider_type, identity_id, created_at, expires_at, last_used_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			p.AppID, se.ID, se.TokenHash, userID, se.DeviceID, p.Identity.ProviderType, p.Identity.ID, ms(se.CreatedAt), ms(se.ExpiresAt), ms(se.CreatedAt)); err != nil {
			return fmt.Errorf("inserting session: %w", err)
		}
		if p.Audit != nil {
			if err := appendAudit(ctx, tx, p.Audit(userID, created)); err != nil {
				return fmt.Errorf("audit event: %w", err)
			}
		}
		if created {
			encodedData = data
		}
		return nil
	})
	if err != nil {
		return store.User{}, false, fmt.Errorf("store: log in: %w", err)
	}
	if created {
		// What the transaction wrote, as getUser would read it back: no read.
		at := fromMS(ms(p.Session.CreatedAt))
		id := p.Identity
		id.Data, id.CreatedAt = decodeData(encodedData), at
		ids := []store.Identity{id}
		return store.User{AppID: p.AppID, ID: userID, Type: p.NewUser.Type, CreatedAt: fromMS(ms(p.NewUser.CreatedAt)), LastLogin: at,
			Identities: ids, Data: store.MergeIdentityData(ids)}, true, nil
	}
	u, err := getUser(ctx, s.reader(), p.AppID, userID)
	if err != nil {
		return store.User{}, false, err
	}
	return u, created, nil
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, appID, userID string) (store.User, error) {
	return getUser(ctx, s.reader(), appID, userID)
}

func getUser(ctx context.Context, q conn, appID, userID string) (store.User, error) {
	u := store.User{AppID: appID, ID: userID}
	var created, last int64
	err := q.QueryRowContext(ctx, `SELECT type, disabled, created_at, last_login_at FROM users WHERE app_id = $1 AND id = $2`, appID, userID).
		Scan(&u.Type, &u.Disabled, &created, &last)
	if err != nil {
		return store.User{}, fmt.Errorf("store: get user: %w", notFound(err))
	}
	u.CreatedAt, u.LastLogin = fromMS(created), fromMS(last)
	rows, err := q.QueryContext(ctx, `SELECT id, provider_type, provider_id, data, created_at FROM identities WHERE app_id = $1 AND user_id = $2 ORDER BY position`, appID, userID)
	if err != nil {
		return store.User{}, fmt.Errorf("store: get identities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id store.Identity
		var data string
		var at int64
		if err := rows.Scan(&id.ID, &id.ProviderType, &id.ProviderID, &data, &at); err != nil {
			return store.User{}, fmt.Errorf("store: get identities: %w", err)
		}
		id.Data = decodeData(data)
		id.CreatedAt = fromMS(at)
		u.Identities = append(u.Identities, id)
	}
	if err := rows.Err(); err != nil {
		return store.User{}, fmt.Errorf("store: get identities: %w", err)
	}
	u.Data = store.MergeIdentityData(u.Identities)
	return u, nil
}

// LinkIdentity implements store.Store.
func (s *Store) LinkIdentity(ctx context.Context, appID, userID string, id store.Identity) (store.User, error) {
	err := s.retry(ctx, func(tx conn) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM identities WHERE app_id = $1 AND provider_type = $2 AND id = $3`, appID, id.ProviderType, id.ID).Scan(&owner)
		switch {
		case err == nil && owner == userID:
			return nil
		case err == nil:
			return store.ErrIdentityTaken
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var disabled bool
		if err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE app_id = $1 AND id = $2`+s.d.ForShare, appID, userID).Scan(&disabled); err != nil {
			return notFound(err)
		}
		if disabled {
			return store.ErrUserDisabled
		}
		data, err := encodeData(id.Data)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO identities (app_id, provider_type, id, user_id, provider_id, data, position, created_at, email_key)
			VALUES ($1, $2, $3, $4, $5, $6, (SELECT coalesce(max(position), -1) + 1 FROM identities WHERE app_id = $7 AND user_id = $8), $9, $10)`,
			appID, id.ProviderType, id.ID, userID, id.ProviderID, data, appID, userID, ms(id.CreatedAt), emailKeyOf(id.Data))
		return err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("store: link identity: %w", err)
	}
	return getUser(ctx, s.w, appID, userID)
}

// DeleteUser implements store.Store.
func (s *Store) DeleteUser(ctx context.Context, appID, userID string) error {
	err := s.tx(ctx, func(tx conn) error { return deleteUser(ctx, tx, appID, userID) })
	if err != nil {
		return fmt.Errorf("store: delete user: %w", err)
	}
	return nil
}

func deleteUser(ctx context.Context, tx conn, appID, userID string) error {
	// An erased user leaves no failed-login record behind either.
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE app_id = $1 AND account_key IN
		(SELECT a.email_key FROM accounts a JOIN identities i ON i.app_id = a.app_id AND i.id = a.id
		 WHERE a.app_id = $2 AND i.user_id = $3 AND i.provider_type = 'local-userpass')`, appID, appID, userID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE app_id = $1 AND id IN
		(SELECT id FROM identities WHERE app_id = $2 AND user_id = $3 AND provider_type = 'local-userpass')`, appID, appID, userID); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE app_id = $1 AND id = $2`, appID, userID)
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
	err := s.tx(ctx, func(tx conn) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = $1 WHERE app_id = $2 AND id = $3`, disabled, appID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		if disabled {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE app_id = $1 AND user_id = $2`, appID, userID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set user disabled: %w", err)
	}
	return nil
}

// DeleteUserSessions implements store.Store.
func (s *Store) DeleteUserSessions(ctx context.Context, appID, userID string) (int, error) {
	res, err := s.writer().ExecContext(ctx, `DELETE FROM sessions WHERE app_id = $1 AND user_id = $2`, appID, userID)
	if err != nil {
		return 0, fmt.Errorf("store: delete user sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// sessionColumns are a session's columns, in the order scanSessionWith reads them.
const sessionColumns = `app_id, id, token_hash, user_id, device_id, provider_type, identity_id, created_at, expires_at, last_used_at`

// sessionColumnsOf is sessionColumns qualified by a table alias ("s.").
func sessionColumnsOf(alias string) string {
	cols := strings.Split(sessionColumns, ", ")
	for i, c := range cols {
		cols[i] = alias + c
	}
	return strings.Join(cols, ", ")
}

// scanSessionWith scans sessionColumns, then the extra destinations.
func scanSessionWith(sc interface{ Scan(...any) error }, se *store.Session, extra ...any) error {
	var created, expires, used int64
	dest := append([]any{&se.AppID, &se.ID, &se.TokenHash, &se.UserID, &se.DeviceID, &se.ProviderType, &se.IdentityID, &created, &expires, &used}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return err
	}
	se.CreatedAt, se.ExpiresAt, se.LastUsedAt = fromMS(created), fromMS(expires), fromMS(used)
	return nil
}

func scanSession(row *sql.Row) (store.Session, error) {
	var se store.Session
	if err := scanSessionWith(row, &se); err != nil {
		return store.Session{}, fmt.Errorf("store: get session: %w", notFound(err))
	}
	return se, nil
}

// GetSessionByTokenHash implements store.Store.
func (s *Store) GetSessionByTokenHash(ctx context.Context, hash []byte) (store.Session, error) {
	return scanSession(s.reader().QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, hash))
}

// GetSession implements store.Store.
func (s *Store) GetSession(ctx context.Context, appID, sessionID string) (store.Session, error) {
	return scanSession(s.reader().QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE app_id = $1 AND id = $2`, appID, sessionID))
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, appID, sessionID string) error {
	err := s.tx(ctx, func(tx conn) error { return deleteSession(ctx, tx, appID, sessionID) })
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

func deleteSession(ctx context.Context, tx conn, appID, sessionID string) error {
	var userID string
	err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE app_id = $1 AND id = $2 RETURNING user_id`, appID, sessionID).Scan(&userID)
	if err != nil {
		return notFound(err)
	}
	// An anonymous-only user with no session left can never be reached again.
	var sessions, others, anon int
	if err := tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM sessions WHERE app_id = $1 AND user_id = $2),
			(SELECT count(*) FROM identities WHERE app_id = $1 AND user_id = $2 AND provider_type <> 'anon-user'),
			(SELECT count(*) FROM identities WHERE app_id = $1 AND user_id = $2 AND provider_type = 'anon-user')`,
		appID, userID).Scan(&sessions, &others, &anon); err != nil {
		return err
	}
	if sessions == 0 && others == 0 && anon > 0 {
		return deleteUser(ctx, tx, appID, userID)
	}
	return nil
}

// TouchSession implements store.Store.
func (s *Store) TouchSession(ctx context.Context, appID, sessionID string, t time.Time) error {
	if _, err := s.writer().ExecContext(ctx, `UPDATE sessions SET last_used_at = $1 WHERE app_id = $2 AND id = $3`, ms(t), appID, sessionID); err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// CreateAccount implements store.Store.
func (s *Store) CreateAccount(ctx context.Context, a store.Account, tok *store.AccountToken) error {
	err := s.tx(ctx, func(tx conn) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE app_id = $1 AND email_key = $2`, a.AppID, store.EmailKey(a.Email)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return store.ErrEmailTaken
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (app_id, id, email, email_key, password_hash, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			a.AppID, a.ID, a.Email, store.EmailKey(a.Email), a.PasswordHash, a.Status, ms(a.CreatedAt)); err != nil {
			if s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err) {
				return store.ErrEmailTaken
			}
			return err
		}
		if tok != nil {
			return insertToken(ctx, tx, *tok)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: create account: %w", err)
	}
	return nil
}

func insertToken(ctx context.Context, tx conn, t store.AccountToken) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE app_id = $1 AND account_id = $2 AND purpose = $3`, t.AppID, t.AccountID, t.Purpose); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO account_tokens (app_id, token_id, hash, account_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.AppID, t.TokenID, t.Hash, t.AccountID, t.Purpose, ms(t.CreatedAt), ms(t.ExpiresAt))
	return err
}

// GetAccountByEmail implements store.Store.
func (s *Store) GetAccountByEmail(ctx context.Context, appID, email string) (store.Account, error) {
	return getAccount(ctx, s.reader(), `email_key = $2`, appID, store.EmailKey(email))
}

func getAccount(ctx context.Context, q conn, where, appID string, arg any) (store.Account, error) {
	a := store.Account{AppID: appID}
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, email, password_hash, status, created_at FROM accounts WHERE app_id = $1 AND `+where, appID, arg).
		Scan(&a.ID, &a.Email, &a.PasswordHash, &a.Status, &created)
	if err != nil {
		return store.Account{}, fmt.Errorf("store: get account: %w", notFound(err))
	}
	a.CreatedAt = fromMS(created)
	return a, nil
}

// AddAccountToken implements store.Store.
func (s *Store) AddAccountToken(ctx context.Context, tok store.AccountToken) error {
	if err := s.tx(ctx, func(tx conn) error { return insertToken(ctx, tx, tok) }); err != nil {
		return fmt.Errorf("store: add account token: %w", err)
	}
	return nil
}

// consumeToken deletes the token if it matches and is live, and returns its account id.
func consumeToken(ctx context.Context, tx conn, appID, tokenID, purpose string, hash []byte, now time.Time) (string, error) {
	var accountID string
	var stored []byte
	var expires int64
	err := tx.QueryRowContext(ctx, `SELECT account_id, hash, expires_at FROM account_tokens WHERE app_id = $1 AND token_id = $2 AND purpose = $3`,
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
	if _, err := tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE app_id = $1 AND token_id = $2`, appID, tokenID); err != nil {
		return "", err
	}
	return accountID, nil
}

// ConfirmAccount implements store.Store.
func (s *Store) ConfirmAccount(ctx context.Context, appID, tokenID string, hash []byte, now time.Time) (store.Account, error) {
	var a store.Account
	err := s.tx(ctx, func(tx conn) error {
		id, err := consumeToken(ctx, tx, appID, tokenID, store.TokenConfirm, hash, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET status = $1 WHERE app_id = $2 AND id = $3`, store.AccountConfirmed, appID, id); err != nil {
			return err
		}
		a, err = getAccount(ctx, tx, `id = $2`, appID, id)
		return err
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("store: confirm account: %w", err)
	}
	return a, nil
}

// ResetPassword implements store.Store.
func (s *Store) ResetPassword(ctx context.Context, appID, tokenID string, hash []byte, passwordHash string, now time.Time) (store.Account, error) {
	var a store.Account
	err := s.tx(ctx, func(tx conn) error {
		id, err := consumeToken(ctx, tx, appID, tokenID, store.TokenReset, hash, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $1 WHERE app_id = $2 AND id = $3`, passwordHash, appID, id); err != nil {
			return err
		}
		// Whoever knew the old password may hold sessions: they end with it.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE app_id = $1 AND user_id IN
			(SELECT user_id FROM identities WHERE app_id = $1 AND provider_type = 'local-userpass' AND id = $2)`, appID, id); err != nil {
			return err
		}
		a, err = getAccount(ctx, tx, `id = $2`, appID, id)
		return err
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("store: reset password: %w", err)
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

func insertAPIKey(ctx context.Context, tx conn, k store.APIKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.AppID, k.ID, k.UserID, k.Name, k.Hash, k.Disabled, ms(k.CreatedAt))
	return err
}

// CreateAPIKey implements store.Store.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey, limit int) error {
	err := s.tx(ctx, func(tx conn) error {
		var n, same, users int
		if err := tx.QueryRowContext(ctx, `SELECT
				(SELECT count(*) FROM api_keys WHERE app_id = $1 AND user_id = $2),
				(SELECT count(*) FROM api_keys WHERE app_id = $1 AND user_id = $2 AND name = $3),
				(SELECT count(*) FROM users WHERE app_id = $1 AND id = $2)`, k.AppID, k.UserID, k.Name).Scan(&n, &same, &users); err != nil {
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
		if err := insertAPIKey(ctx, tx, k); err != nil {
			if s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err) {
				return store.ErrNameTaken
			}
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: create api key: %w", err)
	}
	return nil
}

// CreateServerAPIKey implements store.Store.
func (s *Store) CreateServerAPIKey(ctx context.Context, u store.User, id store.Identity, k store.APIKey) error {
	err := s.tx(ctx, func(tx conn) error {
		data, err := encodeData(id.Data)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (app_id, id, type, disabled, created_at, last_login_at) VALUES ($1, $2, $3, FALSE, $4, $5)`,
			u.AppID, u.ID, u.Type, ms(u.CreatedAt), ms(u.CreatedAt)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO identities (app_id, provider_type, id, user_id, provider_id, data, position, created_at, email_key) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)`,
			u.AppID, id.ProviderType, id.ID, u.ID, id.ProviderID, data, ms(id.CreatedAt), emailKeyOf(id.Data)); err != nil {
			return err
		}
		return insertAPIKey(ctx, tx, k)
	})
	if err != nil {
		return fmt.Errorf("store: create server api key: %w", err)
	}
	return nil
}

// GetAPIKeyByHash implements store.Store.
func (s *Store) GetAPIKeyByHash(ctx context.Context, appID string, hash []byte) (store.APIKey, error) {
	k, err := scanAPIKey(s.reader().QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = $1 AND app_id = $2`, hash, appID))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("store: get api key: %w", err)
	}
	return k, nil
}

// GetAPIKey implements store.Store.
func (s *Store) GetAPIKey(ctx context.Context, appID, id string) (store.APIKey, error) {
	k, err := scanAPIKey(s.reader().QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE app_id = $1 AND id = $2`, appID, id))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("store: get api key: %w", err)
	}
	return k, nil
}

func (s *Store) listAPIKeys(ctx context.Context, query string, args ...any) ([]store.APIKey, error) {
	rows, err := s.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	defer rows.Close()
	out := []store.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list api keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	return out, nil
}

// ListAPIKeys implements store.Store.
func (s *Store) ListAPIKeys(ctx context.Context, appID, userID string) ([]store.APIKey, error) {
	return s.listAPIKeys(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE app_id = $1 AND user_id = $2 ORDER BY created_at, id`, appID, userID)
}

// ListServerAPIKeys implements store.Store.
func (s *Store) ListServerAPIKeys(ctx context.Context, appID string) ([]store.APIKey, error) {
	// From the few server users (a partial index holds them) to their keys, not through
	// every user's keys.
	return s.listAPIKeys(ctx, `SELECT `+prefixed("k.", apiKeyColumns)+` FROM users u CROSS JOIN api_keys k
		WHERE u.app_id = $1 AND u.type = '`+store.UserTypeServer+`' AND k.app_id = u.app_id AND k.user_id = u.id ORDER BY k.created_at, k.id`, appID)
}

func prefixed(p, columns string) string {
	parts := strings.Split(columns, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

func endKeySessions(ctx context.Context, tx conn, appID, id string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE app_id = $1 AND provider_type = 'api-key' AND identity_id = $2`, appID, id)
	return err
}

// SetAPIKeyDisabled implements store.Store.
func (s *Store) SetAPIKeyDisabled(ctx context.Context, appID, id string, disabled bool) error {
	err := s.tx(ctx, func(tx conn) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET disabled = $1 WHERE app_id = $2 AND id = $3`, disabled, appID, id)
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
		return fmt.Errorf("store: set api key disabled: %w", err)
	}
	return nil
}

// DeleteAPIKey implements store.Store.
func (s *Store) DeleteAPIKey(ctx context.Context, appID, id string) error {
	err := s.tx(ctx, func(tx conn) error {
		var userID string
		err := tx.QueryRowContext(ctx, `DELETE FROM api_keys WHERE app_id = $1 AND id = $2 RETURNING user_id`, appID, id).Scan(&userID)
		if err != nil {
			return notFound(err)
		}
		if err := endKeySessions(ctx, tx, appID, id); err != nil {
			return err
		}
		var typ string
		if err := tx.QueryRowContext(ctx, `SELECT type FROM users WHERE app_id = $1 AND id = $2`, appID, userID).Scan(&typ); err != nil {
			return notFound(err)
		}
		if typ == store.UserTypeServer {
			// A server user exists for its key: with the key goes everything it holds.
			return deleteUser(ctx, tx, appID, userID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete api key: %w", err)
	}
	return nil
}

// PutOAuthState implements store.Store.
func (s *Store) PutOAuthState(ctx context.Context, st store.OAuthState) error {
	dev, err := encodeData(st.Device)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx conn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_states WHERE expires_at <= $1`, ms(st.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_states (id, app_id, provider, client_state, redirect, callback, device, link_session_id, browser_binding, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			st.ID, st.AppID, st.Provider, st.ClientState, st.Redirect, st.Callback, dev, st.LinkSessionID, st.BrowserBinding, ms(st.CreatedAt), ms(st.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: put oauth state: %w", err)
	}
	return nil
}

// TakeOAuthState implements store.Store.
func (s *Store) TakeOAuthState(ctx context.Context, id string, now time.Time) (store.OAuthState, error) {
	st := store.OAuthState{ID: id}
	var dev string
	var created, expires int64
	err := s.writer().QueryRowContext(ctx, `DELETE FROM oauth_states WHERE id = $1 RETURNING app_id, provider, client_state, redirect, callback, device, link_session_id, browser_binding, created_at, expires_at`, id).
		Scan(&st.AppID, &st.Provider, &st.ClientState, &st.Redirect, &st.Callback, &dev, &st.LinkSessionID, &st.BrowserBinding, &created, &expires)
	if err != nil {
		return store.OAuthState{}, fmt.Errorf("store: take oauth state: %w", notFound(err))
	}
	st.Device, st.CreatedAt, st.ExpiresAt = decodeData(dev), fromMS(created), fromMS(expires)
	if !now.Before(st.ExpiresAt) {
		return store.OAuthState{}, fmt.Errorf("store: take oauth state: %w", store.ErrNotFound)
	}
	return st, nil
}
