package data

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// matcher is a MongoDB query compiled for testing documents in Go: the $match of a watch
// on the embedded store, applied to change events as MongoDB applies it to its own.
// It knows the query operators apps use in watch filters: comparisons ($eq, $ne, $gt,
// $gte, $lt, $lte, $in, $nin), $exists, $type, $regex, $size, $all, $elemMatch, $not,
// $comment, and the logical $and, $or and $nor. A dotted path reaches into documents and,
// as in MongoDB, through arrays (a path matches when any element along it does).
type matcher struct {
	q       bson.D
	regexes map[regexKey]*regexp.Regexp // every regular expression of q, compiled once
}

type regexKey struct{ pattern, options string }

// Bounds of a watch filter: it is evaluated for every event of the collection, so its
// cost is bounded when the watch opens.
const (
	maxFilterBytes   = 16 << 10
	maxFilterRegexes = 16
	maxFilterList    = 1000
)

var knownCondition = map[string]bool{
	"$eq": true, "$ne": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true,
	"$in": true, "$nin": true, "$exists": true, "$type": true, "$regex": true, "$options": true,
	"$size": true, "$all": true, "$elemMatch": true, "$not": true, "$comment": true,
}

// compileMatch checks q (every operator known, every argument of the right type, within
// the bounds) and compiles its regular expressions, so that a watch with a filter this
// matcher cannot evaluate is refused when it opens rather than failing on an event.
func compileMatch(q bson.D) (*matcher, error) {
	raw, err := bson.Marshal(q)
	if err != nil {
		return nil, invalid("filter: %v", err)
	}
	if len(raw) > maxFilterBytes {
		return nil, invalid("a watch filter may be at most %d bytes", maxFilterBytes)
	}
	m := &matcher{q: q, regexes: map[regexKey]*regexp.Regexp{}}
	if err := m.checkQuery(q); err != nil {
		return nil, err
	}
	return m, nil
}

// checkQuery walks a query, checking each operator and compiling each regex.
func (m *matcher) checkQuery(q bson.D) error {
	for _, e := range q {
		switch e.Key {
		case "$and", "$or", "$nor":
			list, ok := e.Value.(bson.A)
			if !ok || len(list) == 0 {
				return invalid("%s needs a non-empty array of queries", e.Key)
			}
			for _, sub := range list {
				d, ok := sub.(bson.D)
				if !ok {
					return invalid("%s needs an array of queries", e.Key)
				}
				if err := m.checkQuery(d); err != nil {
					return err
				}
			}
			continue
		case "$comment":
			continue
		}
		if strings.HasPrefix(e.Key, "$") {
			return invalid("the query operator %s is not supported in a watch filter on the embedded data store", e.Key)
		}
		if err := m.checkCondition(e.Value); err != nil {
			return err
		}
	}
	return nil
}

// checkCondition checks what a field is matched against: a value, a regex, or a document
// of conditions.
func (m *matcher) checkCondition(cond any) error {
	if re, ok := cond.(bson.Regex); ok {
		return m.addRegex(re.Pattern, re.Options)
	}
	ops, ok := cond.(bson.D)
	if !ok || !isOperatorDoc(ops) {
		return nil
	}
	for _, op := range ops {
		if !knownCondition[op.Key] {
			return invalid("the query operator %s is not supported in a watch filter on the embedded data store", op.Key)
		}
		var err error
		switch op.Key {
		case "$in", "$nin", "$all":
			err = m.checkList(op.Key, op.Value)
		case "$regex":
			var pattern, opts string
			if pattern, opts, err = regexArg(op.Value, ops); err == nil {
				err = m.addRegex(pattern, opts)
			}
		case "$options":
			if _, ok := op.Value.(string); !ok {
				err = invalid("$options needs a string")
			}
		case "$size":
			if _, ok := asInt(op.Value); !ok {
				err = invalid("$size needs a number")
			}
		case "$type":
			err = checkTypeArg(op.Value)
		case "$elemMatch":
			d, ok := op.Value.(bson.D)
			switch {
			case !ok:
				err = invalid("$elemMatch needs a document")
			case isOperatorDoc(d):
				err = m.checkCondition(d)
			default:
				err = m.checkQuery(d)
			}
		case "$not":
			switch x := op.Value.(type) {
			case bson.D:
				if !isOperatorDoc(x) {
					return invalid("$not needs a document of conditions or a regular expression")
				}
				err = m.checkCondition(x)
			case bson.Regex:
				err = m.addRegex(x.Pattern, x.Options)
			default:
				err = invalid("$not needs a document of conditions or a regular expression")
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *matcher) checkList(op string, v any) error {
	list, ok := v.(bson.A)
	if !ok {
		return invalid("%s needs an array", op)
	}
	if len(list) > maxFilterList {
		return invalid("%s may list at most %d values in a watch filter", op, maxFilterList)
	}
	for _, x := range list {
		if re, ok := x.(bson.Regex); ok {
			if err := m.addRegex(re.Pattern, re.Options); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *matcher) addRegex(pattern, opts string) error {
	k := regexKey{pattern, opts}
	if _, ok := m.regexes[k]; ok {
		return nil
	}
	if len(m.regexes) >= maxFilterRegexes {
		return invalid("a watch filter may hold at most %d regular expressions", maxFilterRegexes)
	}
	re, err := goRegex(pattern, opts)
	if err != nil {
		return err
	}
	m.regexes[k] = re
	return nil
}

// regexMatches tests v (a string) against a regular expression of the filter.
func (m *matcher) regexMatches(pattern, opts string, v any) bool {
	s, ok := v.(string)
	re := m.regexes[regexKey{pattern, opts}]
	return ok && re != nil && re.MatchString(s)
}

// regexArg reads $regex (a string or a BSON regex) with the $options beside it.
func regexArg(arg any, all bson.D) (pattern, opts string, err error) {
	switch x := arg.(type) {
	case string:
		pattern = x
	case bson.Regex:
		pattern, opts = x.Pattern, x.Options
	default:
		return "", "", invalid("$regex needs a string")
	}
	if o, ok := get(all, "$options"); ok {
		s, isStr := o.(string)
		if !isStr {
			return "", "", invalid("$options needs a string")
		}
		opts = s
	}
	return pattern, opts, nil
}

func checkTypeArg(v any) error {
	switch x := v.(type) {
	case bson.A:
		for _, e := range x {
			if err := checkTypeArg(e); err != nil {
				return err
			}
		}
		return nil
	case string:
		if _, ok := bsonTypeCodes[x]; ok || x == "number" {
			return nil
		}
	case int32, int64, float64:
		return nil
	}
	return invalid("$type needs a type name or number")
}

// isOperatorDoc tells a document of conditions ({$gt: 1}) from a value to compare.
func isOperatorDoc(d bson.D) bool { return len(d) > 0 && strings.HasPrefix(d[0].Key, "$") }

// matches reports whether doc satisfies the query (checked by compileMatch).
func (m *matcher) matches(doc bson.D) bool { return m.query(doc, m.q) }

func (m *matcher) query(doc, q bson.D) bool {
	for _, e := range q {
		var ok bool
		switch e.Key {
		case "$and":
			ok = true
			for _, sub := range e.Value.(bson.A) {
				if !m.query(doc, sub.(bson.D)) {
					ok = false
					break
				}
			}
		case "$or", "$nor":
			for _, sub := range e.Value.(bson.A) {
				if m.query(doc, sub.(bson.D)) {
					ok = true
					break
				}
			}
			if e.Key == "$nor" {
				ok = !ok
			}
		case "$comment":
			ok = true
		default:
			ok = m.field(doc, e.Key, e.Value)
		}
		if !ok {
			return false
		}
	}
	return true
}

// field tests one path of doc against a value (equality), a regex, or a document of
// conditions.
func (m *matcher) field(doc bson.D, path string, cond any) bool {
	values := pathValues(doc, strings.Split(path, "."))
	if ops, ok := cond.(bson.D); ok && isOperatorDoc(ops) {
		return m.conditions(values, ops)
	}
	if re, ok := cond.(bson.Regex); ok {
		return anyValue(values, true, func(v any) bool { return m.regexMatches(re.Pattern, re.Options, v) })
	}
	return equalAny(values, cond)
}

// equalAny is equality against the values of a path; a path that reaches nothing equals
// null, as in MongoDB.
func equalAny(values []any, want any) bool {
	if len(values) == 0 {
		return want == nil
	}
	return anyValue(values, true, func(v any) bool { return equalValues(v, want) })
}

// pathValues are the values a dotted path reaches: through documents, and through arrays
// either by index or into every element. A path that reaches nothing yields none.
func pathValues(v any, parts []string) []any {
	if len(parts) == 0 {
		return []any{v}
	}
	switch x := v.(type) {
	case bson.D:
		for _, e := range x {
			if e.Key == parts[0] {
				return pathValues(e.Value, parts[1:])
			}
		}
	case bson.A:
		var out []any
		if i, ok := arrayIndex(parts[0]); ok && i < len(x) {
			out = append(out, pathValues(x[i], parts[1:])...)
		}
		for _, el := range x {
			if _, isDoc := el.(bson.D); isDoc {
				out = append(out, pathValues(el, parts)...)
			}
		}
		return out
	}
	return nil
}

func arrayIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// anyValue is true when test holds for one of values or, with intoArrays, for an element
// of an array among them (MongoDB's implicit array matching).
func anyValue(values []any, intoArrays bool, test func(any) bool) bool {
	for _, v := range values {
		if test(v) {
			return true
		}
		if a, isArr := v.(bson.A); isArr && intoArrays {
			if slices.ContainsFunc(a, test) {
				return true
			}
		}
	}
	return false
}

// conditions tests the values of one path against every condition of ops.
func (m *matcher) conditions(values []any, ops bson.D) bool {
	for _, op := range ops {
		if !m.condition(values, op.Key, op.Value, ops) {
			return false
		}
	}
	return true
}

func (m *matcher) condition(values []any, op string, arg any, all bson.D) bool {
	switch op {
	case "$eq":
		return equalAny(values, arg)
	case "$ne":
		return !equalAny(values, arg)
	case "$gt", "$gte", "$lt", "$lte":
		return anyValue(values, true, func(v any) bool {
			if typeOrder(v) != typeOrder(arg) {
				return false
			}
			c := compareValues(v, arg)
			switch op {
			case "$gt":
				return c > 0
			case "$gte":
				return c >= 0
			case "$lt":
				return c < 0
			}
			return c <= 0
		})
	case "$in", "$nin":
		list := arg.(bson.A)
		in := func(v any) bool {
			return slices.ContainsFunc(list, func(x any) bool {
				if re, isRe := x.(bson.Regex); isRe {
					return m.regexMatches(re.Pattern, re.Options, v)
				}
				return equalValues(v, x)
			})
		}
		var ok bool
		if len(values) == 0 {
			ok = slices.Contains(list, nil) // a missing field is null
		} else {
			ok = anyValue(values, true, in)
		}
		return ok == (op == "$in")
	case "$exists":
		want, err := truthy(arg)
		return err == nil && (len(values) > 0) == want
	case "$type":
		return anyValue(values, true, func(v any) bool { return hasType(v, arg) })
	case "$regex":
		pattern, opts, _ := regexArg(arg, all)
		return anyValue(values, true, func(v any) bool { return m.regexMatches(pattern, opts, v) })
	case "$options", "$comment":
		return true // $options is read with $regex
	case "$size":
		n, _ := asInt(arg)
		return anyValue(values, false, func(v any) bool {
			a, isArr := v.(bson.A)
			return isArr && len(a) == n
		})
	case "$all":
		list := arg.(bson.A)
		if len(list) == 0 {
			return false
		}
		for _, want := range list {
			if !anyValue(values, true, func(v any) bool { return equalValues(v, want) }) {
				return false
			}
		}
		return true
	case "$elemMatch":
		cond := arg.(bson.D)
		return anyValue(values, false, func(v any) bool {
			a, isArr := v.(bson.A)
			if !isArr {
				return false
			}
			return slices.ContainsFunc(a, func(el any) bool {
				if isOperatorDoc(cond) {
					return m.conditions([]any{el}, cond)
				}
				d, isDoc := el.(bson.D)
				return isDoc && m.query(d, cond)
			})
		})
	case "$not":
		switch x := arg.(type) {
		case bson.D:
			return !m.conditions(values, x)
		case bson.Regex:
			return !anyValue(values, true, func(v any) bool { return m.regexMatches(x.Pattern, x.Options, v) })
		}
	}
	return false
}

func goRegex(pattern, opts string) (*regexp.Regexp, error) {
	flags := ""
	for _, c := range opts {
		switch c {
		case 'i', 'm', 's':
			flags += string(c)
		case 'x', 'u':
		default:
			return nil, invalid("$options: unknown option %q", c)
		}
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, invalid("$regex: %v", err)
	}
	return re, nil
}

// hasType is $type: a BSON type's alias ("string", "objectId", "number", ...) or number.
func hasType(v any, want any) bool {
	if list, ok := want.(bson.A); ok {
		return slices.ContainsFunc(list, func(w any) bool { return hasType(v, w) })
	}
	name := bsonTypeName(v)
	switch w := want.(type) {
	case string:
		if w == "number" {
			return isNumber(v)
		}
		return name == w
	case int32, int64, float64:
		n, _ := asInt(w)
		code, ok := bsonTypeCodes[name]
		return ok && code == n
	}
	return false
}

var bsonTypeCodes = map[string]int{
	"double": 1, "string": 2, "object": 3, "array": 4, "binData": 5, "undefined": 6, "objectId": 7,
	"bool": 8, "date": 9, "null": 10, "regex": 11, "javascript": 13, "int": 16, "timestamp": 17,
	"long": 18, "decimal": 19, "minKey": -1, "maxKey": 127,
}

func bsonTypeName(v any) string {
	switch v.(type) {
	case float64:
		return "double"
	case string:
		return "string"
	case bson.D:
		return "object"
	case bson.A:
		return "array"
	case bson.Binary:
		return "binData"
	case bson.Undefined:
		return "undefined"
	case bson.ObjectID:
		return "objectId"
	case bool:
		return "bool"
	case bson.DateTime:
		return "date"
	case nil:
		return "null"
	case bson.Regex:
		return "regex"
	case bson.JavaScript:
		return "javascript"
	case int32:
		return "int"
	case bson.Timestamp:
		return "timestamp"
	case int64:
		return "long"
	case bson.Decimal128:
		return "decimal"
	case bson.MinKey:
		return "minKey"
	case bson.MaxKey:
		return "maxKey"
	}
	return fmt.Sprintf("%T", v)
}
