package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestServerAPIKeysFromTheCLI creates a server API key with the CLI on the data
// directory of a running server, logs in with it as a server user, and deletes it.
func TestServerAPIKeysFromTheCLI(t *testing.T) {
	srv := startServer(t, "--app", quickstart(t))
	cli := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(binary(t), append(args, "--app", quickstart(t), "--data", srv.DataDir)...).CombinedOutput()
		if err != nil {
			t.Fatalf("warden %v: %v\n%s", args, err, out)
		}
		return out
	}
	var key struct {
		ID       string `json:"_id"`
		Key      string `json:"key"`
		Name     string `json:"name"`
		Disabled bool   `json:"disabled"`
	}
	if err := json.Unmarshal(cli("apikeys", "create", "--name", "backend", "--json"), &key); err != nil || len(key.Key) != 64 || key.Name != "backend" {
		t.Fatalf("create: %+v %v", key, err)
	}
	st, _, login := call(t, "POST", srv.URL+qs+"/auth/providers/api-key/login", "", map[string]string{"key": key.Key})
	if st != 200 {
		t.Fatalf("server key login: %d %v", st, login)
	}
	_, _, prof := call(t, "GET", srv.URL+"/api/client/v2.0/auth/profile", login["access_token"].(string), nil)
	if prof["type"] != "server" || prof["data"].(map[string]any)["name"] != "backend" {
		t.Fatalf("server user profile = %v", prof)
	}
	list := string(cli("apikeys", "list"))
	if !strings.Contains(list, key.ID) || strings.Contains(list, key.Key) {
		t.Fatalf("list must show the key id and never the key:\n%s", list)
	}
	cli("apikeys", "delete", "--id", key.ID)
	if st, _, body := call(t, "POST", srv.URL+"/api/client/v2.0/auth/session", login["refresh_token"].(string), nil); st != 401 {
		t.Fatalf("refresh after the key was deleted: %d %v", st, body)
	}
	if st, _, _ := call(t, "POST", srv.URL+qs+"/auth/providers/api-key/login", "", map[string]string{"key": key.Key}); st != 401 {
		t.Fatalf("login with a deleted key: %d", st)
	}
}
