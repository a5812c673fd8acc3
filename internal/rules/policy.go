package rules

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotCompilable is an expression that cannot be written as a MongoDB query (for
// example one that compares two fields of the document); such reads are checked
// document by document instead.
var ErrNotCompilable = errors.New("expression cannot be turned into a query")

// RoleFor returns the role that applies to the document in env.Root: the first whose
// apply_when is true, or nil when none applies (no access).
func (c *Collection) RoleFor(env Env) (*Role, error) {
	for i := range c.Roles {
		ok, err := Evaluate(c.Roles[i].ApplyWhen, env)
		if err != nil {
			return nil, fmt.Errorf("role %q: apply_when: %w", c.Roles[i].Name, err)
		}
		if ok {
			return &c.Roles[i], nil
		}
	}
	return nil, nil
}

// Visible returns the part of the document (env.Root) that the caller may read, or nil
// when they may read none of it: no role applies, its read document filter is false, or
// it grants no field.
func (c *Collection) Visible(env Env) (map[string]any, error) {
	role, err := c.RoleFor(env)
	if err != nil || role == nil {
		return nil, err
	}
	okRead, okWrite := true, true
	if role.DocumentFilters != nil {
		// Each document filter gates its own permission; write implies read.
		if okRead, err = Evaluate(role.DocumentFilters.Read, env); err != nil {
			return nil, err
		}
		if okWrite, err = Evaluate(role.DocumentFilters.Write, env); err != nil {
			return nil, err
		}
		if !okRead && !okWrite {
			return nil, nil
		}
	}
	if okWrite && role.Write != nil {
		ok, err := Evaluate(role.Write, env)
		if err != nil {
			return nil, err
		}
		if ok {
			return env.Root, nil
		}
	}
	if okRead {
		whole, err := role.documentLevel(env, true)
		if err != nil {
			return nil, err
		}
		if whole {
			return env.Root, nil
		}
	}
	out, err := project(env.Root, role.Fields, role.AdditionalFields, env, true)
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return out, nil
}

// documentLevel reports whether the role grants the whole document: for reading, read
// or write true; for writing, write true.
func (r *Role) documentLevel(env Env, reading bool) (bool, error) {
	if r.Write != nil {
		ok, err := Evaluate(r.Write, env)
		if err != nil || ok {
			return ok, err
		}
	}
	if reading && r.Read != nil {
		return Evaluate(r.Read, env)
	}
	return false, nil
}

// project keeps the fields the field rules allow (reading or writing).
func project(doc map[string]any, fields map[string]Field, additional *Field, env Env, reading bool) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range doc {
		f, listed := fields[k]
		if !listed {
			ok, err := fieldAllows(additional, env, reading)
			if err != nil {
				return nil, err
			}
			if ok {
				out[k] = v
			}
			continue
		}
		ok, err := fieldAllows(&f, env, reading)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = v
			continue
		}
		if sub, isDoc := v.(map[string]any); isDoc && len(f.Fields) > 0 {
			inner, err := project(sub, f.Fields, nil, env, reading)
			if err != nil {
				return nil, err
			}
			if len(inner) > 0 {
				out[k] = inner
			}
		}
	}
	return out, nil
}

func fieldAllows(f *Field, env Env, reading bool) (bool, error) {
	if f == nil {
		return false, nil
	}
	if f.Write != nil {
		ok, err := Evaluate(f.Write, env)
		if err != nil || ok {
			return ok, err
		}
	}
	if reading && f.Read != nil {
		return Evaluate(f.Read, env)
	}
	return false, nil
}

// Write is the kind of a write, for CanWrite.
type Write int

// The kinds of write.
const (
	Insert Write = iota
	Update
	Delete
)

func (w Write) String() string {
	return [...]string{"insert", "update", "delete"}[w]
}

// CanWrite reports whether the caller may make the write. For an insert env.Root is the
// new document; for an update env.Root is the document before the update and changed
// lists the top-level fields the update sets or removes; for a delete env.Root is the
// document. The role is the one that applies to env.Root.
func (c *Collection) CanWrite(kind Write, env Env, changed []string) (bool, error) {
	role, err := c.RoleFor(env)
	if err != nil || role == nil {
		return false, err
	}
	if role.DocumentFilters != nil {
		ok, err := Evaluate(role.DocumentFilters.Write, env)
		if err != nil || !ok {
			return false, err
		}
	}
	whole, err := role.documentLevel(env, false)
	if err != nil {
		return false, err
	}
	if !whole {
		check := changed
		if kind != Update {
			check = check[:0:0]
			for k := range env.Root {
				check = append(check, k)
			}
		}
		for _, name := range check {
			top, _, _ := strings.Cut(name, ".")
			f, listed := role.Fields[top]
			var ok bool
			if listed {
				ok, err = fieldAllows(&f, env, false)
			} else {
				ok, err = fieldAllows(role.AdditionalFields, env, false)
			}
			if err != nil || !ok {
				return false, err
			}
		}
	}
	switch kind {
	case Insert:
		return evaluateDefaultTrue(role.Insert, env)
	case Delete:
		return evaluateDefaultTrue(role.Delete, env)
	}
	return true, nil
}

func evaluateDefaultTrue(expr any, env Env) (bool, error) {
	if expr == nil {
		return true, nil
	}
	return Evaluate(expr, env)
}

// ApplyFilters returns the query and projection that the collection's filters add for this
// caller (nil when no filter applies).
func (c *Collection) ApplyFilters(env Env) (query map[string]any, projection map[string]any, err error) {
	var clauses []any
	for _, f := range c.Filters {
		ok, err := Evaluate(f.ApplyWhen, env.WithRoot(nil, nil))
		if err != nil {
			return nil, nil, fmt.Errorf("filter %q: %w", f.Name, err)
		}
		if !ok {
			continue
		}
		if f.Query != nil {
			q, err := expandValue(f.Query, env)
			if err != nil {
				return nil, nil, fmt.Errorf("filter %q: query: %w", f.Name, err)
			}
			clauses = append(clauses, q)
		}
		if p, ok := f.Projection.(map[string]any); ok {
			if projection == nil {
				projection = map[string]any{}
			}
			for k, v := range p {
				projection[k] = v
			}
		}
	}
	switch len(clauses) {
	case 0:
	case 1:
		query, _ = clauses[0].(map[string]any)
	default:
		query = map[string]any{"$and": clauses}
	}
	return query, projection, nil
}

// ReadQuery returns a MongoDB query that matches every document the caller might read
// (a superset is allowed; Visible decides per document). all is true when every document
// may be read and the query is not needed; ErrNotCompilable means the roles cannot be
// written as a query and every document must be checked.
func (c *Collection) ReadQuery(env Env) (query map[string]any, all bool, err error) {
	return c.roleQuery(env, func(r *Role) []any {
		df := r.DocumentFilters
		switch {
		case df == nil:
			return nil
		case r.Read == true && (r.Write == nil || r.Write == false):
			// Only the read permission can grant: only the read filter gates.
			if df.Read != nil {
				return []any{df.Read}
			}
		case df.Read != nil && df.Write != nil:
			return []any{map[string]any{"%or": []any{df.Read, df.Write}}}
		}
		return nil
	})
}

// WriteQuery is ReadQuery for writes: documents the caller might change.
func (c *Collection) WriteQuery(env Env) (query map[string]any, all bool, err error) {
	return c.roleQuery(env, func(r *Role) []any {
		if r.DocumentFilters != nil && r.DocumentFilters.Write != nil {
			return []any{r.DocumentFilters.Write}
		}
		return nil
	})
}

// roleQuery builds OR over roles i of (no earlier role applies AND role i applies AND
// its gates), folding the parts that do not depend on the document.
func (c *Collection) roleQuery(env Env, gates func(*Role) []any) (map[string]any, bool, error) {
	var branches []any
	var earlier []any // compiled apply_when of earlier roles that may apply
	for i := range c.Roles {
		r := &c.Roles[i]
		aw, awConst, err := Compile(r.ApplyWhen, env)
		if err != nil {
			return nil, false, err
		}
		if awConst != nil && !*awConst {
			continue // never applies
		}
		parts := []any{}
		if len(earlier) > 0 {
			parts = append(parts, map[string]any{"$nor": append([]any(nil), earlier...)})
		}
		if aw != nil {
			parts = append(parts, aw)
		}
		skip := false
		for _, g := range gates(r) {
			q, gc, err := Compile(g, env)
			if err != nil {
				return nil, false, err
			}
			if gc != nil && !*gc {
				skip = true
				break
			}
			if q != nil {
				parts = append(parts, q)
			}
		}
		if r.grantsNothing() {
			skip = true
		}
		if !skip {
			switch len(parts) {
			case 0:
				branches = append(branches, map[string]any{})
			case 1:
				branches = append(branches, parts[0])
			default:
				branches = append(branches, map[string]any{"$and": parts})
			}
		}
		if aw == nil {
			break // this role always applies: later roles are never reached
		}
		earlier = append(earlier, aw)
	}
	switch len(branches) {
	case 0:
		return map[string]any{"_id": map[string]any{"$exists": false}}, false, nil // matches nothing
	case 1:
		if m, _ := branches[0].(map[string]any); len(m) == 0 {
			return nil, true, nil
		}
		return branches[0].(map[string]any), false, nil
	}
	return map[string]any{"$or": branches}, false, nil
}

// Compile turns an expression into a MongoDB query over the document. When the
// expression does not depend on the document it is evaluated now and returned as a
// constant (query nil); a constant true is also returned as constant.
func Compile(expr any, env Env) (query map[string]any, constant *bool, err error) {
	if !dependsOnRoot(expr) {
		ok, err := Evaluate(expr, env.WithRoot(nil, nil))
		if err != nil {
			return nil, nil, err
		}
		return nil, &ok, nil
	}
	m, isMap := expr.(map[string]any)
	if !isMap {
		return nil, nil, ErrNotCompilable
	}
	var clauses []any
	for k, spec := range m {
		switch {
		case k == "%and" || k == "%or" || k == "%nor":
			list, _ := spec.([]any)
			var subs []any
			for _, e := range list {
				q, c, err := Compile(e, env)
				if err != nil {
					return nil, nil, err
				}
				if c != nil {
					switch {
					case k == "%and" && !*c, k == "%nor" && *c:
						f := false
						return nil, &f, nil
					case k == "%or" && *c:
						subs = []any{map[string]any{}}
						continue
					}
					continue
				}
				subs = append(subs, q)
			}
			if len(subs) == 0 {
				b := k != "%or"
				if k == "%or" && len(list) == 0 {
					b = false
				}
				if !b {
					return nil, &b, nil
				}
				continue
			}
			clauses = append(clauses, map[string]any{"$" + strings.TrimPrefix(k, "%"): subs})
		case k == "%not":
			q, c, err := Compile(spec, env)
			if err != nil {
				return nil, nil, err
			}
			if c != nil {
				if *c {
					f := false
					return nil, &f, nil
				}
				continue
			}
			clauses = append(clauses, map[string]any{"$nor": []any{q}})
		case strings.HasPrefix(k, "%%"):
			field, ok := rootField(k)
			if !ok {
				if valueDependsOnRoot(k) || valueDependsOnRoot(spec) {
					return nil, nil, ErrNotCompilable
				}
				ok, err := evalKey(k, spec, env)
				if err != nil {
					return nil, nil, err
				}
				if !ok {
					return nil, &ok, nil
				}
				continue
			}
			q, err := fieldQuery(field, spec, env)
			if err != nil {
				return nil, nil, err
			}
			clauses = append(clauses, q)
		default:
			q, err := fieldQuery(k, spec, env)
			if err != nil {
				return nil, nil, err
			}
			clauses = append(clauses, q)
		}
	}
	switch len(clauses) {
	case 0:
		t := true
		return nil, &t, nil
	case 1:
		return clauses[0].(map[string]any), nil, nil
	}
	return map[string]any{"$and": clauses}, nil, nil
}

// rootField returns the field path of %%root.x / %%this.x.
func rootField(k string) (string, bool) {
	for _, p := range []string{"%%root.", "%%this."} {
		if strings.HasPrefix(k, p) {
			return strings.TrimPrefix(k, p), true
		}
	}
	return "", false
}

// fieldQuery is {field: spec} with the spec's expansions resolved and rule operators
// turned into query operators.
func fieldQuery(field string, spec any, env Env) (map[string]any, error) {
	if valueDependsOnRoot(spec) {
		return nil, ErrNotCompilable
	}
	if m, ok := spec.(map[string]any); ok && isOperatorObject(m) {
		ops := map[string]any{}
		var extra []any
		for op, arg := range m {
			switch op {
			case "%and", "%or", "%nor":
				list, _ := arg.([]any)
				var subs []any
				for _, s := range list {
					q, err := fieldQuery(field, s, env)
					if err != nil {
						return nil, err
					}
					subs = append(subs, q)
				}
				extra = append(extra, map[string]any{"$" + strings.TrimPrefix(op, "%"): subs})
			case "%not", "$not":
				q, err := fieldQuery(field, arg, env)
				if err != nil {
					return nil, err
				}
				extra = append(extra, map[string]any{"$nor": []any{q}})
			default:
				v, err := expandValue(arg, env)
				if err != nil {
					return nil, err
				}
				if op == "%exists" {
					op = "$exists"
				}
				if _, undefined := v.(missingValue); undefined {
					v = nil
				}
				ops[op] = v
			}
		}
		if len(ops) > 0 {
			extra = append(extra, map[string]any{field: ops})
		}
		if len(extra) == 1 {
			return extra[0].(map[string]any), nil
		}
		return map[string]any{"$and": extra}, nil
	}
	v, err := expandValue(spec, env)
	if err != nil {
		return nil, err
	}
	if _, undefined := v.(missingValue); undefined {
		v = nil
	}
	return map[string]any{field: map[string]any{"$eq": v}}, nil
}

// grantsNothing reports a role that lets its documents be neither read nor written.
func (r *Role) grantsNothing() bool {
	isFalse := func(v any) bool { return v == nil || v == false }
	if !isFalse(r.Read) || !isFalse(r.Write) || len(r.Fields) > 0 {
		return false
	}
	return r.AdditionalFields == nil || isFalse(r.AdditionalFields.Read) && isFalse(r.AdditionalFields.Write)
}

// DocumentLevelOnly reports whether every role either grants whole documents for reading
// (read or write literally true) or grants nothing, so that ReadQuery selects exactly the
// readable documents and no field needs hiding (what an aggregation needs).
func (c *Collection) DocumentLevelOnly() bool {
	for i := range c.Roles {
		r := &c.Roles[i]
		if r.grantsNothing() || r.Read == true || r.Write == true {
			continue
		}
		return false
	}
	return true
}

// Queryable reports whether a query, sort or $match of this caller may name the field
// path (dotted, array indexes allowed). A query on a field the caller cannot read would
// let it learn the field's value a bit at a time from which documents match, so a path
// is queryable only when every role that may apply lets the caller read it on any
// document, and no applied filter's projection hides it. An expression that depends on
// the document is taken as not granting. _id is always queryable: a document's key is
// what the caller already names to read or write it.
func (c *Collection) Queryable(env Env, projection map[string]any, path string) (bool, error) {
	segs := fieldSegments(path)
	if len(segs) == 0 || segs[0] == "_id" {
		return true, nil
	}
	if !projectionShows(projection, strings.Join(segs, ".")) {
		return false, nil
	}
	for i := range c.Roles {
		r := &c.Roles[i]
		if never, err := constantlyFalse(r.ApplyWhen, env); err != nil || never {
			if err != nil {
				return false, err
			}
			continue
		}
		if r.grantsNothing() {
			continue
		}
		ok, err := r.grantsPath(env, segs)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// QueryableAll reports whether every field may be named (a $expr or $text that can
// reach any field is allowed only then).
func (c *Collection) QueryableAll(env Env, projection map[string]any) (bool, error) {
	if len(projection) > 0 {
		return false, nil
	}
	for i := range c.Roles {
		r := &c.Roles[i]
		if r.grantsNothing() {
			continue
		}
		ok, err := grantsConstantly(r.Write, env)
		if err != nil {
			return false, err
		}
		if !ok {
			if ok, err = grantsConstantly(r.Read, env); err != nil {
				return false, err
			}
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func (r *Role) grantsPath(env Env, segs []string) (bool, error) {
	for _, doc := range []any{r.Write, r.Read} {
		ok, err := grantsConstantly(doc, env)
		if err != nil || ok {
			return ok, err
		}
	}
	fields, additional := r.Fields, r.AdditionalFields
	for _, seg := range segs {
		f, listed := fields[seg]
		if !listed {
			if additional == nil {
				return false, nil
			}
			return fieldGrantsConstantly(additional, env)
		}
		ok, err := fieldGrantsConstantly(&f, env)
		if err != nil || ok {
			return ok, err
		}
		if len(f.Fields) == 0 {
			return false, nil
		}
		fields, additional = f.Fields, nil
	}
	return false, nil
}

func fieldGrantsConstantly(f *Field, env Env) (bool, error) {
	ok, err := grantsConstantly(f.Write, env)
	if err != nil || ok {
		return ok, err
	}
	return grantsConstantly(f.Read, env)
}

// grantsConstantly is true when expr is set, does not depend on the document, and is true.
func grantsConstantly(expr any, env Env) (bool, error) {
	if expr == nil || dependsOnRoot(expr) {
		return false, nil
	}
	return Evaluate(expr, env.WithRoot(nil, nil))
}

func constantlyFalse(expr any, env Env) (bool, error) {
	if expr == nil || dependsOnRoot(expr) {
		return false, nil
	}
	ok, err := Evaluate(expr, env.WithRoot(nil, nil))
	return !ok, err
}

// fieldSegments splits a dotted path, leaving out array indexes (rules name fields only).
func fieldSegments(path string) []string {
	var out []string
	for _, s := range strings.Split(path, ".") {
		if s == "" || strings.Trim(s, "0123456789") == "" {
			continue
		}
		out = append(out, s)
	}
	return out
}

// projectionShows reports whether a filter's projection keeps every part of the field
// path: an inclusion projection must include the path or a parent of it; an exclusion
// projection may exclude neither the path, a parent of it, nor a field under it.
func projectionShows(projection map[string]any, path string) bool {
	if len(projection) == 0 {
		return true
	}
	inclusion := false
	for k, v := range projection {
		if k != "_id" && projectionTrue(v) {
			inclusion = true
		}
	}
	for k, v := range projection {
		if k == "_id" {
			continue
		}
		under := path == k || strings.HasPrefix(path, k+".")
		if inclusion && under && projectionTrue(v) {
			return true
		}
		if !inclusion && (under || strings.HasPrefix(k, path+".")) {
			return false
		}
	}
	return !inclusion
}

func projectionTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int32:
		return x != 0
	case int64:
		return x != 0
	case float64:
		return x != 0
	case int:
		return x != 0
	}
	return true
}
