package data

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// A user's update under rules is not sent to the data source as operators: the new
// document is computed here from the one read, checked against the rules, and written as a
// replacement guarded by the document it was computed from. What is checked is then
// exactly what is written, on engines without transactions too (the embedded one).
// applyUpdate supports the update operators apps use; the rest are refused with an error
// that names them (a system function can still use them).

// applyUpdate returns the document that update (operators, or a replacement document)
// makes of doc. doc is not changed. inserting is true when the document is being created
// by an upsert ($setOnInsert applies); now is the time $currentDate sets.
func applyUpdate(doc, update bson.D, replacement, inserting bool, now time.Time) (bson.D, error) {
	id, hasID := get(doc, "_id")
	if replacement {
		out := make(bson.D, 0, len(update)+1)
		if hasID {
			out = append(out, bson.E{Key: "_id", Value: id})
		}
		for _, e := range update {
			if e.Key == "_id" {
				if hasID && !equalValues(e.Value, id) {
					return nil, invalid("the replacement may not change _id")
				}
				if !hasID {
					out = append(bson.D{e}, out...)
				}
				continue
			}
			if err := checkFieldName(e.Key); err != nil {
				return nil, err
			}
			out = append(out, bson.E{Key: e.Key, Value: cloneValue(e.Value)})
		}
		return out, nil
	}
	out := cloneValue(doc).(bson.D)
	seen := map[string]string{}
	for _, op := range update {
		fields, ok := op.Value.(bson.D)
		if !ok {
			return nil, invalid("%s needs a document of fields", op.Key)
		}
		for _, f := range fields {
			if err := checkPath(f.Key, seen, op.Key); err != nil {
				return nil, err
			}
			if op.Key == "$rename" {
				to, ok := f.Value.(string)
				if !ok {
					return nil, invalid("$rename: the new name of %q must be a string", f.Key)
				}
				if err := checkPath(to, seen, op.Key); err != nil {
					return nil, err
				}
			}
			var err error
			out, err = applyOperator(out, op.Key, f.Key, f.Value, inserting, now)
			if err != nil {
				return nil, err
			}
		}
	}
	if hasID {
		if v, ok := get(out, "_id"); !ok || !equalValues(v, id) {
			return nil, invalid("an update may not change _id")
		}
	}
	return out, nil
}

// checkPath refuses empty, positional and $-prefixed path segments, and two operators
// on the same field or on a field and its parent, as MongoDB does.
func checkPath(path string, seen map[string]string, op string) error {
	for _, seg := range strings.Split(path, ".") {
		if seg == "$" || strings.HasPrefix(seg, "$[") {
			return invalid("positional update operators (%q) are not supported for users' updates: use the array index, or call a system function", path)
		}
		if err := checkFieldName(seg); err != nil {
			return err
		}
	}
	for other, otherOp := range seen {
		if other == path || strings.HasPrefix(other, path+".") || strings.HasPrefix(path, other+".") {
			return invalid("updating the path %q with %s would create a conflict at %q (%s)", path, op, other, otherOp)
		}
	}
	seen[path] = op
	return nil
}

func checkFieldName(name string) error {
	if name == "" || strings.HasPrefix(name, "$") || strings.ContainsRune(name, 0) {
		return invalid("field name %q is not allowed", name)
	}
	return nil
}

func applyOperator(doc bson.D, op, path string, arg any, inserting bool, now time.Time) (bson.D, error) {
	cur, exists := lookupPath(doc, path)
	set := func(v any) (bson.D, error) { return setPath(doc, path, v) }
	switch op {
	case "$set":
		return set(cloneValue(arg))
	case "$setOnInsert":
		if !inserting {
			return doc, nil
		}
		return set(cloneValue(arg))
	case "$unset":
		return unsetPath(doc, path), nil
	case "$inc", "$mul":
		if !isNumber(arg) {
			return nil, invalid("%s: the value for %q must be a number", op, path)
		}
		if !exists {
			if op == "$inc" {
				return set(arg)
			}
			return set(zeroLike(arg))
		}
		if !isNumber(cur) {
			return nil, invalid("%s: cannot apply to %q: it is not a number", op, path)
		}
		v, err := arithmetic(op, cur, arg)
		if err != nil {
			return nil, err
		}
		return set(v)
	case "$min", "$max":
		if !exists {
			return set(cloneValue(arg))
		}
		c := compareValues(arg, cur)
		if (op == "$min" && c < 0) || (op == "$max" && c > 0) {
			return set(cloneValue(arg))
		}
		return doc, nil
	case "$rename":
		to := arg.(string)
		if !exists {
			return doc, nil
		}
		doc = unsetPath(doc, path)
		return setPath(doc, to, cur)
	case "$currentDate":
		var v any = bson.NewDateTimeFromTime(now)
		switch a := arg.(type) {
		case bool:
		case bson.D:
			t, _ := get(a, "$type")
			switch t {
			case "date":
			case "timestamp":
				v = bson.Timestamp{T: uint32(now.Unix()), I: 1}
			default:
				return nil, invalid("$currentDate: $type must be \"date\" or \"timestamp\"")
			}
		default:
			return nil, invalid("$currentDate: the value for %q must be true or {$type: ...}", path)
		}
		return set(v)
	case "$push", "$addToSet":
		return pushValues(doc, op, path, cur, exists, arg)
	case "$pop":
		if !exists {
			return doc, nil
		}
		arr, ok := cur.(bson.A)
		if !ok {
			return nil, invalid("$pop: %q is not an array", path)
		}
		if len(arr) == 0 {
			return doc, nil
		}
		if n, _ := asFloat(arg); n < 0 {
			return set(slices.Clone(arr[1:]))
		}
		return set(slices.Clone(arr[:len(arr)-1]))
	case "$pull", "$pullAll":
		if !exists {
			return doc, nil
		}
		arr, ok := cur.(bson.A)
		if !ok {
			return nil, invalid("%s: %q is not an array", op, path)
		}
		match := func(v any) (bool, error) { return matchCondition(v, arg) }
		if op == "$pullAll" {
			list, ok := arg.(bson.A)
			if !ok {
				return nil, invalid("$pullAll: the value for %q must be an array", path)
			}
			match = func(v any) (bool, error) {
				return slices.ContainsFunc(list, func(x any) bool { return equalValues(v, x) }), nil
			}
		}
		kept := bson.A{}
		for _, v := range arr {
			drop, err := match(v)
			if err != nil {
				return nil, err
			}
			if !drop {
				kept = append(kept, v)
			}
		}
		return set(kept)
	}
	return nil, invalid("the update operator %s is not supported for users' updates (it is for system functions)", op)
}

func pushValues(doc bson.D, op, path string, cur any, exists bool, arg any) (bson.D, error) {
	var arr bson.A
	if exists {
		a, ok := cur.(bson.A)
		if !ok {
			return nil, invalid("%s: %q is not an array", op, path)
		}
		arr = slices.Clone(a)
	}
	values := bson.A{arg}
	position, slice := -1, math.MinInt
	if d, ok := arg.(bson.D); ok && len(d) > 0 && strings.HasPrefix(d[0].Key, "$") {
		values = nil
		for _, m := range d {
			switch {
			case m.Key == "$each":
				list, ok := m.Value.(bson.A)
				if !ok {
					return nil, invalid("%s: $each must be an array", op)
				}
				values = list
			case m.Key == "$position" && op == "$push":
				n, ok := asInt(m.Value)
				if !ok {
					return nil, invalid("$push: $position must be an integer")
				}
				position = n
			case m.Key == "$slice" && op == "$push":
				n, ok := asInt(m.Value)
				if !ok {
					return nil, invalid("$push: $slice must be an integer")
				}
				slice = n
			default:
				return nil, invalid("%s: the modifier %s is not supported for users' updates", op, m.Key)
			}
		}
	}
	if op == "$addToSet" {
		for _, v := range values {
			if !slices.ContainsFunc(arr, func(x any) bool { return equalValues(x, v) }) {
				arr = append(arr, cloneValue(v))
			}
		}
		return setPath(doc, path, arr)
	}
	add := make(bson.A, len(values))
	for i, v := range values {
		add[i] = cloneValue(v)
	}
	switch {
	case position < 0 && position != -1:
		position = max(len(arr)+position, 0)
	case position == -1 || position > len(arr):
		position = len(arr)
	}
	arr = slices.Insert(arr, position, add...)
	if slice != math.MinInt {
		switch {
		case slice >= 0 && slice < len(arr):
			arr = arr[:slice]
		case slice < 0 && -slice < len(arr):
			arr = arr[len(arr)+slice:]
		}
	}
	return setPath(doc, path, arr)
}

// lookupPath returns the value at a dotted path (array elements by index).
func lookupPath(doc bson.D, path string) (any, bool) {
	var cur any = doc
	for _, seg := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case bson.D:
			v, ok := get(c, seg)
			if !ok {
				return nil, false
			}
			cur = v
		case bson.A:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// maxArrayPadding bounds how far past an array's end a user's update may set an element
// (the gap is filled with nulls).
const maxArrayPadding = 1000

// setPath sets the value at a dotted path, creating documents on the way (and padding
// arrays with nulls), as $set does.
func setPath(doc bson.D, path string, v any) (bson.D, error) {
	head, rest, nested := strings.Cut(path, ".")
	i := slices.IndexFunc(doc, func(e bson.E) bool { return e.Key == head })
	if !nested {
		if i >= 0 {
			doc[i].Value = v
			return doc, nil
		}
		return append(doc, bson.E{Key: head, Value: v}), nil
	}
	var child any = bson.D{}
	if i >= 0 {
		child = doc[i].Value
	}
	child, err := setIn(child, rest, v, head)
	if err != nil {
		return nil, err
	}
	if i >= 0 {
		doc[i].Value = child
		return doc, nil
	}
	return append(doc, bson.E{Key: head, Value: child}), nil
}

func setIn(container any, path string, v any, at string) (any, error) {
	switch c := container.(type) {
	case bson.D:
		return setPath(c, path, v)
	case bson.A:
		head, rest, nested := strings.Cut(path, ".")
		i, err := strconv.Atoi(head)
		if err != nil || i < 0 {
			return nil, invalid("cannot create field %q in the array %q", head, at)
		}
		if i > len(c)+maxArrayPadding {
			return nil, invalid("setting %s.%d would pad the array with more than %d nulls", at, i, maxArrayPadding)
		}
		for len(c) <= i {
			c = append(c, nil)
		}
		if !nested {
			c[i] = v
			return c, nil
		}
		child := c[i]
		if child == nil {
			child = bson.D{}
		}
		if c[i], err = setIn(child, rest, v, at+"."+head); err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, invalid("cannot create field %q in element {%s: %v}", path, at, container)
}

// unsetPath removes the field at a dotted path; an array element becomes null.
func unsetPath(doc bson.D, path string) bson.D {
	head, rest, nested := strings.Cut(path, ".")
	i := slices.IndexFunc(doc, func(e bson.E) bool { return e.Key == head })
	if i < 0 {
		return doc
	}
	if !nested {
		return slices.Delete(doc, i, i+1)
	}
	doc[i].Value = unsetIn(doc[i].Value, rest)
	return doc
}

func unsetIn(container any, path string) any {
	switch c := container.(type) {
	case bson.D:
		return unsetPath(c, path)
	case bson.A:
		head, rest, nested := strings.Cut(path, ".")
		i, err := strconv.Atoi(head)
		if err != nil || i < 0 || i >= len(c) {
			return c
		}
		if !nested {
			c[i] = nil
		} else {
			c[i] = unsetIn(c[i], rest)
		}
		return c
	}
	return container
}

// cloneValue copies documents and arrays deeply, so that a computed document shares no
// slice with the one it was computed from.
func cloneValue(v any) any {
	switch x := v.(type) {
	case bson.D:
		out := make(bson.D, len(x))
		for i, e := range x {
			out[i] = bson.E{Key: e.Key, Value: cloneValue(e.Value)}
		}
		return out
	case bson.A:
		out := make(bson.A, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

func isNumber(v any) bool {
	switch v.(type) {
	case int32, int64, float64:
		return true
	}
	return false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int32:
		return int(x), true
	case int64:
		return int(x), true
	case float64:
		if x == math.Trunc(x) {
			return int(x), true
		}
	}
	return 0, false
}

func zeroLike(v any) any {
	switch v.(type) {
	case int32:
		return int32(0)
	case int64:
		return int64(0)
	}
	return 0.0
}

// arithmetic is $inc and $mul with MongoDB's type promotion: int32 widens to int64 on
// overflow, and a double on either side makes a double.
func arithmetic(op string, a, b any) (any, error) {
	_, af := a.(float64)
	_, bf := b.(float64)
	if af || bf {
		x, _ := asFloat(a)
		y, _ := asFloat(b)
		if op == "$inc" {
			return x + y, nil
		}
		return x * y, nil
	}
	x, y := toInt64(a), toInt64(b)
	var r int64
	if op == "$inc" {
		r = x + y
		if (y > 0 && r < x) || (y < 0 && r > x) {
			return nil, invalid("%s: integer overflow", op)
		}
	} else {
		if x != 0 && y != 0 {
			r = x * y
			if r/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
				return nil, invalid("%s: integer overflow", op)
			}
		}
	}
	_, a32 := a.(int32)
	_, b32 := b.(int32)
	if a32 && b32 && r >= math.MinInt32 && r <= math.MaxInt32 {
		return int32(r), nil
	}
	return r, nil
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int64:
		return x
	}
	return 0
}

// equalValues compares two BSON values as MongoDB's equality does: numbers by value
// whatever their type, documents field by field in order, arrays element by element.
func equalValues(a, b any) bool {
	return compareValues(a, b) == 0
}

// typeOrder is MongoDB's order of BSON types for comparisons (numbers together).
func typeOrder(v any) int {
	switch v.(type) {
	case bson.MinKey:
		return 0
	case nil, bson.Undefined:
		return 1
	case int32, int64, float64, bson.Decimal128:
		return 2
	case string, bson.Symbol:
		return 3
	case bson.D:
		return 4
	case bson.A:
		return 5
	case bson.Binary:
		return 6
	case bson.ObjectID:
		return 7
	case bool:
		return 8
	case bson.DateTime:
		return 9
	case bson.Timestamp:
		return 10
	case bson.Regex:
		return 11
	case bson.MaxKey:
		return 13
	}
	return 12
}

// compareValues orders two BSON values as MongoDB's comparison order does, for the
// types apps store; values of other types compare by their encoding.
func compareValues(a, b any) int {
	ta, tb := typeOrder(a), typeOrder(b)
	if ta != tb {
		return cmp.Compare(ta, tb)
	}
	switch x := a.(type) {
	case nil, bson.Undefined, bson.MinKey, bson.MaxKey:
		return 0
	case int32, int64, float64:
		if y, ok := b.(int64); ok {
			if xi, ok := x.(int64); ok {
				return cmp.Compare(xi, y)
			}
		}
		fx, _ := asFloat(x)
		fy, ok := asFloat(b)
		if !ok {
			break
		}
		switch {
		case fx < fy:
			return -1
		case fx > fy:
			return 1
		}
		return 0
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case bson.D:
		y := b.(bson.D)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := strings.Compare(x[i].Key, y[i].Key); c != 0 {
				return c
			}
			if c := compareValues(x[i].Value, y[i].Value); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(x), len(y))
	case bson.A:
		y := b.(bson.A)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := compareValues(x[i], y[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(x), len(y))
	case bson.ObjectID:
		y := b.(bson.ObjectID)
		return bytes.Compare(x[:], y[:])
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case bson.DateTime:
		return cmp.Compare(int64(x), int64(b.(bson.DateTime)))
	case bson.Timestamp:
		y := b.(bson.Timestamp)
		if c := cmp.Compare(x.T, y.T); c != 0 {
			return c
		}
		return cmp.Compare(x.I, y.I)
	}
	ea, _ := bson.Marshal(bson.D{{Key: "v", Value: a}})
	eb, _ := bson.Marshal(bson.D{{Key: "v", Value: b}})
	return bytes.Compare(ea, eb)
}

// matchCondition is $pull's test of one array element: a value is matched by equality;
// a document of query operators ({$gte: 5}) is applied to the element; a document of
// fields ({done: true}) matches documents whose fields match.
func matchCondition(v, cond any) (bool, error) {
	d, ok := cond.(bson.D)
	if !ok {
		return equalValues(v, cond), nil
	}
	if len(d) > 0 && strings.HasPrefix(d[0].Key, "$") {
		return matchOperators(v, d)
	}
	sub, ok := v.(bson.D)
	if !ok {
		return false, nil
	}
	for _, f := range d {
		fv, exists := lookupPath(sub, f.Key)
		if c, isOps := f.Value.(bson.D); isOps && len(c) > 0 && strings.HasPrefix(c[0].Key, "$") {
			if !exists {
				fv = nil
			}
			ok, err := matchOperators(fv, c)
			if err != nil || !ok {
				return false, err
			}
			continue
		}
		if !exists || !equalValues(fv, f.Value) {
			return false, nil
		}
	}
	return true, nil
}

func matchOperators(v any, ops bson.D) (bool, error) {
	for _, op := range ops {
		var ok bool
		switch op.Key {
		case "$eq":
			ok = equalValues(v, op.Value)
		case "$ne":
			ok = !equalValues(v, op.Value)
		case "$gt", "$gte", "$lt", "$lte":
			if typeOrder(v) != typeOrder(op.Value) {
				return false, nil
			}
			c := compareValues(v, op.Value)
			ok = map[string]bool{"$gt": c > 0, "$gte": c >= 0, "$lt": c < 0, "$lte": c <= 0}[op.Key]
		case "$in", "$nin":
			list, isArr := op.Value.(bson.A)
			if !isArr {
				return false, invalid("%s needs an array", op.Key)
			}
			ok = slices.ContainsFunc(list, func(x any) bool { return equalValues(v, x) }) == (op.Key == "$in")
		default:
			return false, invalid("the condition %s is not supported in $pull for users' updates", op.Key)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// pinPreImage is a filter that matches the document only while it is still as it was
// read: every top-level field equal to what was read.
func pinPreImage(doc bson.D) bson.D {
	out := make(bson.D, 0, len(doc))
	for _, e := range doc {
		out = append(out, bson.E{Key: e.Key, Value: bson.D{{Key: "$eq", Value: e.Value}}})
	}
	return out
}
