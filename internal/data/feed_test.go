package data

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
	_, src := openTest(t)
	if !src.Embedded {
		t.Skip("MongoDB's own change streams serve a real MongoDB")
	}
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
	_, src := openTest(t)
	if !src.Embedded {
		t.Skip("MongoDB's own change streams serve a real MongoDB")
	}
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
	slow := watch(t, src, system, ns("Item"))
	docs := bson.A{}
	for i := 0; i <= StreamBuffer; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: int32(i)}})
	}
	exec(t, src, system, "insertMany", ns("Item", bson.E{Key: "documents", Value: docs}))
	var err error
	for n := 0; err == nil; n++ {
		if n > StreamBuffer+1 {
			t.Fatal("the stream kept going past its buffer")
		}
		_, err = slow.Next(context.Background())
	}
	var de *Error
	if !errors.As(err, &de) || de.Kind != KindLimit {
		t.Fatalf("a reader far behind got %v, want a KindLimit error", err)
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
