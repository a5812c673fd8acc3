package sdk_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/client"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/clientapi"
	"github.com/wardenauth/warden/internal/data"
	"github.com/wardenauth/warden/internal/function"
	"github.com/wardenauth/warden/internal/password"
	"github.com/wardenauth/warden/internal/store/sqlite"
	"github.com/wardenauth/warden/internal/token"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// startTodoServer runs the client API for examples/todo (rules, a hidden field, system
// functions) with its data on the embedded store.
func startTodoServer(t *testing.T) string { return startTodoServerWith(t, clientapi.Options{}) }

// startTodoServerWith is startTodoServer with options of the client API.
func startTodoServerWith(t *testing.T, opts clientapi.Options) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "w.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	app, err := appconfig.Load(filepath.Join("..", "..", "examples", "todo"), appconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sources, err := data.Open(ctx, app, data.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sources.Close(context.Background()) })
	engine, err := function.New(app, function.Options{Data: sources})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := token.GenerateEd25519PEM()
	ring, _ := token.NewRing(key)
	hasher, _ := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1}, 4)
	svc, _, err := auth.New(auth.Options{Store: st, Ring: ring, Hasher: hasher, Apps: []*appconfig.App{app},
		Functions: map[string]*function.Engine{app.ClientAppID: engine}, Data: map[string]*data.Sources{app.ClientAppID: sources}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	srv := httptest.NewServer(clientapi.New(svc, opts))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestWatch: the SDK's Watch receives the user's own inserts and updates on the embedded
// store, none of another user's, without the hidden field; with Filter and IDs it
// receives only what they select; and it ends with InvalidSession when the user logs out.
func TestWatch(t *testing.T) {
	url := startTodoServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice, bob := todoGuest(ctx, t, url), todoGuest(ctx, t, url)
	items := func(u *client.User) *client.MongoCollection {
		return u.MongoClient("mongodb-atlas").Database("todo").Collection("Item")
	}
	all, err := items(alice).Watch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	inserts, err := items(alice).Watch(ctx, &client.WatchOptions{Filter: bson.D{{Key: "operationType", Value: "insert"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer inserts.Close()

	if _, err := items(bob).InsertOne(ctx, bson.D{{Key: "summary", Value: "bob's"}, {Key: "owner_id", Value: bob.ID()}}); err != nil {
		t.Fatal(err)
	}
	id, err := items(alice).InsertOne(ctx, bson.D{{Key: "summary", Value: "mine"}, {Key: "owner_id", Value: alice.ID()}})
	if err != nil {
		t.Fatal(err)
	}
	byID, err := items(alice).Watch(ctx, &client.WatchOptions{IDs: []any{id}})
	if err != nil {
		t.Fatal(err)
	}
	defer byID.Close()
	if _, err := alice.CallFunction(ctx, "annotateItem", id); err != nil { // sets the hidden field
		t.Fatal(err)
	}
	if _, err := items(alice).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "isComplete", Value: true}}}}, nil); err != nil {
		t.Fatal(err)
	}

	for i, want := range []string{"insert", "update"} {
		if !all.Next(ctx) {
			t.Fatalf("event %d: the stream ended: %v", i, all.Err())
		}
		var ev client.ChangeEvent
		if err := all.Decode(&ev); err != nil {
			t.Fatal(err)
		}
		if ev.OperationType != want || ev.NS.Coll != "Item" {
			t.Fatalf("event %d = %s on %s, want %s", i, ev.OperationType, ev.NS.Coll, want)
		}
		if s := ev.FullDocument.String(); !strings.Contains(s, `"mine"`) || strings.Contains(s, "internalNote") {
			t.Errorf("event %d fullDocument = %s", i, s)
		}
		if want == "update" && ev.UpdateDescription.UpdatedFields.String() != `{"isComplete": true}` {
			t.Errorf("updatedFields = %s", ev.UpdateDescription.UpdatedFields)
		}
	}
	if !inserts.Next(ctx) {
		t.Fatalf("the insert watch ended: %v", inserts.Err())
	}
	if !byID.Next(ctx) {
		t.Fatalf("the ids watch ended: %v", byID.Err())
	}
	var ev bson.M
	if err := byID.Decode(&ev); err != nil || ev["operationType"] != "update" {
		t.Fatalf("the ids watch saw %v (%v)", ev, err)
	}

	if err := alice.LogOut(ctx); err != nil {
		t.Fatal(err)
	}
	if all.Next(ctx) {
		t.Fatalf("an event after logout: %s", all.Current())
	}
	var e *client.Error
	if err := all.Err(); !errors.As(err, &e) || e.Code != client.CodeInvalidSession {
		t.Fatalf("after logout the stream ended with %v, want InvalidSession", err)
	}
	if _, err := items(bob).Watch(ctx, &client.WatchOptions{Filter: bson.D{{Key: "fullDocument.internalNote", Value: "x"}}}); err == nil {
		t.Error("a filter on a hidden field was accepted")
	}
}

// TestQuietStreamStillEndsWithItsReason: a stream that has been quiet for longer than the
// per-event write timeout still gets its closing error event (the deadline of the last
// event had been left in place and swallowed it).
func TestQuietStreamStillEndsWithItsReason(t *testing.T) {
	const writeTimeout = 20 * time.Millisecond
	url := startTodoServerWith(t, clientapi.Options{StreamWriteTimeout: writeTimeout})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u := todoGuest(ctx, t, url)
	items := u.MongoClient("mongodb-atlas").Database("todo").Collection("Item")
	cs, err := items.Watch(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if _, err := items.InsertOne(ctx, bson.D{{Key: "owner_id", Value: u.ID()}}); err != nil {
		t.Fatal(err)
	}
	if !cs.Next(ctx) {
		t.Fatalf("no first event: %v", cs.Err())
	}
	time.Sleep(5 * writeTimeout) // quiet for longer than the write timeout
	if err := u.LogOut(ctx); err != nil {
		t.Fatal(err)
	}
	if cs.Next(ctx) {
		t.Fatal("an event after logout")
	}
	if !client.IsInvalidSession(cs.Err()) {
		t.Fatalf("the quiet stream ended with %v, want its InvalidSession error event", cs.Err())
	}
}

// todoGuest is an anonymous user of the todo app at url, in an App of its own (an App
// logs in one anonymous user and reuses it).
func todoGuest(ctx context.Context, t *testing.T, url string) *client.User {
	t.Helper()
	app, err := client.New("todo-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	if err != nil {
		t.Fatal(err)
	}
	u, err := app.LogIn(ctx, client.Anonymous())
	if err != nil {
		t.Fatal(err)
	}
	return u
}
