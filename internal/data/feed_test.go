package data

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// watch opens a change stream for c and closes it when the test ends.
func watch(t *testing.T, src *Source, c Caller, arg bson.D) *ChangeStream {
	t.Helper()
	s, err := src.Watch(context.Background(), c, arg)
	if err != nil {
		t.Fatalf("watch %v: %v", arg, err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// next waits for the stream's next event (the wait ends on what is observed; the bound
// only keeps a broken feed from hanging the test).
func next(t *testing.T, s *ChangeStream) bson.D {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("next event: %v", err)
	}
	return ev
}

// describe is an event's operation and key: "insert 1".
func describe(ev bson.D) string {
	op, _ := get(ev, "operationType")
	key, _ := get(ev, "documentKey")
	id, _ := get(key.(bson.D), "_id")
	return fmt.Sprintf("%v %v", op, id)
}

// relaxed is v as relaxed Extended JSON.
func relaxed(v any) string {
	b, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, false, false)
	if err != nil {
		return err.Error()
	}
	return strings.TrimSuffix(strings.TrimPrefix(string(b), `{"v":`), "}")
}

// TestWatchOnTheEmbeddedStore: every kind of write to the embedded store reaches a watch
// as MongoDB's change stream would show it, in order, exactly once, whichever path
// (a user's update, the system's) made it.
func TestWatchOnTheEmbeddedStore(t *testing.T) {
	src := openEmbedded(t)
	s := watch(t, src, system, ns("Item"))
	other := watch(t, src, system, ns("Other"))

	exec(t, src, system, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: int32(1)}, {Key: "a", Value: "x"}, {Key: "sub", Value: bson.D{{Key: "b", Value: int32(1)}, {Key: "c", Value: int32(2)}}}}}))
	exec(t, src, system, "insertMany", ns("Item", bson.E{Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: int32(2)}}, bson.D{{Key: "_id", Value: int32(3)}}}}))
	exec(t, src, system, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: int32(1)}}},
		bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "sub.b", Value: int32(5)}, {Key: "n", Value: int32(7)}}}, {Key: "$unset", Value: bson.D{{Key: "a", Value: ""}}}}}))
	// An update that changes nothing is no event.
	exec(t, src, system, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: int32(1)}}},
		bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: int32(7)}}}}}))
	exec(t, src, system, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: int32(2)}}},
		bson.E{Key: "update", Value: bson.D{{Key: "only", Value: "this"}}}))
	exec(t, src, system, "updateMany", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: int32(2)}}}}},
		bson.E{Key: "update", Value: bson.D{{Key: "$inc", Value: bson.D{{Key: "k", Value: int32(1)}}}}}))
	exec(t, src, system, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: int32(9)}}},
		bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "up", Value: true}}}}}, bson.E{Key: "upsert", Value: true}))
	exec(t, src, system, "findOneAndUpdate", ns("Item", bson.E{Key: "filter", Value: bson.D{{Key: "_id", Value: int32(3)}}},
		bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "f", Value: int32(1)}}}}}))
	exec(t, src, system, "deleteMany", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{int32(2), int32(3)}}}}}}))
	exec(t, src, system, "findOneAndDelete", ns("Item", bson.E{Key: "filter", Value: bson.D{{Key: "_id", Value: int32(9)}}}))
	exec(t, src, system, "insertOne", ns("Other", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: "o"}}}))
	// A duplicate key in an insertMany: the documents before it were written.
	if _, err := src.Execute(context.Background(), system, "insertMany", ns("Item", bson.E{Key: "documents", Value: bson.A{
		bson.D{{Key: "_id", Value: int32(20)}}, bson.D{{Key: "_id", Value: int32(1)}}, bson.D{{Key: "_id", Value: int32(21)}}}})); err == nil {
		t.Fatal("a duplicate _id was inserted")
	}
	exec(t, src, system, "deleteOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: int32(20)}}}))

	want := []string{
		"insert 1", "insert 2", "insert 3",
		"update 1", "replace 2", "update 2", "update 3",
		"insert 9", "update 3", "delete 2", "delete 3", "delete 9",
		"insert 20", "delete 20",
	}
	var events []bson.D
	for i, w := range want {
		ev := next(t, s)
		events = append(events, ev)
		if got := describe(ev); got != w {
			t.Fatalf("event %d = %s, want %s (%v)", i, got, w, ev)
		}
		if _, ok := get(ev, "fullDocumentBeforeChange"); ok {
			t.Errorf("event %d shows the document before the change", i)
		}
		if tok, _ := get(ev, "_id"); tok == nil {
			t.Errorf("event %d has no resume token", i)
		}
	}
	if got := describe(next(t, other)); got != "insert o" {
		t.Errorf("the other collection's watch saw %s", got)
	}
	upd := events[3]
	desc := field(upd, "updateDescription").(bson.D)
	if got := relaxed(field(desc, "updatedFields")); got != `{"sub.b":5,"n":7}` {
		t.Errorf("updatedFields = %s", got)
	}
	if got := relaxed(field(desc, "removedFields")); got != `["a"]` {
		t.Errorf("removedFields = %s", got)
	}
	if got := relaxed(field(upd, "fullDocument")); got != `{"_id":1,"sub":{"b":5,"c":2},"n":7}` {
		t.Errorf("fullDocument = %s", got)
	}
	if _, ok := get(events[9], "fullDocument"); ok {
		t.Errorf("a delete carries a document: %v", events[9])
	}
	if ns := relaxed(field(events[0], "ns")); ns != `{"db":"wardentest","coll":"Item"}` {
		t.Errorf("ns = %s", ns)
	}
}

// TestWatchUnderTheRules: a user's watch on the embedded store shows its own documents
// without their hidden fields, never another user's, a delete as its key alone, and only
// what its ids and filter select.
func TestWatchUnderTheRules(t *testing.T) {
	src := openEmbedded(t)
	all := watch(t, src, alice, ns("Item"))
	inserts := watch(t, src, alice, ns("Item", bson.E{Key: "filter", Value: bson.D{{Key: "operationType", Value: "insert"}}}))
	byID := watch(t, src, alice, ns("Item", bson.E{Key: "ids", Value: bson.A{"a2"}}))
	if _, err := src.Watch(context.Background(), alice, ns("Item", bson.E{Key: "filter", Value: bson.D{{Key: "fullDocument.hidden", Value: "x"}}})); err == nil {
		t.Error("a watch filter on a hidden field was accepted")
	}

	exec(t, src, bob, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: "b1"}, {Key: "owner_id", Value: "bob"}, {Key: "summary", Value: "bob's"}}}))
	exec(t, src, system, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: "a1"}, {Key: "owner_id", Value: "alice"}, {Key: "summary", Value: "s"}, {Key: "hidden", Value: "secret"}}}))
	exec(t, src, alice, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: "a1"}}}, bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "summary", Value: "t"}}}}}))
	// Only the hidden field changes: nothing the user may see changed.
	exec(t, src, system, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: "a1"}}}, bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "hidden", Value: "another secret"}}}}}))
	exec(t, src, bob, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: "b1"}}}, bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "summary", Value: "bob's, changed"}}}}}))
	exec(t, src, alice, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: "a2"}, {Key: "owner_id", Value: "alice"}}}))
	exec(t, src, alice, "deleteOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: "a2"}}}))
	// Bob's document given to alice: she sees it arrive; taken back, she sees it leave
	// (its key only).
	exec(t, src, system, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: "b1"}}}, bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "owner_id", Value: "alice"}}}}}))
	exec(t, src, system, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: "b1"}}}, bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "owner_id", Value: "bob"}}}}}))
	exec(t, src, system, "deleteOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: "b1"}}}))
	exec(t, src, system, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: "end"}, {Key: "owner_id", Value: "alice"}}}))

	want := []string{"insert a1", "update a1", "insert a2", "delete a2", "update b1", "update b1", "insert end"}
	for i, w := range want {
		ev := next(t, all)
		if got := describe(ev); got != w {
			t.Fatalf("alice's event %d = %s, want %s (%v)", i, got, w, ev)
		}
		if text := fmt.Sprint(ev); strings.Contains(text, "secret") || strings.Contains(text, "hidden") {
			t.Errorf("alice's event %d shows the hidden field: %v", i, ev)
		}
		switch i {
		case 1:
			if got := relaxed(field(field(ev, "updateDescription"), "updatedFields")); got != `{"summary":"t"}` {
				t.Errorf("updatedFields = %s", got)
			}
		case 3, 5:
			if _, ok := get(ev, "fullDocument"); ok {
				t.Errorf("event %d (%s) carries a document alice may not read now: %v", i, w, ev)
			}
		case 4:
			if got := fmt.Sprint(field(ev, "fullDocument")); !strings.Contains(got, "bob's, changed") {
				t.Errorf("the document given to alice: %s", got)
			}
		}
	}
	for i, w := range []string{"insert a1", "insert a2", "insert end"} {
		if got := describe(next(t, inserts)); got != w {
			t.Fatalf("alice's insert %d = %s, want %s", i, got, w)
		}
	}
	for _, w := range []string{"insert a2", "delete a2"} {
		if got := describe(next(t, byID)); got != w {
			t.Fatalf("alice's watch of a2 saw %s, want %s", got, w)
		}
	}
}

// TestWatchBounds: a reader too far behind is told so and the stream ends; a user may
// not open unbounded streams; closing the store ends every stream.
func TestWatchBounds(t *testing.T) {
	s, src := openTest(t)
	if !src.Embedded {
		t.Skip("MongoDB's own change streams serve a real MongoDB")
	}
	// One write of many documents is one step of the buffer: a watch keeps up with it.
	big := watch(t, src, system, ns("Item"))
	docs := bson.A{}
	for i := 0; i < 2*StreamBuffer; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: int32(i)}})
	}
	slow := watch(t, src, system, ns("Item"))
	exec(t, src, system, "insertMany", ns("Item", bson.E{Key: "documents", Value: docs}))
	for i := 0; i < 2*StreamBuffer; i++ {
		next(t, big)
	}
	// A reader more than StreamBuffer writes behind is told, and gets nothing more.
	for i := 0; i < StreamBuffer; i++ {
		exec(t, src, system, "deleteOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: int32(i)}}}))
	}
	_, err := slow.Next(context.Background())
	var de *Error
	if !errors.As(err, &de) || de.Kind != KindLimit {
		t.Fatalf("a reader far behind got %v, want a KindLimit error", err)
	}
	// A stream whose context ended gives nothing more, even with events waiting.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ev, err := big.Next(ctx); err == nil {
		t.Fatalf("a canceled stream gave %v", ev)
	}

	var open []*ChangeStream
	for i := 0; i < MaxStreamsPerUser; i++ {
		open = append(open, watch(t, src, alice, ns("Item")))
	}
	if _, err := src.Watch(context.Background(), alice, ns("Item")); !errors.As(err, &de) || de.Kind != KindLimit {
		t.Fatalf("stream %d: %v, want a KindLimit error", MaxStreamsPerUser+1, err)
	}
	watch(t, src, bob, ns("Item")) // bob has his own
	_ = open[0].Close(context.Background())
	watch(t, src, alice, ns("Item"))

	s.Close(context.Background())
	if _, err := open[1].Next(context.Background()); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("after Close: %v", err)
	}
}

// TestWatchRedactsWhatTheReviewFound: the holes an attack review found stay closed. A
// rules filter that only projects refuses watch (its projection cannot be applied to an
// update's description); an updated subdocument shows only its readable fields; a replace
// that changes only hidden fields is no event.
func TestWatchRedactsWhatTheReviewFound(t *testing.T) {
	src := openRulesApp(t, "review", map[string]string{
		"Proj": `{"database":"r","collection":"Proj","roles":[{"name":"all","apply_when":{},"read":true,"write":true,"insert":true,"delete":true}],
	  "filters":[{"name":"hide","apply_when":{},"projection":{"secret":0}}]}`,
		"Sub": `{"database":"r","collection":"Sub","roles":[{"name":"some","apply_when":{},
	  "fields":{"_id":{"read":true},"sub":{"fields":{"pub":{"read":true}}},"pub":{"read":true}},"insert":true,"delete":true}]}`,
	})
	rns := func(coll string, rest ...bson.E) bson.D {
		return append(bson.D{{Key: "database", Value: "r"}, {Key: "collection", Value: coll}}, rest...)
	}
	if _, err := src.Watch(context.Background(), alice, rns("Proj")); err == nil {
		t.Error("watch was allowed on a collection whose rules filter projects a field away")
	}

	w := watch(t, src, alice, rns("Sub"))
	exec(t, src, system, "insertOne", rns("Sub", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: int32(1)}, {Key: "pub", Value: int32(1)}, {Key: "sub", Value: "x"}}}))
	exec(t, src, system, "updateOne", rns("Sub", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: int32(1)}}},
		bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "sub", Value: bson.D{{Key: "pub", Value: int32(2)}, {Key: "secret", Value: "TOPSECRET"}}}}}}}))
	exec(t, src, system, "updateOne", rns("Sub", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: int32(1)}}},
		bson.E{Key: "update", Value: bson.D{{Key: "_id", Value: int32(1)}, {Key: "pub", Value: int32(1)}, {Key: "sub", Value: bson.D{{Key: "pub", Value: int32(2)}, {Key: "secret", Value: "OTHER SECRET"}}}}}))
	exec(t, src, system, "insertOne", rns("Sub", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: int32(2)}}}))
	for i, want := range []string{"insert 1", "update 1", "insert 2"} {
		ev := next(t, w)
		if got := describe(ev); got != want {
			t.Fatalf("event %d = %s, want %s (%v)", i, got, want, ev)
		}
		if text := relaxed(ev); strings.Contains(text, "SECRET") {
			t.Errorf("event %d shows a hidden field: %s", i, text)
		}
	}
}

func writeTestFile(t *testing.T, dir, rel, body string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRuleFunctionsMayWriteTheCollectionTheyGuard: a rule whose %function writes the
// collection being written (an audit trail) goes on in its request's write turn instead
// of waiting for itself, whether or not the collection is watched; and the watch sees both
// writes.
func TestRuleFunctionsMayWriteTheCollectionTheyGuard(t *testing.T) {
	src := openRulesApp(t, "audit", map[string]string{
		"Audited": `{"database":"r","collection":"Audited","roles":[{"name":"all",
	  "apply_when":{"%%true":{"%function":{"name":"audit","arguments":[]}}},"read":true,"write":true,"insert":true,"delete":true}]}`,
	})
	rns := func(rest ...bson.E) bson.D {
		return append(bson.D{{Key: "database", Value: "r"}, {Key: "collection", Value: "Audited"}}, rest...)
	}
	user := alice
	audits := 0
	user.Env.Function = func(ctx context.Context, name string, _ []any) (any, error) {
		audits++
		if audits > 20 {
			return true, nil
		}
		_, err := src.Execute(ctx, system, "insertOne", rns(bson.E{Key: "document", Value: bson.D{{Key: "audit", Value: int32(audits)}}}))
		return err == nil, err
	}
	insert := func(id string) {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			_, err := src.Execute(context.Background(), user, "insertOne", rns(bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: id}}}))
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("insert %s: %v", id, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("insert %s waits for itself: a rule function's write deadlocked it", id)
		}
	}
	insert("unwatched")
	w := watch(t, src, system, rns())
	insert("watched")
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		ev := next(t, w)
		got[fmt.Sprint(field(field(ev, "documentKey"), "_id"))] = true
	}
	if !got["watched"] {
		t.Fatalf("the watch missed the user's insert: %v", got)
	}
}

// TestWatchShowsOnlyTheCallersOwnView: a document brought into a user's view arrives with
// what the user may see of it, not with what changed in the whole document (which told
// what its fields had been: a removed field, a value left as it was); and a document whose
// rules fail to evaluate is left out of a stream rather than ending it.
func TestWatchShowsOnlyTheCallersOwnView(t *testing.T) {
	src := openEmbedded(t)
	w := watch(t, src, alice, ns("Item"))
	exec(t, src, system, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: "m"}, {Key: "owner_id", Value: "bob"}, {Key: "summary", Value: "merger plan"}, {Key: "n", Value: int32(100)}}}))
	exec(t, src, system, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: "m"}}},
		bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "owner_id", Value: "alice"}}}, {Key: "$unset", Value: bson.D{{Key: "summary", Value: ""}}}}}))
	ev := next(t, w)
	desc := field(ev, "updateDescription")
	if got := relaxed(field(desc, "removedFields")); got != "[]" {
		t.Errorf("removedFields of a document brought into view = %s, want none (it was never alice's to see)", got)
	}
	if got := relaxed(field(desc, "updatedFields")); got != `{"owner_id":"alice","n":100}` {
		t.Errorf("updatedFields of a document brought into view = %s, want every field alice may see", got)
	}

	other := openRulesApp(t, "bad", map[string]string{
		"Pub": `{"database":"r","collection":"Pub","roles":[{"name":"r","apply_when":{"%%root.public":{"%stringToOid":"%%root.ref"}},"read":true,"insert":true}]}`,
	})
	pub := func(rest ...bson.E) bson.D {
		return append(bson.D{{Key: "database", Value: "r"}, {Key: "collection", Value: "Pub"}}, rest...)
	}
	pw := watch(t, other, alice, pub())
	exec(t, other, system, "insertOne", pub(bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: "bad"}, {Key: "ref", Value: "not an object id"}, {Key: "public", Value: "x"}}}))
	exec(t, other, system, "insertOne", pub(bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: "good"}, {Key: "ref", Value: "64a1f0c2e4b0a1b2c3d4e5f6"}, {Key: "public", Value: mustOID("64a1f0c2e4b0a1b2c3d4e5f6")}}}))
	if got := describe(next(t, pw)); got != "insert good" {
		t.Fatalf("after a document whose rules fail, the stream gave %s", got)
	}
}

func mustOID(h string) bson.ObjectID {
	id, err := bson.ObjectIDFromHex(h)
	if err != nil {
		panic(err)
	}
	return id
}

// openEmbedded opens the test app's data source, skipping the test on a real MongoDB
// (whose own change streams serve watch).
func openEmbedded(t *testing.T) *Source {
	t.Helper()
	_, src := openTest(t)
	if !src.Embedded {
		t.Skip("MongoDB's own change streams serve a real MongoDB")
	}
	return src
}

// openRulesApp opens, on the embedded engine, an app whose data source "db" has the given
// rules for collections of database "r".
func openRulesApp(t *testing.T, name string, rules map[string]string) *Source {
	t.Helper()
	dir := t.TempDir()
	writeTestFile(t, dir, "root_config.json", `{"name":"`+name+`"}`)
	writeTestFile(t, dir, "data_sources/db/config.json", `{"name":"db","type":"mongodb-atlas","config":{"clusterName":"c"}}`)
	for coll, body := range rules {
		writeTestFile(t, dir, "data_sources/db/r/"+coll+"/rules.json", body)
	}
	app, err := appconfig.Load(dir, appconfig.Options{AppID: name})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), app, Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	src, _ := s.Get("db")
	return src
}
