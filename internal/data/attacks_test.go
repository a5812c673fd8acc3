package data

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// These tests are the attacks an ordinary user tried through the MongoDB service, each
// named after what it guards.

func seedNotes(t *testing.T, src *Source) (aliceNote, bobNote bson.ObjectID) {
	t.Helper()
	aliceNote, bobNote = bson.NewObjectID(), bson.NewObjectID()
	exec(t, src, system, "insertMany", ns("Note", bson.E{Key: "documents", Value: bson.A{
		bson.D{{Key: "_id", Value: aliceNote}, {Key: "owner_id", Value: "alice"}, {Key: "text", Value: "alice's"}},
		bson.D{{Key: "_id", Value: bobNote}, {Key: "owner_id", Value: "bob"}, {Key: "text", Value: "bob's"}},
	}}))
	return aliceNote, bobNote
}

func ownerOf(t *testing.T, src *Source, id bson.ObjectID) any {
	t.Helper()
	d := exec(t, src, system, "findOne", ns("Note", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: id}}}))
	if d == nil {
		return nil
	}
	return field(d, "owner_id")
}

func update(action string, query, upd bson.D, upsert bool) bson.D {
	arg := ns("Note", bson.E{Key: "query", Value: query}, bson.E{Key: "update", Value: upd})
	if upsert {
		arg = append(arg, bson.E{Key: "upsert", Value: true})
	}
	return arg
}

func set(fields ...bson.E) bson.D { return bson.D{{Key: "$set", Value: bson.D(fields)}} }

func TestUpsertNeverMatchesAnotherUsersDocument(t *testing.T) {
	_, src := openTest(t)
	ctx := context.Background()
	aliceNote, _ := seedNotes(t, src)

	// Bob upserts on Alice's _id: he may not write it, so the upsert inserts, which
	// collides on _id, and says nothing about whose document holds it.
	_, err := src.Execute(ctx, bob, "updateOne", update("updateOne", bson.D{{Key: "_id", Value: aliceNote}}, set(bson.E{Key: "owner_id", Value: "bob"}), true))
	if err == nil || strings.Contains(err.Error(), aliceNote.Hex()) || strings.Contains(err.Error(), "alice") {
		t.Errorf("upsert on alice's _id: err = %v, want a duplicate key error that names nothing", err)
	}
	if got := ownerOf(t, src, aliceNote); got != "alice" {
		t.Fatalf("bob's upsert took alice's note: owner_id = %v", got)
	}

	// updateMany over everything not his, with upsert: nothing of Alice's changes; the
	// upsert inserts one new document of Bob's.
	res := exec(t, src, bob, "updateMany", update("updateMany", bson.D{{Key: "owner_id", Value: bson.D{{Key: "$ne", Value: "bob"}}}}, set(bson.E{Key: "owner_id", Value: "bob"}), true))
	if field(res, "matchedCount") != int32(0) || field(res, "upsertedId") == nil {
		t.Errorf("updateMany upsert = %v, want no match and one insert", res)
	}
	if got := ownerOf(t, src, aliceNote); got != "alice" {
		t.Fatalf("bob's updateMany upsert took alice's note: owner_id = %v", got)
	}

	// findOneAndUpdate and findOneAndReplace with upsert: the same.
	for _, action := range []string{"findOneAndUpdate", "findOneAndReplace"} {
		upd := set(bson.E{Key: "owner_id", Value: "bob"}, bson.E{Key: "text", Value: "mine now"})
		if action == "findOneAndReplace" {
			upd = bson.D{{Key: "owner_id", Value: "bob"}, {Key: "text", Value: "mine now"}}
		}
		arg := ns("Note", bson.E{Key: "filter", Value: bson.D{{Key: "text", Value: "alice's"}}}, bson.E{Key: "update", Value: upd},
			bson.E{Key: "upsert", Value: true}, bson.E{Key: "returnNewDocument", Value: true})
		doc := exec(t, src, bob, action, arg)
		if doc == nil || field(doc, "_id") == aliceNote || field(doc, "owner_id") != "bob" {
			t.Errorf("%s upsert returned %v, want a new document of bob's", action, doc)
		}
		if got := ownerOf(t, src, aliceNote); got != "alice" {
			t.Fatalf("bob's %s upsert took alice's note: owner_id = %v", action, got)
		}
	}

	// $setOnInsert with a $set: the inserted document must pass the insert rules.
	_, err = src.Execute(ctx, bob, "updateOne", update("updateOne", bson.D{{Key: "text", Value: "nothing matches"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "text", Value: "x"}}}, {Key: "$setOnInsert", Value: bson.D{{Key: "owner_id", Value: "alice"}}}}, true))
	assertNotPermitted(t, err, "an upsert that inserts a document owned by alice")
	if n := exec(t, src, system, "count", ns("Note", bson.E{Key: "query", Value: bson.D{{Key: "owner_id", Value: "alice"}}})); n != int64(1) {
		t.Errorf("alice owns %v notes, want her one", n)
	}

	// An upsert that matches the caller's own document updates it, and inserts nothing.
	res = exec(t, src, alice, "updateOne", update("updateOne", bson.D{{Key: "_id", Value: aliceNote}}, set(bson.E{Key: "text", Value: "edited"}), true))
	if field(res, "matchedCount") != int32(1) || field(res, "modifiedCount") != int32(1) || field(res, "upsertedId") != nil {
		t.Errorf("alice's own upsert = %v", res)
	}
}

func TestUpsertCannotEditAnotherUsersCustomData(t *testing.T) {
	_, src := openTest(t)
	// The custom-data collection under an owner rule written like the notes one.
	exec(t, src, system, "insertOne", ns("Note", bson.E{Key: "document", Value: bson.D{{Key: "owner_id", Value: "alice"}, {Key: "role", Value: "user"}}}))
	_, err := src.Execute(context.Background(), bob, "updateOne", update("updateOne", bson.D{{Key: "owner_id", Value: "alice"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: "admin"}}}, {Key: "$setOnInsert", Value: bson.D{{Key: "owner_id", Value: "bob"}}}}, true))
	if err != nil {
		t.Fatalf("bob's upsert: %v", err)
	}
	doc := exec(t, src, system, "findOne", ns("Note", bson.E{Key: "query", Value: bson.D{{Key: "owner_id", Value: "alice"}}}))
	if field(doc, "role") != "user" {
		t.Fatalf("bob's upsert edited alice's document in place: %v", doc)
	}
}

func TestUpdatesAreCheckedOnTheDocumentAfterTheChange(t *testing.T) {
	_, src := openTest(t)
	ctx := context.Background()
	_, bobNote := seedNotes(t, src)

	// Bob moves his own note into Alice's data.
	_, err := src.Execute(ctx, bob, "updateOne", update("updateOne", bson.D{{Key: "_id", Value: bobNote}}, set(bson.E{Key: "owner_id", Value: "alice"}), false))
	assertNotPermitted(t, err, "an update whose result bob may not write")
	_, err = src.Execute(ctx, bob, "findOneAndReplace", ns("Note", bson.E{Key: "filter", Value: bson.D{{Key: "_id", Value: bobNote}}},
		bson.E{Key: "update", Value: bson.D{{Key: "owner_id", Value: "alice"}, {Key: "text", Value: "planted"}}}))
	assertNotPermitted(t, err, "a replacement bob may not write")
	_, err = src.Execute(ctx, bob, "updateMany", update("updateMany", bson.D{}, bson.D{{Key: "$rename", Value: bson.D{{Key: "text", Value: "owner_id"}}}}, false))
	assertNotPermitted(t, err, "a $rename over owner_id")
	if got := ownerOf(t, src, bobNote); got != "bob" {
		t.Fatalf("bob planted his note in alice's data: owner_id = %v", got)
	}
	if n := exec(t, src, alice, "count", ns("Note")); n != int64(1) {
		t.Errorf("alice sees %v notes, want her one", n)
	}
	// A change that keeps the document the caller's own is fine.
	exec(t, src, bob, "updateOne", update("updateOne", bson.D{{Key: "_id", Value: bobNote}}, set(bson.E{Key: "text", Value: "still mine"}), false))
}

func TestQueriesMayNotNameHiddenFields(t *testing.T) {
	_, src := openTest(t)
	ctx := context.Background()
	id := bson.NewObjectID()
	exec(t, src, system, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{
		{Key: "_id", Value: id}, {Key: "owner_id", Value: "alice"}, {Key: "summary", Value: "s"}, {Key: "hidden", Value: "revenue 10M"}}}))
	probe := bson.D{{Key: "_id", Value: id}, {Key: "hidden", Value: bson.D{{Key: "$regex", Value: "^rev"}}}}
	for name, arg := range map[string]struct {
		action string
		arg    bson.D
	}{
		"count":                 {"count", ns("Item", bson.E{Key: "query", Value: probe})},
		"find":                  {"find", ns("Item", bson.E{Key: "query", Value: probe})},
		"findOne":               {"findOne", ns("Item", bson.E{Key: "query", Value: probe})},
		"inside $or":            {"count", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "hidden", Value: "x"}}}}}})},
		"inside $elemMatch":     {"count", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "hidden", Value: bson.D{{Key: "$elemMatch", Value: bson.D{{Key: "a", Value: 1}}}}}}})},
		"a sort":                {"find", ns("Item", bson.E{Key: "query", Value: bson.D{}}, bson.E{Key: "sort", Value: bson.D{{Key: "hidden", Value: 1}}})},
		"$expr":                 {"count", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "$expr", Value: bson.D{{Key: "$eq", Value: bson.A{"$hidden", "x"}}}}}})},
		"$where":                {"count", ns("Note", bson.E{Key: "query", Value: bson.D{{Key: "$where", Value: "true"}}})},
		"an update's query":     {"updateOne", ns("Item", bson.E{Key: "query", Value: probe}, bson.E{Key: "update", Value: set(bson.E{Key: "summary", Value: "t"})})},
		"a delete's query":      {"deleteOne", ns("Item", bson.E{Key: "query", Value: probe})},
		"a findOneAndDelete":    {"findOneAndDelete", ns("Item", bson.E{Key: "filter", Value: probe})},
		"a findOneAndUpdate":    {"findOneAndUpdate", ns("Item", bson.E{Key: "filter", Value: probe}, bson.E{Key: "update", Value: set(bson.E{Key: "summary", Value: "t"})})},
		"a dotted hidden field": {"count", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "hidden.sub", Value: "x"}}})},
	} {
		_, err := src.Execute(ctx, alice, arg.action, arg.arg)
		assertNotPermitted(t, err, name)
	}
	// Readable fields and _id may be queried and sorted on.
	got := exec(t, src, alice, "find", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "_id", Value: id}, {Key: "summary", Value: "s"}}},
		bson.E{Key: "sort", Value: bson.D{{Key: "summary", Value: 1}}})).(bson.A)
	if len(got) != 1 {
		t.Fatalf("a query on readable fields found %d documents", len(got))
	}
	// The system user is not bound by the rules.
	if n := exec(t, src, system, "count", ns("Item", bson.E{Key: "query", Value: probe})); n != int64(1) {
		t.Errorf("system count = %v", n)
	}
}

func TestDuplicateKeyErrorsNameNoKey(t *testing.T) {
	_, src := openTest(t)
	aliceNote, _ := seedNotes(t, src)
	_, err := src.Execute(context.Background(), bob, "insertOne", ns("Note", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: aliceNote}, {Key: "owner_id", Value: "bob"}}}))
	var de *Error
	if !errors.As(err, &de) || strings.Contains(de.Message, aliceNote.Hex()) || !strings.Contains(de.Message, "duplicate key") {
		t.Errorf("err = %v, want a duplicate key error that does not repeat the key", err)
	}
}

func TestPipelinesAreCheckedAllTheWayDown(t *testing.T) {
	_, src := openTest(t)
	ctx := context.Background()
	stage := func(k string, v any) bson.D { return bson.D{{Key: k, Value: v}} }
	for name, pipeline := range map[string]bson.A{
		"$lookup inside $facet":    {stage("$facet", bson.D{{Key: "x", Value: bson.A{stage("$lookup", bson.D{{Key: "from", Value: "Item"}, {Key: "as", Value: "i"}})}}})},
		"$unionWith inside $facet": {stage("$facet", bson.D{{Key: "x", Value: bson.A{stage("$unionWith", "Item")}}})},
		"$out inside $facet":       {stage("$facet", bson.D{{Key: "x", Value: bson.A{stage("$out", "stolen")}}})},
		"$function":                {stage("$addFields", bson.D{{Key: "y", Value: stage("$function", bson.D{{Key: "body", Value: "function(){return 1}"}, {Key: "args", Value: bson.A{}}, {Key: "lang", Value: "js"}})}})},
		"$accumulator":             {stage("$group", bson.D{{Key: "_id", Value: nil}, {Key: "a", Value: stage("$accumulator", bson.D{})}})},
		"$where in a $match":       {stage("$match", stage("$where", "true"))},
	} {
		_, err := src.Execute(ctx, alice, "aggregate", ns("People", bson.E{Key: "pipeline", Value: pipeline}))
		assertNotPermitted(t, err, name)
	}
	// The system user may.
	if _, err := src.Execute(ctx, system, "aggregate", ns("People", bson.E{Key: "pipeline", Value: bson.A{stage("$facet", bson.D{{Key: "x", Value: bson.A{stage("$match", bson.D{})}}})}})); err != nil {
		var de *Error
		if !errors.As(err, &de) || de.Kind == KindNotPermitted {
			t.Errorf("system $facet: %v", err)
		}
	}
}

// TestChangeEventsHideHiddenFields: a change event shows a user only what a find would:
// hidden fields leave fullDocument and the update's description alike, and a watch
// filter may not name them.
func TestChangeEventsHideHiddenFields(t *testing.T) {
	_, src := openTest(t)
	req, err := src.open(alice, ns("Item"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := req.scope(false)
	if err != nil {
		t.Fatal(err)
	}
	s := &ChangeStream{req: req, sc: sc}
	ev := bson.D{
		{Key: "operationType", Value: "update"},
		{Key: "fullDocument", Value: bson.D{{Key: "_id", Value: int32(1)}, {Key: "owner_id", Value: "alice"}, {Key: "summary", Value: "s"}, {Key: "hidden", Value: "new secret"}}},
		{Key: "updateDescription", Value: bson.D{
			{Key: "updatedFields", Value: bson.D{{Key: "summary", Value: "s"}, {Key: "hidden", Value: "new secret"}, {Key: "hidden.deep", Value: "x"}}},
			{Key: "removedFields", Value: bson.A{"hidden", "n"}},
			{Key: "truncatedArrays", Value: bson.A{bson.D{{Key: "field", Value: "hidden"}, {Key: "newSize", Value: int32(1)}}}},
		}},
	}
	out, err := s.redact(ev)
	if err != nil || out == nil {
		t.Fatalf("redact: %v %v", out, err)
	}
	text := fmt.Sprint(out)
	if strings.Contains(text, "secret") || strings.Contains(text, "hidden") {
		t.Fatalf("the event shows the hidden field: %v", out)
	}
	desc := field(out, "updateDescription").(bson.D)
	if upd := field(desc, "updatedFields").(bson.D); len(upd) != 1 || upd[0].Key != "summary" {
		t.Errorf("updatedFields = %v", upd)
	}
	if rem := field(desc, "removedFields").(bson.A); len(rem) != 1 || rem[0] != "n" {
		t.Errorf("removedFields = %v", rem)
	}
	// Bob's document is not his to see at all.
	ev[1].Value = bson.D{{Key: "_id", Value: int32(2)}, {Key: "owner_id", Value: "bob"}}
	if out, _ := s.redact(ev); out != nil {
		t.Errorf("alice sees an event of bob's document: %v", out)
	}
	for _, filter := range []bson.D{
		{{Key: "fullDocument.hidden", Value: "x"}},
		{{Key: "updateDescription.updatedFields.hidden", Value: bson.D{{Key: "$exists", Value: true}}}},
		{{Key: "$or", Value: bson.A{bson.D{{Key: "fullDocument.hidden", Value: "x"}}}}},
	} {
		assertNotPermitted(t, req.checkEventFilter(filter, sc), fmt.Sprint(filter))
	}
	if err := req.checkEventFilter(bson.D{{Key: "fullDocument.summary", Value: "s"}, {Key: "operationType", Value: "insert"}}, sc); err != nil {
		t.Errorf("a filter on readable fields: %v", err)
	}
}

// TestUpdatesThatChangeNothingTellNothing: an update naming a field the caller may not
// write is refused whether or not it would change it, so it cannot be used to guess the
// field's value (or its type).
func TestUpdatesThatChangeNothingTellNothing(t *testing.T) {
	_, src := openTest(t)
	ctx := context.Background()
	id := bson.NewObjectID()
	exec(t, src, system, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{
		{Key: "_id", Value: id}, {Key: "owner_id", Value: "alice"}, {Key: "summary", Value: "s"}, {Key: "hidden", Value: "m"},
		{Key: "nested", Value: bson.D{{Key: "a", Value: int32(1)}, {Key: "b", Value: int32(2)}}}}}))
	q := bson.D{{Key: "_id", Value: id}}
	for name, upd := range map[string]bson.D{
		"$min with a larger guess":  {{Key: "$min", Value: bson.D{{Key: "hidden", Value: "z"}}}},
		"$max with a smaller guess": {{Key: "$max", Value: bson.D{{Key: "hidden", Value: "a"}}}},
		"$set to the same value":    set(bson.E{Key: "hidden", Value: "m"}),
		"$rename from it":           {{Key: "$rename", Value: bson.D{{Key: "hidden", Value: "copy"}}}},
		"$inc (its type)":           {{Key: "$inc", Value: bson.D{{Key: "hidden", Value: int32(1)}}}},
		"$pull from it":             {{Key: "$pull", Value: bson.D{{Key: "hidden", Value: "m"}}}},
	} {
		_, err := src.Execute(ctx, alice, "updateOne", ns("Item", bson.E{Key: "query", Value: q}, bson.E{Key: "update", Value: upd}))
		assertNotPermitted(t, err, name)
	}
	// A replacement that keeps the hidden field by guessing it is refused too.
	_, err := src.Execute(ctx, alice, "updateOne", ns("Item", bson.E{Key: "query", Value: q},
		bson.E{Key: "update", Value: bson.D{{Key: "owner_id", Value: "alice"}, {Key: "summary", Value: "s"}, {Key: "hidden", Value: "m"}}}))
	assertNotPermitted(t, err, "a replacement naming the hidden field")
	// An update of a writable field passes every time, however the sub-documents it
	// leaves alone are encoded.
	for i := range 20 {
		res := exec(t, src, alice, "updateOne", ns("Item", bson.E{Key: "query", Value: q}, bson.E{Key: "update", Value: set(bson.E{Key: "summary", Value: fmt.Sprint(i)})}))
		if field(res, "matchedCount") != int32(1) {
			t.Fatalf("update %d = %v", i, res)
		}
	}
}

func TestCodeIsRefusedInsideOperators(t *testing.T) {
	_, src := openTest(t)
	fn := bson.D{{Key: "$function", Value: bson.D{{Key: "body", Value: "function(){return true}"}, {Key: "args", Value: bson.A{}}, {Key: "lang", Value: "js"}}}}
	for name, q := range map[string]bson.D{
		"$expr":             {{Key: "$expr", Value: fn}},
		"$expr inside $and": {{Key: "$and", Value: bson.A{bson.D{{Key: "$expr", Value: fn}}}}},
		"inside $elemMatch": {{Key: "tags", Value: bson.D{{Key: "$elemMatch", Value: bson.D{{Key: "$expr", Value: fn}}}}}},
	} {
		_, err := src.Execute(context.Background(), alice, "count", ns("Note", bson.E{Key: "query", Value: q}))
		assertNotPermitted(t, err, name)
	}
}
