package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wardenauth/warden/internal/password"
	"github.com/wardenauth/warden/internal/store"
	"github.com/wardenauth/warden/internal/store/postgres"
	"github.com/wardenauth/warden/internal/store/sqlite"
	"github.com/wardenauth/warden/internal/store/sqlstore"
)

// The million-user run (-users N): the same app seeded with few and with many users, the
// hot paths and the operators' paths measured on each, and the plans of the statements.

const (
	scaleApp   = "quickstart-abcde"
	scaleSmall = 1000
	pageSize   = 50
	deepPage   = 10000 // the page of the listing measured deep in a large app
)

// scalePoint is one engine's figures with a given number of users.
type scalePoint struct {
	users  int
	seeded time.Duration
	rates  []result                 // the hot paths under load
	admin  map[string]time.Duration // the operators' paths: median of sequential requests
	export float64                  // users/s of `warden users export`
}

// scaleRun is one engine at a small and a large user count, and the plans of the store's
// statements on the large database.
type scaleRun struct {
	engine       string
	small, large scalePoint
	plans        []statementPlan
}

type statementPlan struct{ query, plan string }

// seeder writes users straight into a migrated, empty database.
type seeder interface {
	seed(ctx context.Context, n int, passwordHash string) error
	close()
}

// scaleEngine opens a fresh, migrated database for a run and returns the serve flags that
// use it, a seeder, and a store on it for the plans.
type scaleEngine struct {
	name  string
	fresh func(ctx context.Context, label string) (flags []string, sd seeder, open func() (*sqlstore.Store, error), err error)
}

// benchScale runs the hot paths and the operators' paths with scaleSmall and n users.
func benchScale(bin, dir string, n int, duration time.Duration, eng scaleEngine) (scaleRun, error) {
	ctx := context.Background()
	h, err := password.NewHasher(password.DefaultParams, 1)
	if err != nil {
		return scaleRun{}, err
	}
	pwHash, err := h.Hash(ctx, "benchpass")
	if err != nil {
		return scaleRun{}, err
	}
	run := scaleRun{engine: eng.name}
	for i, users := range []int{scaleSmall, n} {
		label := fmt.Sprintf("%s-%d", strings.ToLower(strings.Fields(eng.name)[0]), users)
		flags, sd, open, err := eng.fresh(ctx, label)
		if err != nil {
			return scaleRun{}, err
		}
		fmt.Fprintf(os.Stderr, "%s: seeding %d users ...\n", eng.name, users)
		start := time.Now()
		err = sd.seed(ctx, users, pwHash)
		sd.close()
		if err != nil {
			return scaleRun{}, fmt.Errorf("seeding %d users: %w", users, err)
		}
		p, err := measureScale(bin, filepath.Join(dir, label), flags, users, duration)
		if err != nil {
			return scaleRun{}, err
		}
		p.seeded = time.Since(start)
		if i == 0 {
			run.small = p
			continue
		}
		run.large = p
		if run.plans, err = plansOf(ctx, open, users); err != nil {
			return scaleRun{}, err
		}
	}
	return run, nil
}

// seededEmail is the email of seeded user i (every third user has one).
func seededEmail(i int) string { return fmt.Sprintf("user%07d@example.com", i) }

// searchPrefix is what the operators' search looks for in an app of n users: the start of
// a seeded email that a handful of users share.
func searchPrefix(n int) string {
	i := n / 2
	i -= i % 3
	return seededEmail(i)[:len("user")+6]
}

// measureScale starts the server on a seeded database and measures.
func measureScale(bin, data string, flags []string, users int, duration time.Duration) (scalePoint, error) {
	p := scalePoint{users: users, admin: map[string]time.Duration{}}
	out, err := exec.Command(bin, append([]string{"admin-keys", "create", "--name", "bench", "--json", "--data", data}, flags...)...).CombinedOutput()
	if err != nil {
		return p, fmt.Errorf("admin key: %v: %s", err, out)
	}
	var key struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(out, &key); err != nil {
		return p, fmt.Errorf("admin key: %s", out)
	}
	srv, err := startServer(bin, data+".log", nil, append([]string{"--app", "examples/quickstart", "--data", data, "--rate-limit", "all=off"}, flags...)...)
	if err != nil {
		return p, err
	}
	api := srv.base + "/api/client/v2.0"
	app := api + "/app/" + scaleApp
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	_, body := post(client, app+"/auth/providers/anon-user/login", "", `{}`)
	var login map[string]string
	if err := json.Unmarshal(body, &login); err != nil || login["refresh_token"] == "" {
		srv.stop()
		return p, fmt.Errorf("login: %s", body)
	}
	var next atomic.Uint64
	seededLogin := func() string { // the seeded email users, in turn
		i := 3 * int(next.Add(1)%benchAccounts)
		return fmt.Sprintf(`{"username":%q,"password":"benchpass"}`, seededEmail(i))
	}
	for _, s := range []struct {
		name        string
		concurrency int
		do          func() int
	}{
		{"anonymous login", 64, func() int { c, _ := post(client, app+"/auth/providers/anon-user/login", "", `{}`); return c }},
		{"POST /auth/session (refresh)", 32, func() int { c, _ := post(client, api+"/auth/session", login["refresh_token"], ""); return c }},
		{"GET /auth/profile", 32, func() int { return get(client, api+"/auth/profile", login["access_token"]) }},
		{"password login", passwordClients, func() int {
			c, _ := post(client, app+"/auth/providers/local-userpass/login", "", seededLogin())
			return c
		}},
	} {
		fmt.Fprintf(os.Stderr, "%d users: %s ...\n", users, s.name)
		p.rates = append(p.rates, load(s.name, s.concurrency, duration, s.do))
	}
	adminURL := srv.base + "/api/admin/v1/apps/" + scaleApp + "/users"
	type adminPath struct {
		name  string
		query url.Values
		want  func(total, listed int) bool // the page it must answer
	}
	admin := []adminPath{
		{"search by email prefix", url.Values{"search": {searchPrefix(users)}}, func(total, listed int) bool { return total > 0 && total <= 10 && listed == total }},
		{"listing, page 1", url.Values{"limit": {fmt.Sprint(pageSize)}}, func(total, listed int) bool { return total >= users && listed == pageSize }},
	}
	if users >= deepPage*pageSize {
		admin = append(admin, adminPath{fmt.Sprintf("listing, page %d", deepPage), url.Values{"limit": {fmt.Sprint(pageSize)}, "offset": {fmt.Sprint((deepPage - 1) * pageSize)}}, func(total, listed int) bool { return listed == pageSize }})
	}
	for _, a := range admin {
		fmt.Fprintf(os.Stderr, "%d users: admin %s ...\n", users, a.name)
		var lat []time.Duration
		for range 21 {
			req, _ := http.NewRequest("GET", adminURL+"?"+a.query.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+key.Key)
			t := time.Now()
			res, err := client.Do(req)
			if err != nil {
				srv.stop()
				return p, err
			}
			var page struct {
				Users []json.RawMessage `json:"users"`
				Total int               `json:"total"`
			}
			err = json.NewDecoder(res.Body).Decode(&page)
			res.Body.Close()
			lat = append(lat, time.Since(t))
			if err != nil || res.StatusCode != 200 || !a.want(page.Total, len(page.Users)) {
				srv.stop()
				return p, fmt.Errorf("admin %s: %d, total %d, %d listed, %v", a.name, res.StatusCode, page.Total, len(page.Users), err)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p.admin[a.name] = lat[len(lat)/2]
	}
	srv.stop()
	fmt.Fprintf(os.Stderr, "%d users: export ...\n", users)
	start := time.Now()
	cmd := exec.Command(bin, append([]string{"users", "export", "--app", "examples/quickstart", "--data", data, "--out", os.DevNull}, flags...)...)
	out, err = cmd.CombinedOutput()
	if err != nil {
		return p, fmt.Errorf("export: %v: %s", err, out)
	}
	// The seeded users and those the anonymous logins added.
	exported := 0
	if _, err := fmt.Sscanf(lastLine(string(out)), "exported %d users", &exported); err != nil || exported < users {
		return p, fmt.Errorf("export: %d users, expected at least %d: %s", exported, users, lastLine(string(out)))
	}
	p.export = float64(exported) / time.Since(start).Seconds()
	return p, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// plansOf opens the large database's store, runs the statements behind the measured paths
// through it, and asks the engine for each one's plan.
func plansOf(ctx context.Context, open func() (*sqlstore.Store, error), users int) ([]statementPlan, error) {
	s, err := open()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	now := time.Now()
	id := fmt.Sprintf("%024x", users/2)
	calls := []func() error{
		func() error { _, err := s.GetUser(ctx, scaleApp, id); return err },
		func() error { _, err := s.GetAccountByEmail(ctx, scaleApp, seededEmail(0)); return err },
		func() error { _, err := s.GetSessionByTokenHash(ctx, sessionHash(users/2)); return err },
		func() error {
			_, _, err := s.LogIn(ctx, store.LoginParams{AppID: scaleApp,
				Identity: store.Identity{ID: "plan-anon", ProviderType: "anon-user", ProviderID: "anon-user", CreatedAt: now},
				NewUser:  store.User{ID: "plan-user", Type: store.UserTypeNormal, CreatedAt: now},
				Session:  store.Session{AppID: scaleApp, ID: "plan-session", TokenHash: sessionHash(-1), DeviceID: "bench-device", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
				Device:   store.Device{AppID: scaleApp, ID: "bench-device", CreatedAt: now, LastSeenAt: now}})
			return err
		},
		func() error {
			_, _, err := s.ListUsers(ctx, scaleApp, store.UserQuery{Search: searchPrefix(users), Limit: pageSize})
			return err
		},
		func() error {
			_, _, err := s.ListUsers(ctx, scaleApp, store.UserQuery{Limit: pageSize, Offset: (deepPage - 1) * pageSize})
			return err
		},
		func() error { _, err := s.ListServerAPIKeys(ctx, scaleApp); return err },
	}
	for _, call := range calls {
		if err := call(); err != nil {
			return nil, fmt.Errorf("plans: %w", err)
		}
	}
	var out []statementPlan
	for _, q := range s.Statements() {
		p, err := s.Plan(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("plan of %s: %w", q, err)
		}
		out = append(out, statementPlan{query: q, plan: p})
	}
	return out, nil
}

func sessionHash(i int) []byte {
	h := sha256.Sum256([]byte(fmt.Sprint("session-", i)))
	return h[:]
}

// seedRows calls row for each table's rows of users [0, n), in the order the foreign keys
// need: a user, then its identity, account or key, and session.
func seedRows(n int, passwordHash string, row func(table string, values ...any) error) error {
	// Recent users, with live sessions: the server's upkeep removes long-idle anonymous
	// users and expired sessions.
	created := time.Now().UnixMilli() - int64(n)
	if err := row("devices", scaleApp, "bench-device", created, created); err != nil {
		return err
	}
	for i := range n {
		id := fmt.Sprintf("%024x", i)
		at := created + int64(i)
		if err := row("users", scaleApp, id, store.UserTypeNormal, at, at); err != nil {
			return err
		}
		var provider, identity, data string
		var emailKey any
		switch i % 3 {
		case 0:
			provider, identity = "local-userpass", fmt.Sprintf("acct%020x", i)
			email := seededEmail(i)
			data, emailKey = fmt.Sprintf(`{"email":%q}`, email), email
			if err := row("accounts", scaleApp, identity, email, email, passwordHash, store.AccountConfirmed, at); err != nil {
				return err
			}
		case 1:
			provider, identity, data = "anon-user", fmt.Sprintf("anon%020x", i), "{}"
		default:
			provider, identity, data = "api-key", fmt.Sprintf("key%021x", i), "{}"
			kh := sha256.Sum256([]byte(identity))
			if err := row("api_keys", scaleApp, identity, id, "key", kh[:], at); err != nil {
				return err
			}
		}
		if err := row("identities", scaleApp, provider, identity, id, provider, data, 0, at, emailKey); err != nil {
			return err
		}
		if err := row("sessions", scaleApp, fmt.Sprintf("s%023x", i), sessionHash(i), id, "bench-device", provider, identity, at, at+int64(60*24*time.Hour/time.Millisecond), at); err != nil {
			return err
		}
	}
	return nil
}

// seedColumns are the columns seedRows fills, by table.
var seedColumns = map[string][]string{
	"devices":    {"app_id", "id", "created_at", "last_seen_at"},
	"users":      {"app_id", "id", "type", "created_at", "last_login_at"},
	"accounts":   {"app_id", "id", "email", "email_key", "password_hash", "status", "created_at"},
	"api_keys":   {"app_id", "id", "user_id", "name", "key_hash", "created_at"},
	"identities": {"app_id", "provider_type", "id", "user_id", "provider_id", "data", "position", "created_at", "email_key"},
	"sessions":   {"app_id", "id", "token_hash", "user_id", "device_id", "provider_type", "identity_id", "created_at", "expires_at", "last_used_at"},
}

// sqliteScale is the SQLite engine of the scale run: a data directory per run.
func sqliteScale(dir string) scaleEngine {
	return scaleEngine{name: "SQLite (synchronous=FULL)", fresh: func(ctx context.Context, label string) ([]string, seeder, func() (*sqlstore.Store, error), error) {
		data := filepath.Join(dir, label)
		path := filepath.Join(data, "warden.db")
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, nil, nil, err
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{}) // migrates
		if err != nil {
			return nil, nil, nil, err
		}
		s.Close()
		// Seeding only: no fsync per batch (the server then opens it with FULL).
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=synchronous(OFF)&_pragma=journal_mode(WAL)")
		if err != nil {
			return nil, nil, nil, err
		}
		db.SetMaxOpenConns(1)
		open := func() (*sqlstore.Store, error) { return sqlite.Open(ctx, path, sqlite.Options{}) }
		return nil, sqlSeeder{db}, open, nil
	}}
}

// sqlSeeder inserts the rows in transactions of many users.
type sqlSeeder struct{ db *sql.DB }

func (s sqlSeeder) seed(ctx context.Context, n int, passwordHash string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	stmts := map[string]*sql.Stmt{}
	rows := 0
	err = seedRows(n, passwordHash, func(table string, values ...any) error {
		st, ok := stmts[table]
		if !ok {
			cols := seedColumns[table]
			ph := make([]string, len(cols))
			for i := range cols {
				ph[i] = fmt.Sprintf("$%d", i+1)
			}
			q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
			var err error
			if st, err = tx.PrepareContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
			stmts[table] = st
		}
		if _, err := st.ExecContext(ctx, values...); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		rows++
		if rows%200000 == 0 {
			// Commit in parts, each with its statements.
			if err := tx.Commit(); err != nil {
				return err
			}
			var err error
			if tx, err = s.db.BeginTx(ctx, nil); err != nil {
				return err
			}
			stmts = map[string]*sql.Stmt{}
		}
		return nil
	})
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

func (s sqlSeeder) close() { s.db.Close() }

// postgresScale is the PostgreSQL engine of the scale run: a database per run on the
// cluster at url.
func postgresScale(clusterURL, settings string) scaleEngine {
	return scaleEngine{name: "PostgreSQL 15 (" + settings + ")", fresh: func(ctx context.Context, label string) ([]string, seeder, func() (*sqlstore.Store, error), error) {
		admin, err := pgx.Connect(ctx, clusterURL)
		if err != nil {
			return nil, nil, nil, err
		}
		name := "scale_" + strings.ReplaceAll(label, "-", "_")
		_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
		admin.Close(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		u, err := url.Parse(clusterURL)
		if err != nil {
			return nil, nil, nil, err
		}
		u.Path = "/" + name
		dsn := u.String()
		s, err := postgres.Open(ctx, dsn, postgres.Options{}) // migrates
		if err != nil {
			return nil, nil, nil, err
		}
		s.Close()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, nil, nil, err
		}
		open := func() (*sqlstore.Store, error) { return postgres.Open(ctx, dsn, postgres.Options{}) }
		return []string{"--database", dsn}, copySeeder{conn}, open, nil
	}}
}

// copySeeder loads the rows with COPY, table by table, then has the planner's statistics
// gathered (as autovacuum would soon).
type copySeeder struct{ conn *pgx.Conn }

func (s copySeeder) seed(ctx context.Context, n int, passwordHash string) error {
	// One table at a time, so that only one table's rows are in memory.
	for _, table := range []string{"devices", "users", "accounts", "api_keys", "identities", "sessions"} {
		var rows [][]any
		if err := seedRows(n, passwordHash, func(t string, values ...any) error {
			if t != table {
				return nil
			}
			rows = append(rows, values)
			return nil
		}); err != nil {
			return err
		}
		if _, err := s.conn.CopyFrom(ctx, pgx.Identifier{table}, seedColumns[table], pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy %s: %w", table, err)
		}
	}
	_, err := s.conn.Exec(ctx, "ANALYZE")
	return err
}

func (s copySeeder) close() { s.conn.Close(context.Background()) }
