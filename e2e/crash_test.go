package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, to read the database after the crash
)

// TestKillDuringLoad kills `warden serve` with SIGKILL in the middle of registrations,
// logins, links and deletes, restarts it on the same data directory, and checks that
// every acknowledged write is there (and every acknowledged delete gone), and that the
// database holds no half-made user, orphan identity or orphan session.
func TestKillDuringLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	app := filepath.Join(repoRoot(t), "examples", "quickstart")
	srv := startServer(t, "--app", app)
	base := srv.URL + quickstartApp

	type acked struct {
		email, userID string
		linkedAnon    string // the anonymous identity's user, linked to this email
	}
	var (
		mu       sync.Mutex
		users    []acked
		deleted  []string // emails whose user's deletion was acknowledged
		delIDs   []string // and those users' ids
		stop     atomic.Bool
		attempts atomic.Int64
	)
	client := &http.Client{Timeout: 5 * time.Second}
	postJSON := func(url, bearer, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", url, stringsReader(body))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, nil
		}
		defer res.Body.Close()
		return res.StatusCode, decodeJSON(res)
	}
	worker := func(w int) {
		for i := 0; !stop.Load(); i++ {
			attempts.Add(1)
			email := fmt.Sprintf("crash-%d-%d@example.com", w, i)
			cred := fmt.Sprintf(`{"email":%q,"password":"password1"}`, email)
			if st, _ := postJSON(base+"/auth/providers/local-userpass/register", "", cred); st != 201 {
				continue
			}
			switch i % 3 {
			case 0: // register and log in
				st, body := postJSON(base+"/auth/providers/local-userpass/login", "", fmt.Sprintf(`{"username":%q,"password":"password1"}`, email))
				if st == 200 {
					mu.Lock()
					users = append(users, acked{email: email, userID: body["user_id"].(string)})
					mu.Unlock()
				}
			case 1: // anonymous, then link the email
				st, anon := postJSON(base+"/auth/providers/anon-user/login", "", `{}`)
				if st != 200 {
					continue
				}
				st, _ = postJSON(base+"/auth/providers/local-userpass/login?link=true", anon["access_token"].(string), fmt.Sprintf(`{"username":%q,"password":"password1"}`, email))
				if st == 200 {
					mu.Lock()
					users = append(users, acked{email: email, userID: anon["user_id"].(string), linkedAnon: anon["user_id"].(string)})
					mu.Unlock()
				}
			case 2: // log in, then delete
				st, body := postJSON(base+"/auth/providers/local-userpass/login", "", fmt.Sprintf(`{"username":%q,"password":"password1"}`, email))
				if st != 200 {
					continue
				}
				req, _ := http.NewRequest("DELETE", srv.URL+"/api/client/v2.0/auth/delete", nil)
				req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
				res, err := client.Do(req)
				if err == nil {
					res.Body.Close()
					if res.StatusCode == 204 {
						mu.Lock()
						deleted = append(deleted, email)
						delIDs = append(delIDs, body["user_id"].(string))
						mu.Unlock()
					}
				}
			}
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) { defer wg.Done(); worker(w) }(w)
	}
	// Kill once enough has been acknowledged to test anything: progress, not time, since
	// on a busy 2-core machine each worker needs several argon2id hashes per step.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		mu.Lock()
		nUsers, nDeleted := len(users), len(deleted)
		mu.Unlock()
		if nUsers >= 10 && nDeleted >= 3 {
			break
		}
		if time.Now().After(deadline) {
			stop.Store(true)
			t.Fatalf("too little was acknowledged in 3 minutes: %d users, %d deletes", nUsers, nDeleted)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	<-srv.done
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(users) < 10 || len(deleted) < 3 {
		t.Fatalf("too little was acknowledged before the kill to test anything: %d users, %d deletes", len(users), len(deleted))
	}
	t.Logf("killed after %d attempts: %d users and %d deletions acknowledged", attempts.Load(), len(users), len(deleted))

	again := startServer(t, "--app", app, "--data", srv.DataDir)
	base = again.URL + quickstartApp
	for _, u := range users {
		st, _, body := call(t, "POST", base+"/auth/providers/local-userpass/login", "", map[string]string{"username": u.email, "password": "password1"})
		if st != 200 || body["user_id"] != u.userID {
			t.Errorf("acknowledged user %s: login after the crash: %d %v, want user %s", u.email, st, body, u.userID)
		}
	}
	for _, email := range deleted {
		if st, _, body := call(t, "POST", base+"/auth/providers/local-userpass/login", "", map[string]string{"username": email, "password": "password1"}); st != 401 {
			t.Errorf("acknowledged deletion of %s: login after the crash: %d %v", email, st, body)
		}
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(srv.DataDir, "warden.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for what, q := range map[string]string{
		"users without an identity":        `SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.app_id = u.app_id AND i.user_id = u.id)`,
		"identities without a user":        `SELECT count(*) FROM identities i WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.app_id = i.app_id AND u.id = i.user_id)`,
		"sessions without a user":          `SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.app_id = s.app_id AND u.id = s.user_id)`,
		"email identities without account": `SELECT count(*) FROM identities i WHERE i.provider_type = 'local-userpass' AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.app_id = i.app_id AND a.id = i.id)`,
	} {
		var n int
		if err := db.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n != 0 {
			t.Errorf("after the crash: %d %s", n, what)
		}
	}

	// Every acknowledged change has its audit event: events are committed before the
	// answer, so a kill loses none.
	hasEvent := func(target string, actions ...string) bool {
		var n int
		q := `SELECT count(*) FROM audit_events WHERE target = $1 AND action IN ('` + strings.Join(actions, "','") + `')`
		if err := db.QueryRowContext(context.Background(), q, target).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	for _, u := range users {
		if u.linkedAnon != "" {
			if !hasEvent(u.userID, "identity_linked") {
				t.Errorf("acknowledged link of %s to %s has no audit event", u.email, u.userID)
			}
		} else if !hasEvent(u.userID, "user_created", "login") {
			t.Errorf("acknowledged login of %s (%s) has no audit event", u.email, u.userID)
		}
	}
	for _, id := range delIDs {
		if !hasEvent(id, "user_deleted") {
			t.Errorf("acknowledged deletion of %s has no audit event", id)
		}
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func decodeJSON(res *http.Response) map[string]any {
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return m
}
