package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wardenauth/warden/internal/store/postgres/pgtest"
	"github.com/wardenauth/warden/internal/token"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// TestThreeNodesShareOnePostgreSQL runs three warden processes on one database with one
// signing key: log in on the first, refresh on the second, log out on the third, and the
// first refuses the next refresh. A user disabled through one node is refused by all.
func TestThreeNodesShareOnePostgreSQL(t *testing.T) {
	dsn := pgtest.Database(t)
	key, err := token.GenerateEd25519PEM()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	var nodes []*server
	for range 3 {
		nodes = append(nodes, startServer(t, "--app", quickstart(t), "--database", dsn, "--signing-key", keyFile))
	}
	a, b, c := nodes[0].URL, nodes[1].URL, nodes[2].URL

	if st, _, _ := call(t, "POST", a+qs+"/auth/providers/local-userpass/register", "", map[string]string{"email": "nodes@example.com", "password": "nodes-pw"}); st != 201 {
		t.Fatalf("register on node 1: %d", st)
	}
	st, _, login := call(t, "POST", b+qs+"/auth/providers/local-userpass/login", "", map[string]string{"username": "nodes@example.com", "password": "nodes-pw"})
	if st != 200 {
		t.Fatalf("login on node 2 of a user registered on node 1: %d", st)
	}
	refresh := login["refresh_token"].(string)
	st, _, ref := call(t, "POST", b+"/api/client/v2.0/auth/session", refresh, nil)
	if st != 201 {
		t.Fatalf("refresh on node 2: %d", st)
	}
	if st, _, _ := call(t, "GET", c+"/api/client/v2.0/auth/profile", ref["access_token"].(string), nil); st != 200 {
		t.Fatalf("profile on node 3 with node 2's access token: %d", st)
	}
	if st, _, _ := call(t, "DELETE", c+"/api/client/v2.0/auth/session", refresh, nil); st != 204 {
		t.Fatalf("log out on node 3: %d", st)
	}
	if st, _, body := call(t, "POST", a+"/api/client/v2.0/auth/session", refresh, nil); st != 401 || body["error_code"] != "InvalidSession" {
		t.Fatalf("node 1 accepted a refresh token revoked on node 3: %d %v", st, body)
	}
	if st, _, _ := call(t, "GET", a+"/api/client/v2.0/auth/profile", ref["access_token"].(string), nil); st != 401 {
		t.Fatalf("node 1 accepted an access token of a session ended on node 3: %d", st)
	}

	// A user deleted through one node is gone on every node.
	_, _, l2 := call(t, "POST", a+qs+"/auth/providers/local-userpass/login", "", map[string]string{"username": "nodes@example.com", "password": "nodes-pw"})
	_, _, l3 := call(t, "POST", c+qs+"/auth/providers/local-userpass/login", "", map[string]string{"username": "nodes@example.com", "password": "nodes-pw"})
	if st, _, _ := call(t, "DELETE", b+"/api/client/v2.0/auth/delete", l2["access_token"].(string), nil); st != 204 {
		t.Fatalf("delete on node 2: %d", st)
	}
	if st, _, _ := call(t, "POST", c+"/api/client/v2.0/auth/session", l3["refresh_token"].(string), nil); st != 401 {
		t.Fatalf("node 3 refreshed for a user deleted on node 2: %d", st)
	}
}
