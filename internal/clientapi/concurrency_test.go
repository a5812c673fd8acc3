package clientapi_test

import (
	"context"
	"sync"
	"testing"
	"time"
)

// These tests run under -race in CI: they look for data races in the HTTP layer and the
// core as much as for wrong answers.

// TestParallelRefresh: many refreshes of one session at once all succeed (refresh tokens
// do not rotate for the Realm SDKs) and each access token works.
func TestParallelRefresh(t *testing.T) {
	e := newEnv(t)
	u := e.anonLogin(t)
	var wg sync.WaitGroup
	tokens := make([]string, 16)
	for i := range tokens {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(u.refresh), "")
			if r.status != 201 {
				t.Errorf("refresh %d: %d %s", i, r.status, r.body)
				return
			}
			tokens[i], _ = r.json(t)["access_token"].(string)
		}(i)
	}
	wg.Wait()
	for i, tok := range tokens {
		if r := e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(tok), ""); r.status != 200 {
			t.Errorf("access token %d: %d", i, r.status)
		}
	}
}

// TestLogoutDuringRefresh: refreshes racing a logout may succeed or be refused, but once
// the logout has answered, no token of the session works: not the refresh token, and not
// an access token minted by a refresh that won the race.
func TestLogoutDuringRefresh(t *testing.T) {
	e := newEnv(t)
	u := e.anonLogin(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var minted []string
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(u.refresh), "")
			switch r.status {
			case 201:
				mu.Lock()
				minted = append(minted, r.json(t)["access_token"].(string))
				mu.Unlock()
			case 401:
			default:
				t.Errorf("refresh during logout: %d %s", r.status, r.body)
			}
		}()
	}
	if r := e.do(t, "DELETE", "/api/client/v2.0/auth/session", bearer(u.refresh), ""); r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	wg.Wait()
	if r := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(u.refresh), ""); r.status != 401 {
		t.Errorf("refresh after logout: %d", r.status)
	}
	for _, tok := range append(minted, u.access) {
		if r := e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(tok), ""); r.status != 401 {
			t.Errorf("an access token works after logout: %d", r.status)
		}
	}
}

// TestDeleteDuringRequests: a user deleted while its tokens are in use: afterwards every
// token is refused, and nothing answered 500 along the way.
func TestDeleteDuringRequests(t *testing.T) {
	e := newEnv(t)
	u := e.anonLogin(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if r := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(u.refresh), ""); r.status != 201 && r.status != 401 {
				t.Errorf("refresh: %d %s", r.status, r.body)
			}
		}()
		go func() {
			defer wg.Done()
			if r := e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(u.access), ""); r.status != 200 && r.status != 401 {
				t.Errorf("profile: %d %s", r.status, r.body)
			}
		}()
	}
	if r := e.do(t, "DELETE", "/api/client/v2.0/auth/delete", bearer(u.access), ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wg.Wait()
	if r := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(u.refresh), ""); r.status != 401 {
		t.Errorf("refresh after delete: %d", r.status)
	}
}

func (e *env) rotate(t *testing.T, refresh string) response {
	t.Helper()
	return e.do(t, "POST", "/api/client/v2.0/auth/session?rotate_refresh_token=true", bearer(refresh), "")
}

// TestRotatingRefreshTokens: opted-in refreshes replace the refresh token; the previous
// one works only within the grace window (a lost answer); a replay of an older one ends
// the whole session. Concurrent refreshes with one token (Keycloak
// GHSA-m2w5-7xhv-w6fh) never leave two working tokens.
func TestRotatingRefreshTokens(t *testing.T) {
	e := newEnv(t)
	u := e.anonLogin(t)
	r := e.rotate(t, u.refresh)
	if r.status != 201 {
		t.Fatalf("rotating refresh: %d %s", r.status, r.body)
	}
	r1, _ := r.json(t)["refresh_token"].(string)
	if r1 == "" || r1 == u.refresh {
		t.Fatalf("no new refresh token: %s", r.body)
	}
	// Without opting in, the answer has no refresh token (realm-web's shape).
	plain := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(r1), "")
	if plain.status != 201 || plain.json(t)["refresh_token"] != nil {
		t.Fatalf("plain refresh: %d %s", plain.status, plain.body)
	}
	// The previous token within the grace window: a retry after a lost answer.
	r = e.rotate(t, u.refresh)
	if r.status != 201 {
		t.Fatalf("previous token within the grace window: %d %s", r.status, r.body)
	}
	r2 := r.json(t)["refresh_token"].(string)
	// After the window, the first token is a replay: the session ends.
	e.clock.Advance(time.Minute)
	if r := e.rotate(t, u.refresh); r.status != 401 {
		t.Fatalf("replayed token after the window: %d", r.status)
	}
	if r := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(r2), ""); r.status != 401 {
		t.Fatalf("the session's current token after a replay: %d, want 401", r.status)
	}
	if r := e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(u.access), ""); r.status != 401 {
		t.Fatalf("an access token of the ended session: %d", r.status)
	}

	// Concurrent rotations with one token.
	v := e.anonLogin(t)
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if r := e.rotate(t, v.refresh); r.status == 201 {
				got[i], _ = r.json(t)["refresh_token"].(string)
			}
		}(i)
	}
	wg.Wait()
	e.clock.Advance(time.Minute)
	working := 0
	for _, tok := range got {
		if tok != "" && e.rotate(t, tok).status == 201 {
			working++
		}
	}
	if working > 1 {
		t.Fatalf("%d refresh tokens from one concurrent burst worked; at most one may", working)
	}
}

// TestAnonymousCleanup: the maintenance job deletes anonymous users unused for the
// configured time, and keeps those still in use.
func TestAnonymousCleanup(t *testing.T) {
	e := newEnv(t)
	old := e.anonLogin(t)
	e.clock.Advance(60 * 24 * time.Hour)
	recent := e.anonLogin(t)
	e.clock.Advance(40 * 24 * time.Hour) // old: 100 days unused; recent: 40 days
	if err := e.svc.Operators.Maintain(context.Background(), 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(old.refresh), ""); r.status != 401 {
		t.Fatalf("the anonymous user unused for 100 days still refreshes: %d", r.status)
	}
	if r := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(recent.refresh), ""); r.status != 201 {
		t.Fatalf("the anonymous user used 40 days ago was deleted: %d %s", r.status, r.body)
	}
}
