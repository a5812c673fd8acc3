package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestConsole drives the admin console in real headless Chromium (e2e/console), with
// screenshots of each page kept in e2e/artifacts/console.
func TestConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests skipped in -short mode")
	}
	node, chromium, web := browserTools(t)
	root := repoRoot(t)
	app := quickstart(t)
	srv := startServer(t, "--app", app)
	var created struct{ Key string }
	if err := json.Unmarshal([]byte(runCLI(t, "", "admin-keys", "create", "--name", "ops", "--data", srv.DataDir, "--json")), &created); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"ann@example.com", "bob@example.com", "carol@example.com"} {
		if st, _, raw := adminCall(t, "POST", srv.URL+"/api/admin/v1/apps/quickstart-abcde/users", created.Key, map[string]string{"email": email, "password": "password1"}); st != 201 {
			t.Fatalf("create %s: %d %s", email, st, raw)
		}
	}
	if st, _, _ := call(t, "POST", srv.URL+qs+"/auth/providers/local-userpass/login", "", map[string]string{"username": "bob@example.com", "password": "password1"}); st != 200 {
		t.Fatalf("bob's login: %d", st)
	}
	artifacts := filepath.Join(root, "e2e", "artifacts", "console")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "console/")
	cmd.Dir = filepath.Join(root, "e2e")
	cmd.Env = append(os.Environ(),
		"NODE_PATH="+filepath.Join(web, "node_modules"),
		"WARDEN_URL="+srv.URL,
		"ADMIN_KEY="+created.Key,
		"ARTIFACTS="+artifacts,
		"CHROMIUM="+chromium,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("console tests (screenshots in %s):\n%s", artifacts, out)
	if err != nil {
		t.Fatalf("console tests failed: %v\nserver log:\n%s", err, srv.log.String())
	}
}
