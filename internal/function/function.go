// Package function runs an app's App Services functions (`exports = function(...) {...}`,
// often async) in a real embedded JavaScript engine (goja), with the `context` object
// App Services gave them: context.user, context.values, context.functions.execute,
// context.environment, context.request, context.app, context.runningAsSystem().
//
// Every call runs in a runtime of its own, made for it and dropped after it, so nothing
// a call does (a global, a changed Object.prototype) is seen by the next call or user.
// Every call has a time limit that interrupts even a runaway loop, and a memory bound: a
// call during which the server's heap grows past it is stopped with ErrMemory, and the
// built-ins that allocate in one step from a size (new Array(n), ArrayBuffer, typed
// arrays, repeat, padStart/padEnd, fill, join, Array.from) refuse sizes past a bound. A
// thrown error or a rejected promise is an *ExecError with the function's message.
//
// Calls wait for one of a bounded number of slots. Login-path calls (custom-function
// login, confirmation and reset functions) have slots of their own, so data-path calls
// cannot starve logins; one user's client calls hold at most PerUserConcurrency slots at
// once (the rest wait); calls made from inside a call (a rule's %function) take no slot.
//
// Limits of this engine, written down: there are no timers (setTimeout) and no
// context.http; the memory bound watches the whole heap, so a call running beside one
// that allocates heavily may be stopped with it; a built-in not listed above that
// allocates in one step is bounded only by the time limit.
package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/data"
	"github.com/wardenauth/warden/internal/ejson"
	"github.com/wardenauth/warden/internal/rules"
)

// DefaultTimeout is how long a call may run unless configured otherwise. App Services
// allowed 270 s of execution; an auth server should not hold a request that long.
const DefaultTimeout = 30 * time.Second

// Errors of Call.
var (
	// ErrNotFound: the app has no function of that name.
	ErrNotFound = errors.New("function not found")
	// ErrPrivate: the function is private and the caller is a client.
	ErrPrivate = errors.New("function is private")
	// ErrTimeout: the call ran past its time limit and was stopped.
	ErrTimeout = errors.New("function execution time limit exceeded")
	// ErrMemory: the call used more memory than its bound and was stopped.
	ErrMemory = errors.New("function memory limit exceeded")
)

// DefaultMemoryLimit is how much the server's heap may grow while one call runs.
const DefaultMemoryLimit = 256 << 20

// ExecError is a function that threw, or returned a rejected promise.
type ExecError struct {
	Function string
	Message  string
}

func (e *ExecError) Error() string { return e.Message }

// Identity is one identity of the calling user.
type Identity = rules.Identity

// User is context.user: the same user, in the same shape, that the rules see as %%user.
type User = rules.User

// Request is context.request.
type Request struct {
	RemoteIPAddress string              `json:"remoteIPAddress,omitempty"`
	HTTPUserAgent   string              `json:"httpUserAgent,omitempty"`
	HTTPReferrer    string              `json:"httpReferrer,omitempty"`
	RequestHeaders  map[string][]string `json:"requestHeaders,omitempty"`
}

// Call is one function call.
type Call struct {
	Name string
	// Args are the arguments, as decoded from Extended JSON.
	Args []any
	// User is the caller (nil for calls with no user, e.g. custom-function login).
	User *User
	// FromClient is set for calls that came from an SDK: private functions are refused.
	FromClient bool
	// System runs the call as the system user, whatever the function's configuration.
	System bool
	// Login marks a call on the login path (a custom-function login, a confirmation or
	// reset function): it waits only for the slots reserved for such calls.
	Login   bool
	Request Request
}

// Options configure an Engine.
type Options struct {
	Timeout time.Duration
	// PoolSize is how many calls run at once (default twice the CPUs); login-path calls
	// have as many slots again of their own.
	PoolSize int
	// PerUserConcurrency is how many of one user's client calls run at once (default
	// half the pool, at least 1).
	PerUserConcurrency int
	// MemoryLimit is how much the heap may grow during one call (default
	// DefaultMemoryLimit).
	MemoryLimit uint64
	Logger      *slog.Logger
	// Secrets resolve secret-backed values.
	Secrets *appconfig.Secrets
	// Data are the app's data sources, for context.services.get (nil: none).
	Data *data.Sources
}

// Engine runs one app's functions.
type Engine struct {
	app      *appconfig.App
	secrets  *appconfig.Secrets
	log      *slog.Logger
	timeout  time.Duration
	programs map[string]*goja.Program
	prelude  *goja.Program
	data     *data.Sources
	values   map[string]any

	slots      chan struct{}
	loginSlots chan struct{}
	perUser    int
	memLimit   uint64

	// ready holds runtimes made ahead of the calls that will use them, each used once.
	ready chan *vm

	mu    sync.Mutex
	users map[string]*userSlots
}

// userSlots bound one user's running calls.
type userSlots struct {
	ch   chan struct{}
	refs int
}

// New compiles the app's functions. A syntax error is reported with the file.
func New(app *appconfig.App, opts Options) (*Engine, error) {
	e := &Engine{app: app, secrets: opts.Secrets, log: opts.Logger, timeout: opts.Timeout, programs: map[string]*goja.Program{},
		data: opts.Data, values: app.ResolvedValues(opts.Secrets)}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	size := opts.PoolSize
	if size <= 0 {
		size = 2 * runtime.NumCPU()
	}
	e.slots = make(chan struct{}, size)
	e.loginSlots = make(chan struct{}, size)
	e.perUser = opts.PerUserConcurrency
	if e.perUser <= 0 {
		e.perUser = max(size/2, 1)
	}
	e.memLimit = opts.MemoryLimit
	if e.memLimit == 0 {
		e.memLimit = DefaultMemoryLimit
	}
	e.users = map[string]*userSlots{}
	e.ready = make(chan *vm, size)
	var err error
	if e.prelude, err = goja.Compile("warden:prelude", prelude+servicesPrelude+guardsPrelude, true); err != nil {
		return nil, fmt.Errorf("function: prelude: %w", err)
	}
	names := app.FunctionNames()
	sort.Strings(names)
	for _, name := range names {
		f := app.Functions[name]
		p, err := goja.Compile(f.File, wrapSource(f.Source), false)
		if err != nil {
			return nil, fmt.Errorf("function %q (%s): %w", name, f.File, err)
		}
		e.programs[name] = p
	}
	return e, nil
}

// wrapSource makes a function file a program. The wrapper opens on the source's first
// line, so that errors name the file's own line numbers.
func wrapSource(src string) string {
	return "(function (context, exports, module, require) {" + src + "\n;return exports;\n})"
}

// Check compiles every function of app and returns each one's error (nil when all
// compile), for reporting them all at once rather than the first only.
func Check(app *appconfig.App) []error {
	var errs []error
	for _, name := range app.FunctionNames() {
		f := app.Functions[name]
		if _, err := goja.Compile(f.File, wrapSource(f.Source), false); err != nil {
			errs = append(errs, fmt.Errorf("function %q (%s): %w", name, f.File, err))
		}
	}
	return errs
}

// Has reports whether the app has a function called name.
func (e *Engine) Has(name string) bool { _, ok := e.programs[name]; return ok }

// vm is one JavaScript runtime with the prelude loaded.
type vm struct {
	rt        *goja.Runtime
	factories map[string]goja.Callable
	objectID  goja.Value
	stringify goja.Callable
	errorText goja.Callable
}

func (e *Engine) newVM() (*vm, error) {
	rt := goja.New()
	rt.SetFieldNameMapper(goja.TagFieldNameMapper("json", true))
	rt.SetMaxCallStackSize(1000)
	if err := rt.Set("__wardenAllocationLimit", allocationLimit()); err != nil {
		return nil, fmt.Errorf("function: prelude: %w", err)
	}
	if _, err := rt.RunProgram(e.prelude); err != nil {
		return nil, fmt.Errorf("function: prelude: %w", err)
	}
	v := &vm{rt: rt, factories: map[string]goja.Callable{}}
	v.objectID = rt.Get("BSON").ToObject(rt).Get("ObjectId")
	var ok bool
	if v.stringify, ok = goja.AssertFunction(rt.Get("__wardenStringify")); !ok {
		return nil, errors.New("function: prelude lacks __wardenStringify")
	}
	if v.errorText, ok = goja.AssertFunction(rt.Get("__wardenErrorText")); !ok {
		return nil, errors.New("function: prelude lacks __wardenErrorText")
	}
	console := rt.NewObject()
	for _, level := range []string{"log", "info", "warn", "error", "debug"} {
		lvl := level
		_ = console.Set(lvl, func(call goja.FunctionCall) goja.Value {
			parts := make([]string, len(call.Arguments))
			for i, a := range call.Arguments {
				parts[i] = a.String()
			}
			e.log.Info("function log", "app", e.app.ClientAppID, "level", lvl, "message", strings.Join(parts, " "))
			return goja.Undefined()
		})
	}
	_ = rt.Set("console", console)
	return v, nil
}

// runtime returns a runtime no call has used: one made ahead, or a new one; either way
// another is made in the background for a later call, off this call's path.
func (e *Engine) runtime() (*vm, error) {
	go func() {
		v, err := e.newVM()
		if err != nil {
			return
		}
		select {
		case e.ready <- v:
		default:
		}
	}()
	select {
	case v := <-e.ready:
		return v, nil
	default:
		return e.newVM()
	}
}

// inCall marks the context of a running call: calls made from inside it take no slot.
type inCall struct{}

// acquire waits for a slot for the call: the login lane or the general one, and for a
// client call one of its user's slots too. release gives them back.
func (e *Engine) acquire(ctx context.Context, c Call) (release func(), err error) {
	if ctx.Value(inCall{}) != nil {
		return func() {}, nil
	}
	var user *userSlots
	if c.FromClient && c.User != nil {
		user = e.userSlots(c.User.ID)
		select {
		case user.ch <- struct{}{}:
		case <-ctx.Done():
			e.dropUserSlots(c.User.ID, user, false)
			return nil, ctx.Err()
		}
	}
	lane := e.slots
	if c.Login {
		lane = e.loginSlots
	}
	select {
	case lane <- struct{}{}:
	case <-ctx.Done():
		if user != nil {
			e.dropUserSlots(c.User.ID, user, true)
		}
		return nil, ctx.Err()
	}
	return func() {
		<-lane
		if user != nil {
			e.dropUserSlots(c.User.ID, user, true)
		}
	}, nil
}

func (e *Engine) userSlots(id string) *userSlots {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[id]
	if u == nil {
		u = &userSlots{ch: make(chan struct{}, e.perUser)}
		e.users[id] = u
	}
	u.refs++
	return u
}

func (e *Engine) dropUserSlots(id string, u *userSlots, held bool) {
	if held {
		<-u.ch
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if u.refs--; u.refs == 0 {
		delete(e.users, id)
	}
}

// watchMemory stops the call in v when the heap grows more than the engine's bound
// above what it was when the call started; stop ends the watch.
func (e *Engine) watchMemory(v *vm) (stop func()) {
	start := heapBytes()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if h := heapBytes(); h > start && h-start > e.memLimit {
					v.rt.Interrupt(ErrMemory)
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// Call runs a function and returns its result as relaxed Extended JSON.
func (e *Engine) Call(ctx context.Context, c Call) (result json.RawMessage, err error) {
	f, ok := e.app.Functions[c.Name]
	if !ok {
		return nil, fmt.Errorf("%w: '%s'", ErrNotFound, c.Name)
	}
	if c.FromClient && f.Private {
		return nil, fmt.Errorf("%w: '%s'", ErrPrivate, c.Name)
	}
	if c.FromClient {
		if err := e.canEvaluate(ctx, f, c); err != nil {
			return nil, err
		}
	}
	release, err := e.acquire(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("function: waiting for a runtime: %w", err)
	}
	defer release()
	v, err := e.runtime()
	if err != nil {
		return nil, err
	}
	ctx = context.WithValue(ctx, inCall{}, true)
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("function runtime panicked", "app", e.app.ClientAppID, "function", c.Name, "panic", fmt.Sprint(p))
			result, err = nil, &ExecError{Function: c.Name, Message: "internal error while running the function"}
		}
	}()
	defer e.watchMemory(v)()

	timeout := e.timeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	timer := time.AfterFunc(timeout, func() { v.rt.Interrupt(ErrTimeout) })
	stop := context.AfterFunc(ctx, func() { v.rt.Interrupt(context.Canceled) })
	defer stop()
	defer timer.Stop()

	cctx := &callContext{ctx: ctx, engine: e, vm: v, call: c, system: c.System || f.RunAsSystem}
	val, err := cctx.invoke(c.Name, c.Args)
	if err == nil {
		val, err = v.settle(c.Name, val)
	}
	if err == nil {
		var s goja.Value
		s, err = v.stringify(goja.Undefined(), val)
		if err == nil {
			result = json.RawMessage(s.String())
		}
	}
	if err != nil {
		return nil, v.describe(c.Name, err)
	}
	return result, nil
}

// ErrNotPermitted: the function's can_evaluate rule is false for this caller.
var ErrNotPermitted = errors.New("function call not permitted")

// canEvaluate checks the function's can_evaluate rule for a client call: an expression
// over %%user, %%values, %%environment, %%request and %%args (the call's arguments).
// An absent or empty rule allows every authenticated caller.
func (e *Engine) canEvaluate(ctx context.Context, f *appconfig.Function, c Call) error {
	raw := bytes.TrimSpace(f.CanEvaluate)
	if len(raw) == 0 || string(raw) == "{}" || string(raw) == "null" {
		return nil
	}
	expr, err := rules.ParseExpression(raw)
	if err != nil {
		return fmt.Errorf("function %s: can_evaluate: %w", c.Name, err)
	}
	env := e.RulesEnv(ctx, c.User)
	env.Args = c.Args
	env.Request = map[string]any{"remoteIPAddress": c.Request.RemoteIPAddress, "httpUserAgent": c.Request.HTTPUserAgent, "httpReferrer": c.Request.HTTPReferrer}
	ok, err := rules.Evaluate(expr, env)
	if err != nil {
		e.log.Warn("can_evaluate rule failed; call refused", "app", e.app.ClientAppID, "function", c.Name, "err", err)
	}
	if err != nil || !ok {
		return fmt.Errorf("%w: the can_evaluate rule of '%s' does not allow this call", ErrNotPermitted, c.Name)
	}
	return nil
}

// CallValue runs a function and returns its result decoded from Extended JSON into plain
// Go values (maps, slices, int64 for whole numbers, float64, strings, BSON values), for
// flows whose logic reads the result.
func (e *Engine) CallValue(ctx context.Context, c Call) (any, error) {
	raw, err := e.Call(ctx, c)
	if err != nil {
		return nil, err
	}
	d, err := ejson.DecodeDocument(append(append([]byte(`{"v":`), raw...), '}'))
	if err != nil {
		return nil, fmt.Errorf("function %s: decoding result: %w", c.Name, err)
	}
	return ejson.Plain(d).(map[string]any)["v"], nil
}

// settle waits for a promise result: with no timers, every promise that can settle has
// settled when the call returns.
func (v *vm) settle(name string, val goja.Value) (goja.Value, error) {
	p, ok := val.Export().(*goja.Promise)
	if !ok {
		return val, nil
	}
	switch p.State() {
	case goja.PromiseStateFulfilled:
		return p.Result(), nil
	case goja.PromiseStateRejected:
		return nil, &ExecError{Function: name, Message: v.text(p.Result())}
	}
	return nil, &ExecError{Function: name, Message: "the function's promise never settled (timers and pending I/O are not supported)"}
}

func (v *vm) text(val goja.Value) string {
	s, err := v.errorText(goja.Undefined(), val)
	if err != nil {
		return val.String()
	}
	return s.String()
}

// describe turns a goja error into the package's errors.
func (v *vm) describe(name string, err error) error {
	var interrupted *goja.InterruptedError
	if errors.As(err, &interrupted) {
		if cause, ok := interrupted.Value().(error); ok {
			if errors.Is(cause, ErrTimeout) {
				return fmt.Errorf("%w: %s was stopped", ErrTimeout, name)
			}
			if errors.Is(cause, ErrMemory) {
				return fmt.Errorf("%w: %s was stopped", ErrMemory, name)
			}
			return cause
		}
		return err
	}
	var exc *goja.Exception
	if errors.As(err, &exc) {
		return &ExecError{Function: name, Message: v.text(exc.Value())}
	}
	var ee *ExecError
	if errors.As(err, &ee) {
		return err
	}
	var stack *goja.StackOverflowError
	if errors.As(err, &stack) {
		return &ExecError{Function: name, Message: "maximum call stack size exceeded"}
	}
	return &ExecError{Function: name, Message: err.Error()}
}
