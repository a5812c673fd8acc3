package function_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/data"
	"github.com/wardenauth/warden/internal/function"
	"github.com/wardenauth/warden/internal/rules"
)

func TestCanEvaluate(t *testing.T) {
	app := &appconfig.App{ClientAppID: "fn-app", DomainID: "d", Functions: map[string]*appconfig.Function{
		"adminsOnly": {Name: "adminsOnly", Source: `exports = () => "ok";`, File: "a.js",
			CanEvaluate: json.RawMessage(`{"%%user.custom_data.admin": true}`)},
		"smallArgs": {Name: "smallArgs", Source: `exports = (n) => n * 2;`, File: "s.js",
			CanEvaluate: json.RawMessage(`{"%%args.0": {"$lte": 10}}`)},
		"bad": {Name: "bad", Source: `exports = () => 1;`, File: "b.js", CanEvaluate: json.RawMessage(`{"%%nope": 1}`)},
	}}
	e, err := function.New(app, function.Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := &function.User{ID: "a", Type: "normal", CustomData: map[string]any{"admin": true}}
	plain := &function.User{ID: "p", Type: "normal", CustomData: map[string]any{}}
	ctx := context.Background()
	if out, err := e.Call(ctx, function.Call{Name: "adminsOnly", User: admin, FromClient: true}); err != nil || string(out) != `"ok"` {
		t.Errorf("admin: %s %v", out, err)
	}
	if _, err := e.Call(ctx, function.Call{Name: "adminsOnly", User: plain, FromClient: true}); !errors.Is(err, function.ErrNotPermitted) {
		t.Errorf("non-admin: err = %v, want ErrNotPermitted", err)
	}
	if _, err := e.Call(ctx, function.Call{Name: "adminsOnly", User: plain, FromClient: false}); err != nil {
		t.Errorf("calls from the server (not clients) skip can_evaluate: %v", err)
	}
	if out, err := e.Call(ctx, function.Call{Name: "smallArgs", User: plain, FromClient: true, Args: []any{int32(3)}}); err != nil || string(out) != `{"$numberLong":"6"}` {
		t.Errorf("smallArgs(3): %s %v", out, err)
	}
	if _, err := e.Call(ctx, function.Call{Name: "smallArgs", User: plain, FromClient: true, Args: []any{int32(30)}}); !errors.Is(err, function.ErrNotPermitted) {
		t.Errorf("smallArgs(30): %v", err)
	}
	if _, err := e.Call(ctx, function.Call{Name: "bad", User: plain, FromClient: true}); err == nil {
		t.Error("a rule with an unknown expansion allowed the call")
	}
}

// TestCanEvaluateComparesArgumentsExactly: an argument the caller chose must equal the
// value a rule compares it to; an array that merely contains it does not.
func TestCanEvaluateComparesArgumentsExactly(t *testing.T) {
	app := &appconfig.App{ClientAppID: "fn-app", DomainID: "d", Functions: map[string]*appconfig.Function{
		"mine": {Name: "mine", Source: `exports = (id) => id;`, File: "m.js", CanEvaluate: json.RawMessage(`{"%%args.0": "%%user.id"}`)},
	}}
	e, err := function.New(app, function.Options{})
	if err != nil {
		t.Fatal(err)
	}
	me := &function.User{ID: "me", Type: "normal"}
	ctx := context.Background()
	if _, err := e.Call(ctx, function.Call{Name: "mine", User: me, FromClient: true, Args: []any{"me"}}); err != nil {
		t.Errorf("own id: %v", err)
	}
	for _, arg := range []any{[]any{"victim", "me"}, []any{"me"}, "victim"} {
		if _, err := e.Call(ctx, function.Call{Name: "mine", User: me, FromClient: true, Args: []any{arg}}); !errors.Is(err, function.ErrNotPermitted) {
			t.Errorf("argument %v: err = %v, want ErrNotPermitted", arg, err)
		}
	}
}

// TestServicesUnderRules runs functions against the embedded data store: a user function
// is held to the rules, a system function is not.
func TestServicesUnderRules(t *testing.T) {
	ownerRule, err := rules.Parse([]byte(`{"database":"db","collection":"notes","roles":[{"name":"owner","apply_when":{"owner":"%%user.id"},"read":true,"write":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	app := &appconfig.App{ClientAppID: "fn-app", DomainID: "d",
		DataSources: map[string]*appconfig.DataSource{"mongodb-atlas": {Name: "mongodb-atlas", Type: "mongodb-atlas",
			Rules: map[string]*rules.Collection{"db.notes": ownerRule}}},
		Functions: map[string]*appconfig.Function{
			"add": {Name: "add", File: "add.js", Source: `exports = async (text, owner) => {
				const notes = context.services.get("mongodb-atlas").db("db").collection("notes");
				const r = await notes.insertOne({ text, owner: owner || context.user.id, at: new Date(0) });
				return r.insertedId instanceof BSON.ObjectId;
			};`},
			"mine": {Name: "mine", File: "mine.js", Source: `exports = async () => {
				const notes = context.services.get("mongodb-atlas").db("db").collection("notes");
				const docs = await notes.find({}).sort({ text: 1 }).toArray();
				return docs.map((d) => d.text + (d.at instanceof Date ? "@" + d.at.getTime() : ""));
			};`},
			"sysAll": {Name: "sysAll", File: "all.js", RunAsSystem: true, Source: `exports = async () =>
				(await context.services.get("mongodb-atlas").db("db").collection("notes").count({}));`},
			"noService": {Name: "noService", File: "n.js", Source: `exports = () => context.services.get("nope");`},
		}}
	ctx := context.Background()
	sources, err := data.Open(ctx, app, data.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sources.Close(ctx)
	e, err := function.New(app, function.Options{Data: sources})
	if err != nil {
		t.Fatal(err)
	}
	ann := &function.User{ID: "ann", Type: "normal"}
	ben := &function.User{ID: "ben", Type: "normal"}
	run := func(name string, u *function.User, args ...any) (string, error) {
		out, err := e.Call(ctx, function.Call{Name: name, User: u, Args: args, FromClient: true})
		return string(out), err
	}
	for _, c := range []struct {
		user *function.User
		text string
	}{{ann, "a1"}, {ann, "a2"}, {ben, "b1"}} {
		if out, err := run("add", c.user, c.text); err != nil || out != "true" {
			t.Fatalf("add %s: %s %v", c.text, out, err)
		}
	}
	if out, err := run("mine", ann); err != nil || out != `["a1@0","a2@0"]` {
		t.Errorf("ann's notes: %s %v", out, err)
	}
	if out, err := run("mine", ben); err != nil || out != `["b1@0"]` {
		t.Errorf("ben's notes: %s %v", out, err)
	}
	if out, err := run("sysAll", ben); err != nil || out != `{"$numberLong":"3"}` {
		t.Errorf("a system function counts every note: %s %v", out, err)
	}
	_, err = run("add", ben, "forged", "ann")
	var ee *function.ExecError
	if !errors.As(err, &ee) || !strings.Contains(ee.Message, "insert not permitted") {
		t.Errorf("ben inserting a note owned by ann: %v", err)
	}
	if _, err := run("noService", ben); err == nil || !strings.Contains(err.Error(), "service not found: 'nope'") {
		t.Errorf("unknown service: %v", err)
	}
}
