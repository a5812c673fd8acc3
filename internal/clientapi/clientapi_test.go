package clientapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/auth/authtest"
	"github.com/wardenauth/warden/internal/clientapi"
	"github.com/wardenauth/warden/internal/mail/mailtest"
)

type env struct {
	st    interface{ Close() error }
	svc   *auth.Service
	srv   *httptest.Server
	clock *authtest.Clock
	mail  *mailtest.Catcher
	appID string
}

const appID = authtest.AppID

// newEnv serves one app with anonymous and email/password (email confirmation) providers,
// and a disabled provider, on a real SQLite store.
func newEnv(t testing.TB, origins ...string) *env {
	t.Helper()
	return newEnvWith(t, clientapi.Options{}, origins...)
}

// newEnvWith is newEnv with the client API's options.
func newEnvWith(t testing.TB, opts clientapi.Options, origins ...string) *env {
	t.Helper()
	a := authtest.New(t, authtest.Options{AllowedOrigins: origins})
	srv := httptest.NewServer(clientapi.New(a.Svc, opts))
	t.Cleanup(srv.Close)
	return &env{st: a.Store, svc: a.Svc, srv: srv, clock: a.Clock, mail: a.Mail, appID: appID}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %q", r.body)
	}
	return m
}

func (e *env) do(t *testing.T, method, path string, headers map[string]string, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func (e *env) appPath(p string) string { return "/api/client/v2.0/app/" + e.appID + p }

// expectError checks the protocol's error shape: the status, exactly
// `Content-Type: application/json`, and the error_code.
func expectError(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want exactly application/json", ct)
	}
	m := r.json(t)
	if m["error_code"] != code {
		t.Fatalf("error_code = %v, want %s; body %s", m["error_code"], code, r.body)
	}
	if s, _ := m["error"].(string); s == "" {
		t.Fatalf("no error message: %s", r.body)
	}
	return m
}

type tokens struct{ access, refresh, userID, deviceID string }

func (e *env) anonLogin(t *testing.T) tokens {
	t.Helper()
	r := e.do(t, "POST", e.appPath("/auth/providers/anon-user/login"), nil, `{"options":{"device":{"sdkVersion":"2.0.1","platform":"node","platformVersion":"20"}}}`)
	if r.status != 200 {
		t.Fatalf("anon login: %d %s", r.status, r.body)
	}
	m := r.json(t)
	return tokens{m["access_token"].(string), m["refresh_token"].(string), m["user_id"].(string), m["device_id"].(string)}
}

func (e *env) registerConfirmed(t *testing.T, email, pw string) {
	t.Helper()
	r := e.do(t, "POST", e.appPath("/auth/providers/local-userpass/register"), nil, `{"email":"`+email+`","password":"`+pw+`"}`)
	if r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	vals := e.mailedToken(t, email, "Confirm")
	r = e.do(t, "POST", e.appPath("/auth/providers/local-userpass/confirm"), nil, `{"token":"`+vals["token"]+`","tokenId":"`+vals["tokenId"]+`"}`)
	if r.status != 204 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
}

// mailedToken waits for the mail to email whose subject has subject in it and returns the
// query of its link (token, tokenId).
func (e *env) mailedToken(t *testing.T, email, subject string) map[string]string {
	t.Helper()
	m, err := e.mail.WaitFor(email, subject, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	link := m.Body[strings.Index(m.Body, "https://"):]
	link = link[:strings.IndexAny(link, " \n")]
	q := link[strings.Index(link, "?")+1:]
	vals := map[string]string{}
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		vals[k] = v
	}
	return vals
}

// TestPasswordResetEndsEverySession: whoever knew the old password (an attacker who
// pre-registered the victim's email, say) loses their sessions when the password is reset.
func TestPasswordResetEndsEverySession(t *testing.T) {
	e := newEnv(t)
	e.registerConfirmed(t, "victim@x.io", "attacker1")
	r := e.do(t, "POST", e.appPath("/auth/providers/local-userpass/login"), nil, `{"username":"victim@x.io","password":"attacker1"}`)
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	old := r.json(t)
	if r := e.do(t, "POST", e.appPath("/auth/providers/local-userpass/reset/send"), nil, `{"email":"victim@x.io"}`); r.status != 204 {
		t.Fatalf("reset/send: %d %s", r.status, r.body)
	}
	vals := e.mailedToken(t, "victim@x.io", "Reset")
	if r := e.do(t, "POST", e.appPath("/auth/providers/local-userpass/reset"), nil, `{"token":"`+vals["token"]+`","tokenId":"`+vals["tokenId"]+`","password":"victim-new"}`); r.status != 204 {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	expectError(t, e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(old["access_token"].(string)), ""), 401, "InvalidSession")
	expectError(t, e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(old["refresh_token"].(string)), ""), 401, "InvalidSession")
	r = e.do(t, "POST", e.appPath("/auth/providers/local-userpass/login"), nil, `{"username":"victim@x.io","password":"victim-new"}`)
	if r.status != 200 || r.json(t)["user_id"] != old["user_id"] {
		t.Fatalf("login with the new password: %d %s", r.status, r.body)
	}
}

func TestBadInputGetsProtocolErrors(t *testing.T) {
	e := newEnv(t)
	login := e.appPath("/auth/providers/local-userpass/login")
	register := e.appPath("/auth/providers/local-userpass/register")
	cases := []struct {
		name, method, path, body string
		headers                  map[string]string
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", login, `{"username": "a@b.c", "password":`, nil, 400, "BadRequest"},
		{"JSON array body", "POST", login, `[1, 2]`, nil, 400, "BadRequest"},
		{"bad extended JSON", "POST", login, `{"username": {"$numberInt": "x"}}`, nil, 400, "BadRequest"},
		{"username of the wrong type", "POST", login, `{"username": 5, "password": "secret1"}`, nil, 400, "BadRequest"},
		{"password missing", "POST", login, `{"username": "a@b.c"}`, nil, 400, "BadRequest"},
		{"options not an object", "POST", login, `{"username": "a@b.c", "password": "x", "options": 3}`, nil, 400, "InvalidParameter"},
		// 400,000 nested arrays (800 KB, under the size bound) once overflowed the decoder's
		// stack and ended the process: no request may be able to do that.
		{"deeply nested body", "POST", login, `{"username": ` + strings.Repeat("[", 400_000) + strings.Repeat("]", 400_000) + `}`, nil, 400, "BadRequest"},
		{"nesting past the depth bound", "POST", login, `{"options": ` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat("}", 200) + `}`, nil, 400, "BadRequest"},
		{"oversized body", "POST", login, `{"username": "` + strings.Repeat("a", 2<<20) + `"}`, nil, 413, "ReadSizeLimitExceeded"},
		{"unknown app", "POST", "/api/client/v2.0/app/nope/auth/providers/anon-user/login", `{}`, nil, 404, "InvalidParameter"},
		{"unknown app location", "GET", "/api/client/v2.0/app/nope/location", ``, nil, 404, "InvalidParameter"},
		{"unknown provider", "POST", e.appPath("/auth/providers/nope/login"), `{}`, nil, 404, "AuthProviderNotFound"},
		{"disabled provider", "POST", e.appPath("/auth/providers/custom-token/login"), `{"token": "x"}`, nil, 403, "AuthProviderNotFound"},
		{"configured but unsupported provider", "POST", e.appPath("/auth/providers/oauth2-github/login"), `{"id_token": "x"}`, nil, 501, "AuthProviderNotFound"},
		{"invalid email", "POST", register, `{"email": "not-an-email", "password": "secret1"}`, nil, 400, "BadRequest"},
		{"email with a display name", "POST", register, `{"email": "Joe <joe@x.io>", "password": "secret1"}`, nil, 400, "BadRequest"},
		{"register without password", "POST", register, `{"email": "a@b.io"}`, nil, 400, "MissingParameter"},
		{"register with a numeric password", "POST", register, `{"email": "a@b.io", "password": {"$numberInt": "123456"}}`, nil, 400, "InvalidParameter"},
		{"short password", "POST", register, `{"email": "a@b.io", "password": "12345"}`, nil, 400, "BadRequest"},
		{"confirm with unknown token", "POST", e.appPath("/auth/providers/local-userpass/confirm"), `{"token": "x", "tokenId": "y"}`, nil, 400, "UserpassTokenInvalid"},
		{"reset with unknown token", "POST", e.appPath("/auth/providers/local-userpass/reset"), `{"token": "x", "tokenId": "y", "password": "secret12"}`, nil, 400, "UserpassTokenInvalid"},
		{"email ops on a non-email provider", "POST", e.appPath("/auth/providers/anon-user/register"), `{"email": "a@b.io", "password": "secret1"}`, nil, 404, "AuthProviderNotFound"},
		{"profile without a token", "GET", "/api/client/v2.0/auth/profile", ``, nil, 401, "MissingAuthReq"},
		{"profile with Bearer null", "GET", "/api/client/v2.0/auth/profile", ``, bearer("null"), 401, "InvalidSession"},
		{"profile with a garbage token", "GET", "/api/client/v2.0/auth/profile", ``, bearer("abc.def.ghi"), 401, "InvalidSession"},
		{"profile with a Basic header", "GET", "/api/client/v2.0/auth/profile", ``, map[string]string{"Authorization": "Basic eDp5"}, 401, "InvalidSession"},
		{"refresh with a garbage token", "POST", "/api/client/v2.0/auth/session", ``, bearer("abc"), 401, "InvalidSession"},
		{"logout with a garbage token", "DELETE", "/api/client/v2.0/auth/session", ``, bearer("abc"), 401, "InvalidSession"},
		{"unknown route", "GET", "/api/client/v2.0/nothing", ``, nil, 404, "ServiceCommandNotFound"},
		{"wrong method", "PUT", "/api/client/v2.0/auth/profile", ``, nil, 405, "BadRequest"},
		{"functions need a token", "POST", e.appPath("/functions/call"), `{"name": "f", "arguments": []}`, bearer("null"), 401, "InvalidSession"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expectError(t, e.do(t, tc.method, tc.path, tc.headers, tc.body), tc.status, tc.code)
		})
	}
}

func TestSuccessShapes(t *testing.T) {
	e := newEnv(t)
	loc := e.do(t, "GET", e.appPath("/location"), nil, "")
	if loc.status != 200 || loc.header.Get("Content-Type") != "application/json" {
		t.Fatalf("location: %d %q", loc.status, loc.header.Get("Content-Type"))
	}
	lm := loc.json(t)
	if lm["hostname"] != e.srv.URL || lm["ws_hostname"] != "ws"+strings.TrimPrefix(e.srv.URL, "http") || lm["deployment_model"] != "GLOBAL" {
		t.Fatalf("location = %v", lm)
	}

	tk := e.anonLogin(t)
	if len(tk.userID) != 24 || len(tk.deviceID) != 24 {
		t.Fatalf("ids: %+v", tk)
	}
	prof := e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(tk.access), "")
	pm := prof.json(t)
	if pm["user_id"] != tk.userID || pm["type"] != "normal" || pm["domain_id"] != "eeeeeeeeeeeeeeeeeeeeeeee" {
		t.Fatalf("profile = %s", prof.body)
	}
	ids := pm["identities"].([]any)
	if len(ids) != 1 || ids[0].(map[string]any)["provider_type"] != "anon-user" || ids[0].(map[string]any)["provider_id"] != "aaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Fatalf("identities = %v", ids)
	}
	if _, ok := pm["data"].(map[string]any); !ok {
		t.Fatalf("data must be an object: %s", prof.body)
	}

	ref := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(tk.refresh), "")
	if ref.status != 201 || ref.json(t)["access_token"] == "" {
		t.Fatalf("refresh: %d %s", ref.status, ref.body)
	}
	out := e.do(t, "DELETE", "/api/client/v2.0/auth/session", bearer(tk.refresh), "")
	if out.status != 204 || out.header.Get("Content-Type") != "" || len(out.body) != 0 {
		t.Fatalf("logout must be 204 with no content type and no body: %d %q %q", out.status, out.header.Get("Content-Type"), out.body)
	}
}

func TestDeviceIDIsReused(t *testing.T) {
	e := newEnv(t)
	const dev = "65a000000000000000000001"
	for _, body := range []string{
		`{"options":{"device":{"deviceId":{"$oid":"` + dev + `"},"platform":"chrome"}}}`,
		`{"options":{"device":{"deviceId":"` + dev + `"}}}`,
	} {
		r := e.do(t, "POST", e.appPath("/auth/providers/anon-user/login"), nil, body)
		if got := r.json(t)["device_id"]; got != dev {
			t.Fatalf("device_id = %v, want the client's %s", got, dev)
		}
	}
	for _, bad := range []string{"000000000000000000000000", "not-hex", ""} {
		r := e.do(t, "POST", e.appPath("/auth/providers/anon-user/login"), nil, `{"options":{"device":{"deviceId":"`+bad+`"}}}`)
		got, _ := r.json(t)["device_id"].(string)
		if got == bad || len(got) != 24 || got == "000000000000000000000000" {
			t.Fatalf("device id %q gave %q: want a new ObjectId", bad, got)
		}
	}
}

func TestAccessTokenExpiresAfter30Minutes(t *testing.T) {
	e := newEnv(t)
	tk := e.anonLogin(t)
	e.clock.Advance(29 * time.Minute)
	if r := e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(tk.access), ""); r.status != 200 {
		t.Fatalf("at 29 min: %d %s", r.status, r.body)
	}
	e.clock.Advance(2 * time.Minute)
	m := expectError(t, e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(tk.access), ""), 401, "InvalidSession")
	if !strings.Contains(m["error"].(string), "access token expired") {
		t.Fatalf("message = %v", m["error"])
	}
	// The refresh token still works and gives a fresh access token.
	r := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(tk.refresh), "")
	if r.status != 201 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if p := e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(r.json(t)["access_token"].(string)), ""); p.status != 200 {
		t.Fatalf("new access token: %d", p.status)
	}
}

func TestRefreshTokenExpires(t *testing.T) {
	e := newEnv(t)
	e.registerConfirmed(t, "ttl@example.com", "secret12")
	r := e.do(t, "POST", e.appPath("/auth/providers/local-userpass/login"), nil, `{"username":"ttl@example.com","password":"secret12"}`)
	refresh := r.json(t)["refresh_token"].(string)
	e.clock.Advance(59 * 24 * time.Hour)
	if r := e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(refresh), ""); r.status != 201 {
		t.Fatalf("at 59 days: %d", r.status)
	}
	e.clock.Advance(2 * 24 * time.Hour)
	expectError(t, e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(refresh), ""), 401, "InvalidSession")
}

func TestTokensOfTheWrongTypeAreRefused(t *testing.T) {
	e := newEnv(t)
	tk := e.anonLogin(t)
	expectError(t, e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(tk.refresh), ""), 401, "InvalidSession")
	expectError(t, e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(tk.access), ""), 401, "InvalidSession")
}

func TestLogoutEndsTheSessionEverywhere(t *testing.T) {
	e := newEnv(t)
	e.registerConfirmed(t, "out@example.com", "secret12")
	r := e.do(t, "POST", e.appPath("/auth/providers/local-userpass/login"), nil, `{"username":"out@example.com","password":"secret12"}`)
	m := r.json(t)
	access, refresh := m["access_token"].(string), m["refresh_token"].(string)
	if r := e.do(t, "DELETE", "/api/client/v2.0/auth/session", bearer(refresh), ""); r.status != 204 {
		t.Fatalf("logout: %d", r.status)
	}
	// The replayed refresh token and the still-unexpired access token are both dead.
	m = expectError(t, e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(refresh), ""), 401, "InvalidSession")
	if !strings.Contains(m["error"].(string), "failed to find refresh token") {
		t.Fatalf("message = %v", m["error"])
	}
	expectError(t, e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(access), ""), 401, "InvalidSession")
	// Logging out twice says so in the words realm-web ignores.
	m = expectError(t, e.do(t, "DELETE", "/api/client/v2.0/auth/session", bearer(refresh), ""), 401, "InvalidSession")
	if !strings.Contains(m["error"].(string), "failed to find refresh token") {
		t.Fatalf("message = %v", m["error"])
	}
}

func TestDeletedUsersTokensStopAtOnce(t *testing.T) {
	e := newEnv(t)
	e.registerConfirmed(t, "gone@example.com", "secret12")
	login := func() map[string]any {
		return e.do(t, "POST", e.appPath("/auth/providers/local-userpass/login"), nil, `{"username":"gone@example.com","password":"secret12"}`).json(t)
	}
	a, b := login(), login()
	if r := e.do(t, "DELETE", "/api/client/v2.0/auth/delete", bearer(a["access_token"].(string)), ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	expectError(t, e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(b["access_token"].(string)), ""), 401, "InvalidSession")
	expectError(t, e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(b["refresh_token"].(string)), ""), 401, "InvalidSession")
	expectError(t, e.do(t, "POST", e.appPath("/auth/providers/local-userpass/login"), nil, `{"username":"gone@example.com","password":"secret12"}`), 401, "InvalidPassword")
}

func TestPendingAccounts(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "POST", e.appPath("/auth/providers/local-userpass/register"), nil, `{"email":"pending@example.com","password":"secret12"}`)
	if r.status != 201 {
		t.Fatalf("register: %d", r.status)
	}
	// Right password, unconfirmed: AuthError; wrong password: InvalidPassword (no hint).
	expectError(t, e.do(t, "POST", e.appPath("/auth/providers/local-userpass/login"), nil, `{"username":"pending@example.com","password":"secret12"}`), 401, "AuthError")
	expectError(t, e.do(t, "POST", e.appPath("/auth/providers/local-userpass/login"), nil, `{"username":"pending@example.com","password":"wrong123"}`), 401, "InvalidPassword")
	expectError(t, e.do(t, "POST", e.appPath("/auth/providers/local-userpass/register"), nil, `{"email":"PENDING@example.com","password":"secret12"}`), 409, "AccountNameInUse")
}

func TestConfirmationLinkExpires(t *testing.T) {
	e := newEnv(t)
	e.do(t, "POST", e.appPath("/auth/providers/local-userpass/register"), nil, `{"email":"late@example.com","password":"secret12"}`)
	m, err := e.mail.WaitFor("late@example.com", "Confirm", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Body, "https://app.example/confirm?") || !strings.Contains(m.Body, "tokenId=") {
		t.Fatalf("mail body = %q", m.Body)
	}
	link := m.Body[strings.Index(m.Body, "https://"):]
	link = link[:strings.IndexAny(link, " \n")]
	req, _ := http.NewRequest("GET", link, nil)
	q := req.URL.Query()
	e.clock.Advance(31 * time.Minute)
	body, _ := json.Marshal(map[string]string{"token": q.Get("token"), "tokenId": q.Get("tokenId")})
	expectError(t, e.do(t, "POST", e.appPath("/auth/providers/local-userpass/confirm"), nil, string(body)), 400, "UserpassTokenInvalid")
}

func TestCORS(t *testing.T) {
	e := newEnv(t, "http://allowed.example")
	pre := e.do(t, "OPTIONS", "/api/client/v2.0/auth/profile", map[string]string{
		"Origin": "http://allowed.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization",
	}, "")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "http://allowed.example" ||
		pre.header.Get("Access-Control-Allow-Credentials") != "" || !strings.Contains(strings.ToLower(pre.header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight (no credentials: the profile call does not send them): %d %v", pre.status, pre.header)
	}
	probe := e.do(t, "OPTIONS", e.appPath("/auth/providers/oauth2-google/login?link=true&providerRedirectHeader=true"), map[string]string{
		"Origin": "http://allowed.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization",
	}, "")
	if probe.status != 204 || probe.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("the OAuth link probe's preflight must allow credentials: %d %v", probe.status, probe.header)
	}
	r := e.do(t, "POST", e.appPath("/auth/providers/anon-user/login"), map[string]string{"Origin": "http://allowed.example"}, `{}`)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "http://allowed.example" || r.header.Get("Access-Control-Expose-Headers") != "X-BaaS-Location" {
		t.Fatalf("allowed origin: %d %v", r.status, r.header)
	}
	bad := e.do(t, "POST", e.appPath("/auth/providers/anon-user/login"), map[string]string{"Origin": "http://evil.example"}, `{}`)
	expectError(t, bad, 403, "DomainNotAllowed")
	if bad.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a refused origin got CORS headers")
	}
	badPre := e.do(t, "OPTIONS", e.appPath("/auth/providers/anon-user/login"), map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, "")
	if badPre.status != 403 || badPre.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("refused preflight: %d %v", badPre.status, badPre.header)
	}
}

func TestJWKSAndHealth(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", "/.well-known/jwks.json", nil, "")
	var jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(r.body, &jwks); err != nil || len(jwks.Keys) != 1 || jwks.Keys[0]["kid"] == "" {
		t.Fatalf("jwks: %s", r.body)
	}
	tk := e.anonLogin(t)
	parts := strings.Split(tk.access, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if !bytes.Contains(hb, []byte(jwks.Keys[0]["kid"])) {
		t.Fatalf("token header %s does not name the published kid", hb)
	}
	if h := e.do(t, "GET", "/healthz", nil, ""); h.status != 200 {
		t.Fatalf("healthz: %d", h.status)
	}
	if h := e.do(t, "GET", "/readyz", nil, ""); h.status != 200 {
		t.Fatalf("readyz: %d %s", h.status, h.body)
	}
	// Without its database the server is alive but not ready.
	e.st.Close()
	if h := e.do(t, "GET", "/readyz", nil, ""); h.status != 503 || !strings.Contains(string(h.body), "store") {
		t.Fatalf("readyz without a store: %d %s", h.status, h.body)
	}
	if h := e.do(t, "GET", "/healthz", nil, ""); h.status != 200 {
		t.Fatalf("healthz without a store: %d", h.status)
	}
}

// TestServerKeyUsersCannotMakeUserKeys: a session of a server API key cannot create
// user API keys (they would outlive the server key), and deleting the server key ends
// its sessions at once.
func TestServerKeyUsersCannotMakeUserKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key, err := e.svc.APIKeys.CreateServerAPIKey(ctx, appID, "backend")
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(t, "POST", e.appPath("/auth/providers/api-key/login"), nil, `{"key":"`+key.Key+`"}`)
	if r.status != 200 {
		t.Fatalf("server key login: %d %s", r.status, r.body)
	}
	sess := r.json(t)
	refresh := sess["refresh_token"].(string)
	expectError(t, e.do(t, "POST", "/api/client/v2.0/auth/api_keys", bearer(refresh), `{"name":"persist"}`), 403, "AuthError")
	if err := e.svc.APIKeys.DeleteServerAPIKey(ctx, appID, key.ID); err != nil {
		t.Fatal(err)
	}
	expectError(t, e.do(t, "GET", "/api/client/v2.0/auth/profile", bearer(sess["access_token"].(string)), ""), 401, "InvalidSession")
	expectError(t, e.do(t, "POST", "/api/client/v2.0/auth/session", bearer(refresh), ""), 401, "InvalidSession")
}

// TestParallelWrongPasswordsStopAtTheLockout: of 25 wrong passwords sent at once, no more
// than the lockout threshold (5) are checked; the rest are refused as locked.
func TestParallelWrongPasswordsStopAtTheLockout(t *testing.T) {
	e := newEnv(t)
	e.registerConfirmed(t, "target@x.io", "right-password")
	login := e.appPath("/auth/providers/local-userpass/login")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	for range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do(t, "POST", login, nil, `{"username":"target@x.io","password":"wrong-guess"}`)
			code, _ := r.json(t)["error_code"].(string)
			mu.Lock()
			statuses[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses["InvalidPassword"] > 5 {
		t.Fatalf("%d wrong passwords were checked, want at most the threshold of 5 (answers %v)", statuses["InvalidPassword"], statuses)
	}
}

// TestParallelRightPasswordsAreNotLockedOut: an account's owner (or a shared account)
// logging in on many devices at once is not taken for a guesser: every correct login succeeds, and the
// account is not locked after.
func TestParallelRightPasswordsAreNotLockedOut(t *testing.T) {
	e := newEnv(t)
	e.registerConfirmed(t, "owner@x.io", "right-password")
	login := e.appPath("/auth/providers/local-userpass/login")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	start := make(chan struct{})
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := e.do(t, "POST", login, nil, `{"username":"owner@x.io","password":"right-password"}`)
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if statuses[200] != 40 {
		t.Fatalf("40 correct logins at once: answers %v, want all 200", statuses)
	}
	if r := e.do(t, "POST", login, nil, `{"username":"owner@x.io","password":"right-password"}`); r.status != 200 {
		t.Fatalf("after them: %d %s", r.status, r.body)
	}
}

// TestOriginIsCheckedOnEveryAppRequest: refresh, logout and location are app requests
// too: a refused origin cannot use a token of an app that does not allow it.
func TestOriginIsCheckedOnEveryAppRequest(t *testing.T) {
	e := newEnv(t, "http://allowed.example")
	tok := e.anonLogin(t)
	evil := map[string]string{"Origin": "http://evil.example", "Authorization": "Bearer " + tok.refresh}
	expectError(t, e.do(t, "POST", "/api/client/v2.0/auth/session", evil, ""), 403, "DomainNotAllowed")
	expectError(t, e.do(t, "DELETE", "/api/client/v2.0/auth/session", evil, ""), 403, "DomainNotAllowed")
	expectError(t, e.do(t, "GET", e.appPath("/location"), map[string]string{"Origin": "http://evil.example"}, ""), 403, "DomainNotAllowed")
	// The session was left alone, and the allowed origin still works.
	good := map[string]string{"Origin": "http://allowed.example", "Authorization": "Bearer " + tok.refresh}
	if r := e.do(t, "POST", "/api/client/v2.0/auth/session", good, ""); r.status != 201 {
		t.Fatalf("refresh from the allowed origin: %d %s", r.status, r.body)
	}
}

// TestTokenInTheQueryOnlyForStreaming: baas_at authenticates the streaming function call
// and nothing else.
func TestTokenInTheQueryOnlyForStreaming(t *testing.T) {
	e := newEnv(t)
	tok := e.anonLogin(t)
	expectError(t, e.do(t, "GET", "/api/client/v2.0/auth/profile?baas_at="+tok.access, nil, ""), 401, "MissingAuthReq")
	expectError(t, e.do(t, "GET", "/api/client/v2.0/auth/api_keys?baas_at="+tok.access, nil, ""), 401, "MissingAuthReq")
	// The streaming call takes it (and then fails for want of a data source, not of a token).
	req := base64.StdEncoding.EncodeToString([]byte(`{"name":"watch","service":"mongodb-atlas","arguments":[{"database":"d","collection":"c"}]}`))
	r := e.do(t, "GET", e.appPath("/functions/call?baas_request="+req+"&baas_at="+tok.access), nil, "")
	if r.status == 401 {
		t.Fatalf("the streaming call refused baas_at: %s", r.body)
	}
}

// TestOnlyTrustedPagesMayProbeForALink: a page may run the OAuth link probe (with
// credentials, which plant the login's cookie) only from the origin its result goes back
// to, or from an origin the app lists; any other page is refused, so it cannot start a
// login in a visitor's browser.
func TestOnlyTrustedPagesMayProbeForALink(t *testing.T) {
	e := newEnv(t) // no allowed_request_origins: every origin may call the API
	tok := e.anonLogin(t)
	probe := func(origin, redirect string) response {
		q := "?link=true&providerRedirectHeader=true&state=abcdefghijkl&redirect=" + redirect
		return e.do(t, "GET", e.appPath("/auth/providers/oauth2-google/login"+q), map[string]string{"Origin": origin, "Authorization": "Bearer " + tok.access}, "")
	}
	r := probe("https://evil.example", "https://app.example/cb")
	expectError(t, r, 403, "DomainNotAllowed")
	if r.header.Get("Access-Control-Allow-Credentials") != "" || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("a foreign page got credentials or a cookie: %v", r.header)
	}
	pre := e.do(t, "OPTIONS", e.appPath("/auth/providers/oauth2-google/login?link=true&providerRedirectHeader=true&redirect=https://app.example/cb"),
		map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, "")
	if pre.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatal("a foreign page's preflight allowed credentials")
	}
	// The app's own page passes this check (the provider itself is not served here).
	if r := probe("https://app.example", "https://app.example/cb"); r.status == 403 {
		t.Fatalf("the redirect URL's own origin was refused: %s", r.body)
	}
}

// TestPushRegistration: the native SDKs' PushClient registers and deregisters a device;
// the registration is kept per user, device and service, and operators see it.
func TestPushRegistration(t *testing.T) {
	e := newEnv(t)
	tok := e.anonLogin(t)
	path := e.appPath("/push/providers/gcm/registration")
	headers := map[string]string{"Authorization": "Bearer " + tok.access, "Content-Type": "application/json;charset=utf-8"}
	for _, token := range []string{"fcm-token-1", "fcm-token-2"} {
		if r := e.do(t, "PUT", path, headers, `{"registrationToken":"`+token+`"}`); r.status != 200 {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
	}
	d, err := e.svc.Operators.UserDetail(context.Background(), appID, tok.userID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Push) != 1 || d.Push[0].Token != "fcm-token-2" || d.Push[0].Service != "gcm" || d.Push[0].DeviceID != tok.deviceID {
		t.Fatalf("registrations = %+v", d.Push)
	}
	expectError(t, e.do(t, "PUT", path, headers, `{}`), 400, "MissingParameter")
	expectError(t, e.do(t, "PUT", e.appPath("/push/providers/bad%20name/registration"), headers, `{"registrationToken":"x"}`), 400, "InvalidParameter")
	expectError(t, e.do(t, "PUT", path, nil, `{"registrationToken":"x"}`), 401, "MissingAuthReq")
	expectError(t, e.do(t, "PUT", "/api/client/v2.0/app/other-app/push/providers/gcm/registration", headers, `{"registrationToken":"x"}`), 401, "InvalidSession")
	if r := e.do(t, "DELETE", path, headers, ""); r.status != 200 {
		t.Fatalf("deregister: %d %s", r.status, r.body)
	}
	if d, _ := e.svc.Operators.UserDetail(context.Background(), appID, tok.userID); len(d.Push) != 0 {
		t.Fatalf("after deregistering: %+v", d.Push)
	}
}

// TestLocationHonoursThePublicURL: realm-core uses the location's hostname, unmodified,
// for every later request, so behind a proxy it must be the public origin.
func TestLocationHonoursThePublicURL(t *testing.T) {
	e := newEnvWith(t, clientapi.Options{PublicURL: "https://auth.example.com/"})
	m := e.do(t, "GET", e.appPath("/location"), nil, "").json(t)
	if m["hostname"] != "https://auth.example.com" || m["ws_hostname"] != "wss://auth.example.com" {
		t.Fatalf("location = %v", m)
	}
	// Without it, the request's own scheme and host.
	plain := newEnv(t)
	m = plain.do(t, "GET", plain.appPath("/location"), nil, "").json(t)
	if m["hostname"] != plain.srv.URL {
		t.Fatalf("location without --public-url = %v, want %s", m, plain.srv.URL)
	}
}
