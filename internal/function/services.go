package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dop251/goja"
	"github.com/wardenauth/warden/internal/data"
	"github.com/wardenauth/warden/internal/ejson"
	"github.com/wardenauth/warden/internal/rules"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// servicesPrelude is the JavaScript side of context.services.get(name): the MongoDB
// collection API that App Services functions use, over one native call per operation.
// Every operation returns a promise (settled at once); find and aggregate return a
// cursor with toArray() that can also be awaited directly.
const servicesPrelude = `
"use strict";
function __wardenMongoService(native, name) {
  function parse(text) {
    return JSON.parse(text, function (key, v) {
      if (v && typeof v === "object" && !Array.isArray(v)) {
        var keys = Object.keys(v);
        if (keys.length === 1) {
          switch (keys[0]) {
            case "$oid": return new BSON.ObjectId(v.$oid);
            case "$date":
              if (typeof v.$date === "string") return new Date(v.$date);
              if (v.$date && v.$date.$numberLong !== undefined) return new Date(Number(v.$date.$numberLong));
              return new Date(v.$date);
            case "$numberLong": case "$numberInt": return Number(v[keys[0]]);
            case "$numberDouble": return Number(v.$numberDouble);
          }
        }
      }
      return v;
    });
  }
  function call(action, arg) {
    return new Promise(function (resolve, reject) {
      try { resolve(parse(native(name, action, __wardenStringify(arg)))); } catch (e) { reject(e); }
    });
  }
  function cursor(run) {
    var opts = {};
    var c = {
      sort: function (s) { opts.sort = s; return c; },
      limit: function (n) { opts.limit = n; return c; },
      toArray: function () { return run(opts); },
      then: function (ok, fail) { return run(opts).then(ok, fail); },
    };
    return c;
  }
  function collection(db, coll) {
    function arg(extra) {
      var a = { database: db, collection: coll };
      for (var k in extra) if (extra[k] !== undefined) a[k] = extra[k];
      return a;
    }
    return {
      find: function (query, projection, options) {
        options = options || {};
        return cursor(function (o) {
          return call("find", arg({ query: query || {}, project: projection, sort: o.sort || options.sort, limit: o.limit || options.limit }));
        });
      },
      findOne: function (query, projection, options) {
        options = options || {};
        return call("findOne", arg({ query: query || {}, project: projection, sort: options.sort }));
      },
      count: function (query, options) { return call("count", arg({ query: query || {}, limit: (options || {}).limit })); },
      countDocuments: function (query, options) { return call("count", arg({ query: query || {}, limit: (options || {}).limit })); },
      insertOne: function (doc) { return call("insertOne", arg({ document: doc })); },
      insertMany: function (docs) { return call("insertMany", arg({ documents: docs })); },
      updateOne: function (query, update, options) {
        options = options || {};
        return call("updateOne", arg({ query: query, update: update, upsert: options.upsert, arrayFilters: options.arrayFilters }));
      },
      updateMany: function (query, update, options) {
        options = options || {};
        return call("updateMany", arg({ query: query, update: update, upsert: options.upsert, arrayFilters: options.arrayFilters }));
      },
      deleteOne: function (query) { return call("deleteOne", arg({ query: query || {} })); },
      deleteMany: function (query) { return call("deleteMany", arg({ query: query || {} })); },
      findOneAndUpdate: function (filter, update, options) {
        options = options || {};
        return call("findOneAndUpdate", arg({ filter: filter, update: update, sort: options.sort, projection: options.projection, upsert: options.upsert, returnNewDocument: options.returnNewDocument }));
      },
      findOneAndReplace: function (filter, replacement, options) {
        options = options || {};
        return call("findOneAndReplace", arg({ filter: filter, update: replacement, sort: options.sort, projection: options.projection, upsert: options.upsert, returnNewDocument: options.returnNewDocument }));
      },
      findOneAndDelete: function (filter, options) {
        options = options || {};
        return call("findOneAndDelete", arg({ filter: filter, sort: options.sort, projection: options.projection }));
      },
      aggregate: function (pipeline) {
        return cursor(function () { return call("aggregate", arg({ pipeline: pipeline })); });
      },
      watch: function () { throw new Error("watch is not available inside functions"); },
    };
  }
  return { db: function (db) { return { collection: function (coll) { return collection(db, coll); } }; } };
}
`

// servicesGet is context.services.get(name).
func (c *callContext) servicesGet(name string) goja.Value {
	rt := c.vm.rt
	if _, ok := c.engine.data.Get(name); !ok {
		panic(rt.NewGoError(fmt.Errorf("service not found: '%s'", name)))
	}
	factory, ok := goja.AssertFunction(rt.Get("__wardenMongoService"))
	if !ok {
		panic(rt.NewGoError(errors.New("function: prelude lacks __wardenMongoService")))
	}
	v, err := factory(goja.Undefined(), rt.ToValue(c.mongoNative), rt.ToValue(name))
	if err != nil {
		panic(err)
	}
	return v
}

// mongoNative runs one MongoDB action for the JavaScript side: the argument arrives as
// Extended JSON and the result leaves as relaxed Extended JSON.
func (c *callContext) mongoNative(service, action, argJSON string) string {
	rt := c.vm.rt
	src, ok := c.engine.data.Get(service)
	if !ok {
		panic(rt.NewGoError(fmt.Errorf("service not found: '%s'", service)))
	}
	arg, err := ejson.DecodeDocument([]byte(argJSON))
	if err != nil {
		panic(rt.NewTypeError("%s: invalid argument: %v", action, err))
	}
	out, err := src.Execute(c.ctx, c.dataCaller(), action, arg)
	if err != nil {
		var de *data.Error
		if errors.As(err, &de) {
			panic(rt.NewGoError(errors.New(de.Message)))
		}
		c.engine.log.Error("data source request failed", "app", c.engine.app.ClientAppID, "service", service, "action", action, "err", err)
		panic(rt.NewGoError(fmt.Errorf("%s failed: internal error", action)))
	}
	text, err := encodeExtJSON(out, false)
	if err != nil {
		panic(rt.NewGoError(err))
	}
	return string(text)
}

// dataCaller is who a data request from this call runs as: the system user for system
// functions, else the calling user under the rules.
func (c *callContext) dataCaller() data.Caller {
	if c.system || c.call.User == nil {
		return data.Caller{System: true}
	}
	return data.Caller{Env: c.engine.RulesEnv(c.ctx, c.call.User)}
}

// RulesEnv is the environment rule expressions see for a user of this engine's app.
// Functions that rules call (%function) run as the system user, within ctx.
func (e *Engine) RulesEnv(ctx context.Context, u *User) rules.Env {
	env := rules.Env{Values: e.values, Environment: e.app.EnvironmentObject(), User: u}
	env.Function = func(callCtx context.Context, name string, args []any) (any, error) {
		// The request whose rules call the function: a write it makes from there knows
		// which collections that request holds (see data's write turns).
		if callCtx == nil {
			callCtx = ctx
		}
		ctx, cancel := context.WithTimeout(callCtx, e.timeout)
		defer cancel()
		return e.CallValue(ctx, Call{Name: name, Args: args, User: u, System: true})
	}
	return env
}

// EncodeResult writes a data result (a document, an array, a number, null) for a client:
// canonical Extended JSON, as App Services answered, so that every type keeps its kind
// (an Int32 stays {"$numberInt"}, a date is {"$date":{"$numberLong"}}) for the native
// SDKs' parser, and realm-web reads it all the same.
func EncodeResult(v any) (json.RawMessage, error) { return encodeExtJSON(v, true) }

// encodeExtJSON writes any BSON value as canonical or relaxed Extended JSON.
func encodeExtJSON(v any, canonical bool) (json.RawMessage, error) {
	b, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, canonical, false)
	if err != nil {
		return nil, fmt.Errorf("encoding the result: %w", err)
	}
	var wrap struct {
		V json.RawMessage `json:"v"`
	}
	if err := json.Unmarshal(b, &wrap); err != nil {
		return nil, fmt.Errorf("encoding the result: %w", err)
	}
	return wrap.V, nil
}
