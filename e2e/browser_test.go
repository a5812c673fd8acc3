package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowser runs examples/web's browser tests: the example page in real headless
// Chromium against the built binary, which serves the page itself (--static). A second
// app allows only one of two other origins that serve the same page, so that both a
// cross-origin success and a refused origin are seen by a real browser. Screenshots are
// kept in e2e/artifacts/browser.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests skipped in -short mode")
	}
	node, chromium, web := browserTools(t)
	root := repoRoot(t)

	// Two more origins serving the same page.
	allowed := httptest.NewServer(http.FileServer(http.Dir(web)))
	defer allowed.Close()
	blocked := httptest.NewServer(http.FileServer(http.Dir(web)))
	defer blocked.Close()

	webApp := t.TempDir()
	writeFiles(t, webApp, map[string]string{
		"root_config.json":    `{"name": "web", "allowed_request_origins": ["` + allowed.URL + `"]}`,
		".mdb/meta.json":      `{"client_app_id": "web-abcde"}`,
		"auth/providers.json": `{"anon-user": {"name": "anon-user", "type": "anon-user"}}`,
	})
	srv := startServer(t,
		"--app", filepath.Join(root, "examples", "quickstart"),
		"--app", webApp,
		"--static", web,
	)
	keys, _ := filepath.Glob(filepath.Join(srv.DataDir, "keys", "*.pem"))
	if len(keys) != 1 {
		t.Fatalf("signing keys in the data directory: %v", keys)
	}
	artifacts := filepath.Join(root, "e2e", "artifacts", "browser")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", "tests/")
	cmd.Dir = web
	cmd.Env = append(os.Environ(),
		"WARDEN_URL="+srv.URL,
		"WARDEN_APP_ID=quickstart-abcde",
		"WARDEN_WEB_APP_ID=web-abcde",
		"ALLOWED_ORIGIN="+allowed.URL,
		"BLOCKED_ORIGIN="+blocked.URL,
		"WARDEN_SIGNING_KEY_FILE="+keys[0],
		"ARTIFACTS="+artifacts,
		"CHROMIUM="+chromium,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser tests (screenshots in %s):\n%s", artifacts, out)
	if err != nil {
		t.Fatalf("browser tests failed: %v\nserver log:\n%s", err, srv.log.String())
	}
	if !srv.waitLog(t, "path=/api/client/v2.0/app/web-abcde/location status=403") {
		t.Errorf("the server did not refuse the blocked origin with 403:\n%s", srv.log.String())
	}
}

// browserTools finds node and Chromium, and installs examples/web's packages (realm-web
// and playwright-core) when they are missing. Without node or Chromium the test is
// skipped, except in CI, where it fails.
func browserTools(t *testing.T) (node, chromium, web string) {
	t.Helper()
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(chromium); err != nil || statErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs node and Chromium (%s) for the browser tests", chromium)
		}
		t.Skip("node or Chromium not installed: apt-get install chromium")
	}
	web = filepath.Join(repoRoot(t), "examples", "web")
	if _, err := os.Stat(filepath.Join(web, "node_modules", "playwright-core", "package.json")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = web
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in examples/web: %v\n%s", err, out)
		}
	}
	return node, chromium, web
}

// writeFiles lays out files (path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
