package function

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/dop251/goja"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// prelude runs once per runtime: the BSON helpers functions expect, and the encoder of
// results into relaxed Extended JSON.
const prelude = `
"use strict";
var BSON = (function () {
  var counter = Math.floor(Math.random() * 0xffffff);
  function hex(n, width) { var s = n.toString(16); while (s.length < width) s = "0" + s; return s; }
  class ObjectId {
    constructor(id) {
      if (id === undefined || id === null) {
        counter = (counter + 1) % 0xffffff;
        var rand = "";
        for (var i = 0; i < 10; i++) rand += hex(Math.floor(Math.random() * 16), 1);
        id = hex(Math.floor(Date.now() / 1000), 8) + rand + hex(counter, 6);
      }
      if (id instanceof ObjectId) id = id.toHexString();
      if (typeof id !== "string" || !/^[0-9a-fA-F]{24}$/.test(id)) throw new TypeError("ObjectId must be 24 hex characters");
      Object.defineProperty(this, "_hex", { value: id.toLowerCase() });
    }
    toHexString() { return this._hex; }
    toString() { return this._hex; }
    toJSON() { return this._hex; }
    equals(other) { return other != null && String(other) === this._hex; }
    getTimestamp() { return new Date(parseInt(this._hex.slice(0, 8), 16) * 1000); }
  }
  return { ObjectId: ObjectId, ObjectID: ObjectId };
})();

// __wardenStringify writes a function's result as canonical Extended JSON, as App Services
// did: a whole number is {"$numberLong"} with every digit (the engine keeps 64-bit
// integers exact, and the native SDKs read an integer result as Int64), any other number
// {"$numberDouble"}, a Date {"$date":{"$numberLong"}}.
function __wardenStringify(value) {
  function int64Text(s) {
    var digits = s[0] === "-" ? s.slice(1) : s;
    if (!/^[0-9]+$/.test(digits) || digits.length > 19) return false;
    return digits.length < 19 || digits <= (s[0] === "-" ? "9223372036854775808" : "9223372036854775807");
  }
  function doubleText(n) {
    if (n !== n) return "NaN";
    if (n === Infinity) return "Infinity";
    if (n === -Infinity) return "-Infinity";
    if (Object.is(n, -0)) return "-0.0";
    return String(n);
  }
  var out = JSON.stringify(value === undefined ? null : value, function (key, v) {
    var orig = this[key];
    if (orig instanceof Date) return { $date: { $numberLong: String(orig.getTime()) } };
    if (orig instanceof BSON.ObjectId) return { $oid: orig.toHexString() };
    if (typeof orig === "bigint") return { $numberLong: orig.toString() };
    if (typeof orig === "number") {
      var s = String(orig);
      if (!Object.is(orig, -0) && int64Text(s)) return { $numberLong: s };
      return { $numberDouble: doubleText(orig) };
    }
    return v;
  });
  return out === undefined ? "null" : out;
}

function __wardenErrorText(e) {
  if (e instanceof Error) return e.message || String(e);
  if (e && typeof e === "object" && typeof e.message === "string") return e.message;
  if (typeof e === "string") return e;
  try { return JSON.stringify(e); } catch (x) { return String(e); }
}
`

// callContext is one call's view of the engine: the `context` object it gets.
type callContext struct {
	ctx    context.Context
	engine *Engine
	vm     *vm
	call   Call
	system bool
	depth  int
}

const maxExecuteDepth = 64

// invoke evaluates the function's file and calls its export with args.
func (c *callContext) invoke(name string, args []any) (goja.Value, error) {
	rt := c.vm.rt
	factory, ok := c.vm.factories[name]
	if !ok {
		prog, found := c.engine.programs[name]
		if !found {
			return nil, fmt.Errorf("%w: '%s'", ErrNotFound, name)
		}
		fv, err := rt.RunProgram(prog)
		if err != nil {
			return nil, err
		}
		if factory, ok = goja.AssertFunction(fv); !ok {
			return nil, fmt.Errorf("function %s: not a function", name)
		}
		c.vm.factories[name] = factory
	}
	module := rt.NewObject()
	exported, err := factory(goja.Undefined(), c.contextObject(), goja.Undefined(), module, goja.Undefined())
	if err != nil {
		return nil, err
	}
	if goja.IsUndefined(exported) || goja.IsNull(exported) {
		exported = module.Get("exports")
	}
	fn, ok := goja.AssertFunction(exported)
	if !ok {
		return nil, &ExecError{Function: name, Message: fmt.Sprintf("function '%s' does not assign a function to exports", name)}
	}
	jsArgs := make([]goja.Value, len(args))
	for i, a := range args {
		jsArgs[i] = c.toJS(a)
	}
	return fn(goja.Undefined(), jsArgs...)
}

func (c *callContext) contextObject() *goja.Object {
	rt := c.vm.rt
	app := c.engine.app
	ctx := rt.NewObject()

	if c.call.User != nil {
		u := *c.call.User
		if c.system {
			u.Data = map[string]any{} // as App Services did for system functions
		}
		_ = ctx.Set("user", c.fromJSON(u))
	} else {
		_ = ctx.Set("user", c.fromJSON(map[string]any{"type": "system", "data": map[string]any{}, "custom_data": map[string]any{}, "identities": []any{}}))
	}

	values := rt.NewObject()
	_ = values.Set("get", func(name string) goja.Value {
		v, ok := app.Values[name]
		if !ok {
			return goja.Undefined()
		}
		if v.FromSecret {
			var secret string
			_ = json.Unmarshal(v.Value, &secret)
			s, ok := c.engine.secrets.Get(secret)
			if !ok {
				return goja.Undefined()
			}
			return rt.ToValue(s)
		}
		return c.parse(v.Value)
	})
	_ = ctx.Set("values", values)

	envValues := rt.NewObject()
	for k, v := range app.EnvironmentValues {
		_ = envValues.Set(k, c.parse(v))
	}
	env := rt.NewObject()
	_ = env.Set("tag", app.Environment)
	_ = env.Set("values", envValues)
	_ = ctx.Set("environment", env)

	fns := rt.NewObject()
	_ = fns.Set("execute", func(call goja.FunctionCall) goja.Value {
		name := call.Argument(0).String()
		if c.depth >= maxExecuteDepth {
			panic(rt.NewGoError(fmt.Errorf("context.functions.execute: more than %d nested calls", maxExecuteDepth)))
		}
		if _, ok := c.engine.programs[name]; !ok {
			panic(rt.NewTypeError("function not found: '%s'", name))
		}
		inner := &callContext{ctx: c.ctx, engine: c.engine, vm: c.vm, call: c.call, system: c.system, depth: c.depth + 1}
		args := make([]any, 0, len(call.Arguments))
		jsArgs := call.Arguments[min(1, len(call.Arguments)):]
		for _, a := range jsArgs {
			args = append(args, passThrough{a})
		}
		v, err := inner.invoke(name, args)
		if err != nil {
			var exc *goja.Exception
			var interrupted *goja.InterruptedError
			if errors.As(err, &exc) || errors.As(err, &interrupted) {
				panic(err) // goja rethrows these into the calling function
			}
			panic(rt.NewGoError(err))
		}
		return v
	})
	_ = ctx.Set("functions", fns)

	_ = ctx.Set("request", c.fromJSON(c.call.Request))
	_ = ctx.Set("app", c.fromJSON(map[string]any{"id": app.DomainID, "clientAppId": app.ClientAppID, "name": app.Name}))
	_ = ctx.Set("runningAsSystem", func() bool { return c.system })

	services := rt.NewObject()
	_ = services.Set("get", c.servicesGet)
	_ = ctx.Set("services", services)
	http := rt.NewObject()
	_ = ctx.Set("http", http)
	return ctx
}

// passThrough carries a JavaScript value unchanged through toJS.
type passThrough struct{ v goja.Value }

// fromJSON makes a plain JavaScript value of a Go value through JSON.
func (c *callContext) fromJSON(v any) goja.Value {
	b, err := json.Marshal(v)
	if err != nil {
		return goja.Undefined()
	}
	return c.parse(b)
}

func (c *callContext) parse(b []byte) goja.Value {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return goja.Undefined()
	}
	return c.toJS(v)
}

// toJS converts a decoded Extended JSON value (or plain JSON value) to JavaScript:
// ObjectIds become BSON.ObjectId, dates Date, numbers numbers.
func (c *callContext) toJS(v any) goja.Value {
	rt := c.vm.rt
	switch x := v.(type) {
	case passThrough:
		return x.v
	case nil:
		return goja.Null()
	case bson.ObjectID:
		obj, err := rt.New(c.vm.objectID, rt.ToValue(x.Hex()))
		if err != nil {
			return rt.ToValue(x.Hex())
		}
		return obj
	case bson.DateTime:
		d, _ := rt.New(rt.Get("Date"), rt.ToValue(int64(x)))
		return d
	case int32:
		return rt.ToValue(int64(x))
	case int64:
		return rt.ToValue(x) // the engine keeps 64-bit integers exact

	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return rt.ToValue(int64(x))
		}
		return rt.ToValue(x)
	case bson.Decimal128:
		return c.plainObject(map[string]any{"$numberDecimal": x.String()})
	case bson.Binary:
		return c.plainObject(map[string]any{"$binary": map[string]any{"base64": base64.StdEncoding.EncodeToString(x.Data), "subType": fmt.Sprintf("%02x", x.Subtype)}})
	case map[string]any:
		return c.plainObject(x)
	case []any:
		arr := make([]any, len(x))
		for i, e := range x {
			arr[i] = c.toJS(e)
		}
		return rt.NewArray(arr...)
	default:
		return rt.ToValue(x)
	}
}

func (c *callContext) plainObject(m map[string]any) goja.Value {
	obj := c.vm.rt.NewObject()
	for k, e := range m {
		_ = obj.Set(k, c.toJS(e))
	}
	return obj
}
