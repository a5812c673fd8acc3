package data

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/wardenauth/warden/internal/rules"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// change is one document a user's update changes: as it was read, and as it is written.
type change struct{ pre, post bson.D }

// updated is what a user's update did.
type updated struct {
	matched, modified int
	changes           []change
	// upsertedID and inserted are set when an upsert inserted a document.
	upsertedID any
	inserted   bson.D
}

// maxUpdateTries bounds how often one document is re-read when it changes between being
// checked and being written.
const maxUpdateTries = 5

// userUpdate serves a user's updateOne/updateMany and findOneAndUpdate/Replace under the
// rules. It matches only documents the caller may write (the query AND the rules' write
// scope); for each, the role that applies to the document before the change must permit
// the update, and so must the role that applies to the document after it (with %%prevRoot
// the document before). Nothing is written unless every matched document passes. Each
// document is then written as the computed replacement, guarded by the document it was
// computed from, so a concurrent change makes it re-read and re-checked, never written
// unchecked. With upsert and no writable match, a document is inserted, and it must pass
// the insert rules; a document the caller may not write is never matched by an upsert.
func (r *request) userUpdate(ctx context.Context, query, sort, update bson.D, replacement, one, upsert bool) (*updated, error) {
	// On the embedded engine, writes to one collection take turns (Execute holds the
	// namespace's write lock), so none is computed from a document another is changing
	// (the guard below is exact on MongoDB, field by field there).
	sc, err := r.guardedScope(true, query, sort)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	opts := options.Find()
	if len(sort) > 0 {
		opts.SetSort(sort)
	}
	res := &updated{}
	// First every matched document is checked; only the keys are kept (an updateMany
	// may match many documents). Nothing is written unless all pass.
	var ids []any
	err = r.each(ctx, and(query, sc.query), opts, func(pre bson.D) (bool, error) {
		post, applies, err := r.checkUpdate(pre, update, replacement, now)
		if err != nil || !applies {
			return true, err
		}
		if one {
			res.changes = append(res.changes, change{pre: pre, post: post})
			return false, nil
		}
		id, _ := get(pre, "_id")
		ids = append(ids, id)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if len(res.changes) == 0 && len(ids) == 0 {
		if upsert {
			return res, r.upsertInsert(ctx, query, update, replacement, now, res)
		}
		return res, nil
	}
	for i, c := range res.changes {
		c, written, err := r.writeChange(ctx, sc, c, update, replacement, now)
		if err != nil {
			return nil, err
		}
		res.changes[i] = c
		res.count(c, written)
	}
	// Then each document of an updateMany is read again, checked again and written.
	for _, id := range ids {
		var pre bson.D
		err := r.coll.FindOne(ctx, and(sc.query, bson.D{{Key: "_id", Value: id}})).Decode(&pre)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, mongoError(r.ns, err)
		}
		post, applies, err := r.checkUpdate(pre, update, replacement, now)
		if err != nil {
			return nil, err
		}
		if !applies {
			continue
		}
		c, written, err := r.writeChange(ctx, sc, change{pre: pre, post: post}, update, replacement, now)
		if err != nil {
			return nil, err
		}
		res.count(c, written)
	}
	return res, nil
}

func (res *updated) count(c change, written bool) {
	if !written {
		return
	}
	res.matched++
	if !sameDocument(c.pre, c.post) {
		res.modified++
	}
}

// checkUpdate computes what update makes of pre and checks both sides against the rules.
// applies is false for a document no role applies to (the caller cannot see it).
//
// Write permission is needed on every field the update names, whether or not its value
// changes, and on every field that changes: otherwise an update that changes nothing
// ({$min: {hidden: guess}}) would tell, by being allowed or not, what a hidden field
// holds. The named fields are checked before the update is computed, so that its errors
// ("not a number") cannot tell either.
func (r *request) checkUpdate(pre, update bson.D, replacement bool, now time.Time) (post bson.D, applies bool, err error) {
	before := rules.Plain(pre)
	env := r.caller.Env.WithRoot(before, nil)
	role, err := r.rules.RoleFor(env)
	if err != nil {
		return nil, false, r.ruleError(err)
	}
	if role == nil {
		return nil, false, nil
	}
	named := namedFields(update, replacement, pre)
	ok, err := r.rules.CanWrite(rules.Update, env, named)
	if err != nil {
		return nil, false, r.ruleError(err)
	}
	if !ok {
		return nil, false, notPermitted("update not permitted")
	}
	post, err = applyUpdate(pre, update, replacement, false, now)
	if err != nil {
		return nil, false, err
	}
	if err := checkSize(post); err != nil {
		return nil, false, err
	}
	after := rules.Plain(post)
	fields := append(named, diffFields(pre, post)...)
	ok, err = r.rules.CanWrite(rules.Update, env, fields)
	if err != nil {
		return nil, false, r.ruleError(err)
	}
	if ok {
		ok, err = r.rules.CanWrite(rules.Update, r.caller.Env.WithRoot(after, before), fields)
		if err != nil {
			return nil, false, r.ruleError(err)
		}
	}
	if !ok {
		return nil, false, notPermitted("update not permitted")
	}
	return post, true, nil
}

// namedFields lists the top-level fields an update names: the fields of its operators
// (both names of a $rename), or, for a replacement, every field of the document before
// and of the replacement.
func namedFields(update bson.D, replacement bool, pre bson.D) []string {
	var out []string
	add := func(path string) {
		top, _, _ := strings.Cut(path, ".")
		if top != "_id" {
			out = append(out, top)
		}
	}
	if replacement {
		for _, e := range pre {
			add(e.Key)
		}
		for _, e := range update {
			add(e.Key)
		}
		return out
	}
	for _, op := range update {
		fields, _ := op.Value.(bson.D)
		for _, f := range fields {
			add(f.Key)
			if to, ok := f.Value.(string); ok && op.Key == "$rename" {
				add(to)
			}
		}
	}
	return out
}

// maxDocumentBytes is MongoDB's bound on a document.
const maxDocumentBytes = 16 << 20

func checkSize(doc bson.D) error {
	b, err := bson.Marshal(doc)
	if err != nil {
		return invalid("the updated document cannot be encoded: %v", err)
	}
	if len(b) > maxDocumentBytes {
		return invalid("the updated document would be larger than 16 MiB")
	}
	return nil
}

// writeChange writes one checked change, guarded by the document as it was read. When the
// document changed in between, it is read again and checked again; written is false when
// it is gone or no longer the caller's to write.
func (r *request) writeChange(ctx context.Context, sc scope, c change, update bson.D, replacement bool, now time.Time) (change, bool, error) {
	id, _ := get(c.pre, "_id")
	for try := 0; ; try++ {
		res, err := r.coll.ReplaceOne(ctx, and(sc.query, r.pin(c.pre)), c.post)
		if err != nil {
			return c, false, mongoError(r.ns, err)
		}
		if res.MatchedCount > 0 {
			op := "update"
			if replacement {
				op = "replace"
			}
			r.record(op, c.pre, c.post)
			return c, true, nil
		}
		if try == maxUpdateTries {
			return c, false, &Error{Kind: KindMongo, Message: r.ns + ": the document kept changing while it was being updated; try again"}
		}
		var pre bson.D
		err = r.coll.FindOne(ctx, and(sc.query, bson.D{{Key: "_id", Value: id}})).Decode(&pre)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return c, false, nil
		}
		if err != nil {
			return c, false, mongoError(r.ns, err)
		}
		post, applies, err := r.checkUpdate(pre, update, replacement, now)
		if err != nil || !applies {
			return c, false, err
		}
		c = change{pre: pre, post: post}
	}
}

// upsertInsert inserts the document an upsert creates when nothing the caller may write
// matched: the query's equality conditions with the update applied ($setOnInsert too),
// or the replacement with the query's _id. It must pass the insert rules.
func (r *request) upsertInsert(ctx context.Context, query, update bson.D, replacement bool, now time.Time, res *updated) error {
	seed := bson.D{}
	if replacement {
		if id, ok := equalityOf(query, "_id"); ok {
			seed = bson.D{{Key: "_id", Value: id}}
		}
	} else {
		var err error
		if seed, err = upsertSeed(query, seed); err != nil {
			return err
		}
	}
	doc, err := applyUpdate(seed, update, replacement, true, now)
	if err != nil {
		return err
	}
	id, ok := get(doc, "_id")
	if !ok {
		id = bson.NewObjectID()
		doc = append(bson.D{{Key: "_id", Value: id}}, doc...)
	}
	ok, err = r.rules.CanWrite(rules.Insert, r.caller.Env.WithRoot(rules.Plain(doc), nil), nil)
	if err != nil {
		return r.ruleError(err)
	}
	if !ok {
		return notPermitted("insert not permitted")
	}
	if _, err := r.coll.InsertOne(ctx, doc); err != nil {
		return r.insertError(err)
	}
	r.record("insert", nil, doc)
	res.upsertedID, res.inserted = id, doc
	return nil
}

// pin is a filter that matches the document only while it is exactly as it was read:
// on MongoDB the whole document compared at once; on the embedded engine (which lacks
// $expr on $$ROOT) every top-level field of it.
func (r *request) pin(pre bson.D) bson.D {
	if r.src.Embedded {
		return pinPreImage(pre)
	}
	id, _ := get(pre, "_id")
	return bson.D{{Key: "_id", Value: id}, {Key: "$expr", Value: bson.D{{Key: "$eq", Value: bson.A{"$$ROOT", bson.D{{Key: "$literal", Value: pre}}}}}}}
}

// insertError answers a user's failed insert. A duplicate key says only that: not which
// key, nor whose document holds it.
func (r *request) insertError(err error) error {
	if !r.caller.System && mongo.IsDuplicateKeyError(err) {
		return &Error{Kind: KindMongo, Message: r.ns + ": duplicate key: a document with the same unique key already exists", Err: err}
	}
	return mongoError(r.ns, err)
}

// upsertSeed adds a query's top-level equality conditions to doc, as MongoDB does for the
// document an upsert creates.
func upsertSeed(query, doc bson.D) (bson.D, error) {
	for _, e := range query {
		if e.Key == "$and" {
			list, _ := e.Value.(bson.A)
			for _, c := range list {
				if d, ok := c.(bson.D); ok {
					var err error
					if doc, err = upsertSeed(d, doc); err != nil {
						return nil, err
					}
				}
			}
			continue
		}
		if strings.HasPrefix(e.Key, "$") {
			continue
		}
		v, ok := equalityOf(bson.D{e}, e.Key)
		if !ok {
			continue
		}
		var err error
		if doc, err = setPath(doc, e.Key, cloneValue(v)); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// equalityOf returns the value a query requires field to equal ({field: v} or
// {field: {$eq: v}}), if it does.
func equalityOf(query bson.D, field string) (any, bool) {
	v, ok := get(query, field)
	if !ok {
		return nil, false
	}
	if d, isDoc := v.(bson.D); isDoc && len(d) > 0 && strings.HasPrefix(d[0].Key, "$") {
		if d[0].Key == "$eq" && len(d) == 1 {
			return d[0].Value, true
		}
		return nil, false
	}
	if _, isRegex := v.(bson.Regex); isRegex {
		return nil, false
	}
	return v, true
}

// diffFields lists the top-level fields whose values differ between two documents
// (compared as ordered BSON, types included).
func diffFields(before, after bson.D) []string {
	var out []string
	for _, e := range after {
		if old, ok := get(before, e.Key); !ok || !sameValue(old, e.Value) {
			out = append(out, e.Key)
		}
	}
	for _, e := range before {
		if _, ok := get(after, e.Key); !ok {
			out = append(out, e.Key)
		}
	}
	return out
}

func sameValue(a, b any) bool {
	ea, err1 := bson.Marshal(bson.D{{Key: "v", Value: a}})
	eb, err2 := bson.Marshal(bson.D{{Key: "v", Value: b}})
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb)
}

// sameDocument reports whether two documents encode alike (MongoDB's "modified" test).
func sameDocument(a, b bson.D) bool {
	ea, err1 := bson.Marshal(a)
	eb, err2 := bson.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb)
}
