// Package ejson reads and writes MongoDB Extended JSON, the encoding of every request
// and response body of the Realm client protocol. Reading accepts both the canonical
// form that the SDKs send ({"$numberInt":"5"}) and the relaxed form (5).
package ejson

import (
	"bytes"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// ErrNotObject is returned when a body is valid JSON but not a JSON object.
var ErrNotObject = errors.New("body must be a JSON object")

// MaxDepth is the deepest nesting of objects and arrays that a body may have. MongoDB
// stores documents nested at most 100 levels deep; the request envelope and Extended
// JSON's wrappers ({"$numberInt": ...}) add a few JSON levels around such a document.
// The decoder recurses once per level, so an unbounded depth would let one request
// exhaust the stack and end the process.
const MaxDepth = 128

// ErrTooDeep is returned for a body nested more than MaxDepth levels deep.
var ErrTooDeep = fmt.Errorf("nested more than %d levels deep", MaxDepth)

// CheckDepth reports ErrTooDeep when the JSON text nests objects and arrays more than
// limit levels deep. It reads the text once without decoding it, so it is safe to run on
// any input before a recursive decoder sees it; it does not otherwise validate the JSON.
func CheckDepth(data []byte, limit int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > limit {
				return ErrTooDeep
			}
		case c == '}' || c == ']':
			depth = max(depth-1, 0)
		}
	}
	return nil
}

// DecodeObject decodes an Extended JSON object. Nested documents become
// map[string]any, arrays []any, and Extended JSON wrappers their BSON values
// (int32, int64, float64, bson.ObjectID, bson.DateTime, ...).
func DecodeObject(data []byte) (map[string]any, error) {
	d, err := DecodeDocument(data)
	if err != nil {
		return nil, err
	}
	return toMap(d), nil
}

// DecodeDocument decodes an Extended JSON object into an ordered document, for bodies
// whose key order matters (a MongoDB sort, a replacement document).
func DecodeDocument(data []byte) (bson.D, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return bson.D{}, nil
	}
	if trimmed[0] != '{' {
		return nil, ErrNotObject
	}
	if err := CheckDepth(trimmed, MaxDepth); err != nil {
		return nil, fmt.Errorf("invalid Extended JSON: %w", err)
	}
	var d bson.D
	if err := bson.UnmarshalExtJSON(trimmed, false, &d); err != nil {
		return nil, fmt.Errorf("invalid Extended JSON: %w", err)
	}
	// A key given twice would be read one way by the rules (the last value) and another
	// by MongoDB (the first): refuse it.
	if err := checkDuplicateKeys(d); err != nil {
		return nil, fmt.Errorf("invalid Extended JSON: %w", err)
	}
	// Extended JSON can say what BSON cannot hold (a NUL byte in a key or a regular
	// expression): refuse it here, not deep inside a data-source call.
	if _, err := bson.Marshal(d); err != nil {
		return nil, fmt.Errorf("invalid Extended JSON: %w", err)
	}
	return d, nil
}

func checkDuplicateKeys(v any) error {
	switch x := v.(type) {
	case bson.D:
		seen := make(map[string]bool, len(x))
		for _, e := range x {
			if seen[e.Key] {
				return fmt.Errorf("the key %q appears twice in one object", e.Key)
			}
			seen[e.Key] = true
			if err := checkDuplicateKeys(e.Value); err != nil {
				return err
			}
		}
	case bson.A:
		for _, e := range x {
			if err := checkDuplicateKeys(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Plain turns a decoded BSON value into plain Go values: documents (bson.D, bson.M or
// maps) become map[string]any and arrays []any, recursively; other values are returned
// as they are.
func Plain(v any) any { return plain(v) }

func toMap(d bson.D) map[string]any {
	m := make(map[string]any, len(d))
	for _, e := range d {
		m[e.Key] = plain(e.Value)
	}
	return m
}

func plain(v any) any {
	switch x := v.(type) {
	case bson.D:
		return toMap(x)
	case bson.M:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	case bson.A:
		return plainSlice(x)
	case []any:
		return plainSlice(x)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	default:
		return v
	}
}

func plainSlice(x []any) []any {
	out := make([]any, len(x))
	for i, e := range x {
		out[i] = plain(e)
	}
	return out
}
