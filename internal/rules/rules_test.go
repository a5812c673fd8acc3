package rules

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func mustParse(t *testing.T, src string) *Collection {
	t.Helper()
	c, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

var alice = &User{ID: "u-alice", Type: "normal", Data: map[string]any{"email": "alice@example.com"},
	CustomData: map[string]any{"storeId": "s1", "isTeamAdmin": true, "teams": []any{"red", "blue"}},
	Identities: []Identity{{ID: "a1", ProviderType: "anon-user"}, {ID: "alice@example.com", ProviderType: "local-userpass"}}}
var bob = &User{ID: "u-bob", Type: "normal", Data: map[string]any{"email": "bob@example.com"}, CustomData: map[string]any{"storeId": "s2"}}

func TestEvaluateExpressions(t *testing.T) {
	env := Env{
		User:        alice,
		Values:      map[string]any{"adminEmail": "alice@example.com", "limit": int32(10), "uuidText": "12345678-9abc-def0-1234-56789abcdef0"},
		Environment: map[string]any{"tag": "production"},
		Root: map[string]any{"owner_id": "u-alice", "n": int32(5), "tags": []any{"a", "b"}, "nested": map[string]any{"x": "y"}, "oid": bson.ObjectID{1},
			"uuid": bson.Binary{Subtype: bson.TypeBinaryUUID, Data: []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}}},
		PrevRoot: map[string]any{"n": int64(4)},
	}
	cases := []struct {
		name string
		expr any
		want bool
	}{
		{"nil is true", nil, true},
		{"empty object is true", map[string]any{}, true},
		{"literal true", true, true},
		{"literal false", false, false},
		{"%%true string", "%%true", true},
		{"owner by plain field", map[string]any{"owner_id": "%%user.id"}, true},
		{"owner by %%root", map[string]any{"%%root.owner_id": "%%user.id"}, true},
		{"not owner", map[string]any{"owner_id": "u-bob"}, false},
		{"custom data boolean", map[string]any{"%%user.custom_data.isTeamAdmin": true}, true},
		{"custom data array contains", map[string]any{"%%user.custom_data.teams": "red"}, true},
		{"identity by index", map[string]any{"%%user.identities.1.provider_type": "local-userpass"}, true},
		{"identity by index, other", map[string]any{"%%user.identities.0.provider_type": "local-userpass"}, false},
		{"identity id", map[string]any{"%%user.identities.1.id": "%%user.data.email"}, true},
		{"array field contains", map[string]any{"tags": "b"}, true},
		{"array field lacks", map[string]any{"tags": "z"}, false},
		{"user data", map[string]any{"%%user.data.email": "%%values.adminEmail"}, true},
		{"environment", map[string]any{"%%environment.tag": "production"}, true},
		{"numbers of different types", map[string]any{"n": 5.0}, true},
		{"$gt", map[string]any{"n": map[string]any{"$gt": 4}}, true},
		{"$lte false", map[string]any{"n": map[string]any{"$lte": 4}}, false},
		{"$in", map[string]any{"%%user.id": map[string]any{"$in": []any{"x", "u-alice"}}}, true},
		{"$nin", map[string]any{"%%user.id": map[string]any{"$nin": []any{"u-alice"}}}, false},
		{"$exists true", map[string]any{"nested.x": map[string]any{"$exists": true}}, true},
		{"%exists false on missing", map[string]any{"missing": map[string]any{"%exists": false}}, true},
		{"missing equals null", map[string]any{"missing": nil}, true},
		{"$ne", map[string]any{"owner_id": map[string]any{"$ne": "u-bob"}}, true},
		{"%%prevRoot", map[string]any{"%%prevRoot.n": 4}, true},
		{"%or", map[string]any{"%or": []any{map[string]any{"owner_id": "x"}, map[string]any{"n": 5}}}, true},
		{"%and", map[string]any{"%and": []any{map[string]any{"owner_id": "x"}, map[string]any{"n": 5}}}, false},
		{"%nor", map[string]any{"%nor": []any{map[string]any{"owner_id": "x"}}}, true},
		{"%not", map[string]any{"%not": map[string]any{"owner_id": "u-alice"}}, false},
		{"operator %and on a value", map[string]any{"%%values.limit": map[string]any{"%and": []any{map[string]any{"$gt": 0}, map[string]any{"$lte": 42}}}}, true},
		{"%stringToOid", map[string]any{"oid": map[string]any{"%stringToOid": bson.ObjectID{1}.Hex()}}, true},
		{"%stringToUuid", map[string]any{"uuid": map[string]any{"%stringToUuid": "12345678-9abc-def0-1234-56789abcdef0"}}, true},
		{"%stringToUuid of another", map[string]any{"uuid": map[string]any{"%stringToUuid": "00000000-9abc-def0-1234-56789abcdef0"}}, false},
		{"%uuidToString", map[string]any{"%%values.uuidText": map[string]any{"%uuidToString": "%%root.uuid"}}, true},
		{"an array index", map[string]any{"tags.1": "b"}, true},
		{"an index with trailing text is no index", map[string]any{"tags.1abc": map[string]any{"$exists": false}}, true},
		{"all keys ANDed", map[string]any{"owner_id": "u-alice", "n": 6}, false},
		{"unknown value path is missing", map[string]any{"%%user.custom_data.nope": map[string]any{"$exists": false}}, true},
	}
	for _, c := range cases {
		got, err := Evaluate(c.expr, env)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestEvaluateFunction(t *testing.T) {
	env := Env{User: alice, Function: func(_ context.Context, name string, args []any) (any, error) {
		if name == "fails" {
			return nil, errors.New("boom")
		}
		return args[0] == "u-alice", nil
	}}
	ok, err := Evaluate(map[string]any{"%%true": map[string]any{"%function": map[string]any{"name": "isAlice", "arguments": []any{"%%user.id"}}}}, env)
	if err != nil || !ok {
		t.Errorf("function true: %v %v", ok, err)
	}
	ok, err = Evaluate(map[string]any{"%%true": map[string]any{"%function": map[string]any{"name": "fails"}}}, env)
	if err != nil || ok {
		t.Errorf("a failing function must be false: %v %v", ok, err)
	}
}

func TestParseRefusesUnknownExpansionsAndOperators(t *testing.T) {
	for _, src := range []string{
		`{"roles":[{"name":"r","apply_when":{"owner":"%%usr.id"}}]}`,
		`{"roles":[{"name":"r","apply_when":{"n":{"$regexx":"a"}}}]}`,
		`{"roles":[{"name":"r","apply_when":{}},{"name":"r","apply_when":{}}]}`,
		`{"roles":[],"filters":[{"name":"f","apply_when":{"owner_id":"%%user.id"},"query":{}}]}`,
		``,
		`{`,
	} {
		if _, err := Parse([]byte(src)); err == nil {
			t.Errorf("Parse accepted %s", src)
		}
	}
}

// The owner role of the realm template apps: field-level rules and apply_when on the owner.
const ownerRules = `{"database":"todo","collection":"Item","roles":[{"name":"owner",
  "apply_when":{"owner_id":"%%user.id"},
  "fields":{"_id":{"read":true,"write":true},"isComplete":{"read":true,"write":true},
            "owner_id":{"read":true,"write":true},"summary":{"read":true,"write":true},
            "secret":{"read":false,"write":false},
            "meta":{"fields":{"public":{"read":true}}}},
  "insert":true,"delete":true,"search":true,"additional_fields":{}}]}`

func TestRoleForAndVisibleFields(t *testing.T) {
	c := mustParse(t, ownerRules)
	doc := map[string]any{"_id": "1", "owner_id": "u-alice", "summary": "s", "secret": "x", "other": 1,
		"meta": map[string]any{"public": "p", "private": "q"}}
	got, err := c.Visible(Env{User: alice, Root: doc})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"_id": "1", "owner_id": "u-alice", "summary": "s", "meta": map[string]any{"public": "p"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("owner sees %v, want %v", got, want)
	}
	if got, err := c.Visible(Env{User: bob, Root: doc}); err != nil || got != nil {
		t.Errorf("another user sees %v (err %v); no role applies, so nothing", got, err)
	}
}

func TestFirstMatchingRoleWins(t *testing.T) {
	// The tiered default rule: admins read and write everything, users only their own.
	c := mustParse(t, `{"roles":[
	  {"name":"admin","apply_when":{"%%user.custom_data.isTeamAdmin":true},"read":true,"write":true},
	  {"name":"user","apply_when":{},"document_filters":{"read":{"owner_id":"%%user.id"},"write":{"owner_id":"%%user.id"}},"read":true,"write":true,"insert":true,"delete":false}]}`)
	doc := map[string]any{"_id": "1", "owner_id": "u-alice"}
	for _, tc := range []struct {
		user        *User
		root        map[string]any
		read, write bool
		del         bool
	}{
		{alice, doc, true, true, true},                                            // admin
		{bob, doc, false, false, false},                                           // user role, not owner
		{bob, map[string]any{"_id": "2", "owner_id": "u-bob"}, true, true, false}, // owner, delete false
	} {
		env := Env{User: tc.user, Root: tc.root}
		v, err := c.Visible(env)
		if err != nil {
			t.Fatal(err)
		}
		if (v != nil) != tc.read {
			t.Errorf("%s reads %v: got %v", tc.user.ID, tc.root, v)
		}
		w, _ := c.CanWrite(Update, env, []string{"owner_id"})
		if w != tc.write {
			t.Errorf("%s writes %v: got %v", tc.user.ID, tc.root, w)
		}
		d, _ := c.CanWrite(Delete, env, nil)
		if d != tc.del {
			t.Errorf("%s deletes %v: got %v", tc.user.ID, tc.root, d)
		}
	}
}

func TestCanWriteFieldLevel(t *testing.T) {
	c := mustParse(t, ownerRules)
	doc := map[string]any{"_id": "1", "owner_id": "u-alice", "summary": "s"}
	env := Env{User: alice, Root: doc}
	if ok, _ := c.CanWrite(Update, env, []string{"summary", "isComplete"}); !ok {
		t.Error("owner may change summary and isComplete")
	}
	if ok, _ := c.CanWrite(Update, env, []string{"secret"}); ok {
		t.Error("secret is not writable")
	}
	if ok, _ := c.CanWrite(Update, env, []string{"unlisted"}); ok {
		t.Error("additional_fields {} means unlisted fields are not writable")
	}
	if ok, _ := c.CanWrite(Insert, env, nil); !ok {
		t.Error("owner may insert a document made of writable fields")
	}
	if ok, _ := c.CanWrite(Insert, Env{User: alice, Root: map[string]any{"owner_id": "u-alice", "secret": 1}}, nil); ok {
		t.Error("insert with a non-writable field is refused")
	}
	if ok, _ := c.CanWrite(Insert, Env{User: bob, Root: doc}, nil); ok {
		t.Error("bob may not insert a document owned by alice")
	}
}

func TestInsertFalse(t *testing.T) {
	c := mustParse(t, `{"roles":[{"name":"ro","apply_when":{},"read":true,"write":true,"insert":false}]}`)
	if ok, _ := c.CanWrite(Insert, Env{User: alice, Root: map[string]any{"a": 1}}, nil); ok {
		t.Error("insert: false refuses inserts")
	}
	if ok, _ := c.CanWrite(Update, Env{User: alice, Root: map[string]any{"a": 1}}, []string{"a"}); !ok {
		t.Error("insert: false still allows updates")
	}
}

func TestNoRolesMeansNoAccess(t *testing.T) {
	c := mustParse(t, `{"roles":[]}`)
	if v, _ := c.Visible(Env{User: alice, Root: map[string]any{"a": 1}}); v != nil {
		t.Error("no roles: nothing is visible")
	}
	q, all, err := c.ReadQuery(Env{User: alice})
	if err != nil || all || q == nil {
		t.Fatalf("ReadQuery = %v %v %v", q, all, err)
	}
}

func TestReadQuery(t *testing.T) {
	c := mustParse(t, `{"roles":[
	  {"name":"admin","apply_when":{"%%user.custom_data.isTeamAdmin":true},"read":true},
	  {"name":"user","apply_when":{"owner_id":"%%user.id"},"read":true}]}`)
	if _, all, err := c.ReadQuery(Env{User: alice}); err != nil || !all {
		t.Errorf("an admin reads all: all=%v err=%v", all, err)
	}
	q, all, err := c.ReadQuery(Env{User: bob})
	if err != nil || all {
		t.Fatalf("bob: %v %v", all, err)
	}
	want := map[string]any{"owner_id": map[string]any{"$eq": "u-bob"}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("bob's query = %v, want %v", q, want)
	}

	c = mustParse(t, `{"roles":[{"name":"r","apply_when":{"%%root.a":"%%root.b"},"read":true}]}`)
	if _, _, err := c.ReadQuery(Env{User: bob}); !errors.Is(err, ErrNotCompilable) {
		t.Errorf("comparing two fields: err = %v, want ErrNotCompilable", err)
	}
}

func TestReadQueryOrdersRoles(t *testing.T) {
	// A document that the first role applies to but does not let read must not be
	// readable through the second role.
	c := mustParse(t, `{"roles":[
	  {"name":"locked","apply_when":{"locked":true},"document_filters":{"read":false,"write":false},"read":true},
	  {"name":"all","apply_when":{},"read":true}]}`)
	q, all, err := c.ReadQuery(Env{User: bob})
	if err != nil || all {
		t.Fatalf("%v %v", all, err)
	}
	want := map[string]any{"$nor": []any{map[string]any{"locked": map[string]any{"$eq": true}}}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("query = %#v, want %#v", q, want)
	}
	if v, _ := c.Visible(Env{User: bob, Root: map[string]any{"locked": true}}); v != nil {
		t.Error("a locked document is visible")
	}
}

func TestFilters(t *testing.T) {
	c := mustParse(t, `{"roles":[{"name":"r","apply_when":{},"read":true}],"filters":[
	  {"name":"own","apply_when":{"%%user.type":"normal"},"query":{"owner_id":"%%user.id"},"projection":{"secret":0}},
	  {"name":"never","apply_when":{"%%true":false},"query":{"x":1}}]}`)
	q, p, err := c.ApplyFilters(Env{User: bob})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q, map[string]any{"owner_id": "u-bob"}) {
		t.Errorf("query = %v", q)
	}
	if !reflect.DeepEqual(p, map[string]any{"secret": float64(0)}) && !reflect.DeepEqual(p, map[string]any{"secret": int32(0)}) {
		t.Errorf("projection = %#v", p)
	}
}

func TestDocumentFiltersWithCustomData(t *testing.T) {
	// The StoreDemo Kiosk rule: read and write only the kiosks of the user's store.
	c := mustParse(t, `{"database":"StoreDemo","collection":"Kiosk","roles":[{"name":"readAndWriteSpecificStore","apply_when":{},
	  "document_filters":{"read":{"storeId":"%%user.custom_data.storeId"},"write":{"storeId":"%%user.custom_data.storeId"}},
	  "read":true,"write":true,"insert":true,"delete":true,"search":true}]}`)
	kiosk := map[string]any{"_id": 1, "storeId": "s1"}
	if v, _ := c.Visible(Env{User: alice, Root: kiosk}); v == nil {
		t.Error("alice (store s1) cannot see a kiosk of s1")
	}
	if v, _ := c.Visible(Env{User: bob, Root: kiosk}); v != nil {
		t.Error("bob (store s2) sees a kiosk of s1")
	}
	q, _, err := c.ReadQuery(Env{User: bob})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0)
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(q, map[string]any{"$or": []any{map[string]any{"storeId": map[string]any{"$eq": "s2"}}, map[string]any{"storeId": map[string]any{"$eq": "s2"}}}}) {
		t.Errorf("query = %#v", q)
	}
}
