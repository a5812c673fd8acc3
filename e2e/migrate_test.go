package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/mail/mailtest"
)

// appServicesUsers is what App Services' Admin API listed for two users of
// realmcore-app: one who logged in with a custom JWT (subject someUserId), one with email
// and password; a second page holds a disabled anonymous user.
const appServicesUsers = `[
  {"_id": "64a1f0c2e4b0a1b2c3d4e5f6", "type": "normal", "creation_date": 1688334530, "last_authentication_date": 1700000000,
   "identities": [{"id": "someUserId", "provider_type": "custom-token", "provider_id": "64a1dddddddddddddddddddd"}],
   "data": {"name": "Foo Bar"}},
  {"_id": "64a1f0c2e4b0a1b2c3d4e600", "type": "normal", "creation_date": 1688334531,
   "identities": [{"id": "64a1f0c2e4b0a1b2c3d4e601", "provider_type": "local-userpass", "provider_id": "64a1eeeeeeeeeeeeeeeeeeee"}],
   "data": {"email": "migrated@example.com"}}
]
[{"_id": "64a1f0c2e4b0a1b2c3d4e602", "type": "normal", "creation_date": 1688334532, "disabled": true,
  "identities": [{"id": "64a1f0c2e4b0a1b2c3d4e603-abcdefghijklmnopqrstuvwx", "provider_type": "anon-user", "provider_id": "x"}], "data": {}}]
`

// TestMigrationFromAppServices: users exported from App Services are imported with the
// CLI, ids kept; the custom-JWT user logs in as itself, and the email/password user logs
// in as itself once its password is reset through the app's reset function.
func TestMigrationFromAppServices(t *testing.T) {
	root := repoRoot(t)
	app := filepath.Join(root, "e2e", "testdata", "realmcore-app")
	secrets := filepath.Join(root, "e2e", "testdata", "secrets.json")
	data := t.TempDir()
	in := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(in, []byte(appServicesUsers), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := cliCommand(t, "users", "import", "--app", app, "--data", data, "--format", "appservices", "--secrets", secrets, "--in", in).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imported 3 users, skipped 0 already there, refused 0") || !strings.Contains(string(out), "1 email/password users have no password") {
		t.Fatalf("import: %v %s", err, out)
	}
	if out, err := cliCommand(t, "users", "import", "--app", app, "--data", data, "--format", "appservices", "--secrets", secrets, "--in", in).CombinedOutput(); err != nil || !strings.Contains(string(out), "imported 0 users, skipped 3 already there") {
		t.Fatalf("a second import: %v %s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\"_id\": \"x\", \"identities\": [{\"id\": \"y\", \"provider_type\": \"anon-user\"}]}\n{\"_id\": \"z\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := cliCommand(t, "users", "import", "--app", app, "--data", data, "--format", "appservices", "--secrets", secrets, "--in", bad)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "line 2") || !strings.Contains(string(out), "nothing was imported") {
		t.Fatalf("a malformed file: %v %s", err, out)
	}

	srv := startServerEnv(t, []string{"WARDEN_SECRET_CUSTOMTOKENKEY=" + rcCustomTokenKey}, "--app", app, "--data", data, "--secrets", secrets)
	// The real realm-web logs both users in, with the ids App Services gave them.
	node, compat := realmWeb(t)
	script := exec.Command(node, filepath.Join("scenarios", "migrated-users.js"))
	script.Dir = compat
	script.Env = append(os.Environ(), "WARDEN_URL="+srv.URL, "APP_ID="+rcAppID, "JWT="+rcCreateJWT(rcAppID),
		"JWT_USER_ID=64a1f0c2e4b0a1b2c3d4e5f6", "EMAIL=migrated@example.com", "EMAIL_USER_ID=64a1f0c2e4b0a1b2c3d4e600")
	if out, err := script.CombinedOutput(); err != nil || !strings.Contains(string(out), "migrated users: ok") {
		t.Fatalf("realm-web with the migrated users: %v\n%s\nserver log:\n%s", err, out, srv.log.String())
	}
}

// cliCommand is the CLI with realm-core's custom-token secret in its environment.
func cliCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "WARDEN_SECRET_CUSTOMTOKENKEY="+rcCustomTokenKey)
	return cmd
}

// TestResetMailsForMigratedUsers: send-reset --migrated mails every account imported
// without a password, and a run resumes after the email it was given.
func TestResetMailsForMigratedUsers(t *testing.T) {
	app := filepath.Join(repoRoot(t), "e2e", "testdata", "confirm-app")
	secrets := filepath.Join(repoRoot(t), "e2e", "testdata", "secrets.json")
	data := t.TempDir()
	in := filepath.Join(t.TempDir(), "users.json")
	users := `{"_id": "64a1f0c2e4b0a1b2c3d4e700", "identities": [{"id": "64a1f0c2e4b0a1b2c3d4e701", "provider_type": "local-userpass"}], "data": {"email": "ada@example.com"}}
{"_id": "64a1f0c2e4b0a1b2c3d4e702", "identities": [{"id": "64a1f0c2e4b0a1b2c3d4e703", "provider_type": "local-userpass"}], "data": {"email": "bob@example.com"}}
`
	if err := os.WriteFile(in, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "", "users", "import", "--app", app, "--data", data, "--secrets", secrets, "--format", "appservices", "--in", in)
	catcher, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer catcher.Close()
	out, err := cliCommand(t, "users", "send-reset", "--migrated", "--rate", "100", "--app", app, "--data", data, "--secrets", secrets, "--smtp", catcher.URL(), "--after", "ada@example.com").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sent 1 password resets") {
		t.Fatalf("send-reset after ada: %v %s", err, out)
	}
	if _, err := catcher.WaitFor("bob@example.com", "Reset", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	out, err = cliCommand(t, "users", "send-reset", "--migrated", "--rate", "100", "--app", app, "--data", data, "--secrets", secrets, "--smtp", catcher.URL()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sent 2 password resets") {
		t.Fatalf("send-reset: %v %s", err, out)
	}
	if _, err := catcher.WaitFor("ada@example.com", "Reset", 30*time.Second); err != nil {
		t.Fatal(err)
	}
}
