package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/client"
	"github.com/wardenauth/warden/internal/store/postgres/pgtest"
	"github.com/wardenauth/warden/internal/token"
	"go.mongodb.org/mongo-driver/v2/bson"
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

// TestWatchAcrossNodes: on the embedded store kept in PostgreSQL, a write through one node
// reaches a watch opened on another (LISTEN/NOTIFY), under the rules; and the custom user
// data that node caches is forgotten when another node writes it, so a refresh there
// carries the new value at once.
func TestWatchAcrossNodes(t *testing.T) {
	dsn := pgtest.Database(t)
	keyFile := sharedSigningKey(t)
	app := filepath.Join(repoRoot(t), "examples", "todo")
	a := startServer(t, "--app", app, "--database", dsn, "--signing-key", keyFile)
	b := startServer(t, "--app", app, "--database", dsn, "--signing-key", keyFile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// One user, on both nodes: two Apps on one storage.
	storage := client.NewMemoryStorage()
	onA, err := client.New("todo-abcde", client.WithBaseURL(a.URL), client.WithStorage(storage))
	if err != nil {
		t.Fatal(err)
	}
	user, err := onA.LogIn(ctx, client.Anonymous())
	if err != nil {
		t.Fatal(err)
	}
	var profile struct {
		FavoriteColor string    `bson:"favoriteColor"`
		CreatedAt     time.Time `bson:"createdAt"`
	}
	if err := user.DecodeCustomData(&profile); err != nil || profile.FavoriteColor != "blue" || profile.CreatedAt.IsZero() {
		t.Fatalf("custom data after the creation function: %+v %v", profile, err)
	}
	onB, err := client.New("todo-abcde", client.WithBaseURL(b.URL), client.WithStorage(storage))
	if err != nil {
		t.Fatal(err)
	}
	userOnB := onB.CurrentUser()
	if userOnB == nil || userOnB.ID() != user.ID() {
		t.Fatal("the user is not on node B's App")
	}
	coll := func(u *client.User, name string) *client.MongoCollection {
		return u.MongoClient("mongodb-atlas").Database("todo").Collection(name)
	}
	// Node B reads (and caches) the user's custom data.
	if cd, err := userOnB.RefreshCustomData(ctx); err != nil || cd["favoriteColor"] != "blue" {
		t.Fatalf("custom data through node B: %v %v", cd, err)
	}
	items, err := coll(userOnB, "Item").Watch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer items.Close()
	profileChanges, err := coll(userOnB, "users").Watch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer profileChanges.Close()

	// Another user's item, then this user's, both through node A.
	other, err := client.New("todo-abcde", client.WithBaseURL(a.URL), client.WithStorage(client.NewMemoryStorage()))
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := other.LogIn(ctx, client.Anonymous())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coll(stranger, "Item").InsertOne(ctx, bson.D{{Key: "summary", Value: "not yours"}, {Key: "owner_id", Value: stranger.ID()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll(user, "Item").InsertOne(ctx, bson.D{{Key: "summary", Value: "written on A"}, {Key: "owner_id", Value: user.ID()}}); err != nil {
		t.Fatal(err)
	}
	if !items.Next(ctx) {
		t.Fatalf("node B's watch ended: %v", items.Err())
	}
	var ev client.ChangeEvent
	if err := items.Decode(&ev); err != nil {
		t.Fatal(err)
	}
	if ev.OperationType != "insert" || !strings.Contains(ev.FullDocument.String(), "written on A") {
		t.Fatalf("node B's watch saw %s %s, want this user's insert", ev.OperationType, ev.FullDocument)
	}

	// The custom data changes through node A; once node B has seen the change, its
	// refresh carries the new value (its cache was told, not left to expire).
	if _, err := user.CallFunction(ctx, "setFavoriteColor", "green"); err != nil {
		t.Fatal(err)
	}
	if !profileChanges.Next(ctx) {
		t.Fatalf("node B's watch of the custom data ended: %v", profileChanges.Err())
	}
	if cd, err := userOnB.RefreshCustomData(ctx); err != nil || cd["favoriteColor"] != "green" {
		t.Fatalf("custom data through node B after node A changed it: %v %v", cd, err)
	}
}
