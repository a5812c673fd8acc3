package e2e

import (
	"testing"
)

// The classes of the peers' published vulnerabilities, each as a test that fails if the
// check it needs is removed. (The audience check of external JWTs, Zitadel
// CVE-2026-55669, is TestRefusals in internal/auth/provider/customjwt and
// TestIDTokenRefusals in internal/auth/provider/oauth2; refresh-token reuse, Keycloak
// GHSA-m2w5-7xhv-w6fh, is TestRotatingRefreshTokens in internal/clientapi.)

// TestNoAutoLinkByEmail (PocketBase CVE-2024-38351): an email/password account that
// nobody verified must not become the account of whoever later logs in with an OAuth
// identity carrying the same email, nor the other way round.
func TestNoAutoLinkByEmail(t *testing.T) {
	idp, app, secrets, env := oauthSetup(t)
	srv := startServerEnv(t, env, "--app", app, "--secrets", secrets)
	base := srv.URL + "/api/client/v2.0/app/" + oauthAppID + "/auth/providers"
	victim := "victim@example.com"
	if st, _, body := call(t, "POST", base+"/local-userpass/register", "", map[string]string{"email": victim, "password": "attacker-pw"}); st != 201 {
		t.Fatalf("attacker registers the victim's email: %d %v", st, body)
	}
	st, _, attacker := call(t, "POST", base+"/local-userpass/login", "", map[string]string{"username": victim, "password": "attacker-pw"})
	if st != 200 {
		t.Fatalf("attacker logs in: %d %v", st, attacker)
	}
	st, _, google := call(t, "POST", base+"/oauth2-google/login", "", map[string]string{
		"id_token": idp.IDToken(map[string]any{"sub": "g-victim", "email": victim, "email_verified": true}),
	})
	if st != 200 {
		t.Fatalf("victim logs in with Google: %d %v", st, google)
	}
	if google["user_id"] == attacker["user_id"] {
		t.Fatal("the Google login landed in the account registered with the same email")
	}
	st, _, prof := call(t, "GET", srv.URL+"/api/client/v2.0/auth/profile", google["access_token"].(string), nil)
	if st != 200 || len(prof["identities"].([]any)) != 1 {
		t.Fatalf("the Google user has identities %v", prof["identities"])
	}
}

// TestRevokedSessionsStayRevokedAfterRestart (Keycloak CVE-2026-9802): tokens of a
// session that was logged out are refused, before and after a restart, while another
// session of the same user keeps working.
func TestRevokedSessionsStayRevokedAfterRestart(t *testing.T) {
	data := t.TempDir()
	srv := startServer(t, "--app", quickstart(t), "--data", data)
	if st, _, _ := call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/register", "", map[string]string{"email": "replay@example.com", "password": "replay-pw"}); st != 201 {
		t.Fatalf("register: %d", st)
	}
	creds := map[string]string{"username": "replay@example.com", "password": "replay-pw"}
	_, _, a := call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/login", "", creds)
	_, _, b := call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/login", "", creds)
	// Use A's access token once, so that it sits in the verified-token cache.
	if st, _, _ := call(t, "GET", srv.URL+"/api/client/v2.0/auth/profile", a["access_token"].(string), nil); st != 200 {
		t.Fatalf("profile with A: %d", st)
	}
	if st, _, _ := call(t, "DELETE", srv.URL+"/api/client/v2.0/auth/session", a["refresh_token"].(string), nil); st != 204 {
		t.Fatalf("logout A: %d", st)
	}
	check := func(url, when string) {
		t.Helper()
		if st, _, _ := call(t, "GET", url+"/api/client/v2.0/auth/profile", a["access_token"].(string), nil); st != 401 {
			t.Errorf("%s: A's access token: %d, want 401", when, st)
		}
		if st, _, _ := call(t, "POST", url+"/api/client/v2.0/auth/session", a["refresh_token"].(string), nil); st != 401 {
			t.Errorf("%s: A's refresh token: %d, want 401", when, st)
		}
		if st, _, _ := call(t, "POST", url+"/api/client/v2.0/auth/session", b["refresh_token"].(string), nil); st != 201 {
			t.Errorf("%s: B's refresh token: %d, want 201", when, st)
		}
	}
	check(srv.URL, "before the restart")
	if err := srv.stop(t); err != nil {
		t.Fatal(err)
	}
	srv2 := startServer(t, "--app", quickstart(t), "--data", data)
	check(srv2.URL, "after the restart")
}
