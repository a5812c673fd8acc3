package function

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
)

func isolationEngine(t *testing.T, fns map[string]string, opts Options) *Engine {
	t.Helper()
	app := &appconfig.App{ClientAppID: "iso-app", DomainID: "d", Name: "iso", Functions: map[string]*appconfig.Function{}}
	for name, src := range fns {
		app.Functions[name] = &appconfig.Function{Name: name, Source: src, File: name + ".js"}
	}
	e, err := New(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestNoStateLeaksBetweenUsers: a global, or a change to Object.prototype, made by one
// user's call is not seen by the next call, another user's, even on one runtime slot.
func TestNoStateLeaksBetweenUsers(t *testing.T) {
	e := isolationEngine(t, map[string]string{
		"pollute": `exports = (v) => { globalThis.leak = v; Object.prototype.polluted = v; Array.prototype.push = () => 0; JSON.stringify = () => '"hijacked"'; return "done"; };`,
		"peek":    `exports = () => { const a = []; a.push(1); return [typeof globalThis.leak, ({}).polluted === undefined, a.length]; };`,
	}, Options{PoolSize: 1})
	alice, bob := &User{ID: "alice"}, &User{ID: "bob"}
	if _, err := e.Call(context.Background(), Call{Name: "pollute", Args: []any{"from alice"}, User: alice, FromClient: true}); err != nil {
		t.Fatal(err)
	}
	out, err := e.Call(context.Background(), Call{Name: "peek", User: bob, FromClient: true})
	if err != nil || string(out) != `["undefined",true,{"$numberLong":"1"}]` {
		t.Fatalf("bob's call saw alice's changes: %s %v", out, err)
	}
}

// TestMemoryIsBounded: a call that allocates without end, or asks a built-in for a huge
// size, is stopped with an error, and the engine goes on serving.
func TestMemoryIsBounded(t *testing.T) {
	e := isolationEngine(t, map[string]string{
		"hog":        `exports = () => { const a = []; for (;;) a.push(new Array(1e5).fill(0)); };`,
		"double":     `exports = () => { let s = "x"; for (;;) s = s + s; };`,
		"repeat":     `exports = (n) => "x".repeat(n).length;`,
		"buffer":     `exports = (n) => new ArrayBuffer(n).byteLength;`,
		"typed":      `exports = (n) => new Float64Array(n).length;`,
		"array":      `exports = (n) => new Array(n).fill(1).length;`,
		"arrfn":      `exports = (n) => Array(n).length;`,
		"pad":        `exports = (n) => "x".padStart(n).length;`,
		"from":       `exports = (n) => Array.from({length: n}).length;`,
		"join":       `exports = (n) => new Array(250000).fill("x").join("y".repeat(Math.min(n, 500000))).length;`,
		"joinBig":    `exports = (n) => new Array(100000).fill("z".repeat(Math.min(n, 100000))).join("").length;`,
		"replaceAll": `exports = (n) => "x".repeat(100000).replaceAll("x", "y".repeat(Math.min(n, 100000))).length;`,
		"replaceRe":  `exports = (n) => "x".repeat(100000).replace(/x/g, "y".repeat(Math.min(n, 100000))).length;`,
		"replaceFn":  `exports = (n) => { const big = "y".repeat(Math.min(n, 100000)); return "x".repeat(100000).replace(/x/g, () => big).length; };`,
		"concat":     `exports = (n) => { const s = "y".repeat(Math.min(n, 10000000)); return s.concat(s, s, s).length; };`,
		"parse":      `exports = (n) => JSON.parse("[".repeat(Math.min(n, 1000000)) + "]".repeat(Math.min(n, 1000000))).length;`,
		"small": `exports = () => ["a-b".replaceAll("-", "+") + "a".replace(/a/g, () => "b") + "x".concat("y") + JSON.parse("[[1]]")[0][0] + [1].concat([2], 3).length,
			"x".repeat(10).length, new Uint8Array(16).length, new Array(3).fill(0).length, [1,2].join("-"), new ArrayBuffer(8) instanceof ArrayBuffer, [] instanceof Array, Array.isArray(new Array(2)), new (class L extends Array {})().push(1), Uint8Array.BYTES_PER_ELEMENT];`,
	}, Options{MemoryLimit: 64 << 20, Timeout: time.Minute})
	for _, name := range []string{"hog", "double"} {
		_, err := e.Call(context.Background(), Call{Name: name})
		if !errors.Is(err, ErrMemory) {
			t.Errorf("%s: err = %v, want ErrMemory", name, err)
		}
	}
	for _, name := range []string{"repeat", "buffer", "typed", "array", "arrfn", "pad", "from", "join", "joinBig", "replaceAll", "replaceRe", "replaceFn", "concat", "parse"} {
		_, err := e.Call(context.Background(), Call{Name: name, Args: []any{float64(1 << 33)}})
		var ee *ExecError
		if !errors.As(err, &ee) && !errors.Is(err, ErrMemory) {
			t.Errorf("%s(2**33): err = %v, want a RangeError (or the memory bound)", name, err)
		}
	}
	out, err := e.Call(context.Background(), Call{Name: "small"})
	if err != nil || string(out) != `["a+bbxy13",{"$numberLong":"10"},{"$numberLong":"16"},{"$numberLong":"3"},"1-2",true,true,true,{"$numberLong":"1"},{"$numberLong":"1"}]` {
		t.Errorf("ordinary sizes: %s %v", out, err)
	}
}

// TestOneUserCannotStarveOthers: one user's runaway calls hold at most its share of the
// slots, so another user's call and a login-path call run while they spin.
func TestOneUserCannotStarveOthers(t *testing.T) {
	e := isolationEngine(t, map[string]string{
		"spin": `exports = () => { for (;;) {} };`,
		"ok":   `exports = () => "served";`,
	}, Options{PoolSize: 4, PerUserConcurrency: 2, Timeout: 10 * time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	finished := make(chan struct{}, 16)
	spin := func(user string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = e.Call(ctx, Call{Name: "spin", User: &User{ID: user}, FromClient: true})
			finished <- struct{}{}
		}()
	}
	for range 8 {
		spin("mallory")
	}
	waitFor(t, "mallory's calls to hold her two slots and queue the rest", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.slots) == 2 && e.users["mallory"] != nil && e.users["mallory"].refs == 8
	})
	call := func(c Call) {
		t.Helper()
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		out, err := e.Call(cctx, c)
		if err != nil || string(out) != `"served"` {
			t.Fatalf("%+v while mallory spins: %s %v", c, out, err)
		}
	}
	call(Call{Name: "ok", User: &User{ID: "bob"}, FromClient: true})

	// Fill the general slots with two more spinning users: a login-path call still runs.
	spin("eve")
	spin("eve")
	waitFor(t, "the general slots to be full", func() bool { return len(e.slots) == cap(e.slots) })
	call(Call{Name: "ok", System: true, Login: true})
	select {
	case <-finished:
		t.Fatal("a spinning call ended before the others were served: the test proved nothing")
	default:
	}
	cancel()
	wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.users) != 0 || len(e.slots) != 0 {
		t.Errorf("slots left held: %d users, %d slots", len(e.users), len(e.slots))
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
