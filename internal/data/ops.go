package data

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wardenauth/warden/internal/rules"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Caller is who makes a request: the system user (no rules) or a user.
type Caller struct {
	System bool
	// Env carries the user, values and environment for rule expressions.
	Env rules.Env
}

// UserRequestTimeout bounds one user's MongoDB action, on the server too (maxTimeMS).
const UserRequestTimeout = 20 * time.Second

// Actions lists the operations of the MongoDB service.
var Actions = []string{
	"find", "findOne", "count", "aggregate",
	"insertOne", "insertMany", "updateOne", "updateMany", "deleteOne", "deleteMany",
	"findOneAndUpdate", "findOneAndReplace", "findOneAndDelete", "watch",
}

// reservedDatabases are MongoDB's own databases, and the PostgreSQL schemas that the
// embedded engine over PostgreSQL must not write into; no request may touch them.
var reservedDatabases = map[string]bool{"admin": true, "local": true, "config": true, "public": true, "information_schema": true, "pg_catalog": true}

// request is one operation on one collection.
type request struct {
	src    *Source
	caller Caller
	coll   *mongo.Collection
	rules  *rules.Collection
	ns     string
	arg    bson.D
	// recording is set when this write's changes go to the embedded store's change
	// feed; events collects them until the write is done.
	recording bool
	events    []*changeEvent
}

// Execute runs one MongoDB service action ("find", "insertOne", ...) with its argument
// document ({database, collection, query, ...} as realm-web sends it) and returns the
// result as BSON values ready to be written as Extended JSON.
func (src *Source) Execute(ctx context.Context, caller Caller, action string, arg bson.D) (_ any, err error) {
	req, err := src.open(caller, arg)
	if err != nil {
		return nil, err
	}
	if src.Embedded {
		if err := embeddedTypes(arg); err != nil {
			return nil, err
		}
	}
	if !caller.System {
		// The driver sends the deadline as maxTimeMS, so the server stops the query too.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, UserRequestTimeout)
		defer cancel()
	}
	written := writtenNamespace(action, req.ns, arg)
	if src.Embedded && written == req.ns {
		// Writes to one namespace of the embedded store take turns when they must (see
		// beginWrite), and what a recorded write did goes to the change feed before the
		// next starts.
		turn, err := src.beginWrite(ctx, req.ns, !caller.System && isUpdate(action))
		if err != nil {
			return nil, err
		}
		ctx = withTurn(ctx, src, req.ns, turn)
		req.recording = turn.recording
		defer func() {
			defer turn.unlock()
			if len(req.events) == 0 {
				return
			}
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if perr := src.feed.publish(pctx, turn.hold, req.events); perr != nil {
				src.log.Error("change feed: publishing a write's events failed; this node's watches of the collection were ended, other nodes' miss them", "namespace", req.ns, "events", len(req.events), "err", perr)
			}
		}()
	}
	if src.wrote != nil {
		if ns := written; ns != "" {
			defer func() {
				// Told even when the write failed (part of an insertMany may be written),
				// unless it never started: a refused write must not let a user empty the
				// cache of everyone's custom user data at will.
				var de *Error
				if errors.As(err, &de) && (de.Kind == KindNotPermitted || de.Kind == KindInvalid) {
					return
				}
				src.wrote(ns)
			}()
		}
	}
	// Rules that call functions call them within this request (and its write turn).
	req.caller.Env.Context = ctx
	switch action {
	case "find":
		return req.find(ctx, false)
	case "findOne":
		return req.find(ctx, true)
	case "count":
		return req.count(ctx)
	case "aggregate":
		return req.aggregate(ctx)
	case "insertOne", "insertMany":
		return req.insert(ctx, action == "insertMany")
	case "updateOne", "updateMany":
		return req.update(ctx, action == "updateMany")
	case "deleteOne", "deleteMany":
		return req.delete(ctx, action == "deleteMany")
	case "findOneAndUpdate":
		return req.findOneAnd(ctx, rules.Update, false)
	case "findOneAndReplace":
		if _, ok := get(arg, "update", "replacement"); !ok {
			// realm-web 2.0.1 sends findOneAndDelete as findOneAndReplace with no update.
			return req.findOneAnd(ctx, rules.Delete, false)
		}
		return req.findOneAnd(ctx, rules.Update, true)
	case "findOneAndDelete":
		return req.findOneAnd(ctx, rules.Delete, false)
	case "watch":
		return nil, invalid("watch is a streaming call: use GET functions/call (callFunctionStreaming)")
	}
	return nil, &Error{Kind: KindUnknownAction, Message: fmt.Sprintf("function not found: '%s' (the MongoDB service has no such action)", action)}
}

// isUpdate reports whether action is an update computed from the document it reads (for
// users, in Go: see userUpdate).
func isUpdate(action string) bool {
	switch action {
	case "updateOne", "updateMany", "findOneAndUpdate", "findOneAndReplace":
		return true
	}
	return false
}

// writtenNamespace is the namespace ("db.coll") an action writes, "*" for an aggregation
// that writes elsewhere ($out, $merge: a system function's), or "" for a read.
func writtenNamespace(action, ns string, arg bson.D) string {
	switch action {
	case "insertOne", "insertMany", "updateOne", "updateMany", "deleteOne", "deleteMany",
		"findOneAndUpdate", "findOneAndReplace", "findOneAndDelete":
		return ns
	case "aggregate":
		if p, ok := get(arg, "pipeline"); ok {
			if stages, ok := p.(bson.A); ok {
				for _, st := range stages {
					if d, ok := st.(bson.D); ok && len(d) > 0 && (d[0].Key == "$out" || d[0].Key == "$merge") {
						return "*"
					}
				}
			}
		}
	}
	return ""
}

func (src *Source) open(caller Caller, arg bson.D) (*request, error) {
	db, err := stringArg(arg, "database")
	if err != nil {
		return nil, err
	}
	coll, err := stringArg(arg, "collection")
	if err != nil {
		return nil, err
	}
	if reservedDatabases[db] || strings.ContainsAny(db, "/\\. \"$\x00") {
		return nil, invalid("database name %q is not allowed", db)
	}
	if strings.HasPrefix(coll, "system.") || strings.ContainsAny(coll, "$\x00") {
		return nil, invalid("collection name %q is not allowed", coll)
	}
	req := &request{src: src, caller: caller, ns: db + "." + coll, arg: arg,
		coll: src.client.Database(db).Collection(coll)}
	if !caller.System {
		req.rules = src.Config.RulesFor(db, coll)
		if req.rules == nil {
			return nil, notPermitted("no rule exists for namespace '%s'", req.ns)
		}
	}
	return req, nil
}

// scope is what the rules add to a read or write: the filters' query and projection, and
// a query narrowing the documents to those the roles may let through.
type scope struct {
	query      any
	projection map[string]any
}

func (r *request) scope(write bool) (scope, error) {
	if r.caller.System {
		return scope{}, nil
	}
	env := r.caller.Env
	fq, fp, err := r.rules.ApplyFilters(env)
	if err != nil {
		return scope{}, r.ruleError(err)
	}
	var rq map[string]any
	if write {
		rq, _, err = r.rules.WriteQuery(env)
	} else {
		rq, _, err = r.rules.ReadQuery(env)
	}
	if errors.Is(err, rules.ErrNotCompilable) {
		rq, err = nil, nil // checked document by document
	}
	if err != nil {
		return scope{}, r.ruleError(err)
	}
	return scope{query: and(mapOrNil(fq), mapOrNil(rq)), projection: fp}, nil
}

func (r *request) ruleError(err error) error {
	r.src.log.Warn("rule evaluation failed", "namespace", r.ns, "err", err)
	return notPermitted("rule evaluation failed for namespace '%s': %v", r.ns, err)
}

// visible returns the part of doc the caller may read (doc itself for the system user),
// in the document's own field order, or nil.
func (r *request) visible(doc bson.D, sc scope) (bson.D, error) {
	if r.caller.System || doc == nil {
		return doc, nil
	}
	m, err := r.rules.Visible(r.caller.Env.WithRoot(rules.Plain(doc), nil))
	if err != nil {
		return nil, r.ruleError(err)
	}
	if m == nil {
		return nil, nil
	}
	out := keep(doc, m)
	if len(sc.projection) > 0 {
		out, err = project(out, toD(sc.projection))
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keep filters doc to the fields of allowed, keeping doc's order.
func keep(doc bson.D, allowed map[string]any) bson.D {
	out := make(bson.D, 0, len(doc))
	for _, e := range doc {
		v, ok := allowed[e.Key]
		if !ok {
			continue
		}
		if sub, isDoc := e.Value.(bson.D); isDoc {
			if m, isMap := v.(map[string]any); isMap && len(m) < len(sub) {
				out = append(out, bson.E{Key: e.Key, Value: keep(sub, m)})
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// each runs fn on every document of a find until fn says stop.
func (r *request) each(ctx context.Context, filter any, opts *options.FindOptionsBuilder, fn func(bson.D) (bool, error)) error {
	cur, err := r.coll.Find(ctx, nonNil(filter), opts)
	if err != nil {
		return mongoError(r.ns, err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var doc bson.D
		if err := cur.Decode(&doc); err != nil {
			return fmt.Errorf("%s: decoding a document: %w", r.ns, err)
		}
		more, err := fn(doc)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return mongoError(r.ns, cur.Err())
}

func (r *request) find(ctx context.Context, one bool) (any, error) {
	query, err := docArg(r.arg, "query", "filter")
	if err != nil {
		return nil, err
	}
	proj, err := docArg(r.arg, "project", "projection")
	if err != nil {
		return nil, err
	}
	sort, err := docArg(r.arg, "sort")
	if err != nil {
		return nil, err
	}
	limit, err := intArg(r.arg, "limit")
	if err != nil {
		return nil, err
	}
	if one {
		limit = 1
	}
	opts := options.Find()
	if len(sort) > 0 {
		opts.SetSort(sort)
	}
	if r.caller.System {
		if len(proj) > 0 {
			opts.SetProjection(proj)
		}
		if limit > 0 {
			opts.SetLimit(limit)
		}
	}
	sc, err := r.guardedScope(false, query, sort)
	if err != nil {
		return nil, err
	}
	docs := bson.A{}
	err = r.each(ctx, and(query, sc.query), opts, func(doc bson.D) (bool, error) {
		v, err := r.visible(doc, sc)
		if err != nil || v == nil {
			return true, err
		}
		if !r.caller.System && len(proj) > 0 {
			if v, err = project(v, proj); err != nil {
				return false, err
			}
		}
		docs = append(docs, v)
		return limit <= 0 || int64(len(docs)) < limit, nil
	})
	if err != nil {
		return nil, err
	}
	if one {
		if len(docs) == 0 {
			return nil, nil
		}
		return docs[0], nil
	}
	return docs, nil
}

func (r *request) count(ctx context.Context) (any, error) {
	query, err := docArg(r.arg, "query", "filter")
	if err != nil {
		return nil, err
	}
	limit, err := intArg(r.arg, "limit")
	if err != nil {
		return nil, err
	}
	if r.caller.System {
		opts := options.Count()
		if limit > 0 {
			opts.SetLimit(limit)
		}
		n, err := r.coll.CountDocuments(ctx, nonNil(query), opts)
		return n, mongoError(r.ns, err)
	}
	sc, err := r.guardedScope(false, query, nil)
	if err != nil {
		return nil, err
	}
	var n int64
	err = r.each(ctx, and(query, sc.query), options.Find(), func(doc bson.D) (bool, error) {
		v, err := r.visible(doc, sc)
		if err != nil {
			return false, err
		}
		if v != nil {
			n++
		}
		return limit <= 0 || n < limit, nil
	})
	return n, err
}

// stagesForbiddenToUsers read or write other collections, or the server's state, and so
// would step around the rules.
var stagesForbiddenToUsers = map[string]bool{
	"$out": true, "$merge": true, "$lookup": true, "$graphLookup": true, "$unionWith": true,
	"$collStats": true, "$indexStats": true, "$currentOp": true, "$listSessions": true,
	"$planCacheStats": true, "$documents": true, "$changeStream": true, "$listLocalSessions": true,
}

// embeddedTypes refuses the BSON types the embedded engine cannot hold (FerretDB v1 drops
// the connection on them) with an error that names the type, before the engine sees it.
func embeddedTypes(v any) error {
	var name string
	switch x := v.(type) {
	case bson.Decimal128:
		name = "Decimal128"
	case bson.MinKey:
		name = "MinKey"
	case bson.MaxKey:
		name = "MaxKey"
	case bson.D:
		for _, e := range x {
			if err := embeddedTypes(e.Value); err != nil {
				return err
			}
		}
	case bson.A:
		for _, e := range x {
			if err := embeddedTypes(e); err != nil {
				return err
			}
		}
	}
	if name != "" {
		return &Error{Kind: KindUnsupported, Message: name + " values are not supported by the embedded data store: connect this data source to MongoDB (--mongodb-uri) to store them"}
	}
	return nil
}

// checkPipeline refuses, anywhere in a user's pipeline (in $facet, in a sub-pipeline, in
// an expression), a stage that reaches beyond the collection and an operator that runs
// code.
func checkPipeline(v any) error {
	switch x := v.(type) {
	case bson.D:
		for _, e := range x {
			if stagesForbiddenToUsers[e.Key] {
				return notPermitted("aggregation stage %s is not permitted for users (it would bypass the rules)", e.Key)
			}
			if operatorsForbiddenToUsers[e.Key] {
				return notPermitted("%s is not permitted for users", e.Key)
			}
			if err := checkPipeline(e.Value); err != nil {
				return err
			}
		}
	case bson.A:
		for _, e := range x {
			if err := checkPipeline(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *request) aggregate(ctx context.Context) (any, error) {
	raw, ok := get(r.arg, "pipeline")
	if !ok {
		return nil, invalid("aggregate needs a pipeline")
	}
	list, ok := raw.(bson.A)
	if !ok {
		return nil, invalid("pipeline must be an array of stages")
	}
	pipeline := make(bson.A, 0, len(list)+2)
	if !r.caller.System {
		for _, st := range list {
			d, ok := st.(bson.D)
			if !ok || len(d) != 1 {
				return nil, invalid("each pipeline stage must be a document with one stage name")
			}
		}
		if err := checkPipeline(list); err != nil {
			return nil, err
		}
		if !r.rules.DocumentLevelOnly() {
			return nil, notPermitted("aggregate is not permitted on '%s': its roles have field-level permissions", r.ns)
		}
		env := r.caller.Env
		fq, fp, err := r.rules.ApplyFilters(env)
		if err != nil {
			return nil, r.ruleError(err)
		}
		rq, _, err := r.rules.ReadQuery(env)
		if errors.Is(err, rules.ErrNotCompilable) {
			return nil, notPermitted("aggregate is not permitted on '%s': its roles cannot be applied to a pipeline", r.ns)
		}
		if err != nil {
			return nil, r.ruleError(err)
		}
		if m := and(mapOrNil(fq), mapOrNil(rq)); m != nil {
			pipeline = append(pipeline, bson.D{{Key: "$match", Value: m}})
		}
		if len(fp) > 0 {
			pipeline = append(pipeline, bson.D{{Key: "$project", Value: toD(fp)}})
		}
	}
	pipeline = append(pipeline, list...)
	cur, err := r.coll.Aggregate(ctx, pipeline)
	if err != nil {
		return nil, mongoError(r.ns, err)
	}
	var out []bson.D
	if err := cur.All(ctx, &out); err != nil {
		return nil, mongoError(r.ns, err)
	}
	res := make(bson.A, len(out))
	for i, d := range out {
		res[i] = d
	}
	return res, nil
}

func (r *request) insert(ctx context.Context, many bool) (any, error) {
	var docs []bson.D
	if many {
		raw, ok := get(r.arg, "documents")
		list, isArr := raw.(bson.A)
		if !ok || !isArr || len(list) == 0 {
			return nil, invalid("insertMany needs a non-empty array of documents")
		}
		for _, e := range list {
			d, ok := e.(bson.D)
			if !ok {
				return nil, invalid("every element of documents must be a document")
			}
			docs = append(docs, d)
		}
	} else {
		raw, ok := get(r.arg, "document")
		d, isDoc := raw.(bson.D)
		if !ok || !isDoc {
			return nil, invalid("insertOne needs a document")
		}
		docs = []bson.D{d}
	}
	ids := make(bson.A, len(docs))
	write := make([]any, len(docs))
	for i, d := range docs {
		if v, ok := get(d, "_id"); ok {
			ids[i] = v
		} else {
			id := bson.NewObjectID()
			d = append(bson.D{{Key: "_id", Value: id}}, d...)
			ids[i] = id
		}
		if !r.caller.System {
			ok, err := r.rules.CanWrite(rules.Insert, r.caller.Env.WithRoot(rules.Plain(d), nil), nil)
			if err != nil {
				return nil, r.ruleError(err)
			}
			if !ok {
				return nil, notPermitted("insert not permitted")
			}
		}
		write[i] = d
	}
	if many {
		_, err := r.coll.InsertMany(ctx, write)
		r.recordInserted(write, err)
		if err != nil {
			return nil, r.insertError(err)
		}
		return bson.D{{Key: "insertedIds", Value: ids}}, nil
	}
	_, err := r.coll.InsertOne(ctx, write[0])
	r.recordInserted(write, err)
	if err != nil {
		return nil, r.insertError(err)
	}
	return bson.D{{Key: "insertedId", Value: ids[0]}}, nil
}

// updateArg reads the update document: operators, or a replacement (no $ keys).
func updateArg(arg bson.D) (update bson.D, replacement bool, err error) {
	raw, ok := get(arg, "update", "replacement")
	if !ok {
		return nil, false, invalid("an update document is required")
	}
	update, ok = raw.(bson.D)
	if !ok {
		if a, isArr := raw.(bson.A); isArr && len(a) > 0 {
			return nil, false, invalid("update pipelines are not supported; use update operators")
		}
		return nil, false, invalid("update must be a document")
	}
	ops := 0
	for _, e := range update {
		if strings.HasPrefix(e.Key, "$") {
			ops++
		}
	}
	if ops > 0 && ops != len(update) {
		return nil, false, invalid("an update document may not mix update operators and fields")
	}
	return update, ops == 0, nil
}

func (r *request) update(ctx context.Context, many bool) (any, error) {
	query, err := docArg(r.arg, "query", "filter")
	if err != nil {
		return nil, err
	}
	update, replacement, err := updateArg(r.arg)
	if err != nil {
		return nil, err
	}
	if replacement && many {
		// MongoDB refuses replacement documents for multi-updates; App Services set the fields.
		update, replacement = bson.D{{Key: "$set", Value: update}}, false
	}
	upsert, err := boolArg(r.arg, "upsert")
	if err != nil {
		return nil, err
	}
	arrayFilters, _ := get(r.arg, "arrayFilters")

	run := func(filter any, upsert bool) (*mongo.UpdateResult, error) {
		filter = nonNil(filter)
		if replacement {
			return r.coll.ReplaceOne(ctx, filter, update, options.Replace().SetUpsert(upsert))
		}
		opts := options.UpdateOne().SetUpsert(upsert)
		if af, ok := arrayFilters.(bson.A); ok && len(af) > 0 {
			opts.SetArrayFilters([]any(af))
		}
		if many {
			mo := options.UpdateMany().SetUpsert(upsert)
			if af, ok := arrayFilters.(bson.A); ok && len(af) > 0 {
				mo.SetArrayFilters([]any(af))
			}
			return r.coll.UpdateMany(ctx, filter, update, mo)
		}
		return r.coll.UpdateOne(ctx, filter, update, opts)
	}

	if r.caller.System {
		if r.recording {
			return r.recordedSystemUpdate(ctx, query, many, upsert, replacement, run)
		}
		res, err := run(query, upsert)
		if err != nil {
			return nil, mongoError(r.ns, err)
		}
		return updateResult(res), nil
	}
	if arrayFilters != nil {
		return nil, invalid("arrayFilters are not supported for users' updates: use the array index, or call a system function")
	}
	res, err := r.userUpdate(ctx, query, nil, update, replacement, !many, upsert)
	if err != nil {
		return nil, err
	}
	out := bson.D{{Key: "matchedCount", Value: int32(res.matched)}, {Key: "modifiedCount", Value: int32(res.modified)}}
	if res.upsertedID != nil {
		out = append(out, bson.E{Key: "upsertedId", Value: res.upsertedID})
	}
	return out, nil
}

// The counts of write results are Int32, as App Services answered them and as realm-core
// reads them (mongo_collection.cpp reads matchedCount, modifiedCount and deletedCount with
// get<int32_t>); count's answer is Int64.

func count32(n int64) int32 {
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(n)
}

func updateResult(res *mongo.UpdateResult) bson.D {
	out := bson.D{{Key: "matchedCount", Value: count32(res.MatchedCount)}, {Key: "modifiedCount", Value: count32(res.ModifiedCount)}}
	if res.UpsertedID != nil {
		out = append(out, bson.E{Key: "upsertedId", Value: res.UpsertedID})
	}
	return out
}

// writable finds the documents a write would touch and checks each against the rules:
// documents no role applies to are skipped (the caller cannot see them), and a document
// whose role refuses the write refuses the whole request before anything changes.
func (r *request) writable(ctx context.Context, filter any, opts *options.FindOptionsBuilder, one bool, kind rules.Write, changed func(map[string]any) []string) ([]bson.D, error) {
	var docs []bson.D
	err := r.each(ctx, filter, opts, func(doc bson.D) (bool, error) {
		m := rules.Plain(doc)
		env := r.caller.Env.WithRoot(m, nil)
		role, err := r.rules.RoleFor(env)
		if err != nil {
			return false, r.ruleError(err)
		}
		if role == nil {
			return true, nil
		}
		var fields []string
		if changed != nil {
			fields = changed(m)
		}
		ok, err := r.rules.CanWrite(kind, env, fields)
		if err != nil {
			return false, r.ruleError(err)
		}
		if !ok {
			return false, notPermitted("%s not permitted", kind)
		}
		docs = append(docs, doc)
		return !one, nil
	})
	return docs, err
}

func (r *request) delete(ctx context.Context, many bool) (any, error) {
	query, err := docArg(r.arg, "query", "filter")
	if err != nil {
		return nil, err
	}
	var res *mongo.DeleteResult
	if r.caller.System {
		if r.recording {
			return r.recordedSystemDelete(ctx, query, many)
		}
		if many {
			res, err = r.coll.DeleteMany(ctx, nonNil(query))
		} else {
			res, err = r.coll.DeleteOne(ctx, nonNil(query))
		}
		if err != nil {
			return nil, mongoError(r.ns, err)
		}
		return bson.D{{Key: "deletedCount", Value: count32(res.DeletedCount)}}, nil
	}
	sc, err := r.guardedScope(true, query, nil)
	if err != nil {
		return nil, err
	}
	pres, err := r.writable(ctx, and(query, sc.query), options.Find(), !many, rules.Delete, nil)
	if err != nil {
		return nil, err
	}
	if len(pres) == 0 {
		return bson.D{{Key: "deletedCount", Value: int32(0)}}, nil
	}
	res, err = r.coll.DeleteMany(ctx, and(sc.query, idIn(pres)))
	if rerr := r.recordOutcome(ctx, pres, false); rerr != nil {
		r.src.log.Error("change feed: reading the documents a delete removed failed", "namespace", r.ns, "err", rerr)
	}
	if err != nil {
		return nil, mongoError(r.ns, err)
	}
	return bson.D{{Key: "deletedCount", Value: count32(res.DeletedCount)}}, nil
}

// findOneAnd serves findOneAndUpdate, findOneAndReplace and findOneAndDelete.
func (r *request) findOneAnd(ctx context.Context, kind rules.Write, mustReplace bool) (any, error) {
	filter, err := docArg(r.arg, "filter", "query")
	if err != nil {
		return nil, err
	}
	sort, err := docArg(r.arg, "sort")
	if err != nil {
		return nil, err
	}
	proj, err := docArg(r.arg, "projection", "project")
	if err != nil {
		return nil, err
	}
	upsert, err := boolArg(r.arg, "upsert")
	if err != nil {
		return nil, err
	}
	returnNew, err := boolArg(r.arg, "returnNewDocument")
	if err != nil {
		return nil, err
	}
	var update bson.D
	replacement := false
	if kind == rules.Update {
		if update, replacement, err = updateArg(r.arg); err != nil {
			return nil, err
		}
		if mustReplace && !replacement {
			return nil, invalid("findOneAndReplace: the replacement document may not contain update operators")
		}
	}
	after := options.Before
	if returnNew {
		after = options.After
	}
	run := func(filter any, upsert bool, after options.ReturnDocument, proj bson.D) (bson.D, error) {
		filter = nonNil(filter)
		var res *mongo.SingleResult
		switch {
		case kind == rules.Delete:
			o := options.FindOneAndDelete()
			if len(sort) > 0 {
				o.SetSort(sort)
			}
			if len(proj) > 0 {
				o.SetProjection(proj)
			}
			res = r.coll.FindOneAndDelete(ctx, filter, o)
		case replacement:
			o := options.FindOneAndReplace().SetUpsert(upsert).SetReturnDocument(after)
			if len(sort) > 0 {
				o.SetSort(sort)
			}
			if len(proj) > 0 {
				o.SetProjection(proj)
			}
			res = r.coll.FindOneAndReplace(ctx, filter, update, o)
		default:
			o := options.FindOneAndUpdate().SetUpsert(upsert).SetReturnDocument(after)
			if len(sort) > 0 {
				o.SetSort(sort)
			}
			if len(proj) > 0 {
				o.SetProjection(proj)
			}
			res = r.coll.FindOneAndUpdate(ctx, filter, update, o)
		}
		var doc bson.D
		if err := res.Decode(&doc); errors.Is(err, mongo.ErrNoDocuments) {
			return nil, nil
		} else if err != nil {
			return nil, mongoError(r.ns, err)
		}
		return doc, nil
	}
	if r.caller.System && r.recording {
		return r.recordedSystemFindOneAnd(ctx, filter, sort, proj, kind == rules.Delete, replacement, upsert, returnNew, run)
	}
	if r.caller.System {
		doc, err := run(filter, upsert, after, proj)
		if err != nil || doc == nil {
			return nil, err
		}
		return doc, nil
	}
	if kind == rules.Update {
		res, err := r.userUpdate(ctx, filter, sort, update, replacement, true, upsert)
		if err != nil {
			return nil, err
		}
		var doc bson.D
		switch {
		case res.upsertedID != nil && returnNew:
			doc = res.inserted
		case len(res.changes) > 0 && returnNew:
			doc = res.changes[0].post
		case len(res.changes) > 0:
			doc = res.changes[0].pre
		}
		return r.returnDocument(doc, proj)
	}
	sc, err := r.guardedScope(true, filter, sort)
	if err != nil {
		return nil, err
	}
	opts := options.Find()
	if len(sort) > 0 {
		opts.SetSort(sort)
	}
	pres, err := r.writable(ctx, and(filter, sc.query), opts, true, kind, nil)
	if err != nil {
		return nil, err
	}
	if len(pres) == 0 {
		return nil, nil
	}
	doc, err := run(and(sc.query, idIn(pres)), false, after, nil)
	if err != nil || doc == nil {
		return nil, err
	}
	r.record("delete", doc, nil)
	return r.returnDocument(doc, proj)
}

// returnDocument is what a findOneAnd... answers a user: the part of doc it may read,
// projected.
func (r *request) returnDocument(doc, proj bson.D) (any, error) {
	if doc == nil {
		return nil, nil
	}
	sc, err := r.scope(false)
	if err != nil {
		return nil, err
	}
	v, err := r.visible(doc, sc)
	if err != nil || v == nil {
		return nil, err
	}
	if len(proj) > 0 {
		return project(v, proj)
	}
	return v, nil
}
