package e2e

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/auth/provider/oauth2/idptest"
)

const oauthAppID = "oauth-app-zxcvb"

// oauthSetup starts a local identity provider over HTTPS and writes an app whose
// Google, Apple and Facebook providers point at it. It returns the IdP, the app
// directory, the secrets file and the environment that makes the binary trust the IdP.
func oauthSetup(t *testing.T) (*idptest.IdP, string, string, []string) {
	t.Helper()
	idp, err := idptest.Start("warden-client-id", "warden-client-secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	dir := t.TempDir()
	ca, err := idp.WriteCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(dir, "app")
	providers := fmt.Sprintf(`{
		"anon-user": {"name": "anon-user", "type": "anon-user"},
		"local-userpass": {"name": "local-userpass", "type": "local-userpass", "config": {"autoConfirm": true, "resetPasswordUrl": "http://localhost:3000/reset"}},
		"oauth2-google": {"name": "oauth2-google", "type": "oauth2-google", "config": %s,
			"secret_config": {"clientSecret": "oauth-secret"}, "redirect_uris": ["http://localhost:3000/cb"],
			"metadata_fields": [{"name": "email", "required": true}, {"name": "name"}]},
		"oauth2-apple": {"name": "oauth2-apple", "type": "oauth2-apple", "config": %s,
			"secret_config": {"clientSecret": "oauth-secret"}, "redirect_uris": ["http://localhost:3000/cb"]},
		"oauth2-facebook": {"name": "oauth2-facebook", "type": "oauth2-facebook", "config": %s,
			"secret_config": {"clientSecret": "oauth-secret"}, "redirect_uris": ["http://localhost:3000/cb"]}
	}`, idp.Config(), idp.Config(), idp.FacebookConfig())
	for name, body := range map[string]string{
		"root_config.json":    `{"name": "oauth-app"}`,
		".mdb/meta.json":      `{"client_app_id": "` + oauthAppID + `"}`,
		"auth/providers.json": providers,
	} {
		p := filepath.Join(app, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	secrets := filepath.Join(dir, "secrets.json")
	if err := os.WriteFile(secrets, []byte(`{"oauth-secret": "warden-client-secret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return idp, app, secrets, []string{"SSL_CERT_FILE=" + ca}
}

// noRedirects is a client that hands every redirect back to the test, as a browser's
// address bar would show it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// newBrowser is one browser: a client with its own cookies that hands every redirect
// back to the test.
func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: noRedirects.CheckRedirect}
}

// startLogin sends the browser to a redirect login (or link probe) and returns the
// provider's consent URL it is given.
func startLogin(t *testing.T, idp *idptest.IdP, browser *http.Client, start *http.Request) string {
	t.Helper()
	res, err := browser.Do(start)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	consent := res.Header.Get("Location")
	if res.StatusCode == http.StatusOK {
		consent = res.Header.Get("X-BaaS-Location")
	}
	if !strings.HasPrefix(consent, idp.URL()+"/authorize?") {
		t.Fatalf("login answered %d, consent URL %q", res.StatusCode, consent)
	}
	return consent
}

// consent takes the browser through the provider's consent page back to Warden's
// callback, and returns Warden's answer there.
func consent(t *testing.T, idp *idptest.IdP, browser *http.Client, consentURL string) *http.Response {
	t.Helper()
	idpClient := idp.Server.Client()
	idpClient.CheckRedirect = noRedirects.CheckRedirect
	res, err := idpClient.Get(consentURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, err = browser.Get(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// browse follows a login through the provider's consent page to the app's redirect URL,
// in one browser, and returns that URL's fragment.
func browse(t *testing.T, idp *idptest.IdP, start *http.Request) url.Values {
	t.Helper()
	browser := newBrowser()
	res := consent(t, idp, browser, startLogin(t, idp, browser, start))
	final := res.Header.Get("Location")
	base, frag, ok := strings.Cut(final, "#")
	if res.StatusCode != http.StatusFound || !ok || base != "http://localhost:3000/cb" {
		t.Fatalf("callback answered %d, %q", res.StatusCode, final)
	}
	// realm-web splits pairs on "&" then "=" and URI-decodes each value.
	out := url.Values{}
	for _, pair := range strings.Split(frag, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if strings.Contains(v, "=") {
			t.Fatalf("fragment value with a raw '=': %s", pair)
		}
		dv, err := url.PathUnescape(v)
		if err != nil {
			t.Fatal(err)
		}
		out.Set(k, dv)
	}
	return out
}

func TestOAuthRedirectFlow(t *testing.T) {
	idp, app, secrets, env := oauthSetup(t)
	srv := startServerEnv(t, env, "--app", app, "--secrets", secrets)
	base := srv.URL + "/api/client/v2.0/app/" + oauthAppID + "/auth/providers/oauth2-google/login"
	device := base64.StdEncoding.EncodeToString([]byte(`{"sdkVersion":"2.0.1","platform":"chrome","platformVersion":"130.0.0"}`))
	q := url.Values{"state": {"abcdefghijkl"}, "redirect": {"http://localhost:3000/cb"}, "device": {device}}

	idp.NextLogin(map[string]any{"sub": "google-user-1", "email": "gina@example.com", "email_verified": true, "name": "Gina"})
	req, _ := http.NewRequest("GET", base+"?"+q.Encode(), nil)
	frag := browse(t, idp, req)
	if frag.Get("_baas_state") != "abcdefghijkl" || frag.Get("_baas_client_app_id") != oauthAppID || frag.Get("_baas_error") != "" {
		t.Fatalf("fragment = %v", frag)
	}
	parts := strings.Split(frag.Get("_baas_ua"), "$")
	if len(parts) != 4 {
		t.Fatalf("_baas_ua has %d parts", len(parts))
	}
	st, _, prof := call(t, "GET", srv.URL+"/api/client/v2.0/auth/profile", parts[0], nil)
	if st != 200 || prof["user_id"] != parts[2] || prof["data"].(map[string]any)["email"] != "gina@example.com" {
		t.Fatalf("profile with the redirect's access token: %d %v", st, prof)
	}
	if st, _, _ := call(t, "POST", srv.URL+"/api/client/v2.0/auth/session", parts[1], nil); st != 201 {
		t.Fatalf("refresh with the redirect's refresh token: %d", st)
	}

	// Linking: an anonymous user probes for the consent URL with its access token.
	_, _, anon := call(t, "POST", srv.URL+"/api/client/v2.0/app/"+oauthAppID+"/auth/providers/anon-user/login", "", map[string]any{})
	idp.NextLogin(map[string]any{"sub": "google-user-2", "email": "lin@example.com", "email_verified": true})
	lq := url.Values{"link": {"true"}, "state": {"mnopqrstuvwx"}, "redirect": {"http://localhost:3000/cb"}, "providerRedirectHeader": {"true"}}
	req, _ = http.NewRequest("GET", base+"?"+lq.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+anon["access_token"].(string))
	frag = browse(t, idp, req)
	ua := strings.Split(frag.Get("_baas_ua"), "$")
	if frag.Get("_baas_link") != "ok" || len(ua) != 4 || ua[2] != anon["user_id"] {
		t.Fatalf("link fragment = %v", frag)
	}
	_, _, prof = call(t, "GET", srv.URL+"/api/client/v2.0/auth/profile", ua[0], nil)
	if ids := prof["identities"].([]any); len(ids) != 2 || ids[1].(map[string]any)["provider_type"] != "oauth2-google" {
		t.Fatalf("identities after link = %v", prof["identities"])
	}

	// The redirect flow ends in the same place as every login: its events are audited.
	events := auditActions(t, srv.DataDir)
	if !events[parts[2]+" user_created"] || !events[ua[2]+" identity_linked"] {
		t.Fatalf("the redirect login and link are not in the audit log: %v", events)
	}

	// A link flow started with one user's token cannot finish in another browser: the
	// attacker's consent URL, opened by a victim, links nothing (login CSRF).
	_, _, attacker := call(t, "POST", srv.URL+"/api/client/v2.0/app/"+oauthAppID+"/auth/providers/anon-user/login", "", map[string]any{})
	idp.NextLogin(map[string]any{"sub": "google-victim", "email": "victim@example.com", "email_verified": true})
	req, _ = http.NewRequest("GET", base+"?"+lq.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+attacker["access_token"].(string))
	forged := startLogin(t, idp, newBrowser(), req)
	if res := consent(t, idp, newBrowser(), forged); res.StatusCode != 400 {
		t.Fatalf("the victim's browser finished the attacker's link flow: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, _, prof = call(t, "GET", srv.URL+"/api/client/v2.0/auth/profile", attacker["access_token"].(string), nil)
	if ids := prof["identities"].([]any); len(ids) != 1 {
		t.Fatalf("the victim's identity was linked to the attacker: %v", prof["identities"])
	}
	// So for a login: a callback from a browser without the login's cookie is refused.
	idp.NextLogin(map[string]any{"sub": "google-user-1", "email": "gina@example.com", "email_verified": true, "name": "Gina"})
	req, _ = http.NewRequest("GET", base+"?"+q.Encode(), nil)
	if res := consent(t, idp, newBrowser(), startLogin(t, idp, newBrowser(), req)); res.StatusCode != 400 {
		t.Fatalf("a login finished in another browser: %d", res.StatusCode)
	}

	// A redirect URL that is not allowed is refused before the provider is asked.
	bad := url.Values{"state": {"abcdefghijkl"}, "redirect": {"https://evil.example/cb"}}
	if st, ct, body := call(t, "GET", base+"?"+bad.Encode(), "", nil); st != 400 || ct != "application/json" {
		t.Fatalf("foreign redirect: %d %v", st, body)
	}
	// A state is used once.
	if st, _, _ := call(t, "GET", srv.URL+"/api/client/v2.0/auth/callback?state=nope&code=x", "", nil); st != 400 {
		t.Fatalf("unknown state: %d", st)
	}
	// A provider refusal comes back in the fragment.
	req, _ = http.NewRequest("GET", base+"?"+q.Encode(), nil)
	browser := newBrowser()
	consentURL, _ := url.Parse(startLogin(t, idp, browser, req))
	res, err := browser.Get(srv.URL + "/api/client/v2.0/auth/callback?error=access_denied&state=" + consentURL.Query().Get("state"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); !strings.Contains(loc, "_baas_error=") || !strings.Contains(loc, "_baas_state=abcdefghijkl") {
		t.Fatalf("refusal redirect = %q", loc)
	}
}

// serveIdPHelper lets the Node suite ask the test's IdP for tokens.
func serveIdPHelper(t *testing.T, idp *idptest.IdP) string {
	t.Helper()
	mux := http.NewServeMux()
	claims := func(r *http.Request) map[string]any {
		var c map[string]any
		_ = json.Unmarshal([]byte(r.URL.Query().Get("claims")), &c)
		return c
	}
	mux.HandleFunc("/id-token", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, idp.IDToken(claims(r))) })
	mux.HandleFunc("/code", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, idp.Code(claims(r))) })
	mux.HandleFunc("/facebook-token", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, idp.FacebookToken(r.URL.Query().Get("app"), claims(r)))
	})
	srv := &http.Server{Handler: mux}
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// auditActions reads the audit log of the server's SQLite database: "target action" pairs.
func auditActions(t *testing.T, dataDir string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "warden.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT target, action FROM audit_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var target, action string
		if err := rows.Scan(&target, &action); err != nil {
			t.Fatal(err)
		}
		out[target+" "+action] = true
	}
	return out
}
