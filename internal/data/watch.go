package data

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ChangeStream is an open watch: the change events of one collection that the caller
// may see.
type ChangeStream struct {
	req *request
	cs  *mongo.ChangeStream // MongoDB's change stream
	sc  scope
	all bool

	// On the embedded store: the watch's place in the feed, and its ids and filter.
	sub   *subscription
	ids   bson.A
	match *matcher
	n     uint64 // events given to the caller, which numbers them

	slot *subscription // a MongoDB stream's place in the limits
}

// streamUser is whom a stream counts against ("" for the system user, who has no limit
// of its own).
func streamUser(c Caller) string {
	if c.System || c.Env.User == nil {
		return ""
	}
	return c.Env.User.ID
}

// Watch opens a change stream on the collection of arg ({database, collection[, ids]
// [, filter]}): ids limits it to documents with those _ids, filter is a $match over
// the change events. On MongoDB it is MongoDB's change stream (a replica set or sharded
// cluster); on the embedded store it is the store's own change feed, fed by the writes
// that pass through this server.
func (src *Source) Watch(ctx context.Context, caller Caller, arg bson.D) (*ChangeStream, error) {
	req, err := src.open(caller, arg)
	if err != nil {
		return nil, err
	}
	if src.Embedded {
		if err := embeddedTypes(arg); err != nil {
			return nil, err
		}
	}
	var ids bson.A
	pipeline := bson.A{}
	if raw, ok := get(arg, "ids"); ok && raw != nil {
		var isArr bool
		if ids, isArr = raw.(bson.A); !isArr {
			return nil, invalid("'ids' must be an array")
		}
		pipeline = append(pipeline, bson.D{{Key: "$match", Value: bson.D{{Key: "documentKey._id", Value: bson.D{{Key: "$in", Value: ids}}}}}})
	}
	filter, err := docArg(arg, "filter")
	if err != nil {
		return nil, err
	}
	if !caller.System {
		sc, err := req.scope(false)
		if err != nil {
			return nil, err
		}
		if err := req.checkEventFilter(filter, sc); err != nil {
			return nil, err
		}
	}
	if len(filter) > 0 {
		pipeline = append(pipeline, bson.D{{Key: "$match", Value: filter}})
	}
	s := &ChangeStream{req: req}
	if !caller.System {
		fq, fp, err := req.rules.ApplyFilters(caller.Env)
		if err != nil {
			return nil, req.ruleError(err)
		}
		if len(fq) > 0 || len(fp) > 0 {
			return nil, notPermitted("watch is not available to users on '%s': a filter of its rules applies, and filters cannot be applied to change events", req.ns)
		}
		if s.sc, err = req.scope(false); err != nil {
			return nil, err
		}
		_, s.all, _ = req.rules.ReadQuery(caller.Env)
		s.all = s.all && req.rules.DocumentLevelOnly()
	}
	if src.Embedded {
		return src.watchFeed(s, ids, filter)
	}
	// MongoDB's streams count against the same limits as the embedded store's.
	slot, err := src.feed.subscribe(req.ns, streamUser(caller))
	if err != nil {
		return nil, err
	}
	opts := options.ChangeStream().SetFullDocument(options.UpdateLookup)
	cs, err := req.coll.Watch(ctx, pipeline, opts)
	if err != nil {
		slot.close()
		return nil, mongoError(req.ns, err)
	}
	s.cs, s.slot = cs, slot
	return s, nil
}

// Next waits for the next event the caller may see. It returns nil and the stream's
// error when the stream ends (ctx canceled, or MongoDB failed).
func (s *ChangeStream) Next(ctx context.Context) (bson.D, error) {
	if s.sub != nil {
		return s.nextFromFeed(ctx)
	}
	for s.cs.Next(ctx) {
		var ev bson.D
		if err := s.cs.Decode(&ev); err != nil {
			return nil, fmt.Errorf("watch: decoding an event: %w", err)
		}
		out, err := s.redact(ev)
		if err != nil {
			return nil, err
		}
		if out != nil {
			return out, nil
		}
	}
	if err := s.cs.Err(); err != nil {
		return nil, mongoError(s.req.ns, err)
	}
	return nil, ctx.Err()
}

// redact returns the part of a change event the caller may see, or nil when it may see
// none: fullDocument as a find would show it, and of updateDescription only the fields
// the caller may read.
func (s *ChangeStream) redact(ev bson.D) (bson.D, error) {
	if s.req.caller.System {
		return ev, nil
	}
	full, hasDoc := get(ev, "fullDocument")
	doc, isDoc := full.(bson.D)
	if !hasDoc || !isDoc {
		// A delete (or a document gone by lookup time): no document to judge it by,
		// so only callers who may read the whole collection see it.
		if s.all {
			return ev, nil
		}
		return nil, nil
	}
	visible, err := s.req.visible(doc, s.sc)
	if err != nil || visible == nil {
		return nil, err
	}
	op, _ := get(ev, "operationType")
	out := make(bson.D, 0, len(ev))
	for _, e := range ev {
		switch e.Key {
		case "fullDocument":
			e.Value = visible
		case "updateDescription":
			desc, _ := e.Value.(bson.D)
			r := s.redactUpdate(desc, visible)
			upd, _ := get(r, "updatedFields")
			rem, _ := get(r, "removedFields")
			if u, _ := upd.(bson.D); op == "update" && len(u) == 0 {
				if rm, _ := rem.(bson.A); len(rm) == 0 {
					return nil, nil // only what the caller may not read changed
				}
			}
			e.Value = r
		case "fullDocumentBeforeChange":
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// redactUpdate keeps, of an update's description, the updated fields that are in the
// visible document, with their values as the visible document has them (a subdocument
// cut as the caller sees it), and the removed fields the caller could read.
func (s *ChangeStream) redactUpdate(desc, visible bson.D) bson.D {
	readable := func(path string) bool {
		ok, err := s.req.rules.Queryable(s.req.caller.Env, s.sc.projection, path)
		return err == nil && ok
	}
	out := bson.D{}
	for _, e := range desc {
		switch e.Key {
		case "updatedFields":
			fields, _ := e.Value.(bson.D)
			kept := bson.D{}
			for _, f := range fields {
				if v, ok := lookupPath(visible, f.Key); ok {
					kept = append(kept, bson.E{Key: f.Key, Value: v})
				}
			}
			e.Value = kept
		case "removedFields":
			list, _ := e.Value.(bson.A)
			kept := bson.A{}
			for _, f := range list {
				if name, ok := f.(string); ok && readable(name) {
					kept = append(kept, f)
				}
			}
			e.Value = kept
		case "truncatedArrays":
			list, _ := e.Value.(bson.A)
			kept := bson.A{}
			for _, f := range list {
				if d, ok := f.(bson.D); ok {
					if name, _ := get(d, "field"); name != nil {
						if n, ok := name.(string); ok && readable(n) {
							kept = append(kept, f)
						}
					}
				}
			}
			e.Value = kept
		}
		out = append(out, e)
	}
	return out
}

// checkEventFilter refuses a user's watch filter that names a field of the document the
// user may not read (fullDocument.x), or the update's description, whose field names are
// data: which events arrive would tell what the hidden field holds.
func (r *request) checkEventFilter(filter bson.D, sc scope) error {
	if err := checkPipeline(filter); err != nil {
		return err
	}
	guard := r.queryGuard(sc)
	return walkQuery(filter, "", func(path string) error {
		switch {
		case strings.HasPrefix(path, "$"):
			return guard(path)
		case strings.HasPrefix(path, "fullDocument."):
			return guard(strings.TrimPrefix(path, "fullDocument."))
		case path == "fullDocument" || strings.HasPrefix(path, "updateDescription") || strings.HasPrefix(path, "fullDocumentBeforeChange"):
			return guard("$" + path)
		}
		return nil
	})
}

// Close ends the stream.
func (s *ChangeStream) Close(ctx context.Context) error {
	if s.sub != nil {
		s.sub.close()
		return nil
	}
	if s.slot != nil {
		s.slot.close()
	}
	return s.cs.Close(ctx)
}

// watchFeed opens a watch on the embedded store's change feed.
func (src *Source) watchFeed(s *ChangeStream, ids bson.A, filter bson.D) (*ChangeStream, error) {
	if len(filter) > 0 {
		m, err := compileMatch(filter)
		if err != nil {
			return nil, err
		}
		s.match = m
	}
	s.ids = ids
	user := streamUser(s.req.caller)
	// Taken between writes: a write in progress on this collection is published before
	// the watch starts, and every later one is recorded for it.
	l := src.namespaceLock(s.req.ns)
	l.Lock()
	sub, err := src.feed.subscribe(s.req.ns, user)
	l.Unlock()
	if err != nil {
		return nil, err
	}
	s.sub = sub
	return s, nil
}

// nextFromFeed waits for the next event of the feed that the caller may see and that its
// ids and filter select.
func (s *ChangeStream) nextFromFeed(ctx context.Context) (bson.D, error) {
	for {
		ev, err := s.sub.next(ctx)
		if err != nil {
			return nil, err
		}
		if s.ids != nil && !slices.ContainsFunc(s.ids, func(id any) bool { return equalValues(id, ev.Key) }) {
			continue
		}
		out, err := s.redactFeedEvent(ev, s.n+1)
		if err != nil {
			// One document's rules failing (its own bad data) must not end everyone's
			// stream, nor tell them why: the event is left out, and logged.
			s.req.src.log.Warn("watch: evaluating the rules of an event failed; the event is left out", "namespace", s.req.ns, "err", err)
			continue
		}
		if out == nil {
			continue
		}
		if s.match != nil && !s.match.matches(out) {
			continue
		}
		s.n++
		return out, nil
	}
}

// redactFeedEvent returns the part of a feed event the caller may see, or nil. The caller
// sees an event when it may read the document before the change or after it (as App
// Services did): fullDocument as a find would show it, of updateDescription only fields it
// may read, and, for a document that left its view or was deleted, only the key. The
// document before the change is never shown.
func (s *ChangeStream) redactFeedEvent(ev *changeEvent, seq uint64) (bson.D, error) {
	var pre, post bson.D
	if s.req.caller.System {
		post = ev.Post
	} else {
		var err error
		if ev.Post != nil {
			if post, err = s.req.visible(ev.Post, s.sc); err != nil {
				return nil, err
			}
		}
		if ev.Pre != nil {
			if pre, err = s.req.visible(ev.Pre, s.sc); err != nil {
				return nil, err
			}
		}
		if pre == nil && post == nil {
			return nil, nil
		}
		if (ev.Op == "update" || ev.Op == "replace") && pre != nil && post != nil && sameDocument(pre, post) {
			return nil, nil // only what the caller may not read changed
		}
	}
	full := ev.mongoEvent(seq)
	out := make(bson.D, 0, len(full))
	for _, e := range full {
		switch e.Key {
		case "fullDocumentBeforeChange":
			continue
		case "fullDocument":
			if post == nil {
				continue
			}
			e.Value = post
		case "updateDescription":
			switch {
			case s.req.caller.System:
			case post == nil:
				e.Value = bson.D{{Key: "updatedFields", Value: bson.D{}}, {Key: "removedFields", Value: bson.A{}}, {Key: "truncatedArrays", Value: bson.A{}}}
			default:
				// What the caller may see changed: its view before against its view after,
				// never the whole document's history (a document brought into view lists
				// all its visible fields, as if new).
				updated, removed := diffDocuments(pre, post, "")
				if pre == nil {
					updated = bson.D{}
					for _, f := range post {
						if f.Key != "_id" {
							updated = append(updated, f)
						}
					}
				}
				e.Value = bson.D{{Key: "updatedFields", Value: updated}, {Key: "removedFields", Value: removed}, {Key: "truncatedArrays", Value: bson.A{}}}
			}
		}
		out = append(out, e)
	}
	return out, nil
}
