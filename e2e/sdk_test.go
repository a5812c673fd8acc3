package e2e

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenauth/warden/client"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestSDKAgainstTheBinary runs the Go SDK's documented flows against `warden serve`:
// multiple users, switch, log out, link, API keys, refresh, and an offline start from
// storage after the server is gone.
func TestSDKAgainstTheBinary(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "--app", quickstart(t))
	dir := t.TempDir()
	app, err := client.New("quickstart-abcde", client.WithBaseURL(srv.URL), client.WithStorage(&client.FileStorage{Dir: dir}))
	if err != nil {
		t.Fatal(err)
	}
	ep := app.EmailPasswordAuth()
	for _, e := range []string{"sdk-joe@example.com", "sdk-emma@example.com"} {
		if err := ep.RegisterUser(ctx, e, "passw0rd"); err != nil {
			t.Fatal(err)
		}
	}
	joe, err := app.LogIn(ctx, client.EmailPassword("sdk-joe@example.com", "passw0rd"))
	if err != nil {
		t.Fatal(err)
	}
	emma, err := app.LogIn(ctx, client.EmailPassword("sdk-emma@example.com", "passw0rd"))
	if err != nil {
		t.Fatal(err)
	}
	if app.CurrentUser() != emma {
		t.Fatal("the last login is not active")
	}
	// The SDK opts in to refresh-token rotation: a refresh replaces the stored token.
	before := emma.RefreshToken()
	if err := emma.RefreshAccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	if after := emma.RefreshToken(); after == before || after == "" {
		t.Fatal("the refresh token did not rotate")
	}
	if err := emma.RefreshProfile(ctx); err != nil {
		t.Fatalf("after a rotation: %v", err)
	}
	if err := app.SwitchUser(joe); err != nil {
		t.Fatal(err)
	}
	guest, err := app.LogIn(ctx, client.AnonymousNew())
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.RegisterUser(ctx, "sdk-guest@example.com", "passw0rd"); err != nil {
		t.Fatal(err)
	}
	if err := guest.LinkCredentials(ctx, client.EmailPassword("sdk-guest@example.com", "passw0rd")); err != nil {
		t.Fatal(err)
	}
	if len(guest.Identities()) != 2 {
		t.Fatalf("identities after link: %+v", guest.Identities())
	}
	key, err := joe.APIKeys().Create(ctx, "sdk")
	if err != nil {
		t.Fatal(err)
	}
	// Many concurrent requests and refreshes of one user.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(2)
		go func() { defer wg.Done(); _ = joe.RefreshProfile(ctx) }()
		go func() { defer wg.Done(); _ = joe.RefreshAccessToken(ctx) }()
	}
	wg.Wait()
	if err := joe.RefreshProfile(ctx); err != nil {
		t.Fatal(err)
	}
	if err := emma.LogOut(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.stop(t); err != nil {
		t.Fatal(err)
	}

	offline, err := client.New("quickstart-abcde", client.WithBaseURL(srv.URL), client.WithStorage(&client.FileStorage{Dir: dir}))
	if err != nil {
		t.Fatal(err)
	}
	if cur := offline.CurrentUser(); cur == nil || cur.ID() != guest.ID() {
		t.Fatalf("offline start: current user = %v", cur)
	}
	states := map[string]client.State{}
	for _, u := range offline.AllUsers() {
		states[u.Profile().Email] = u.State()
	}
	if states["sdk-joe@example.com"] != client.StateLoggedIn || states["sdk-emma@example.com"] != client.StateLoggedOut {
		t.Fatalf("offline states = %v", states)
	}

	// The server comes back on the same data: the stored tokens and the API key work.
	srv2 := startServer(t, "--app", quickstart(t), "--data", srv.DataDir)
	again, err := client.New("quickstart-abcde", client.WithBaseURL(srv2.URL), client.WithStorage(&client.FileStorage{Dir: dir}))
	if err != nil {
		t.Fatal(err)
	}
	if err := again.CurrentUser().RefreshProfile(ctx); err != nil {
		t.Fatalf("stored tokens after a restart: %v", err)
	}
	viaKey, err := again.LogIn(ctx, client.APIKey(key.Key))
	if err != nil || viaKey.ID() != joe.ID() {
		t.Fatalf("api key login: %v", err)
	}
}

// TestGoSDKExampleProgram runs examples/gosdk against the binary, twice: the second run
// finds the users the first one kept.
func TestGoSDKExampleProgram(t *testing.T) {
	srv := startServer(t, "--app", quickstart(t))
	state := t.TempDir()
	runExample := func() string {
		cmd := exec.Command("go", "run", "./examples/gosdk", "-url", srv.URL, "-state", state)
		cmd.Dir = repoRoot(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("examples/gosdk: %v\n%s", err, out)
		}
		return string(out)
	}
	first := runExample()
	for _, want := range []string{"active: emma@example.com", "switched to: joe@example.com", "emma@example.com logged-out", "after removing emma: 1 user(s), active joe@example.com"} {
		if !strings.Contains(first, want) {
			t.Fatalf("first run does not say %q:\n%s", want, first)
		}
	}
	second := runExample()
	if !strings.Contains(second, "welcome back: 1 users on this device, active joe@example.com") {
		t.Fatalf("second run did not find the kept user:\n%s", second)
	}
}

// TestSDKMongoClient: the Go SDK's MongoClient against the binary serving examples/todo
// on its embedded engine: CRUD with Extended JSON types, and the rules' refusals as
// *client.Error.
func TestSDKMongoClient(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "--app", filepath.Join(repoRoot(t), "examples", "todo"))
	app, err := client.New("todo-abcde", client.WithBaseURL(srv.URL), client.WithStorage(client.NewMemoryStorage()))
	if err != nil {
		t.Fatal(err)
	}
	user, err := app.LogIn(ctx, client.AnonymousNew())
	if err != nil {
		t.Fatal(err)
	}
	sandbox := user.MongoClient("mongodb-atlas").Database("todo").Collection("Sandbox")
	run := time.Now().UnixNano()
	id, err := sandbox.InsertOne(ctx, bson.D{{Key: "run", Value: run}, {Key: "name", Value: "a"}, {Key: "n", Value: 1}, {Key: "at", Value: bson.DateTime(0)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := id.(bson.ObjectID); !ok {
		t.Fatalf("insertedId is %T, want an ObjectID", id)
	}
	if _, err := sandbox.InsertMany(ctx, []any{bson.D{{Key: "run", Value: run}, {Key: "name", Value: "b"}, {Key: "n", Value: 2}}, bson.D{{Key: "run", Value: run}, {Key: "name", Value: "c"}, {Key: "n", Value: 3}}}); err != nil {
		t.Fatal(err)
	}
	type doc struct {
		ID   bson.ObjectID `bson:"_id"`
		Name string        `bson:"name"`
		N    int           `bson:"n"`
		At   time.Time     `bson:"at,omitempty"`
	}
	var docs []doc
	if err := sandbox.Find(ctx, bson.D{{Key: "run", Value: run}}, &client.FindOptions{Sort: bson.D{{Key: "n", Value: -1}}, Limit: 2}, &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Name != "c" || docs[1].Name != "b" {
		t.Fatalf("find sorted and limited: %+v", docs)
	}
	var first doc
	if err := sandbox.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, nil).Decode(&first); err != nil || first.Name != "a" || !first.At.Equal(time.Unix(0, 0)) {
		t.Fatalf("findOne by ObjectID: %v %+v", err, first)
	}
	if n, err := sandbox.Count(ctx, bson.D{{Key: "run", Value: run}}, nil); err != nil || n != 3 {
		t.Fatalf("count: %d %v", n, err)
	}
	if n, err := sandbox.Count(ctx, bson.D{{Key: "run", Value: run}}, &client.CountOptions{Limit: 2}); err != nil || n != 2 {
		t.Fatalf("count: %d %v", n, err)
	}
	res, err := sandbox.UpdateMany(ctx, bson.D{{Key: "run", Value: run}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 10}}}}, nil)
	if err != nil || res.MatchedCount != 3 || res.ModifiedCount != 3 || res.UpsertedID != nil {
		t.Fatalf("updateMany: %+v %v", res, err)
	}
	var after doc
	if err := sandbox.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: "A"}}}}, &client.FindOneAndModifyOptions{ReturnNewDocument: true}).Decode(&after); err != nil || after.Name != "A" || after.N != 11 {
		t.Fatalf("findOneAndUpdate: %v %+v", err, after)
	}
	var none doc
	if err := sandbox.FindOne(ctx, bson.D{{Key: "run", Value: -1}}, nil).Decode(&none); !errors.Is(err, client.ErrNoDocuments) {
		t.Fatalf("findOne of nothing: %v", err)
	}
	if res, err := sandbox.UpdateOne(ctx, bson.D{{Key: "run", Value: run}, {Key: "name", Value: "new"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: 0}}}}, &client.UpdateOptions{Upsert: true}); err != nil || res.UpsertedID == nil {
		t.Fatalf("upsert: %+v %v", res, err)
	}
	if n, err := sandbox.DeleteMany(ctx, bson.D{{Key: "run", Value: run}}); err != nil || n != 4 {
		t.Fatalf("deleteMany: %d %v", n, err)
	}
	// The rules: an item owned by someone else is refused, with the server's code.
	items := user.MongoClient("mongodb-atlas").Database("todo").Collection("Item")
	_, err = items.InsertOne(ctx, bson.D{{Key: "summary", Value: "x"}, {Key: "owner_id", Value: "someone-else"}})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != 400 || ce.Code != "NoMatchingRuleFound" {
		t.Fatalf("a refused insert: %v", err)
	}
	if user.State() != client.StateLoggedIn {
		t.Fatal("a refused write logged the user out")
	}
}
