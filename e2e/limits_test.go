package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/store/postgres/pgtest"
)

// post sends a JSON POST and returns the response with its body read.
func post(t *testing.T, url string, body any) (*http.Response, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return res, out
}

func metricsText(t *testing.T, addr string) string {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

const quickstartApp = "/api/client/v2.0/app/quickstart-abcde"

// TestRateLimits: a limit answers 429 with Retry-After and the protocol's error shape,
// shows itself in RateLimit-* headers and in the metrics, and counts an "already
// exists" answer like a success.
func TestRateLimits(t *testing.T) {
	metricsAddr := freePort(t)
	srv := startServer(t, "--app", filepath.Join(repoRoot(t), "examples", "quickstart"),
		"--rate-limit", "login.ip=3/1m", "--rate-limit", "register.account=2/1h", "--metrics-listen", metricsAddr)
	login := srv.URL + quickstartApp + "/auth/providers/anon-user/login"
	for i := 1; i <= 3; i++ {
		res, _ := post(t, login, map[string]any{})
		if res.StatusCode != 200 || res.Header.Get("RateLimit-Remaining") != strconv.Itoa(3-i) || res.Header.Get("RateLimit-Limit") != "3" {
			t.Fatalf("login %d: %d, RateLimit-Remaining %q", i, res.StatusCode, res.Header.Get("RateLimit-Remaining"))
		}
	}
	res, body := post(t, login, map[string]any{})
	retry, _ := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.StatusCode != 429 || retry < 1 || retry > 60 || res.Header.Get("Content-Type") != "application/json" ||
		body["error_code"] != "TooManyRequests" || !strings.Contains(body["error"].(string), "login.ip") {
		t.Fatalf("fourth login: %d Retry-After=%q %v", res.StatusCode, res.Header.Get("Retry-After"), body)
	}

	reg := srv.URL + quickstartApp + "/auth/providers/local-userpass/register"
	cred := map[string]any{"email": "limit@example.com", "password": "password1"}
	if res, _ := post(t, reg, cred); res.StatusCode != 201 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	if res, body := post(t, reg, cred); res.StatusCode != 409 {
		t.Fatalf("second register: %d %v", res.StatusCode, body)
	}
	if res, body := post(t, reg, cred); res.StatusCode != 429 || body["error_code"] != "TooManyRequests" {
		t.Fatalf("third register (after an 'already exists'): %d %v", res.StatusCode, body)
	}
	// Another email is not affected by that email's limit.
	if res, _ := post(t, reg, map[string]any{"email": "other@example.com", "password": "password1"}); res.StatusCode != 201 {
		t.Fatalf("another email: %d", res.StatusCode)
	}
	m := metricsText(t, metricsAddr)
	for _, want := range []string{`warden_rate_limited_total{limit="login.ip"} 1`, `warden_rate_limited_total{limit="register.account"} 1`,
		`warden_logins_total{outcome="success",provider="anon-user"} 3`, `warden_http_requests_total{method="POST",route="POST /api/client/v2.0/app/{app}/auth/providers/{provider}/login",status="429"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestLockout: repeated wrong passwords lock the account, whether or not it exists (the
// answers are the same), the lock shows in the metrics, and an operator lifts it with
// `warden users unlock` while the server runs.
func TestLockout(t *testing.T) {
	metricsAddr := freePort(t)
	app := filepath.Join(repoRoot(t), "examples", "quickstart")
	srv := startServer(t, "--app", app, "--lockout-threshold", "3", "--metrics-listen", metricsAddr)
	base := srv.URL + quickstartApp + "/auth/providers/local-userpass"
	if res, _ := post(t, base+"/register", map[string]any{"email": "lock@example.com", "password": "password1"}); res.StatusCode != 201 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	for _, email := range []string{"lock@example.com", "nobody@example.com"} {
		for i := 1; i <= 3; i++ {
			if res, body := post(t, base+"/login", map[string]any{"username": email, "password": "wrong-password"}); res.StatusCode != 401 {
				t.Fatalf("%s wrong password %d: %d %v", email, i, res.StatusCode, body)
			}
		}
		res, body := post(t, base+"/login", map[string]any{"username": email, "password": "password1"})
		retry, _ := strconv.Atoi(res.Header.Get("Retry-After"))
		if res.StatusCode != 429 || body["error_code"] != "TooManyRequests" || retry < 1 || retry > 60 {
			t.Fatalf("%s after 3 failures: %d Retry-After=%q %v", email, res.StatusCode, res.Header.Get("Retry-After"), body)
		}
	}
	if m := metricsText(t, metricsAddr); !strings.Contains(m, "warden_account_lockouts_total 2") {
		t.Errorf("metrics do not count 2 lockouts")
	}
	out, err := exec.Command(binary(t), "users", "unlock", "--app", app, "--data", srv.DataDir, "--email", "LOCK@example.com").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "unlocked") {
		t.Fatalf("warden users unlock: %v\n%s", err, out)
	}
	if res, body := post(t, base+"/login", map[string]any{"username": "lock@example.com", "password": "password1"}); res.StatusCode != 200 {
		t.Fatalf("login after unlock: %d %v", res.StatusCode, body)
	}
}

// TestRateLimitsAcrossNodes: two nodes on one PostgreSQL share their counters.
func TestRateLimitsAcrossNodes(t *testing.T) {
	dsn := pgtest.Database(t)
	keyFile := sharedSigningKey(t)
	app := filepath.Join(repoRoot(t), "examples", "quickstart")
	nodes := []*server{
		startServer(t, "--app", app, "--database", dsn, "--signing-key", keyFile, "--rate-limit", "login.ip=4/1m"),
		startServer(t, "--app", app, "--database", dsn, "--signing-key", keyFile, "--rate-limit", "login.ip=4/1m"),
	}
	for i := 0; i < 4; i++ {
		n := nodes[i%2]
		if res, _ := post(t, n.URL+quickstartApp+"/auth/providers/anon-user/login", map[string]any{}); res.StatusCode != 200 {
			t.Fatalf("login %d on node %d: %d", i+1, i%2, res.StatusCode)
		}
	}
	for i, n := range nodes {
		if res, _ := post(t, n.URL+quickstartApp+"/auth/providers/anon-user/login", map[string]any{}); res.StatusCode != 429 {
			t.Errorf("node %d after 4 logins across both nodes: %d, want 429", i, res.StatusCode)
		}
	}
}

// TestMinimumPasswordLength: --min-password-length applies to registrations (and resets),
// so that an operator can meet the 8 characters OWASP ASVS asks for.
func TestMinimumPasswordLength(t *testing.T) {
	srv := startServer(t, "--app", filepath.Join(repoRoot(t), "examples", "quickstart"), "--min-password-length", "12")
	reg := srv.URL + quickstartApp + "/auth/providers/local-userpass/register"
	if res, body := post(t, reg, map[string]any{"email": "short@example.com", "password": "elevenchars"}); res.StatusCode != 400 || !strings.Contains(body["error"].(string), "between 12 and 128") {
		t.Fatalf("11 characters: %d %v", res.StatusCode, body)
	}
	if res, body := post(t, reg, map[string]any{"email": "long@example.com", "password": "twelve chars"}); res.StatusCode != 201 {
		t.Fatalf("12 characters: %d %v", res.StatusCode, body)
	}
	long := string([]rune(strings.Repeat("pässwörd ", 15))[:128]) // 128 characters, some not ASCII
	if res, body := post(t, reg, map[string]any{"email": "longest@example.com", "password": long}); res.StatusCode != 201 {
		t.Fatalf("128 characters: %d %v", res.StatusCode, body)
	}
	if res, _ := post(t, srv.URL+quickstartApp+"/auth/providers/local-userpass/login", map[string]any{"username": "longest@example.com", "password": long}); res.StatusCode != 200 {
		t.Fatalf("login with the 128-character password: %d", res.StatusCode)
	}
	if res, _ := post(t, reg, map[string]any{"email": "toolong@example.com", "password": long + "x"}); res.StatusCode != 400 {
		t.Fatalf("129 characters: %d", res.StatusCode)
	}
}
