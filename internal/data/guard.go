package data

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// operatorsForbiddenToUsers run JavaScript or code on the server inside a query or a
// pipeline; only system callers may use them.
var operatorsForbiddenToUsers = map[string]bool{"$where": true, "$function": true, "$accumulator": true}

// guardedScope is the caller's scope for an operation once its query and its sort (nil
// when it has none) have been checked against it.
func (r *request) guardedScope(write bool, query, sort bson.D) (scope, error) {
	sc, err := r.scope(write)
	if err != nil {
		return scope{}, err
	}
	if err := r.checkQuery(query, sc); err != nil {
		return scope{}, err
	}
	if err := r.checkSort(sort, sc); err != nil {
		return scope{}, err
	}
	return sc, nil
}

// checkQuery refuses a user's query (or $match) that names a field the user may not read
// on every document it could match, or that runs code: otherwise which documents match
// (a count, a deletedCount) would tell the user what the hidden field holds.
func (r *request) checkQuery(q bson.D, sc scope) error {
	if r.caller.System {
		return nil
	}
	// Code-running operators are refused wherever they appear ($expr: {$function: ...}).
	if err := checkPipeline(q); err != nil {
		return err
	}
	return walkQuery(q, "", r.queryGuard(sc))
}

// checkSort refuses a sort on a field the user may not read: the order of the results
// would tell what it holds.
func (r *request) checkSort(sort bson.D, sc scope) error {
	if r.caller.System {
		return nil
	}
	g := r.queryGuard(sc)
	for _, e := range sort {
		if err := g(e.Key); err != nil {
			return err
		}
	}
	return nil
}

// queryGuard checks one field path a query names; the path "$" stands for an operator
// that can reach every field ($expr, $text, $jsonSchema).
func (r *request) queryGuard(sc scope) func(path string) error {
	return func(path string) error {
		var ok bool
		var err error
		if strings.HasPrefix(path, "$") {
			ok, err = r.rules.QueryableAll(r.caller.Env, sc.projection)
		} else {
			ok, err = r.rules.Queryable(r.caller.Env, sc.projection, path)
		}
		if err != nil {
			return r.ruleError(err)
		}
		if !ok {
			if strings.HasPrefix(path, "$") {
				return notPermitted("%s is not permitted on '%s': some fields are hidden from this user", path, r.ns)
			}
			return notPermitted("a query may not name the field '%s' on '%s': it is not readable by this user", path, r.ns)
		}
		return nil
	}
}

// walkQuery calls check with every field path a query names.
func walkQuery(q bson.D, prefix string, check func(string) error) error {
	for _, e := range q {
		switch {
		case e.Key == "$and" || e.Key == "$or" || e.Key == "$nor":
			list, ok := e.Value.(bson.A)
			if !ok {
				return invalid("%s needs an array of queries", e.Key)
			}
			for _, c := range list {
				d, ok := c.(bson.D)
				if !ok {
					return invalid("%s needs an array of queries", e.Key)
				}
				if err := walkQuery(d, prefix, check); err != nil {
					return err
				}
			}
		case e.Key == "$comment":
		case operatorsForbiddenToUsers[e.Key]:
			return notPermitted("%s is not permitted for users", e.Key)
		case strings.HasPrefix(e.Key, "$"):
			if err := check(e.Key); err != nil {
				return err
			}
		default:
			path := prefix + e.Key
			if err := check(path); err != nil {
				return err
			}
			if ops, ok := e.Value.(bson.D); ok && len(ops) > 0 && strings.HasPrefix(ops[0].Key, "$") {
				if err := walkOperators(ops, path, check); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func walkOperators(ops bson.D, path string, check func(string) error) error {
	for _, op := range ops {
		if operatorsForbiddenToUsers[op.Key] {
			return notPermitted("%s is not permitted for users", op.Key)
		}
		sub, ok := op.Value.(bson.D)
		if !ok {
			continue
		}
		switch op.Key {
		case "$elemMatch":
			if len(sub) > 0 && strings.HasPrefix(sub[0].Key, "$") {
				if err := walkOperators(sub, path, check); err != nil {
					return err
				}
				continue
			}
			if err := walkQuery(sub, path+".", check); err != nil {
				return err
			}
		case "$not":
			if err := walkOperators(sub, path, check); err != nil {
				return err
			}
		}
	}
	return nil
}
