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
	keyFile := sharedSigningKey(t)
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

// TestDataSourcesShareOnePostgreSQL: with --database, the embedded engine keeps data
// sources in PostgreSQL too, so a document written through one node is read through
// another, under the rules of each.
func TestDataSourcesShareOnePostgreSQL(t *testing.T) {
	dsn := pgtest.Database(t)
	keyFile := sharedSigningKey(t)
	app := filepath.Join(repoRoot(t), "examples", "todo")
	a := startServer(t, "--app", app, "--database", dsn, "--signing-key", keyFile)
	b := startServer(t, "--app", app, "--database", dsn, "--signing-key", keyFile)
	if !a.waitLog(t, "engine=embedded-postgresql") {
		t.Fatalf("the data source is not on PostgreSQL:\n%s", a.log.String())
	}
	base := "/api/client/v2.0/app/todo-abcde"
	st, _, login := call(t, "POST", a.URL+base+"/auth/providers/anon-user/login", "", map[string]any{})
	if st != 200 {
		t.Fatalf("login: %d", st)
	}
	tok := login["access_token"].(string)
	insert := `{"name":"insertOne","service":"mongodb-atlas","arguments":[{"database":"todo","collection":"Item","document":{"summary":"shared","owner_id":"` + login["user_id"].(string) + `"}}]}`
	if st, _, body := call(t, "POST", a.URL+base+"/functions/call", tok, insert); st != 200 {
		t.Fatalf("insert through node A: %d %v", st, body)
	}
	find := `{"name":"findOne","service":"mongodb-atlas","arguments":[{"database":"todo","collection":"Item","query":{"summary":"shared"}}]}`
	st, _, doc := call(t, "POST", b.URL+base+"/functions/call", tok, find)
	if st != 200 || doc["summary"] != "shared" {
		t.Fatalf("find through node B: %d %v", st, doc)
	}
	// Another user sees nothing through either node: the rules hold on both.
	_, _, other := call(t, "POST", b.URL+base+"/auth/providers/anon-user/login", "", map[string]any{})
	if st, _, doc := call(t, "POST", b.URL+base+"/functions/call", other["access_token"].(string), find); st != 200 || doc != nil {
		t.Fatalf("another user's findOne: %d %v", st, doc)
	}
}

// sharedSigningKey writes a new signing key for several nodes to share.
func sharedSigningKey(t *testing.T) string {
	t.Helper()
	key, err := token.GenerateEd25519PEM()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile
}
