package rules

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// User is the calling user as an app sees it: %%user in rule expressions, context.user
// in functions (which use this type).
type User struct {
	ID   string `json:"id"`
	Type string `json:"type"` // "normal" or "server"
	// Data is the user's profile data (%%user.data).
	Data map[string]any `json:"data"`
	// CustomData is the user's custom data document (%%user.custom_data).
	CustomData map[string]any `json:"custom_data"`
	Identities []Identity     `json:"identities"`
}

// Identity is one identity of the calling user.
type Identity struct {
	ID           string `json:"id"`
	ProviderType string `json:"provider_type"`
}

func (u *User) value() any {
	if u == nil {
		return missing
	}
	ids := make([]any, len(u.Identities))
	for i, id := range u.Identities {
		ids[i] = map[string]any{"id": id.ID, "provider_type": id.ProviderType}
	}
	data, custom := u.Data, u.CustomData
	if data == nil {
		data = map[string]any{}
	}
	if custom == nil {
		custom = map[string]any{}
	}
	return map[string]any{"id": u.ID, "type": u.Type, "data": data, "custom_data": custom, "identities": ids}
}

// FunctionCaller runs an app function for a %function expression, with the context of
// the request whose rules are evaluated (Env.Context).
type FunctionCaller func(ctx context.Context, name string, args []any) (any, error)

// Env is what expressions are evaluated against.
type Env struct {
	User *User
	// Values are the app's values by name (%%values.<name>), secrets already resolved.
	Values map[string]any
	// Environment is %%environment ({tag, values}).
	Environment map[string]any
	// Request is %%request.
	Request map[string]any
	// Root is the document the expression is about (%%root, and plain field names);
	// PrevRoot is the document before a write (%%prevRoot).
	Root, PrevRoot map[string]any
	// Function runs %function expressions; nil makes them false.
	Function FunctionCaller
	// Args are a function call's arguments (%%args), for can_evaluate rules.
	Args []any
	// Context is the request the rules are evaluated for, given to %function calls (nil:
	// the caller's own).
	Context context.Context
}

// WithRoot returns a copy of env about another document.
func (env Env) WithRoot(root, prev map[string]any) Env {
	env.Root, env.PrevRoot = root, prev
	return env
}

// missingValue marks a path that does not exist (JavaScript's undefined).
type missingValue struct{}

var missing = missingValue{}

// ErrUnknownExpansion is an expansion (%%name) that the engine does not know.
var ErrUnknownExpansion = errors.New("unknown expansion")

// Evaluate reports whether the expression is true. A nil expression (absent from the
// rule) is true; booleans are themselves; an object is true when all its keys are.
func Evaluate(expr any, env Env) (bool, error) {
	switch x := expr.(type) {
	case nil:
		return true, nil
	case bool:
		return x, nil
	case string:
		v, err := expandString(x, env)
		if err != nil {
			return false, err
		}
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("expression %q is not a boolean", x)
		}
		return b, nil
	case map[string]any:
		for key, spec := range x {
			ok, err := evalKey(key, spec, env)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	return false, fmt.Errorf("expression of type %T is neither a boolean nor an object", expr)
}

func evalKey(key string, spec any, env Env) (bool, error) {
	switch key {
	case "%and", "%or", "%nor":
		list, ok := spec.([]any)
		if !ok {
			return false, fmt.Errorf("%s takes an array of expressions", key)
		}
		count := 0
		for _, e := range list {
			ok, err := Evaluate(e, env)
			if err != nil {
				return false, err
			}
			if ok {
				count++
			}
		}
		switch key {
		case "%and":
			return count == len(list), nil
		case "%or":
			return count > 0, nil
		}
		return count == 0, nil
	case "%not":
		ok, err := Evaluate(spec, env)
		return !ok, err
	}
	var lhs any
	if strings.HasPrefix(key, "%%") {
		v, err := expandString(key, env)
		if err != nil {
			return false, err
		}
		lhs = v
	} else {
		lhs = lookup(env.Root, key)
	}
	if clientSupplied(key) {
		return matchExactly(lhs, spec, env)
	}
	return match(lhs, spec, env)
}

// clientSupplied reports an expansion whose value the caller chose (a function's
// arguments, the request): compared to a value, it must equal it exactly. MongoDB's
// "an array contains the value" applies to documents, where an owners array is data; for
// a caller's arguments it would let ["victim-id", "my-id"] pass {"%%args.0": "%%user.id"}.
func clientSupplied(key string) bool {
	return key == "%%args" || strings.HasPrefix(key, "%%args.") || key == "%%request" || strings.HasPrefix(key, "%%request.")
}

// matchExactly is match without array containment: an array value equals only an equal
// array. Operator objects are applied as they are.
func matchExactly(value, spec any, env Env) (bool, error) {
	if m, ok := spec.(map[string]any); ok && isOperatorObject(m) {
		return match(value, spec, env)
	}
	want, err := expandValue(spec, env)
	if err != nil {
		return false, err
	}
	return equal(value, want), nil
}

// match reports whether value satisfies spec: an operator object ({"$in": [...]}) or a
// value to equal (an array value matches when it contains the value, as in MongoDB).
func match(value, spec any, env Env) (bool, error) {
	if m, ok := spec.(map[string]any); ok && isOperatorObject(m) {
		for op, arg := range m {
			ok, err := applyOperator(op, value, arg, env)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	want, err := expandValue(spec, env)
	if err != nil {
		return false, err
	}
	return equalOrContains(value, want), nil
}

func isOperatorObject(m map[string]any) bool {
	if len(m) == 0 {
		return false
	}
	for k := range m {
		if !strings.HasPrefix(k, "$") && !strings.HasPrefix(k, "%") || strings.HasPrefix(k, "%%") {
			return false
		}
		if k == "%function" || k == "%stringToOid" || k == "%oidToString" || k == "%stringToUuid" || k == "%uuidToString" {
			return false // value converters, not operators
		}
	}
	return true
}

func applyOperator(op string, value, arg any, env Env) (bool, error) {
	switch op {
	case "%and", "%or", "%nor":
		list, ok := arg.([]any)
		if !ok {
			return false, fmt.Errorf("%s takes an array", op)
		}
		count := 0
		for _, s := range list {
			ok, err := match(value, s, env)
			if err != nil {
				return false, err
			}
			if ok {
				count++
			}
		}
		switch op {
		case "%and":
			return count == len(list), nil
		case "%or":
			return count > 0, nil
		}
		return count == 0, nil
	case "%not", "$not":
		ok, err := match(value, arg, env)
		return !ok, err
	}
	want, err := expandValue(arg, env)
	if err != nil {
		return false, err
	}
	switch op {
	case "$exists", "%exists":
		b, _ := want.(bool)
		_, absent := value.(missingValue)
		return b != absent, nil
	case "$eq":
		return equalOrContains(value, want), nil
	case "$ne":
		return !equalOrContains(value, want), nil
	case "$in", "$nin":
		list, ok := want.([]any)
		if !ok {
			return false, fmt.Errorf("%s takes an array", op)
		}
		found := false
		for _, w := range list {
			if equalOrContains(value, w) {
				found = true
				break
			}
		}
		return found == (op == "$in"), nil
	case "$gt", "$gte", "$lt", "$lte":
		c, ok := compare(value, want)
		if !ok {
			return false, nil
		}
		switch op {
		case "$gt":
			return c > 0, nil
		case "$gte":
			return c >= 0, nil
		case "$lt":
			return c < 0, nil
		}
		return c <= 0, nil
	}
	return false, fmt.Errorf("unknown operator %q", op)
}

// expandValue replaces expansions inside a value (strings starting with %%, converter
// objects and %function calls), recursively.
func expandValue(v any, env Env) (any, error) {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(x, "%%") {
			return expandString(x, env)
		}
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			ev, err := expandValue(e, env)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if conv, ok := converters[k]; ok {
					a, err := expandValue(arg, env)
					if err != nil {
						return nil, err
					}
					return conv(a)
				}
				if k == "%function" {
					return callFunction(arg, env)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			ev, err := expandValue(e, env)
			if err != nil {
				return nil, err
			}
			out[k] = ev
		}
		return out, nil
	}
	return v, nil
}

var converters = map[string]func(any) (any, error){
	"%stringToOid": func(a any) (any, error) {
		s, _ := a.(string)
		id, err := bson.ObjectIDFromHex(s)
		if err != nil {
			return nil, fmt.Errorf("%%stringToOid: %q is not an ObjectId", s)
		}
		return id, nil
	},
	"%oidToString": func(a any) (any, error) {
		if id, ok := a.(bson.ObjectID); ok {
			return id.Hex(), nil
		}
		return nil, fmt.Errorf("%%oidToString: not an ObjectId")
	},
	"%stringToUuid": func(a any) (any, error) {
		s, _ := a.(string)
		raw, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
		if err != nil || len(raw) != 16 || (strings.Contains(s, "-") && len(s) != 36) {
			return nil, fmt.Errorf("%%stringToUuid: %q is not a UUID", s)
		}
		return bson.Binary{Subtype: bson.TypeBinaryUUID, Data: raw}, nil
	},
	"%uuidToString": func(a any) (any, error) {
		b, ok := a.(bson.Binary)
		if !ok || len(b.Data) != 16 || (b.Subtype != bson.TypeBinaryUUID && b.Subtype != bson.TypeBinaryUUIDOld) {
			return nil, fmt.Errorf("%%uuidToString: not a UUID")
		}
		h := hex.EncodeToString(b.Data)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
	},
}

// callFunction evaluates {"%function": {name, arguments}}; a function that fails makes
// the value false, as App Services did.
func callFunction(arg any, env Env) (any, error) {
	spec, _ := arg.(map[string]any)
	name, _ := spec["name"].(string)
	if name == "" {
		return nil, errors.New("%function needs a name")
	}
	if env.Function == nil {
		return false, nil
	}
	var args []any
	if list, ok := spec["arguments"].([]any); ok {
		for _, a := range list {
			v, err := expandValue(a, env)
			if err != nil {
				return nil, err
			}
			args = append(args, v)
		}
	}
	out, err := env.Function(env.Context, name, args)
	if err != nil {
		return false, nil
	}
	return out, nil
}

// expandString resolves one %% expansion.
func expandString(s string, env Env) (any, error) {
	head, rest, _ := strings.Cut(strings.TrimPrefix(s, "%%"), ".")
	var base any
	switch head {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "user":
		base = env.User.value()
	case "root", "this":
		base = rootValue(env.Root)
	case "prevRoot", "prev":
		base = rootValue(env.PrevRoot)
	case "values":
		base = mapValue(env.Values)
	case "environment":
		base = mapValue(env.Environment)
	case "request":
		base = mapValue(env.Request)
	case "args":
		args := make([]any, len(env.Args))
		copy(args, env.Args)
		base = args
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnknownExpansion, s)
	}
	if rest == "" {
		return base, nil
	}
	return lookupIn(base, rest), nil
}

func rootValue(m map[string]any) any {
	if m == nil {
		return missing
	}
	return m
}

func mapValue(m map[string]any) any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// lookup follows a dotted path through documents (and array indexes).
func lookup(m map[string]any, path string) any {
	if m == nil {
		return missing
	}
	return lookupIn(m, path)
}

// lookupIn follows a dotted path from any value.
func lookupIn(cur any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok {
				return missing
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return missing
			}
			cur = c[i]
		default:
			return missing
		}
	}
	return cur
}

// equalOrContains is MongoDB's equality: equal values, a missing value equal to null, or
// an array value that contains the wanted value.
func equalOrContains(value, want any) bool {
	if equal(value, want) {
		return true
	}
	if arr, ok := value.([]any); ok {
		for _, e := range arr {
			if equal(e, want) {
				return true
			}
		}
	}
	return false
}

func equal(a, b any) bool {
	if _, ok := a.(missingValue); ok {
		a = nil
	}
	if _, ok := b.(missingValue); ok {
		b = nil
	}
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	case bson.ObjectID, string, bool, bson.DateTime:
		return a == b
	}
	return fmt.Sprint(a) == fmt.Sprint(b) && fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, !math.IsNaN(x)
	}
	return 0, false
}

func compare(a, b any) (int, bool) {
	if x, ok := number(a); ok {
		y, ok := number(b)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	case bson.DateTime:
		y, ok := b.(bson.DateTime)
		if !ok {
			return 0, false
		}
		return cmp.Compare(int64(x), int64(y)), true
	}
	return 0, false
}

// Check reports an expression that uses an unknown expansion or operator.
func Check(expr any) error {
	switch x := expr.(type) {
	case string:
		if strings.HasPrefix(x, "%%") {
			if _, err := expandString(x, Env{}); errors.Is(err, ErrUnknownExpansion) {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := Check(e); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, v := range x {
			if strings.HasPrefix(k, "%%") {
				if err := Check(k); err != nil {
					return err
				}
			} else if strings.HasPrefix(k, "%") || strings.HasPrefix(k, "$") {
				if !knownOperators[k] {
					return fmt.Errorf("unknown operator %q", k)
				}
			}
			if err := Check(v); err != nil {
				return err
			}
		}
	}
	return nil
}

var knownOperators = map[string]bool{
	"%and": true, "%or": true, "%nor": true, "%not": true, "$not": true,
	"$exists": true, "%exists": true, "$eq": true, "$ne": true, "$in": true, "$nin": true,
	"$gt": true, "$gte": true, "$lt": true, "$lte": true,
	"%stringToOid": true, "%oidToString": true, "%stringToUuid": true, "%uuidToString": true, "%function": true,
	// Extended JSON wrappers that survive as values.
	"$oid": true, "$date": true, "$numberLong": true, "$numberInt": true, "$numberDouble": true, "$numberDecimal": true,
}

// dependsOnRoot reports whether an expression refers to the document (a plain field
// name, %%root, %%this, %%prevRoot or %%prev).
func dependsOnRoot(expr any) bool {
	m, ok := expr.(map[string]any)
	if !ok {
		return valueDependsOnRoot(expr)
	}
	for k, v := range m {
		switch {
		case k == "%and" || k == "%or" || k == "%nor":
			list, _ := v.([]any)
			for _, e := range list {
				if dependsOnRoot(e) {
					return true
				}
			}
		case k == "%not":
			if dependsOnRoot(v) {
				return true
			}
		case strings.HasPrefix(k, "%%"):
			if valueDependsOnRoot(k) || valueDependsOnRoot(v) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

func valueDependsOnRoot(v any) bool {
	switch x := v.(type) {
	case string:
		for _, p := range []string{"%%root", "%%this", "%%prev"} {
			if strings.HasPrefix(x, p) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if valueDependsOnRoot(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if valueDependsOnRoot(e) {
				return true
			}
		}
	}
	return false
}
