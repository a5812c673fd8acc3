package data

import (
	"math"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// get returns the first of the named fields that is present.
func get(d bson.D, names ...string) (any, bool) {
	for _, n := range names {
		for _, e := range d {
			if e.Key == n {
				return e.Value, true
			}
		}
	}
	return nil, false
}

func stringArg(d bson.D, name string) (string, error) {
	v, ok := get(d, name)
	s, isString := v.(string)
	if !ok || !isString || s == "" {
		return "", invalid("'%s' must be a non-empty string", name)
	}
	return s, nil
}

// docArg returns a document argument; absent or null is an empty document.
func docArg(d bson.D, names ...string) (bson.D, error) {
	v, ok := get(d, names...)
	if !ok || v == nil {
		return nil, nil
	}
	doc, isDoc := v.(bson.D)
	if !isDoc {
		return nil, invalid("'%s' must be a document", names[0])
	}
	return doc, nil
}

func intArg(d bson.D, name string) (int64, error) {
	v, ok := get(d, name)
	if !ok || v == nil {
		return 0, nil
	}
	var n int64
	switch x := v.(type) {
	case int32:
		n = int64(x)
	case int64:
		n = x
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.Abs(x) > 1<<53 {
			return 0, invalid("'%s' must be a whole number", name)
		}
		n = int64(x)
	default:
		return 0, invalid("'%s' must be a number", name)
	}
	if n < 0 {
		return 0, invalid("'%s' may not be negative", name)
	}
	return n, nil
}

func boolArg(d bson.D, name string) (bool, error) {
	v, ok := get(d, name)
	if !ok || v == nil {
		return false, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, invalid("'%s' must be a boolean", name)
	}
	return b, nil
}

// and combines query documents, leaving out empty ones; nil when all are empty.
func and(parts ...any) any {
	var kept bson.A
	for _, p := range parts {
		switch x := p.(type) {
		case nil:
			continue
		case bson.D:
			if len(x) == 0 {
				continue
			}
		case map[string]any:
			if len(x) == 0 {
				continue
			}
		}
		kept = append(kept, p)
	}
	switch len(kept) {
	case 0:
		return nil
	case 1:
		return kept[0]
	}
	return bson.D{{Key: "$and", Value: kept}}
}

func nonNil(q any) any {
	if d, ok := q.(bson.D); q == nil || ok && d == nil {
		return bson.D{}
	}
	return q
}

func mapOrNil(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// toD turns a map into a document with sorted keys (for stable output).
func toD(m map[string]any) bson.D {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := make(bson.D, len(keys))
	for i, k := range keys {
		d[i] = bson.E{Key: k, Value: m[k]}
	}
	return d
}

// project applies a MongoDB projection ({a: 1, "b.c": 1} or {secret: 0}) to a document
// in Go, after the rules have seen the whole document. Projection operators ($slice,
// $elemMatch, ...) are not supported here.
func project(doc bson.D, proj bson.D) (bson.D, error) {
	if len(proj) == 0 {
		return doc, nil
	}
	include := map[string]bool{}
	idShown := true
	inclusion := false
	for _, e := range proj {
		if strings.HasPrefix(e.Key, "$") {
			return nil, invalid("projection operator %s is not supported", e.Key)
		}
		on, err := truthy(e.Value)
		if err != nil {
			return nil, err
		}
		if e.Key == "_id" {
			idShown = on
			continue
		}
		include[e.Key] = on
		if on {
			inclusion = true
		}
	}
	for k, on := range include {
		if on != inclusion {
			return nil, invalid("projection cannot mix inclusion and exclusion (field %q)", k)
		}
	}
	return projectPaths(doc, include, inclusion, idShown, ""), nil
}

func truthy(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int32:
		return x != 0, nil
	case int64:
		return x != 0, nil
	case float64:
		return x != 0, nil
	}
	return false, invalid("projection values must be 0, 1, true or false")
}

func projectPaths(doc bson.D, paths map[string]bool, inclusion, idShown bool, prefix string) bson.D {
	out := bson.D{}
	for _, e := range doc {
		path := prefix + e.Key
		if prefix == "" && e.Key == "_id" {
			if idShown {
				out = append(out, e)
			}
			continue
		}
		_, exact := paths[path]
		nested := false
		for p := range paths {
			if strings.HasPrefix(p, path+".") {
				nested = true
				break
			}
		}
		switch {
		case exact:
			if inclusion {
				out = append(out, e)
			}
		case nested:
			if sub, ok := e.Value.(bson.D); ok {
				out = append(out, bson.E{Key: e.Key, Value: projectPaths(sub, paths, inclusion, true, path+".")})
			} else if !inclusion {
				out = append(out, e)
			}
		default:
			if !inclusion {
				out = append(out, e)
			}
		}
	}
	return out
}
