package function_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/ejson"
	"github.com/wardenauth/warden/internal/function"
)

func engine(t *testing.T, fns map[string]string, opts function.Options) *function.Engine {
	t.Helper()
	app := &appconfig.App{ClientAppID: "fn-app", DomainID: "d", Name: "fn", Functions: map[string]*appconfig.Function{},
		Values: map[string]*appconfig.Value{
			"greeting": {Name: "greeting", Value: json.RawMessage(`"hello"`)},
			"limits":   {Name: "limits", Value: json.RawMessage(`{"max": 5}`)},
			"apiKey":   {Name: "apiKey", Value: json.RawMessage(`"stripe"`), FromSecret: true},
		},
		Environment: "production", EnvironmentValues: map[string]json.RawMessage{"tier": json.RawMessage(`"gold"`)},
	}
	for name, src := range fns {
		private := strings.HasPrefix(name, "private")
		app.Functions[name] = &appconfig.Function{Name: name, Source: src, File: name + ".js", Private: private, RunAsSystem: strings.HasPrefix(name, "sys")}
	}
	if opts.Secrets == nil {
		s, _ := appconfig.LoadSecrets("", func(k string) (string, bool) { return "sk_live_1", k == "WARDEN_SECRET_STRIPE" })
		opts.Secrets = s
	}
	e, err := function.New(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func call(t *testing.T, e *function.Engine, c function.Call) (string, error) {
	t.Helper()
	out, err := e.Call(context.Background(), c)
	return string(out), err
}

// args decodes arguments as the client API does: from canonical Extended JSON.
func args(t *testing.T, ext string) []any {
	t.Helper()
	m, err := ejson.DecodeObject([]byte(`{"a":` + ext + `}`))
	if err != nil {
		t.Fatal(err)
	}
	return m["a"].([]any)
}

func TestAppServicesSources(t *testing.T) {
	e := engine(t, map[string]string{
		"sum": `exports = function(...args) { return args.reduce((a, b) => a + b, 0); };`,
		"translate": `exports = async function (sentence, languages) {
			if (sentence === "hello" && languages === "en_fr") return "bonjour";
			if (sentence === "bonjour" && languages === "fr_en") return "hello";
			throw new Error("Watch your language!"); };`,
		"greet":   "exports = async ({ name = 'you', title } = {}) => { const who = title ? `${title} ${name}` : name; return `${context.values.get('greeting')}, ${who}!`; };",
		"outer":   `exports = async (n) => { const inner = await context.functions.execute("sum", n, n); return { inner, tier: context.environment.values.tier, tag: context.environment.tag }; };`,
		"classy":  `class Counter { #n = 0; inc() { return ++this.#n; } } exports = () => { const c = new Counter(); c.inc(); return [c.inc(), ...[3, 4]]; };`,
		"types":   `exports = (id, d, n, big) => ({ isOid: id instanceof BSON.ObjectId, hex: id.toHexString(), year: d.getUTCFullYear(), n: n + 1, big, again: id, when: d });`,
		"secret":  `exports = () => [context.values.get("apiKey"), context.values.get("limits").max, context.values.get("nope")];`,
		"me":      `exports = () => ({ id: context.user.id, type: context.user.type, email: context.user.data.email, system: context.runningAsSystem(), app: context.app.clientAppId });`,
		"sysMe":   `exports = () => ({ id: context.user.id, email: context.user.data.email, system: context.runningAsSystem() });`,
		"nothing": `exports = () => undefined;`,
		"legacy":  `function helper(x) { return x * 2; } exports = function(x) { return helper(x); }; if (typeof module !== "undefined") module.exports = exports;`,
	}, function.Options{})
	user := &function.User{ID: "u1", Type: "normal", Data: map[string]any{"email": "a@b.c"}}
	cases := []struct {
		name, args, want string
	}{
		{"sum", `[{"$numberInt":"1"},{"$numberInt":"2"},{"$numberDouble":"2.5"}]`, `{"$numberDouble":"5.5"}`},
		{"translate", `["hello","en_fr"]`, `"bonjour"`},
		{"greet", `[{"name":"Ann","title":"Dr"}]`, `"hello, Dr Ann!"`},
		{"greet", `[]`, `"hello, you!"`},
		{"outer", `[{"$numberInt":"21"}]`, `{"inner":{"$numberLong":"42"},"tier":"gold","tag":"production"}`},
		{"classy", `[]`, `[{"$numberLong":"2"},{"$numberLong":"3"},{"$numberLong":"4"}]`},
		{"types", `[{"$oid":"65a000000000000000000001"},{"$date":{"$numberLong":"1600000000000"}},{"$numberLong":"41"},{"$numberLong":"9007199254740993"}]`,
			`{"isOid":true,"hex":"65a000000000000000000001","year":{"$numberLong":"2020"},"n":{"$numberLong":"42"},"big":{"$numberLong":"9007199254740992"},"again":{"$oid":"65a000000000000000000001"},"when":{"$date":{"$numberLong":"1600000000000"}}}`},
		{"secret", `[]`, `["sk_live_1",{"$numberLong":"5"},null]`},
		{"me", `[]`, `{"id":"u1","type":"normal","email":"a@b.c","system":false,"app":"fn-app"}`},
		{"sysMe", `[]`, `{"id":"u1","system":true}`},
		{"nothing", `[]`, `null`},
		{"legacy", `[{"$numberInt":"4"}]`, `{"$numberLong":"8"}`},
	}
	for _, tc := range cases {
		got, err := call(t, e, function.Call{Name: tc.name, Args: args(t, tc.args), User: user, FromClient: true})
		if err != nil {
			t.Errorf("%s(%s): %v", tc.name, tc.args, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s(%s) = %s, want %s", tc.name, tc.args, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	e := engine(t, map[string]string{
		"translate":   `exports = async () => { throw new Error("Watch your language!"); };`,
		"throwString": `exports = () => { throw "plain string"; };`,
		"reject":      `exports = () => Promise.reject({ message: "rejected object" });`,
		"privateOne":  `exports = () => "secret";`,
		"notAFn":      `exports = 5;`,
		"recurse":     `function f() { return f(); } exports = () => f();`,
		"hang":        `exports = () => new Promise(() => {});`,
		"badRef":      `exports = () => undefinedThing.x;`,
		"cyclic":      `exports = () => { const a = {}; a.self = a; return a; };`,
		"execBad":     `exports = () => context.functions.execute("notAFn");`,
		"execMissing": `exports = () => context.functions.execute("missing");`,
	}, function.Options{})
	var ee *function.ExecError
	for name, want := range map[string]string{
		"translate": "Watch your language!", "throwString": "plain string", "reject": "rejected object",
		"notAFn": "does not assign a function", "recurse": "stack", "hang": "never settled", "badRef": "undefinedThing",
		"cyclic": "circular", "execBad": "does not assign a function", "execMissing": "function not found",
	} {
		_, err := call(t, e, function.Call{Name: name, FromClient: true})
		if !errors.As(err, &ee) || !strings.Contains(ee.Message, want) {
			t.Errorf("%s: err = %v, want an ExecError about %q", name, err, want)
		}
	}
	if _, err := call(t, e, function.Call{Name: "nope", FromClient: true}); !errors.Is(err, function.ErrNotFound) {
		t.Errorf("unknown function: %v", err)
	}
	if _, err := call(t, e, function.Call{Name: "privateOne", FromClient: true}); !errors.Is(err, function.ErrPrivate) {
		t.Errorf("private function from a client: %v", err)
	}
	if got, err := call(t, e, function.Call{Name: "privateOne"}); err != nil || got != `"secret"` {
		t.Errorf("private function from the server: %s %v", got, err)
	}
}

func TestSyntaxErrorNamesTheFile(t *testing.T) {
	app := &appconfig.App{ClientAppID: "x", Functions: map[string]*appconfig.Function{"broken": {Name: "broken", File: "functions/broken.js", Source: "exports = function( {"}}}
	_, err := function.New(app, function.Options{})
	if err == nil || !strings.Contains(err.Error(), "functions/broken.js") {
		t.Fatalf("err = %v", err)
	}
	// The error names the file's own line: the third here, not the fourth.
	app.Functions["broken"].Source = "// a comment\nexports = function () {\n  return 1 +;\n};"
	_, err = function.New(app, function.Options{})
	if err == nil || !strings.Contains(err.Error(), "functions/broken.js: Line 3:") {
		t.Fatalf("a syntax error on line 3: %v", err)
	}
}

// TestInfiniteLoopIsStopped proves the time limit interrupts a runaway loop, and that
// the engine keeps serving other calls, during and after it.
func TestInfiniteLoopIsStopped(t *testing.T) {
	e := engine(t, map[string]string{
		"spin":  `exports = () => { while (true) {} };`,
		"spinA": `exports = async () => { for (;;) { await null; } };`,
		"ok":    `exports = () => "still serving";`,
	}, function.Options{Timeout: 300 * time.Millisecond, PoolSize: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, name := range []string{"spin", "spinA"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Call(context.Background(), function.Call{Name: name})
			errs <- err
		}()
	}
	if got, err := call(t, e, function.Call{Name: "ok"}); err != nil || got != `"still serving"` {
		t.Fatalf("during the loops: %s %v", got, err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, function.ErrTimeout) {
			t.Fatalf("runaway call: err = %v, want ErrTimeout", err)
		}
	}
	for range 8 { // the interrupted runtimes are reused and work
		if got, err := call(t, e, function.Call{Name: "ok"}); err != nil || got != `"still serving"` {
			t.Fatalf("after the loops: %s %v", got, err)
		}
	}
}

func TestCanceledRequestStopsTheCall(t *testing.T) {
	e := engine(t, map[string]string{"spin": `exports = () => { while (true) {} };`}, function.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.Call(ctx, function.Call{Name: "spin"})
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestNoStateLeaksBetweenCalls(t *testing.T) {
	e := engine(t, map[string]string{
		"counter": `let n = 0; exports = () => ++n;`,
	}, function.Options{PoolSize: 1})
	for range 3 {
		if got, _ := call(t, e, function.Call{Name: "counter"}); got != `{"$numberLong":"1"}` {
			t.Fatalf("top-level state leaked between calls: %s", got)
		}
	}
}

func TestParallelCalls(t *testing.T) {
	e := engine(t, map[string]string{"sum": `exports = (a, b) => a + b;`}, function.Options{PoolSize: 4})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := e.Call(context.Background(), function.Call{Name: "sum", Args: []any{int32(i), int32(1)}})
			if err != nil || string(got) != strings.TrimSpace(string(json.RawMessage(fmtInt(i+1)))) {
				t.Errorf("sum(%d,1) = %s %v", i, got, err)
			}
		}()
	}
	wg.Wait()
}

func fmtInt(n int) string { return fmt.Sprintf(`{"$numberLong":"%d"}`, n) }
