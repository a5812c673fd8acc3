package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/adminapi"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/auth/authtest"
	"github.com/wardenauth/warden/internal/auth/provider"
)

const appID = authtest.AppID

type env struct {
	svc *auth.Service
	srv *httptest.Server
	key string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	providers := authtest.DefaultProviders()
	providers["custom-token"] = &appconfig.Provider{Name: "custom-token", Type: "custom-token", ID: "dddddddddddddddddddddddd",
		Config: json.RawMessage(`{"signingAlgorithm": "HS256"}`), SecretConfig: map[string]json.RawMessage{"signingKeys": json.RawMessage(`["jwt-key"]`)}}
	a := authtest.New(t, authtest.Options{Providers: providers})
	key, _, err := a.Svc.Operators.CreateAdminKey(context.Background(), "ops")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(adminapi.New(a.Svc, adminapi.Options{}))
	t.Cleanup(srv.Close)
	return &env{svc: a.Svc, srv: srv, key: key}
}

func (e *env) do(t *testing.T, method, path, key string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+adminapi.Prefix+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (e *env) json(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	st, b := e.do(t, method, path, e.key, body)
	if st != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, st, b, want)
	}
	var m map[string]any
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	e := newEnv(t)
	st, b := e.do(t, "GET", "/openapi.json", "", nil)
	if st != 200 {
		t.Fatalf("openapi.json: %d", st)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	routes := adminapi.Routes()
	sort.Strings(documented)
	sort.Strings(routes)
	if strings.Join(documented, "\n") != strings.Join(routes, "\n") {
		t.Fatalf("the OpenAPI document and the routes differ:\ndocumented:\n%s\nrouted:\n%s", strings.Join(documented, "\n"), strings.Join(routes, "\n"))
	}
	// Every documented operation reaches a real handler: without a key it is refused
	// with 401 in the error shape (not a 404 for an unknown path).
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		path = strings.NewReplacer("{app}", appID, "{id}", "x").Replace(strings.TrimPrefix(path, adminapi.Prefix))
		st, b := e.do(t, method, path, "", nil)
		var eb map[string]any
		_ = json.Unmarshal(b, &eb)
		if st != 401 || eb["error_code"] != "Unauthorized" {
			t.Errorf("%s without a key: %d %s", r, st, b)
		}
	}
}

func TestAdminKeys(t *testing.T) {
	e := newEnv(t)
	for _, key := range []string{"", "wadm_nope", "not-even-prefixed"} {
		if st, _ := e.do(t, "GET", "/apps", key, nil); st != 401 {
			t.Errorf("key %q: %d", key, st)
		}
	}
	if err := e.svc.Operators.DeleteAdminKey(context.Background(), "ops"); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.do(t, "GET", "/apps", e.key, nil); st != 401 {
		t.Errorf("a deleted key still works: %d", st)
	}
}

func TestUserManagement(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.json(t, "POST", "/apps/"+appID+"/users", map[string]string{"email": "ann@example.com", "password": "password1"}, 201)
	annID := u["id"].(string)
	if st, _ := e.do(t, "POST", "/apps/"+appID+"/users", e.key, map[string]string{"email": "ann@example.com", "password": "password1"}); st != 409 {
		t.Errorf("the same email again: %d", st)
	}
	if st, _ := e.do(t, "POST", "/apps/"+appID+"/users", e.key, map[string]any{"email": "x@example.com", "password": "pw", "extra": 1}); st != 400 {
		t.Errorf("unknown field: %d", st)
	}
	// Ann logs in (as a client would), twice: two sessions.
	res, err := e.svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: appID, Provider: "local-userpass", Credentials: provider.Credentials{"username": "ann@example.com", "password": "password1"}, Device: auth.Device{Platform: "node", SDKVersion: "2.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: appID, Provider: "local-userpass", Credentials: provider.Credentials{"username": "ann@example.com", "password": "password1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: appID, Provider: "anon-user", Credentials: provider.Credentials{}}); err != nil {
		t.Fatal(err)
	}

	page := e.json(t, "GET", "/apps/"+appID+"/users?search=ANN@&limit=10", nil, 200)
	if page["total"].(float64) != 1 || page["users"].([]any)[0].(map[string]any)["id"] != annID {
		t.Fatalf("search by email: %v", page)
	}
	if page := e.json(t, "GET", "/apps/"+appID+"/users?provider=anon-user", nil, 200); page["total"].(float64) != 1 {
		t.Fatalf("by provider: %v", page)
	}
	if st, _ := e.do(t, "GET", "/apps/"+appID+"/users?state=weird", e.key, nil); st != 400 {
		t.Errorf("bad state: %d", st)
	}
	d := e.json(t, "GET", "/apps/"+appID+"/users/"+annID, nil, 200)
	sessions := d["sessions"].([]any)
	if d["email"] != "ann@example.com" || len(sessions) != 2 {
		t.Fatalf("detail: %v", d)
	}

	e.json(t, "PUT", "/apps/"+appID+"/users/"+annID+"/disable", nil, 204)
	if _, err := e.svc.Sessions.Authenticate(ctx, res.AccessToken); err == nil {
		t.Fatal("a disabled user's access token still works")
	}
	if d := e.json(t, "GET", "/apps/"+appID+"/users/"+annID, nil, 200); len(d["sessions"].([]any)) != 0 || d["user"].(map[string]any)["disabled"] != true {
		t.Fatalf("after disable: %v", d)
	}
	e.json(t, "PUT", "/apps/"+appID+"/users/"+annID+"/enable", nil, 204)
	again, err := e.svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: appID, Provider: "local-userpass", Credentials: provider.Credentials{"username": "ann@example.com", "password": "password1"}})
	if err != nil {
		t.Fatalf("login after enable: %v", err)
	}
	if r := e.json(t, "POST", "/apps/"+appID+"/users/"+annID+"/logout", nil, 200); r["sessions_ended"].(float64) != 1 {
		t.Fatalf("revoke: %v", r)
	}
	if _, err := e.svc.Sessions.Refresh(ctx, again.RefreshToken, false); err == nil {
		t.Fatal("a revoked session still refreshes")
	}

	// Pending users.
	if err := e.svc.EmailPassword.Register(ctx, appID, "local-userpass", "pending@example.com", "password1"); err != nil {
		t.Fatal(err)
	}
	var pending []map[string]any
	_, b := e.do(t, "GET", "/apps/"+appID+"/pending_users", e.key, nil)
	_ = json.Unmarshal(b, &pending)
	if len(pending) != 1 || pending[0]["email"] != "pending@example.com" {
		t.Fatalf("pending: %s", b)
	}
	e.json(t, "POST", "/apps/"+appID+"/pending_users/confirm", map[string]string{"email": "pending@example.com"}, 204)
	if st, _ := e.do(t, "POST", "/apps/"+appID+"/pending_users/confirm", e.key, map[string]string{"email": "pending@example.com"}); st != 400 {
		t.Errorf("confirming twice: %d", st)
	}
	if _, err := e.svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: appID, Provider: "local-userpass", Credentials: provider.Credentials{"username": "pending@example.com", "password": "password1"}}); err != nil {
		t.Fatalf("login after an operator's confirmation: %v", err)
	}

	// Server API keys.
	k := e.json(t, "POST", "/apps/"+appID+"/api_keys", map[string]string{"name": "backend"}, 201)
	if k["key"] == "" || k["_id"] == "" {
		t.Fatalf("key: %v", k)
	}
	var keys []map[string]any
	_, b = e.do(t, "GET", "/apps/"+appID+"/api_keys", e.key, nil)
	_ = json.Unmarshal(b, &keys)
	if len(keys) != 1 || keys[0]["key"] != nil {
		t.Fatalf("keys (the secret must not be listed): %s", b)
	}
	e.json(t, "DELETE", "/apps/"+appID+"/api_keys/"+k["_id"].(string), nil, 204)

	// Delete: gone from every list.
	e.json(t, "DELETE", "/apps/"+appID+"/users/"+annID, nil, 204)
	if st, _ := e.do(t, "GET", "/apps/"+appID+"/users/"+annID, e.key, nil); st != 404 {
		t.Errorf("deleted user: %d", st)
	}
	if page := e.json(t, "GET", "/apps/"+appID+"/users?search=ann@", nil, 200); page["total"].(float64) != 0 {
		t.Errorf("deleted user still listed: %v", page)
	}
	if st, _ := e.do(t, "GET", "/apps/nope/users", e.key, nil); st != 404 {
		t.Errorf("unknown app: %d", st)
	}

	// The audit log has the admin actions and the auth events.
	if err := e.svc.FlushAudit(context.Background()); err != nil { // the audit log is written in the background
		t.Fatal(err)
	}
	audit := e.json(t, "GET", "/apps/"+appID+"/audit?limit=200", nil, 200)
	seen := map[string]bool{}
	for _, ev := range audit["events"].([]any) {
		m := ev.(map[string]any)
		seen[m["action"].(string)] = true
		if strings.HasPrefix(m["action"].(string), "user.") && m["actor"] != "admin:ops" {
			t.Errorf("admin action without its admin: %v", m)
		}
	}
	for _, want := range []string{"user.create", "user.disable", "user.enable", "user.logout", "user.confirm", "api_key.create", "api_key.delete", "user.delete", "login", "user_created"} {
		if !seen[want] {
			t.Errorf("audit log lacks %s: %v", want, seen)
		}
	}
	if f := e.json(t, "GET", "/apps/"+appID+"/audit?action=user.disable", nil, 200); len(f["events"].([]any)) != 1 {
		t.Errorf("filter by action: %v", f)
	}
}

func TestConfigIsRedacted(t *testing.T) {
	e := newEnv(t)
	st, b := e.do(t, "GET", "/apps/"+appID+"/config", e.key, nil)
	if st != 200 || !strings.Contains(string(b), `"jwt-key"`) {
		t.Fatalf("config: %d %s", st, b)
	}
	if strings.Contains(string(b), "very-secret-value-very-secret-value-0123") {
		t.Fatal("the configuration shows a secret's value")
	}
}
