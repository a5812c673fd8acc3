package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("warden %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func adminCall(t *testing.T, method, url, key string, body any) (int, map[string]any, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return res.StatusCode, m, raw
}

// TestOperatorsCLIAndAPI drives the operators' tools against the running binary: an
// admin key from the CLI opens the admin API; users made and disabled through the API
// and the CLI behave so for clients at once; export and import move users, with their
// passwords, to another server; the console is served with its security headers.
func TestOperatorsCLIAndAPI(t *testing.T) {
	app := quickstart(t)
	srv := startServer(t, "--app", app)
	var created struct{ Key string }
	if err := json.Unmarshal([]byte(runCLI(t, "", "admin-keys", "create", "--name", "ops", "--data", srv.DataDir, "--json")), &created); err != nil || !strings.HasPrefix(created.Key, "wadm_") {
		t.Fatalf("admin-keys create: %v %q", err, created.Key)
	}
	admin := srv.URL + "/api/admin/v1/apps/quickstart-abcde"
	if st, _, _ := adminCall(t, "GET", admin+"/users", "wadm_wrong", nil); st != 401 {
		t.Fatalf("a wrong admin key: %d", st)
	}
	st, u, raw := adminCall(t, "POST", admin+"/users", created.Key, map[string]string{"email": "op-made@example.com", "password": "password1"})
	if st != 201 {
		t.Fatalf("create through the API: %d %s", st, raw)
	}
	uid := u["id"].(string)
	login := func(email string) int {
		st, _, _ := call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/login", "", map[string]string{"username": email, "password": "password1"})
		return st
	}
	if st := login("op-made@example.com"); st != 200 {
		t.Fatalf("the user made by an operator logs in: %d", st)
	}

	// The CLI on the same data directory, while the server runs.
	runCLI(t, "password1\n", "users", "create", "--app", app, "--data", srv.DataDir, "--email", "cli-made@example.com")
	var listed struct {
		Total int `json:"total"`
	}
	if err := json.Unmarshal([]byte(runCLI(t, "", "users", "list", "--app", app, "--data", srv.DataDir, "--json", "--search", "CLI-made@")), &listed); err != nil || listed.Total != 1 {
		t.Fatalf("users list --search: %v %d", err, listed.Total)
	}
	runCLI(t, "", "users", "disable", "--app", app, "--data", srv.DataDir, "--id", uid)
	if st := login("op-made@example.com"); st != 401 {
		t.Fatalf("login of a user disabled from the CLI: %d", st)
	}
	runCLI(t, "", "users", "enable", "--app", app, "--data", srv.DataDir, "--id", uid)
	if st := login("op-made@example.com"); st != 200 {
		t.Fatalf("login after enable: %d", st)
	}
	if out := runCLI(t, "", "users", "revoke", "--app", app, "--data", srv.DataDir, "--id", uid); !strings.Contains(out, ": 1 sessions ended") {
		t.Fatalf("revoke: %s", out)
	}

	// The same through the running server's admin API.
	remote := []string{"--server", srv.URL, "--admin-key", created.Key, "--app", app}
	var page struct {
		Total int `json:"total"`
	}
	if err := json.Unmarshal([]byte(runCLI(t, "", append([]string{"users", "list", "--json", "--search", "op-made"}, remote...)...)), &page); err != nil || page.Total != 1 {
		t.Fatalf("users list --server: %v %d", err, page.Total)
	}
	runCLI(t, "", append([]string{"users", "disable", "--id", uid}, remote...)...)
	if st := login("op-made@example.com"); st != 401 {
		t.Fatalf("login of a user disabled through --server: %d", st)
	}
	runCLI(t, "", append([]string{"users", "enable", "--id", uid}, remote...)...)
	if st := login("op-made@example.com"); st != 200 {
		t.Fatalf("login after enable through --server: %d", st)
	}
	// Both ways print the same: a table from the same shapes, or the same JSON.
	local := []string{"--app", app, "--data", srv.DataDir}
	for _, args := range [][]string{{"users", "get", "--id", uid, "--json"}, {"users", "get", "--id", uid}} {
		viaAPI := runCLI(t, "", append(args, remote...)...)
		direct := runCLI(t, "", append(args, local...)...)
		if viaAPI != direct || !strings.Contains(direct, uid) {
			t.Fatalf("%v differs between --server and the data directory:\n%s\n---\n%s", args, viaAPI, direct)
		}
	}
	cmd := exec.Command(binary(t), append([]string{"users", "list", "--server", srv.URL, "--admin-key", "wadm_wrong", "--app", app}, "--json")...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "401") {
		t.Fatalf("users list --server with a wrong key: %v %s", err, out)
	}

	// Export, then import into another server: same ids, same passwords.
	// Into a file that exists with a looser mode: it is made private all the same.
	exportFile := filepath.Join(t.TempDir(), "users.jsonl")
	if err := os.WriteFile(exportFile, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "", "users", "export", "--app", app, "--data", srv.DataDir, "--out", exportFile)
	if info, err := os.Stat(exportFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the export file must be private: %v %v", info.Mode(), err)
	}
	other := t.TempDir()
	if out := runCLI(t, "", "users", "import", "--app", app, "--data", other, "--in", exportFile); !strings.Contains(out, "imported 2 users") {
		t.Fatalf("import: %s", out)
	}
	if out := runCLI(t, "", "users", "import", "--app", app, "--data", other, "--in", exportFile); !strings.Contains(out, "imported 0 users, skipped 2") {
		t.Fatalf("a second import: %s", out)
	}
	srv2 := startServer(t, "--app", app, "--data", other)
	st, _, body := call(t, "POST", srv2.URL+qs+"/auth/providers/local-userpass/login", "", map[string]string{"username": "op-made@example.com", "password": "password1"})
	if st != 200 || body["user_id"] != uid {
		t.Fatalf("login on the server the users moved to: %d %v (want user %s)", st, body, uid)
	}

	// Delete through the API: gone from the CLI's list too.
	if st, _, _ := adminCall(t, "DELETE", admin+"/users/"+uid, created.Key, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	cmd = exec.Command(binary(t), "users", "get", "--app", app, "--data", srv.DataDir, "--id", uid)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "user not found") {
		t.Fatalf("users get of a deleted user: %v %s", err, out)
	}
	// The console is served, with a policy that allows only its own files.
	res, err := http.Get(srv.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("console: %d %v", res.StatusCode, res.Header)
	}
}
