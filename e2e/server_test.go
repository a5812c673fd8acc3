package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func quickstart(t *testing.T) string { return filepath.Join(repoRoot(t), "examples", "quickstart") }

const qs = "/api/client/v2.0/app/quickstart-abcde"

// TestRestartKeepsUsersAndSessions stops the server with SIGTERM and starts it again on
// the same data directory: users, sessions and the signing key are all still there.
func TestRestartKeepsUsersAndSessions(t *testing.T) {
	data := t.TempDir()
	srv := startServer(t, "--app", quickstart(t), "--data", data)
	if st, _, _ := call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/register", "", map[string]string{"email": "restart@example.com", "password": "restart-pw"}); st != 201 {
		t.Fatalf("register: %d", st)
	}
	st, _, login := call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/login", "", map[string]string{"username": "restart@example.com", "password": "restart-pw"})
	if st != 200 {
		t.Fatalf("login: %d", st)
	}
	if err := srv.stop(t); err != nil {
		t.Fatalf("warden exited with %v after SIGTERM\n%s", err, srv.log.String())
	}
	if !strings.Contains(srv.log.String(), "stopped") {
		t.Fatalf("no clean shutdown in the log:\n%s", srv.log.String())
	}

	srv2 := startServer(t, "--app", quickstart(t), "--data", data)
	st, _, prof := call(t, "GET", srv2.URL+"/api/client/v2.0/auth/profile", login["access_token"].(string), nil)
	if st != 200 || prof["user_id"] != login["user_id"] {
		t.Fatalf("access token after restart: %d %v", st, prof)
	}
	if st, _, _ := call(t, "POST", srv2.URL+"/api/client/v2.0/auth/session", login["refresh_token"].(string), nil); st != 201 {
		t.Fatalf("refresh after restart: %d", st)
	}
	st, _, again := call(t, "POST", srv2.URL+qs+"/auth/providers/local-userpass/login", "", map[string]string{"username": "restart@example.com", "password": "restart-pw"})
	if st != 200 || again["user_id"] != login["user_id"] {
		t.Fatalf("login after restart: %d %v", st, again)
	}
}

// TestMalformedAppStopsTheStart checks that a broken app file stops `warden serve` with a
// message naming the file.
func TestMalformedAppStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "auth"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "root_config.json"), []byte(`{"name": "broken", "app_id": "broken-app"}`), 0o644))
	must(os.WriteFile(filepath.Join(dir, "realm_config.json"), []byte(`{}`), 0o644))
	must(os.WriteFile(filepath.Join(dir, "auth", "providers.json"), []byte(`{"anon-user": {"type": "anon-user",}}`), 0o644))
	cmd := exec.Command(binary(t), "serve", "--app", dir, "--data", t.TempDir(), "--listen", freePort(t), "--app-id", "broken-app")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("warden started with a malformed app (err %v)\n%s", err, out)
	}
	if !strings.Contains(string(out), "providers.json") || !strings.Contains(string(out), "invalid JSON") {
		t.Fatalf("the message does not name the file and the problem:\n%s", out)
	}
}

// TestUnsupportedPartsAreReported checks that app parts this build does not serve are
// listed in the log at start, and do not stop it.
func TestUnsupportedPartsAreReported(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"root_config.json":                       `{"name": "parts"}`,
		".mdb/meta.json":                         `{"client_app_id": "parts-abcde"}`,
		"auth/providers.json":                    `{"anon-user": {"name": "anon-user", "type": "anon-user"}, "oauth2-github": {"name": "oauth2-github", "type": "oauth2-github"}}`,
		"data_sources/mongodb-atlas/config.json": `{"name": "mongodb-atlas", "type": "mongodb-atlas", "config": {"clusterName": "Cluster0"}}`,
		"triggers/onLogin.json":                  `{"name": "onLogin", "type": "AUTHENTICATION"}`,
	})
	srv := startServer(t, "--app", dir)
	for _, want := range []string{`provider oauth2-github: type \"oauth2-github\" is not served`, "triggers: database, authentication and scheduled triggers are not run", `msg="data source" app=parts-abcde name=mongodb-atlas engine=embedded`} {
		if !srv.waitLog(t, want) {
			t.Errorf("start-up log does not say %q:\n%s", want, srv.log.String())
		}
	}
	if st, ct, body := call(t, "POST", srv.URL+"/api/client/v2.0/app/parts-abcde/auth/providers/oauth2-github/login", "", map[string]string{"id_token": "x"}); st != 501 || ct != "application/json" || body["error_code"] != "AuthProviderNotFound" {
		t.Fatalf("unsupported provider login: %d %q %v", st, ct, body)
	}
}

// TestCheck runs `warden check` on an App Services export with what Warden ignores
// (triggers, Sync, GraphQL, an unserved provider) and what is wrong (a missing signing-key
// secret, a function that does not compile, a reset function that is not there): it
// lists each, exits 1, and `warden serve` refuses the app with the same lines; with the
// secret given and the function fixed, the check passes.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"root_config.json": `{"name": "export"}`,
		".mdb/meta.json":   `{"client_app_id": "export-abcde"}`,
		"auth/providers.json": `{"anon-user": {"name": "anon-user", "type": "anon-user"},
		  "custom-token": {"name": "custom-token", "type": "custom-token", "config": {"audience": "export", "signingAlgorithm": "HS256", "useJWKURI": false}, "secret_config": {"signingKeys": ["jwtKey"]}},
		  "local-userpass": {"name": "local-userpass", "type": "local-userpass", "config": {"autoConfirm": true, "runResetFunction": true, "resetFunctionName": "resetFunc"}},
		  "oauth2-github": {"name": "oauth2-github", "type": "oauth2-github"}}`,
		"functions/config.json": `[{"name": "broken", "private": false}]`,
		"functions/broken.js":   "exports = function () {\n  return 1;\n  this is not javascript\n};",
		"triggers/onLogin.json": `{"name": "onLogin", "type": "AUTHENTICATION"}`,
		"sync/config.json":      `{"type": "flexible"}`,
		"graphql/config.json":   `{"use_natural_pluralization": true}`,
	}
	writeFiles(t, dir, files)
	run := func(args ...string) (string, int) {
		cmd := exec.Command(binary(t), append([]string{"check", "--app", dir}, args...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return string(out), exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	out, code := run()
	if code != 1 {
		t.Fatalf("check exited %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		"provider anon-user (anon-user)",
		`provider oauth2-github: type "oauth2-github" is not served`,
		"triggers: database, authentication and scheduled triggers are not run",
		"sync: Device Sync is not served",
		"graphql: GraphQL is not served",
		`provider "custom-token": signing key secret "jwtKey" is not set`,
		`functions/broken.js): SyntaxError`,
		"Line 3:8 Unexpected identifier",
		`provider local-userpass: names function "resetFunc", which is not in functions/`,
		"3 problem(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report does not say %q:\n%s", want, out)
		}
	}
	serve := exec.Command(binary(t), "serve", "--app", dir, "--data", t.TempDir(), "--listen", freePort(t))
	served, err := serve.CombinedOutput()
	if err == nil || !strings.Contains(string(served), `signing key secret \"jwtKey\" is not set`) || !strings.Contains(string(served), "warden check --app") {
		t.Errorf("serve did not refuse the app with the report's problems (err %v):\n%s", err, served)
	}

	files["functions/broken.js"] = "exports = function () { return 1; };"
	files["functions/config.json"] = `[{"name": "broken", "private": false}, {"name": "resetFunc", "private": true}]`
	files["functions/resetFunc.js"] = `exports = () => ({ status: "fail" });`
	writeFiles(t, dir, files)
	secrets := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(secrets, []byte(`{"jwtKey": "a-signing-key-of-at-least-32-bytes!!"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := run("--secrets", secrets); code != 0 || !strings.Contains(out, "ok: no problems") || !strings.Contains(out, "provider custom-token (custom-token)") {
		t.Fatalf("check of the fixed app exited %d:\n%s", code, out)
	}
}

// TestNoSecretsInLogs runs a session of logins, refreshes, a reset and a logout, and
// checks that no password, token or mailed secret appears in the server's log.
func TestNoSecretsInLogs(t *testing.T) {
	srv := startServer(t, "--app", quickstart(t), "--log-level", "debug")
	const pw = "Sup3r-Secret-Passw0rd"
	call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/register", "", map[string]string{"email": "logs@example.com", "password": pw})
	_, _, login := call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/login", "", map[string]string{"username": "logs@example.com", "password": pw})
	call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/login", "", map[string]string{"username": "logs@example.com", "password": pw + "-wrong"})
	_, _, ref := call(t, "POST", srv.URL+"/api/client/v2.0/auth/session", login["refresh_token"].(string), nil)
	call(t, "GET", srv.URL+"/api/client/v2.0/auth/profile", ref["access_token"].(string), nil)
	call(t, "GET", srv.URL+qs+"/functions/call?baas_at="+ref["access_token"].(string), "", nil)
	call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/reset/send", "", map[string]string{"email": "logs@example.com"})
	_, _, key := call(t, "POST", srv.URL+"/api/client/v2.0/auth/api_keys", login["refresh_token"].(string), map[string]string{"name": "logs"})
	apiKey, _ := key["key"].(string)
	call(t, "POST", srv.URL+qs+"/auth/providers/api-key/login", "", map[string]string{"key": apiKey})
	_, _, rot := call(t, "POST", srv.URL+"/api/client/v2.0/auth/session?rotate_refresh_token=true", login["refresh_token"].(string), nil)
	rotated, _ := rot["refresh_token"].(string)
	call(t, "DELETE", srv.URL+"/api/client/v2.0/auth/session", rotated, nil)
	// stop waits for a graceful exit, which writes every log line.
	if err := srv.stop(t); err != nil {
		t.Fatal(err)
	}
	log := srv.log.String()
	if apiKey == "" || rotated == "" {
		t.Fatalf("the session did not get an API key (%v) or a rotated token (%v)", key, rot)
	}
	secrets := []string{pw, login["refresh_token"].(string), login["access_token"].(string), ref["access_token"].(string), apiKey, rotated}
	for _, tok := range []string{login["refresh_token"].(string), login["access_token"].(string)} {
		secrets = append(secrets, strings.Split(tok, ".")[2]) // the signature alone
	}
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the log contains a secret (%.12s...)", s)
		}
	}
	keys, _ := filepath.Glob(filepath.Join(srv.DataDir, "keys", "*.pem"))
	for _, k := range keys {
		b, _ := os.ReadFile(k)
		body := strings.Split(string(b), "\n")[1]
		if strings.Contains(log, body) {
			t.Error("the log contains the signing key")
		}
	}
	if !strings.Contains(log, "request") {
		t.Fatal("the log is empty: the test would prove nothing")
	}
}

// TestVersionAndHelp: `warden version` names the build, and `warden serve -h` says what
// serve does first and exits 0.
func TestVersionAndHelp(t *testing.T) {
	out, err := exec.Command(binary(t), "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "warden ") || !strings.Contains(string(out), "go1.") {
		t.Fatalf("warden version: %v %q", err, out)
	}
	out, err = exec.Command(binary(t), "serve", "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("warden serve -h exited with %v:\n%s", err, out)
	}
	if first, _, _ := strings.Cut(string(out), "\n"); !strings.HasPrefix(first, "warden serve runs the server") {
		t.Fatalf("warden serve -h starts with %q", first)
	}
}

// TestOneServerPerDataDirectory: a second server on the same SQLite data directory is
// refused with a message that says why, and a start that cannot listen leaves no data
// directory (nor signing key) behind.
func TestOneServerPerDataDirectory(t *testing.T) {
	app := filepath.Join(repoRoot(t), "examples", "quickstart")
	srv := startServer(t, "--app", app)
	out, err := exec.Command(binary(t), "serve", "--app", app, "--data", srv.DataDir, "--listen", freePort(t)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another warden server is using the data directory") {
		t.Fatalf("a second server on the same data directory: %v\n%s", err, out)
	}
	fresh := filepath.Join(t.TempDir(), "never-made")
	out, err = exec.Command(binary(t), "serve", "--app", app, "--data", fresh, "--listen", strings.TrimPrefix(srv.URL, "http://")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "listen") {
		t.Fatalf("a start on a port in use: %v\n%s", err, out)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("a failed start made the data directory: %v", err)
	}
	// The first server is unharmed.
	if st, _, _ := call(t, "POST", srv.URL+quickstartApp+"/auth/providers/anon-user/login", "", map[string]any{}); st != 200 {
		t.Fatalf("the first server after the refused ones: %d", st)
	}
}
