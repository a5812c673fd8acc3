package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/mail/mailtest"
)

// TestCompat runs the compatibility suite in compat/: the real realm-web 2.0.1 in Node,
// against the built binary, with mail going over SMTP to a catcher whose inbox the
// suite reads over HTTP.
func TestCompat(t *testing.T) {
	if testing.Short() {
		t.Skip("compatibility suite skipped in -short mode")
	}
	node, compat := realmWeb(t)
	root := repoRoot(t)

	catcher, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer catcher.Close()
	inbox := serveInbox(t, catcher)

	idp, oauthApp, _, oauthEnv := oauthSetup(t)
	idpHelper := serveIdPHelper(t, idp)
	srv := startServerEnv(t, oauthEnv,
		"--app", oauthApp,
		"--app", filepath.Join(root, "examples", "quickstart"),
		"--app", filepath.Join(root, "e2e", "testdata", "confirm-app"),
		"--app", filepath.Join(root, "e2e", "testdata", "func-app"),
		"--app", filepath.Join(root, "examples", "todo"),
		"--function-timeout", "1s",
		"--smtp", catcher.URL(),
		"--secrets", filepath.Join(root, "e2e", "testdata", "secrets.json"),
	)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", "tests/")
	cmd.Dir = compat
	cmd.Env = append(os.Environ(),
		"WARDEN_URL="+srv.URL,
		"WARDEN_APP_ID=quickstart-abcde",
		"WARDEN_CONFIRM_APP_ID=confirm-app-xyzzy",
		"WARDEN_FUNC_APP_ID=func-app-qwert",
		"WARDEN_TODO_APP_ID=todo-abcde",
		"WARDEN_OAUTH_APP_ID="+oauthAppID,
		"WARDEN_IDP_URL="+idpHelper,
		"WARDEN_INBOX_URL="+inbox,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("realm-web compatibility suite:\n%s", out)
	// node --test can exit 0 after a test failed on an unhandled rejection; its report
	// still says so.
	if err == nil && (bytes.Contains(out, []byte("\nnot ok ")) || bytes.Contains(out, []byte(" not ok ")) || !bytes.Contains(out, []byte("# fail 0"))) {
		err = errors.New("the report lists a failed test")
	}
	if err != nil {
		t.Fatalf("compatibility suite failed: %v\nserver log:\n%s", err, srv.log.String())
	}
}

// realmWeb returns Node and the compat/ directory with realm-web 2.0.1 installed (npm ci
// when it is not), or skips the test without Node (fails it in CI).
func realmWeb(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is required in CI for the realm-web tests")
		}
		t.Skip("node not installed: the realm-web tests need Node 20")
	}
	dir = filepath.Join(repoRoot(t), "compat")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "realm-web", "package.json")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in compat/: %v\n%s", err, out)
		}
	}
	return node, dir
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveInbox serves the catcher's messages as JSON on a loopback port.
func serveInbox(t *testing.T, c *mailtest.Catcher) string {
	t.Helper()
	ln := listen(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.Messages())
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}
