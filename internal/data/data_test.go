package data

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/rules"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// testApp writes an app directory with one data source and rules for wardentest.Item (the
// template owner rule with a hidden field) and a default rule for everything else.
func testApp(t *testing.T) *appconfig.App {
	t.Helper()
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("root_config.json", `{"name":"data-test"}`)
	write("data_sources/mongodb-atlas/config.json", `{"name":"mongodb-atlas","type":"mongodb-atlas","config":{"clusterName":"Cluster0"}}`)
	write("data_sources/mongodb-atlas/default_rule.json", `{"roles":[{"name":"all","apply_when":{},"read":true,"write":true,"insert":true,"delete":true}]}`)
	write("data_sources/mongodb-atlas/wardentest/Item/rules.json", `{"database":"wardentest","collection":"Item","roles":[{"name":"owner",
	  "apply_when":{"owner_id":"%%user.id"},
	  "fields":{"_id":{"read":true,"write":true},"summary":{"read":true,"write":true},"owner_id":{"read":true,"write":true},"n":{"read":true,"write":true},
	            "hidden":{"read":false,"write":false}},
	  "insert":true,"delete":true,"additional_fields":{}}]}`)
	write("data_sources/mongodb-atlas/wardentest/Note/rules.json", `{"database":"wardentest","collection":"Note","roles":[{"name":"owner",
	  "apply_when":{},"document_filters":{"read":{"owner_id":"%%user.id"},"write":{"owner_id":"%%user.id"}},
	  "read":true,"write":true,"insert":true,"delete":true}]}`)
	write("data_sources/mongodb-atlas/wardentest/Locked/rules.json", `{"database":"wardentest","collection":"Locked","roles":[{"name":"ro","apply_when":{},"read":true,"insert":false,"delete":false}]}`)
	write("auth/custom_user_data.json", `{"enabled":true,"mongo_service_name":"mongodb-atlas","database_name":"wardentest_app","collection_name":"users","user_id_field":"user_id"}`)
	app, err := appconfig.Load(dir, appconfig.Options{AppID: "data-test"})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// openTest opens the test app's data source: the embedded engine, or the real MongoDB
// at $WARDEN_TEST_MONGODB_URI when it is set (its databases wardentest and
// wardentest_app are dropped first).
func openTest(t *testing.T) (*Sources, *Source) {
	t.Helper()
	ctx := context.Background()
	real := os.Getenv("WARDEN_TEST_MONGODB_URI")
	s, err := Open(ctx, testApp(t), Options{DataDir: t.TempDir(), DefaultURI: real})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	src, ok := s.Get("mongodb-atlas")
	if !ok || src.Embedded != (real == "") {
		t.Fatalf("source: %v embedded=%v", ok, src != nil && src.Embedded)
	}
	if real != "" {
		for _, db := range []string{"wardentest", "wardentest_app"} {
			if err := src.Client().Database(db).Drop(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s, src
}

var (
	system = Caller{System: true}
	alice  = Caller{Env: rules.Env{User: &rules.User{ID: "alice", Type: "normal"}}}
	bob    = Caller{Env: rules.Env{User: &rules.User{ID: "bob", Type: "normal"}}}
)

func exec(t *testing.T, src *Source, c Caller, action string, arg bson.D) any {
	t.Helper()
	out, err := src.Execute(context.Background(), c, action, arg)
	if err != nil {
		t.Fatalf("%s %v: %v", action, arg, err)
	}
	return out
}

func ns(coll string, rest ...bson.E) bson.D {
	return append(bson.D{{Key: "database", Value: "wardentest"}, {Key: "collection", Value: coll}}, rest...)
}

func field(d any, key string) any {
	v, _ := get(d.(bson.D), key)
	return v
}

func TestSystemCRUD(t *testing.T) {
	_, src := openTest(t)
	res := exec(t, src, system, "insertMany", ns("Plain", bson.E{Key: "documents", Value: bson.A{
		bson.D{{Key: "name", Value: "a"}, {Key: "n", Value: int32(1)}},
		bson.D{{Key: "name", Value: "b"}, {Key: "n", Value: int32(2)}},
		bson.D{{Key: "name", Value: "c"}, {Key: "n", Value: int32(3)}},
	}}))
	ids := field(res, "insertedIds").(bson.A)
	if len(ids) != 3 {
		t.Fatalf("insertedIds = %v", ids)
	}
	if _, ok := ids[0].(bson.ObjectID); !ok {
		t.Errorf("server-made _id is %T, want ObjectId", ids[0])
	}
	if n := exec(t, src, system, "count", ns("Plain", bson.E{Key: "query", Value: bson.D{}})); n != int64(3) {
		t.Errorf("count = %v", n)
	}
	found := exec(t, src, system, "find", ns("Plain", bson.E{Key: "query", Value: bson.D{{Key: "n", Value: bson.D{{Key: "$gte", Value: 2}}}}},
		bson.E{Key: "sort", Value: bson.D{{Key: "n", Value: -1}}}, bson.E{Key: "project", Value: bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 0}}})).(bson.A)
	if len(found) != 2 || field(found[0], "name") != "c" || len(found[0].(bson.D)) != 1 {
		t.Errorf("find = %v", found)
	}

	// updateOne with a document without operators replaces; updateMany sets.
	u := exec(t, src, system, "updateOne", ns("Plain", bson.E{Key: "query", Value: bson.D{{Key: "name", Value: "a"}}}, bson.E{Key: "update", Value: bson.D{{Key: "name", Value: "A"}}}))
	if field(u, "matchedCount") != int32(1) || field(u, "modifiedCount") != int32(1) {
		t.Errorf("updateOne = %v", u)
	}
	if _, ok := get(u.(bson.D), "upsertedId"); ok {
		t.Error("upsertedId present although nothing was upserted")
	}
	u = exec(t, src, system, "updateMany", ns("Plain", bson.E{Key: "query", Value: bson.D{}}, bson.E{Key: "update", Value: bson.D{{Key: "tag", Value: "same"}}}))
	if field(u, "matchedCount") != int32(3) || field(u, "modifiedCount") != int32(3) {
		t.Errorf("updateMany with a plain document = %v", u)
	}
	u = exec(t, src, system, "updateMany", ns("Plain", bson.E{Key: "query", Value: bson.D{{Key: "name", Value: "zzz"}}}, bson.E{Key: "update", Value: bson.D{{Key: "tag", Value: "x"}}}, bson.E{Key: "upsert", Value: true}))
	if field(u, "matchedCount") != int32(0) || field(u, "upsertedId") == nil {
		t.Errorf("updateMany upsert = %v", u)
	}

	// findOneAndUpdate with a plain document is a replacement: exactly the new keys.
	doc := exec(t, src, system, "findOneAndUpdate", ns("Plain", bson.E{Key: "filter", Value: bson.D{{Key: "name", Value: "Dennis"}}},
		bson.E{Key: "update", Value: bson.D{{Key: "name", Value: "Dennis"}, {Key: "hiddenField", Value: "h"}}},
		bson.E{Key: "upsert", Value: true}, bson.E{Key: "returnNewDocument", Value: true})).(bson.D)
	if len(doc) != 3 || doc[0].Key != "_id" || doc[1].Key != "name" || doc[2].Key != "hiddenField" {
		t.Errorf("findOneAndUpdate upsert returned %v, want exactly _id, name, hiddenField", doc)
	}

	// findOneAndReplace without an update is realm-web's findOneAndDelete.
	before := exec(t, src, system, "count", ns("Plain"))
	pre := exec(t, src, system, "findOneAndReplace", ns("Plain", bson.E{Key: "filter", Value: bson.D{}}, bson.E{Key: "sort", Value: bson.D{{Key: "n", Value: -1}}}))
	if field(pre, "n") != int32(3) {
		t.Errorf("findOneAndDelete returned %v, want the n=3 document (sorted)", pre)
	}
	if after := exec(t, src, system, "count", ns("Plain")); after.(int64) != before.(int64)-1 {
		t.Errorf("count %v -> %v, want one fewer", before, after)
	}
	d := exec(t, src, system, "deleteMany", ns("Plain", bson.E{Key: "query", Value: bson.D{}}))
	if field(d, "deletedCount").(int32) < 1 {
		t.Errorf("deleteMany = %v", d)
	}
	if out := exec(t, src, system, "findOne", ns("Plain", bson.E{Key: "query", Value: bson.D{}})); out != nil {
		t.Errorf("findOne on an empty collection = %v, want null", out)
	}
}

func TestRulesOwnerAndHiddenField(t *testing.T) {
	_, src := openTest(t)
	exec(t, src, system, "insertMany", ns("Item", bson.E{Key: "documents", Value: bson.A{
		bson.D{{Key: "summary", Value: "alice 1"}, {Key: "owner_id", Value: "alice"}, {Key: "hidden", Value: "secret"}, {Key: "n", Value: int32(1)}},
		bson.D{{Key: "summary", Value: "alice 2"}, {Key: "owner_id", Value: "alice"}, {Key: "hidden", Value: "secret"}, {Key: "n", Value: int32(2)}},
		bson.D{{Key: "summary", Value: "bob 1"}, {Key: "owner_id", Value: "bob"}, {Key: "hidden", Value: "secret"}, {Key: "n", Value: int32(3)}},
	}}))

	mine := exec(t, src, alice, "find", ns("Item", bson.E{Key: "query", Value: bson.D{}})).(bson.A)
	if len(mine) != 2 {
		t.Fatalf("alice sees %d documents, want her 2", len(mine))
	}
	for _, d := range mine {
		if field(d, "owner_id") != "alice" {
			t.Errorf("alice sees %v", d)
		}
		if _, ok := get(d.(bson.D), "hidden"); ok {
			t.Errorf("the hidden field is visible: %v", d)
		}
	}
	if n := exec(t, src, bob, "count", ns("Item", bson.E{Key: "query", Value: bson.D{}})); n != int64(1) {
		t.Errorf("bob counts %v documents, want 1", n)
	}
	if one := exec(t, src, bob, "findOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "summary", Value: "alice 1"}}})); one != nil {
		t.Errorf("bob finds alice's document: %v", one)
	}
	all := exec(t, src, system, "find", ns("Item")).(bson.A)
	if len(all) != 3 || field(all[0], "hidden") != "secret" {
		t.Errorf("the system user sees everything: %v", all)
	}

	// Writes.
	_, err := src.Execute(context.Background(), alice, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{{Key: "summary", Value: "x"}, {Key: "owner_id", Value: "bob"}}}))
	assertNotPermitted(t, err, "alice inserts a document owned by bob")
	_, err = src.Execute(context.Background(), alice, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{{Key: "owner_id", Value: "alice"}, {Key: "hidden", Value: "x"}}}))
	assertNotPermitted(t, err, "alice inserts a document with a non-writable field")
	exec(t, src, alice, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{{Key: "summary", Value: "alice 3"}, {Key: "owner_id", Value: "alice"}}}))

	u := exec(t, src, bob, "updateMany", ns("Item", bson.E{Key: "query", Value: bson.D{}}, bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "summary", Value: "pwned"}}}}}))
	if field(u, "matchedCount") != int32(1) {
		t.Errorf("bob's updateMany matched %v, want only his own document", u)
	}
	_, err = src.Execute(context.Background(), alice, "updateOne", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "summary", Value: "alice 1"}}},
		bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "hidden", Value: "changed"}}}}}))
	assertNotPermitted(t, err, "alice changes a non-writable field")
	if n := exec(t, src, system, "count", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "hidden", Value: "changed"}}})); n != int64(0) {
		t.Error("a refused update changed the document")
	}
	// Deleting needs write permission on every field: bob's document has the hidden one.
	_, err = src.Execute(context.Background(), bob, "deleteMany", ns("Item", bson.E{Key: "query", Value: bson.D{}}))
	assertNotPermitted(t, err, "deleting a document with a non-writable field")
	d := exec(t, src, alice, "deleteMany", ns("Item", bson.E{Key: "query", Value: bson.D{{Key: "summary", Value: "alice 3"}}}))
	if field(d, "deletedCount") != int32(1) {
		t.Errorf("alice deleted %v, want her one document without the hidden field", d)
	}
	if n := exec(t, src, system, "count", ns("Item")); n != int64(3) {
		t.Errorf("%v documents left, want 3", n)
	}

	// An aggregation is refused where fields are hidden, allowed under the default rule.
	_, err = src.Execute(context.Background(), alice, "aggregate", ns("Item", bson.E{Key: "pipeline", Value: bson.A{bson.D{{Key: "$match", Value: bson.D{}}}}}))
	assertNotPermitted(t, err, "aggregate over field-level rules")
	_, err = src.Execute(context.Background(), alice, "aggregate", ns("Other", bson.E{Key: "pipeline", Value: bson.A{bson.D{{Key: "$out", Value: "x"}}}}))
	assertNotPermitted(t, err, "$out")
}

func TestRulesInsertAndDeleteFalse(t *testing.T) {
	_, src := openTest(t)
	exec(t, src, system, "insertOne", ns("Locked", bson.E{Key: "document", Value: bson.D{{Key: "a", Value: int32(1)}}}))
	if got := exec(t, src, alice, "find", ns("Locked")).(bson.A); len(got) != 1 {
		t.Errorf("read: true shows the document: %v", got)
	}
	_, err := src.Execute(context.Background(), alice, "insertOne", ns("Locked", bson.E{Key: "document", Value: bson.D{{Key: "a", Value: int32(2)}}}))
	assertNotPermitted(t, err, "insert into a read-only collection")
	_, err = src.Execute(context.Background(), alice, "deleteOne", ns("Locked", bson.E{Key: "query", Value: bson.D{}}))
	assertNotPermitted(t, err, "delete from a read-only collection")
	_, err = src.Execute(context.Background(), alice, "updateOne", ns("Locked", bson.E{Key: "query", Value: bson.D{}}, bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 5}}}}}))
	assertNotPermitted(t, err, "update without write permission")
}

func TestAggregateUnderDefaultRule(t *testing.T) {
	_, src := openTest(t)
	exec(t, src, alice, "insertMany", ns("People", bson.E{Key: "documents", Value: bson.A{
		bson.D{{Key: "name", Value: "Alice"}, {Key: "run", Value: int32(1)}},
		bson.D{{Key: "name", Value: "Bob"}, {Key: "run", Value: int32(1)}},
	}}))
	out := exec(t, src, alice, "aggregate", ns("People", bson.E{Key: "pipeline", Value: bson.A{
		bson.D{{Key: "$match", Value: bson.D{{Key: "run", Value: int32(1)}}}},
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$run"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	}})).(bson.A)
	if len(out) != 1 || field(out[0], "n") != int32(2) {
		t.Errorf("aggregate = %v", out)
	}
}

func TestBadArguments(t *testing.T) {
	_, src := openTest(t)
	for name, c := range map[string]struct {
		action string
		arg    bson.D
	}{
		"no database":        {"find", bson.D{{Key: "collection", Value: "c"}}},
		"admin database":     {"find", bson.D{{Key: "database", Value: "admin"}, {Key: "collection", Value: "c"}}},
		"query not document": {"find", ns("c", bson.E{Key: "query", Value: "x"})},
		"negative limit":     {"find", ns("c", bson.E{Key: "limit", Value: int32(-1)})},
		"mixed update":       {"updateOne", ns("c", bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{}}, {Key: "a", Value: 1}}})},
		"no update":          {"updateOne", ns("c")},
		"no document":        {"insertOne", ns("c")},
		"empty insertMany":   {"insertMany", ns("c", bson.E{Key: "documents", Value: bson.A{}})},
		"no pipeline":        {"aggregate", ns("c")},
	} {
		_, err := src.Execute(context.Background(), system, c.action, c.arg)
		var de *Error
		if !errors.As(err, &de) || de.Kind != KindInvalid {
			t.Errorf("%s: err = %v, want an invalid-argument error", name, err)
		}
	}
	_, err := src.Execute(context.Background(), system, "dropDatabase", ns("c"))
	var de *Error
	if !errors.As(err, &de) || de.Kind != KindUnknownAction {
		t.Errorf("unknown action: %v", err)
	}
	// A duplicate key is MongoDB's error, shown to the client.
	exec(t, src, system, "insertOne", ns("c", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: int32(1)}}}))
	_, err = src.Execute(context.Background(), system, "insertOne", ns("c", bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: int32(1)}}}))
	if !errors.As(err, &de) || de.Kind != KindMongo {
		t.Errorf("duplicate key: %v", err)
	}
}

func TestCustomUserData(t *testing.T) {
	s, src := openTest(t)
	ctx := context.Background()
	if d, err := s.CustomUserData(ctx, "65a000000000000000000001"); err != nil || d != nil {
		t.Fatalf("no document: %v %v", d, err)
	}
	// Writes through the MongoDB service (as functions and realm-web make them) are seen
	// at once, though the first read was cached.
	oid, _ := bson.ObjectIDFromHex("65a000000000000000000001")
	insert := func(doc bson.D) {
		t.Helper()
		arg := bson.D{{Key: "database", Value: "wardentest_app"}, {Key: "collection", Value: "users"}, {Key: "document", Value: doc}}
		if _, err := src.Execute(ctx, system, "insertOne", arg); err != nil {
			t.Fatal(err)
		}
	}
	insert(bson.D{{Key: "user_id", Value: oid}, {Key: "kind", Value: "oid"}})
	d, err := s.CustomUserData(ctx, oid.Hex())
	if err != nil || field(d, "kind") != "oid" {
		t.Fatalf("by ObjectId: %v %v", d, err)
	}
	insert(bson.D{{Key: "user_id", Value: oid.Hex()}, {Key: "kind", Value: "string"}})
	if d, _ := s.CustomUserData(ctx, oid.Hex()); field(d, "kind") != "string" {
		t.Errorf("the string id wins: %v", d)
	}
	upd := bson.D{{Key: "database", Value: "wardentest_app"}, {Key: "collection", Value: "users"},
		{Key: "query", Value: bson.D{{Key: "user_id", Value: oid.Hex()}}},
		{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "kind", Value: "updated"}}}}}}
	if _, err := src.Execute(ctx, system, "updateOne", upd); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.CustomUserData(ctx, oid.Hex()); field(d, "kind") != "updated" {
		t.Errorf("after updateOne: %v", d)
	}
}

// TestCustomUserDataCache: a write that does not go through Warden (another program on
// the cluster) is seen once the cached copy is older than the cache's lifetime; when the
// data source then fails, the last copy is served; a user never read gets the error.
func TestCustomUserDataCache(t *testing.T) {
	s, src := openTest(t)
	ctx := context.Background()
	now := time.Now()
	s.customData.now = func() time.Time { return now }
	if s.customData.ttl != CustomDataTTLOwn && os.Getenv("WARDEN_TEST_MONGODB_URI") == "" {
		t.Errorf("embedded SQLite engine: ttl %v, want %v", s.customData.ttl, CustomDataTTLOwn)
	}
	coll := src.Client().Database("wardentest_app").Collection("users")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "user_id", Value: "u1"}, {Key: "v", Value: int32(1)}}); err != nil {
		t.Fatal(err)
	}
	if d, err := s.CustomUserData(ctx, "u1"); err != nil || field(d, "v") != int32(1) {
		t.Fatalf("first read: %v %v", d, err)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "user_id", Value: "u1"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: int32(2)}}}}); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.CustomUserData(ctx, "u1"); field(d, "v") != int32(1) {
		t.Errorf("within the lifetime, the cached copy: %v", d)
	}
	now = now.Add(s.customData.ttl)
	if d, _ := s.CustomUserData(ctx, "u1"); field(d, "v") != int32(2) {
		t.Errorf("past the lifetime, the new document: %v", d)
	}
	// The data source fails.
	if err := src.Client().Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(s.customData.ttl)
	if d, err := s.CustomUserData(ctx, "u1"); err != nil || field(d, "v") != int32(2) {
		t.Errorf("failing source, last copy: %v %v", d, err)
	}
	if d, err := s.CustomUserData(ctx, "never-read"); err == nil {
		t.Errorf("failing source, no copy: %v, want an error", d)
	}
}

func assertNotPermitted(t *testing.T, err error, what string) {
	t.Helper()
	var de *Error
	if !errors.As(err, &de) || de.Kind != KindNotPermitted {
		t.Errorf("%s: err = %v, want not permitted", what, err)
	}
}

// TestUnsetURISecretFallsBackToEmbedded: a data source whose secret_config.uri names a
// secret nobody set (realm-js's test apps) is served by the embedded engine.
func TestUnsetURISecretFallsBackToEmbedded(t *testing.T) {
	app := &appconfig.App{ClientAppID: "fallback", DataSources: map[string]*appconfig.DataSource{
		"local-mongodb": {Name: "local-mongodb", Type: "mongodb", URISecret: "local-mongodb-uri"},
	}}
	s, err := Open(context.Background(), app, Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	src, ok := s.Get("local-mongodb")
	if !ok || !src.Embedded {
		t.Fatalf("local-mongodb: %v embedded=%v", ok, src != nil && src.Embedded)
	}
	if _, err := src.Execute(context.Background(), system, "insertOne", bson.D{{Key: "database", Value: "test-database"}, {Key: "collection", Value: "test-collection"}, {Key: "document", Value: bson.D{{Key: "a", Value: int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
}

// TestTypesTheEmbeddedEngineCannotHold: Decimal128, MinKey and MaxKey are refused with an
// error naming the type (the engine would drop its connection), and the source keeps
// serving.
func TestTypesTheEmbeddedEngineCannotHold(t *testing.T) {
	_, src := openTest(t)
	if !src.Embedded {
		t.Skip("a real MongoDB stores these types")
	}
	dec, _ := bson.ParseDecimal128("1.5")
	for name, v := range map[string]any{"Decimal128": dec, "MinKey": bson.MinKey{}, "MaxKey": bson.MaxKey{}} {
		for _, c := range []Caller{system, alice} {
			_, err := src.Execute(context.Background(), c, "insertOne", ns("People", bson.E{Key: "document", Value: bson.D{{Key: "v", Value: bson.A{v}}}}))
			var de *Error
			if !errors.As(err, &de) || de.Kind != KindUnsupported || !strings.Contains(de.Message, name) {
				t.Errorf("insert of a %s: err = %v, want one naming the type", name, err)
			}
		}
		_, err := src.Execute(context.Background(), system, "find", ns("People", bson.E{Key: "query", Value: bson.D{{Key: "v", Value: bson.D{{Key: "$gt", Value: v}}}}}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("a query with a %s: err = %v", name, err)
		}
	}
	exec(t, src, system, "insertOne", ns("People", bson.E{Key: "document", Value: bson.D{{Key: "still", Value: "serving"}}}))
}

// TestWhatEmptiesTheCustomDataCache: writes (and aggregations with $out or $merge, which
// write elsewhere) empty the cache; reads and writes refused before they start do not, so
// a user cannot empty everyone's cache at will.
func TestWhatEmptiesTheCustomDataCache(t *testing.T) {
	s, src := openTest(t)
	ctx := context.Background()
	users := func(extra ...bson.E) bson.D {
		return append(bson.D{{Key: "database", Value: "wardentest_app"}, {Key: "collection", Value: "users"}}, extra...)
	}
	cases := []struct {
		name   string
		caller Caller
		action string
		arg    bson.D
		empty  bool
	}{
		{"find", system, "find", users(bson.E{Key: "query", Value: bson.D{}}), false},
		{"aggregate without $out", system, "aggregate", users(bson.E{Key: "pipeline", Value: bson.A{bson.D{{Key: "$match", Value: bson.D{}}}}}), false},
		{"insertOne", system, "insertOne", users(bson.E{Key: "document", Value: bson.D{{Key: "user_id", Value: "x"}}}), true},
		{"insertOne without a document (refused before it starts)", alice, "insertOne", users(), false},
		{"deleteMany", system, "deleteMany", users(bson.E{Key: "query", Value: bson.D{{Key: "user_id", Value: "nobody"}}}), true},
	}
	for _, c := range cases {
		gen := s.customData.gen
		_, _ = src.Execute(ctx, c.caller, c.action, c.arg)
		if emptied := s.customData.gen != gen; emptied != c.empty {
			t.Errorf("%s: emptied the cache = %v, want %v", c.name, emptied, c.empty)
		}
	}
	for _, stage := range []string{"$out", "$merge"} {
		arg := users(bson.E{Key: "pipeline", Value: bson.A{bson.D{{Key: "$match", Value: bson.D{}}}, bson.D{{Key: stage, Value: "users"}}}})
		if ns := writtenNamespace("aggregate", "wardentest_app.other", arg); ns != "*" {
			t.Errorf("aggregate with %s writes %q, want any namespace", stage, ns)
		}
	}
}

// TestUnsupportedSaysWhat: what the embedded engine lacks is refused with a message that
// names the stage, accumulator or option and says how to get it, without the engine's
// internals (FerretDB printed Go pointers for arrayFilters).
func TestUnsupportedSaysWhat(t *testing.T) {
	_, src := openTest(t)
	if !src.Embedded {
		t.Skip("a real MongoDB has these")
	}
	exec(t, src, system, "insertOne", ns("Item", bson.E{Key: "document", Value: bson.D{{Key: "a", Value: bson.A{int32(1)}}}}))
	for want, c := range map[string]struct {
		action string
		arg    bson.D
	}{
		"the $group accumulator $push":       {"aggregate", ns("Item", bson.E{Key: "pipeline", Value: bson.A{bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: nil}, {Key: "x", Value: bson.D{{Key: "$push", Value: "$a"}}}}}}}})},
		"the aggregation stage $graphLookup": {"aggregate", ns("Item", bson.E{Key: "pipeline", Value: bson.A{bson.D{{Key: "$graphLookup", Value: bson.D{}}}}})},
		"the option arrayFilters": {"updateMany", ns("Item", bson.E{Key: "query", Value: bson.D{}}, bson.E{Key: "update", Value: bson.D{{Key: "$set", Value: bson.D{{Key: "a.$[e]", Value: int32(1)}}}}},
			bson.E{Key: "arrayFilters", Value: bson.A{bson.D{{Key: "e", Value: int32(1)}}}})},
	} {
		_, err := src.Execute(context.Background(), system, c.action, c.arg)
		var de *Error
		if !errors.As(err, &de) || de.Kind != KindUnsupported || !strings.Contains(de.Message, want) || !strings.Contains(de.Message, "--mongodb-uri") || strings.Contains(de.Message, "0x") {
			t.Errorf("%s: %v", want, err)
		}
	}
}
