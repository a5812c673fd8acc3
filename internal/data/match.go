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
// and the logical $and, $or and $nor. A dotted path reaches into documents and, as in
// MongoDB, through arrays (a path matches when any element along it does).
type matcher struct{ q bson.D }

// compileMatch checks q once, so that a watch with an operator this matcher does not
// know is refused when it opens rather than failing on its first event.
func compileMatch(q bson.D) (*matcher, error) {
	if err := checkOperators(q); err != nil {
		return nil, err
	}
	m := &matcher{q: q}
	if _, err := m.matches(bson.D{}); err != nil {
		return nil, err
	}
	return m, nil
}

// checkOperators walks a query for operators matches does not know (the empty document
// of compileMatch does not reach every branch).
func checkOperators(q bson.D) error {
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
				if err := checkOperators(d); err != nil {
					return err
				}
			}
			continue
		}
		if strings.HasPrefix(e.Key, "$") {
			return invalid("the query operator %s is not supported in a watch filter on the embedded data store", e.Key)
		}
		if ops, ok := e.Value.(bson.D); ok && isOperatorDoc(ops) {
			for _, op := range ops {
				if !knownCondition[op.Key] {
					return invalid("the query operator %s is not supported in a watch filter on the embedded data store", op.Key)
				}
				switch op.Key {
				case "$elemMatch":
					if d, ok := op.Value.(bson.D); ok && !isOperatorDoc(d) {
						if err := checkOperators(d); err != nil {
							return err
						}
					}
				case "$regex":
					if _, err := compileRegex(op.Value, ops); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

var knownCondition = map[string]bool{
	"$eq": true, "$ne": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true,
	"$in": true, "$nin": true, "$exists": true, "$type": true, "$regex": true, "$options": true,
	"$size": true, "$all": true, "$elemMatch": true, "$not": true,
}

// isOperatorDoc tells a document of conditions ({$gt: 1}) from a value to compare.
func isOperatorDoc(d bson.D) bool { return len(d) > 0 && strings.HasPrefix(d[0].Key, "$") }

// matches reports whether doc satisfies the query.
func (m *matcher) matches(doc bson.D) (bool, error) { return matchQuery(doc, m.q) }

func matchQuery(doc, q bson.D) (bool, error) {
	for _, e := range q {
		var ok bool
		var err error
		switch e.Key {
		case "$and", "$or", "$nor":
			ok, err = matchLogical(doc, e.Key, e.Value)
		default:
			if strings.HasPrefix(e.Key, "$") {
				return false, invalid("the query operator %s is not supported in a watch filter on the embedded data store", e.Key)
			}
			ok, err = matchField(doc, e.Key, e.Value)
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func matchLogical(doc bson.D, op string, v any) (bool, error) {
	list, isArr := v.(bson.A)
	if !isArr || len(list) == 0 {
		return false, invalid("%s needs a non-empty array of queries", op)
	}
	for _, sub := range list {
		d, ok := sub.(bson.D)
		if !ok {
			return false, invalid("%s needs an array of queries", op)
		}
		ok, err := matchQuery(doc, d)
		if err != nil {
			return false, err
		}
		switch {
		case op == "$and" && !ok:
			return false, nil
		case op == "$or" && ok:
			return true, nil
		case op == "$nor" && ok:
			return false, nil
		}
	}
	return op != "$or", nil
}

// matchField tests one path of doc against a value (equality) or a document of conditions.
func matchField(doc bson.D, path string, cond any) (bool, error) {
	values := pathValues(doc, strings.Split(path, "."))
	if ops, ok := cond.(bson.D); ok && isOperatorDoc(ops) {
		return matchConditions(values, ops)
	}
	if re, ok := cond.(bson.Regex); ok {
		return anyValue(values, true, func(v any) (bool, error) { return regexMatches(re.Pattern, re.Options, v) })
	}
	return equalAny(values, cond), nil
}

// equalAny is equality against the values of a path; a path that reaches nothing equals
// null, as in MongoDB.
func equalAny(values []any, want any) bool {
	if len(values) == 0 {
		return want == nil
	}
	ok, _ := anyValue(values, true, func(v any) (bool, error) { return equalValues(v, want), nil })
	return ok
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
func anyValue(values []any, intoArrays bool, test func(any) (bool, error)) (bool, error) {
	for _, v := range values {
		ok, err := test(v)
		if err != nil || ok {
			return ok, err
		}
		if a, isArr := v.(bson.A); isArr && intoArrays {
			for _, el := range a {
				if ok, err := test(el); err != nil || ok {
					return ok, err
				}
			}
		}
	}
	return false, nil
}

// matchConditions tests the values of one path against every condition of ops.
func matchConditions(values []any, ops bson.D) (bool, error) {
	for _, op := range ops {
		ok, err := matchCondition1(values, op.Key, op.Value, ops)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func matchCondition1(values []any, op string, arg any, all bson.D) (bool, error) {
	switch op {
	case "$eq":
		return equalAny(values, arg), nil
	case "$ne":
		return !equalAny(values, arg), nil
	case "$gt", "$gte", "$lt", "$lte":
		return anyValue(values, true, func(v any) (bool, error) {
			if typeOrder(v) != typeOrder(arg) {
				return false, nil
			}
			c := compareValues(v, arg)
			return map[string]bool{"$gt": c > 0, "$gte": c >= 0, "$lt": c < 0, "$lte": c <= 0}[op], nil
		})
	case "$in", "$nin":
		list, isArr := arg.(bson.A)
		if !isArr {
			return false, invalid("%s needs an array", op)
		}
		ok, err := anyValue(values, true, func(v any) (bool, error) {
			return slices.ContainsFunc(list, func(x any) bool {
				if re, isRe := x.(bson.Regex); isRe {
					m, _ := regexMatches(re.Pattern, re.Options, v)
					return m
				}
				return equalValues(v, x)
			}), nil
		})
		if err == nil && len(values) == 0 && op == "$in" {
			ok = slices.Contains(list, nil)
		}
		if op == "$nin" {
			if len(values) == 0 {
				return !slices.Contains(list, nil), err
			}
			return !ok, err
		}
		return ok, err
	case "$exists":
		want, err := truthy(arg)
		return (len(values) > 0) == want, err
	case "$type":
		return anyValue(values, false, func(v any) (bool, error) { return hasType(v, arg) })
	case "$regex":
		re, err := compileRegex(arg, all)
		if err != nil {
			return false, err
		}
		return anyValue(values, true, func(v any) (bool, error) {
			s, ok := v.(string)
			return ok && re.MatchString(s), nil
		})
	case "$options":
		return true, nil // read with $regex
	case "$size":
		n, ok := asInt(arg)
		if !ok {
			return false, invalid("$size needs a number")
		}
		return anyValue(values, false, func(v any) (bool, error) {
			a, isArr := v.(bson.A)
			return isArr && len(a) == n, nil
		})
	case "$all":
		list, isArr := arg.(bson.A)
		if !isArr {
			return false, invalid("$all needs an array")
		}
		if len(list) == 0 {
			return false, nil
		}
		for _, want := range list {
			ok, err := anyValue(values, true, func(v any) (bool, error) { return equalValues(v, want), nil })
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "$elemMatch":
		cond, isDoc := arg.(bson.D)
		if !isDoc {
			return false, invalid("$elemMatch needs a document")
		}
		return anyValue(values, false, func(v any) (bool, error) {
			a, isArr := v.(bson.A)
			if !isArr {
				return false, nil
			}
			for _, el := range a {
				var ok bool
				var err error
				if isOperatorDoc(cond) {
					ok, err = matchConditions([]any{el}, cond)
				} else if d, isDoc := el.(bson.D); isDoc {
					ok, err = matchQuery(d, cond)
				}
				if err != nil || ok {
					return ok, err
				}
			}
			return false, nil
		})
	case "$not":
		var ok bool
		var err error
		switch x := arg.(type) {
		case bson.D:
			ok, err = matchConditions(values, x)
		case bson.Regex:
			ok, err = anyValue(values, true, func(v any) (bool, error) { return regexMatches(x.Pattern, x.Options, v) })
		default:
			return false, invalid("$not needs a document of conditions or a regular expression")
		}
		return !ok, err
	}
	return false, invalid("the query operator %s is not supported in a watch filter on the embedded data store", op)
}

// compileRegex reads $regex (a string or a BSON regex) with the $options beside it.
func compileRegex(arg any, all bson.D) (*regexp.Regexp, error) {
	var pattern, opts string
	switch x := arg.(type) {
	case string:
		pattern = x
	case bson.Regex:
		pattern, opts = x.Pattern, x.Options
	default:
		return nil, invalid("$regex needs a string")
	}
	if o, ok := get(all, "$options"); ok {
		s, isStr := o.(string)
		if !isStr {
			return nil, invalid("$options needs a string")
		}
		opts = s
	}
	return goRegex(pattern, opts)
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

func regexMatches(pattern, opts string, v any) (bool, error) {
	s, ok := v.(string)
	if !ok {
		return false, nil
	}
	re, err := goRegex(pattern, opts)
	if err != nil {
		return false, err
	}
	return re.MatchString(s), nil
}

// hasType is $type: a BSON type's alias ("string", "objectId", "number", ...) or number.
func hasType(v any, want any) (bool, error) {
	if list, ok := want.(bson.A); ok {
		for _, w := range list {
			if ok, err := hasType(v, w); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	name := bsonTypeName(v)
	switch w := want.(type) {
	case string:
		if w == "number" {
			return isNumber(v), nil
		}
		return name == w, nil
	case int32, int64, float64:
		n, _ := asInt(w)
		code, ok := bsonTypeCodes[name]
		return ok && code == n, nil
	}
	return false, invalid("$type needs a type name or number")
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
