package data

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Recording the embedded store's writes for its change feed. A write to one namespace of
// the embedded store holds that namespace's write lock from before it reads what it will
// change until its events are published, so what it records is exactly what it did, and
// the events of one namespace are published in the order their writes committed.

// writeTurn is a write's turn on a namespace of the embedded store.
type writeTurn struct {
	// recording is set when the write must record its changes for the feed.
	recording bool
	hold      *pgHold // PostgreSQL's advisory lock, when nodes share the store
	unlock    func()
}

// beginWrite takes a write's turn on a namespace of the embedded store. Writes that need
// no one else out of the way (no watch to record for, not a user's update) share the
// namespace; a write that records its changes, or a user's update (computed from the
// document it read), has it alone, and when nodes share the store through PostgreSQL also
// holds PostgreSQL's advisory lock for it, so that such writes take turns on every node.
// A watch opens between writes (see watchFeed), so a write that shares the namespace can
// have no watch to record for.
//
// A write made while its request already holds the namespace's turn (a rule's %function
// writing the collection it guards) goes on in that turn rather than waiting for itself.
func (src *Source) beginWrite(ctx context.Context, ns string, alone bool) (*writeTurn, error) {
	if t := heldTurn(ctx, src, ns); t != nil {
		return &writeTurn{recording: t.recording, hold: t.hold, unlock: func() {}}, nil
	}
	l := src.namespaceLock(ns)
	if !alone {
		l.RLock()
		if !src.feed.recording(ns) {
			return &writeTurn{unlock: l.RUnlock}, nil
		}
		l.RUnlock()
	}
	l.Lock()
	t := &writeTurn{recording: src.feed.recording(ns), unlock: l.Unlock}
	if t.recording && src.feed.relay != nil {
		hold, err := src.feed.relay.lock(ctx, ns)
		if err != nil {
			l.Unlock()
			return nil, err
		}
		t.hold = hold
		t.unlock = func() { hold.release(); l.Unlock() }
	}
	return t, nil
}

// heldKey is the context key of the write turns a request holds.
type heldKey struct{}

type heldTurns struct {
	src    *Source
	ns     string
	turn   *writeTurn
	parent *heldTurns
}

// withTurn is ctx, holding the turn of ns on src.
func withTurn(ctx context.Context, src *Source, ns string, t *writeTurn) context.Context {
	parent, _ := ctx.Value(heldKey{}).(*heldTurns)
	return context.WithValue(ctx, heldKey{}, &heldTurns{src: src, ns: ns, turn: t, parent: parent})
}

// heldTurn is the turn of ns on src that ctx's request holds, or nil.
func heldTurn(ctx context.Context, src *Source, ns string) *writeTurn {
	for h, _ := ctx.Value(heldKey{}).(*heldTurns); h != nil; h = h.parent {
		if h.src == src && h.ns == ns {
			return h.turn
		}
	}
	return nil
}

// record notes one document's change for the feed, when this write is recorded. A change
// that changed nothing is no event, as in MongoDB.
func (r *request) record(op string, pre, post bson.D) {
	if !r.recording {
		return
	}
	doc := post
	if doc == nil {
		doc = pre
	}
	if doc == nil || (pre != nil && post != nil && sameDocument(pre, post)) {
		return
	}
	key, _ := get(doc, "_id")
	db, _ := get(r.arg, "database")
	coll, _ := get(r.arg, "collection")
	ev := &changeEvent{Op: op, Key: key, Pre: pre, Post: post, Wall: time.Now()}
	ev.DB, _ = db.(string)
	ev.Coll, _ = coll.(string)
	r.events = append(r.events, ev)
}

// findAll reads the documents of filter (at most limit, 0 for all), in sort order.
func (r *request) findAll(ctx context.Context, filter any, sort bson.D, limit int64) ([]bson.D, error) {
	opts := options.Find()
	if len(sort) > 0 {
		opts.SetSort(sort)
	}
	if limit > 0 {
		opts.SetLimit(limit)
	}
	var docs []bson.D
	err := r.each(ctx, filter, opts, func(doc bson.D) (bool, error) {
		docs = append(docs, doc)
		return true, nil
	})
	return docs, err
}

// idIn is a filter on the _ids of docs.
func idIn(docs []bson.D) bson.D {
	ids := make(bson.A, len(docs))
	for i, d := range docs {
		ids[i], _ = get(d, "_id")
	}
	return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
}

// idKey is a map key for an _id value of any type.
func idKey(id any) string {
	b, _ := bson.Marshal(bson.D{{Key: "k", Value: id}})
	return string(b)
}

// recordOutcome reads again the documents a write was about to change (pres) and records
// what became of each: gone (a delete), changed (an update, or a replace), or nothing. It
// is exact whatever the write did, even when it failed half-way.
func (r *request) recordOutcome(ctx context.Context, pres []bson.D, replacement bool) error {
	if !r.recording || len(pres) == 0 {
		return nil
	}
	// The write already committed: a client that went away does not lose its events.
	ctx = context.WithoutCancel(ctx)
	posts, err := r.findAll(ctx, idIn(pres), nil, 0)
	if err != nil {
		return err
	}
	after := make(map[string]bson.D, len(posts))
	for _, p := range posts {
		id, _ := get(p, "_id")
		after[idKey(id)] = p
	}
	op := "update"
	if replacement {
		op = "replace"
	}
	for _, pre := range pres {
		id, _ := get(pre, "_id")
		if post, ok := after[idKey(id)]; ok {
			r.record(op, pre, post)
		} else {
			r.record("delete", pre, nil)
		}
	}
	return nil
}

// recordInserted records the documents an insert wrote: all of them, or, when an ordered
// insertMany failed, those before the first that failed.
func (r *request) recordInserted(docs []any, err error) {
	n := len(docs)
	if err != nil {
		n = 0
		var bwe mongo.BulkWriteException
		if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 {
			n = bwe.WriteErrors[0].Index
			for _, we := range bwe.WriteErrors {
				n = min(n, we.Index)
			}
		}
	}
	for _, d := range docs[:min(n, len(docs))] {
		doc, _ := d.(bson.D)
		r.record("insert", nil, doc)
	}
}

// recordedSystemUpdate serves the system user's updateOne/updateMany/replaceOne when the
// write is recorded: the documents it matches are read first, the update is applied to
// exactly those (by _id, under the write lock nothing else changes them), and what became
// of each is recorded. Without a match, an upsert inserts as MongoDB's would.
func (r *request) recordedSystemUpdate(ctx context.Context, query bson.D, many, upsert, replacement bool, run func(filter any, upsert bool) (*mongo.UpdateResult, error)) (any, error) {
	limit := int64(1)
	if many {
		limit = 0
	}
	pres, err := r.findAll(ctx, nonNil(query), nil, limit)
	if err != nil {
		return nil, err
	}
	if len(pres) == 0 {
		res, err := run(query, upsert)
		if err != nil {
			return nil, mongoError(r.ns, err)
		}
		if res.UpsertedID != nil {
			var doc bson.D
			if err := r.coll.FindOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: res.UpsertedID}}).Decode(&doc); err == nil {
				r.record("insert", nil, doc)
			}
		}
		return updateResult(res), nil
	}
	res, err := run(and(query, idIn(pres)), false)
	if rerr := r.recordOutcome(ctx, pres, replacement); rerr != nil {
		r.src.log.Error("change feed: reading the documents an update changed failed", "namespace", r.ns, "err", rerr)
	}
	if err != nil {
		return nil, mongoError(r.ns, err)
	}
	return updateResult(res), nil
}

// recordedSystemDelete serves the system user's deleteOne/deleteMany when the write is
// recorded, as recordedSystemUpdate does.
func (r *request) recordedSystemDelete(ctx context.Context, query bson.D, many bool) (any, error) {
	limit := int64(1)
	if many {
		limit = 0
	}
	pres, err := r.findAll(ctx, nonNil(query), nil, limit)
	if err != nil || len(pres) == 0 {
		return bson.D{{Key: "deletedCount", Value: int32(0)}}, err
	}
	res, err := r.coll.DeleteMany(ctx, idIn(pres))
	if rerr := r.recordOutcome(ctx, pres, false); rerr != nil {
		r.src.log.Error("change feed: reading the documents a delete removed failed", "namespace", r.ns, "err", rerr)
	}
	if err != nil {
		return nil, mongoError(r.ns, err)
	}
	return bson.D{{Key: "deletedCount", Value: count32(res.DeletedCount)}}, nil
}

// recordedSystemFindOneAnd serves the system user's findOneAndUpdate/Replace/Delete when
// the write is recorded, as recordedSystemUpdate does. An upsert's new document is read
// back whole (returnNewDocument or not) so that its insert event is complete.
func (r *request) recordedSystemFindOneAnd(ctx context.Context, filter, sort, proj bson.D, isDelete, replacement, upsert, returnNew bool,
	run func(filter any, upsert bool, after options.ReturnDocument, proj bson.D) (bson.D, error)) (any, error) {
	if len(proj) > 0 {
		// Checked before anything is written: the projection is applied here in Go.
		if _, err := project(bson.D{}, proj); err != nil {
			return nil, err
		}
	}
	pres, err := r.findAll(ctx, nonNil(filter), sort, 1)
	if err != nil {
		return nil, err
	}
	if len(pres) == 0 {
		if isDelete || !upsert {
			return nil, nil
		}
		doc, err := run(filter, true, options.After, nil)
		if err != nil || doc == nil {
			return nil, err
		}
		r.record("insert", nil, doc)
		if !returnNew {
			return nil, nil
		}
		if len(proj) > 0 {
			return project(doc, proj)
		}
		return doc, nil
	}
	after := options.Before
	if returnNew {
		after = options.After
	}
	doc, err := run(and(filter, idIn(pres)), false, after, proj)
	if rerr := r.recordOutcome(ctx, pres, replacement); rerr != nil {
		r.src.log.Error("change feed: reading the document a findOneAnd... changed failed", "namespace", r.ns, "err", rerr)
	}
	if err != nil || doc == nil {
		return nil, err
	}
	return doc, nil
}
