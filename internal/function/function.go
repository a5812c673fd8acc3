// Package function runs an app's App Services functions (`exports = function(...) {...}`,
// often async) in a real embedded JavaScript engine (goja), with the `context` object
// App Services gave them: context.user, context.values, context.functions.execute,
// context.environment, context.request, context.app, context.runningAsSystem().
//
// Every call has a time limit that interrupts even a runaway loop; calls run in
// parallel on a pool of runtimes; a thrown error or a rejected promise is an *ExecError
// with the function's message; a runtime that misbehaved (a Go panic inside it) is
// discarded, never reused. Each call evaluates the function's file afresh, so no state
// leaks from one call (or user) to the next through top-level variables.
//
// Limits of this engine, written down: there are no timers (setTimeout) and no
// context.http; memory growth inside a call is bounded only by the time limit (goja has
// no heap cap); context.services.get(name) serves the app's MongoDB data sources.
package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/data"
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
)

// ExecError is a function that threw, or returned a rejected promise.
type ExecError struct {
	Function string
	Message  string
}

func (e *ExecError) Error() string { return e.Message }

// Identity is one identity of the calling user.
type Identity struct {
	ID           string `json:"id"`
	ProviderType string `json:"provider_type"`
}

// User is context.user.
type User struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Data       map[string]any `json:"data"`
	CustomData map[string]any `json:"custom_data"`
	Identities []Identity     `json:"identities"`
}

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
	System  bool
	Request Request
}

// Options configure an Engine.
type Options struct {
	Timeout  time.Duration
	PoolSize int
	Logger   *slog.Logger
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

	slots chan struct{}
	mu    sync.Mutex
	idle  []*vm
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
	var err error
	if e.prelude, err = goja.Compile("warden:prelude", prelude+servicesPrelude, true); err != nil {
		return nil, fmt.Errorf("function: prelude: %w", err)
	}
	names := app.FunctionNames()
	sort.Strings(names)
	for _, name := range names {
		f := app.Functions[name]
		src := "(function (context, exports, module, require) {\n" + f.Source + "\n;return exports;\n})"
		p, err := goja.Compile(f.File, src, false)
		if err != nil {
			return nil, fmt.Errorf("function %q (%s): %w", name, f.File, err)
		}
		e.programs[name] = p
	}
	return e, nil
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

// acquire takes a runtime from the pool, making one if the pool is not full.
func (e *Engine) acquire(ctx context.Context) (*vm, error) {
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	if n := len(e.idle); n > 0 {
		v := e.idle[n-1]
		e.idle = e.idle[:n-1]
		e.mu.Unlock()
		return v, nil
	}
	e.mu.Unlock()
	v, err := e.newVM()
	if err != nil {
		<-e.slots
		return nil, err
	}
	return v, nil
}

func (e *Engine) release(v *vm, healthy bool) {
	if healthy {
		v.rt.ClearInterrupt()
		e.mu.Lock()
		e.idle = append(e.idle, v)
		e.mu.Unlock()
	}
	<-e.slots
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
	v, err := e.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("function: waiting for a runtime: %w", err)
	}
	healthy := false
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("function runtime panicked; runtime discarded", "app", e.app.ClientAppID, "function", c.Name, "panic", fmt.Sprint(p))
			result, err = nil, &ExecError{Function: c.Name, Message: "internal error while running the function"}
			healthy = false
		}
		e.release(v, healthy)
	}()

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
	// A runtime stays usable after a thrown error or an interrupt (cleared on release);
	// only a panic discards it.
	healthy = true
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

// CallValue runs a function and returns its result decoded into plain Go values
// (numbers as float64), for flows whose logic reads the result.
func (e *Engine) CallValue(ctx context.Context, c Call) (any, error) {
	raw, err := e.Call(ctx, c)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("function %s: decoding result: %w", c.Name, err)
	}
	return out, nil
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
