package data

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ChangeStream is an open watch: the change events of one collection that the caller
// may see.
type ChangeStream struct {
	req *request
	cs  *mongo.ChangeStream
	sc  scope
	all bool
}

// Watch opens a change stream on the collection of arg ({database, collection[, ids]
// [, filter]}): ids limits it to documents with those _ids, filter is a $match over
// the change events. It needs a MongoDB replica set or sharded cluster; the embedded
// engine has no change streams and answers KindUnsupported.
func (src *Source) Watch(ctx context.Context, caller Caller, arg bson.D) (*ChangeStream, error) {
	req, err := src.open(caller, arg)
	if err != nil {
		return nil, err
	}
	if src.Embedded {
		if err := embeddedTypes(arg); err != nil {
			return nil, err
		}
		return nil, &Error{Kind: KindUnsupported, Message: "watch: change streams are not supported by the embedded data store; configure a MongoDB replica set for this data source"}
	}
	pipeline := bson.A{}
	if raw, ok := get(arg, "ids"); ok && raw != nil {
		ids, isArr := raw.(bson.A)
		if !isArr {
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
		fq, _, err := req.rules.ApplyFilters(caller.Env)
		if err != nil {
			return nil, req.ruleError(err)
		}
		if len(fq) > 0 {
			return nil, notPermitted("watch is not available to users on '%s': a filter of its rules applies, and filters cannot be applied to change events", req.ns)
		}
		if s.sc, err = req.scope(false); err != nil {
			return nil, err
		}
		_, s.all, _ = req.rules.ReadQuery(caller.Env)
		s.all = s.all && req.rules.DocumentLevelOnly()
	}
	opts := options.ChangeStream().SetFullDocument(options.UpdateLookup)
	cs, err := req.coll.Watch(ctx, pipeline, opts)
	if err != nil {
		return nil, mongoError(req.ns, err)
	}
	s.cs = cs
	return s, nil
}

// Next waits for the next event the caller may see. It returns nil and the stream's
// error when the stream ends (ctx canceled, or MongoDB failed).
func (s *ChangeStream) Next(ctx context.Context) (bson.D, error) {
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
	out := make(bson.D, 0, len(ev))
	for _, e := range ev {
		switch e.Key {
		case "fullDocument":
			e.Value = visible
		case "updateDescription":
			if s.all {
				break
			}
			desc, _ := e.Value.(bson.D)
			e.Value = s.redactUpdate(desc, visible)
		case "fullDocumentBeforeChange":
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// redactUpdate keeps, of an update's description, the updated fields that are in the
// visible document and the removed fields the caller could read.
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
				if _, ok := lookupPath(visible, f.Key); ok {
					kept = append(kept, f)
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
func (s *ChangeStream) Close(ctx context.Context) error { return s.cs.Close(ctx) }
