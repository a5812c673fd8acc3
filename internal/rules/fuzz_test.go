package rules

import (
	"testing"
)

// FuzzParseAndEvaluate feeds rule files to Parse and, when they parse, evaluates every
// role and compiles its query: none of it may panic, whatever the file says.
func FuzzParseAndEvaluate(f *testing.F) {
	for _, seed := range []string{
		ownerRules,
		`{"roles":[{"name":"admin","apply_when":{"%%user.custom_data.isTeamAdmin":true},"read":true,"write":true}]}`,
		`{"roles":[{"name":"r","apply_when":{"%or":[{"a":{"$in":[1,"x"]}},{"%%values.v":{"%and":[{"$gt":0},{"$lte":42}]}}]}}]}`,
		`{"roles":[{"name":"r","apply_when":{"%not":{"b.c":{"$exists":true}}},"document_filters":{"read":{"o":"%%user.id"},"write":false},"read":true}],"filters":[{"name":"f","apply_when":{"%%true":true},"query":{"o":"%%user.id"},"projection":{"s":0}}]}`,
		`{"roles":[{"name":"r","apply_when":{"id":{"%stringToOid":"%%user.id"}},"fields":{"a":{"read":true,"fields":{"b":{"write":true}}}}}]}`,
		`{"roles":[{"name":"r","apply_when":{"%%args.0":{"$eq":{"$oid":"65a000000000000000000001"}}}}]}`,
	} {
		f.Add([]byte(seed))
	}
	env := Env{
		User:   &User{ID: "u1", Type: "normal", Data: map[string]any{"email": "a@b"}, CustomData: map[string]any{"isTeamAdmin": true}},
		Values: map[string]any{"v": 3.0},
		Root:   map[string]any{"a": "x", "o": "u1", "b": map[string]any{"c": []any{1.0, "two"}}},
		Args:   []any{"first"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		_, _ = c.Visible(env)
		for _, k := range []Write{Insert, Update, Delete} {
			_, _ = c.CanWrite(k, env, []string{"a", "b.c"})
		}
		_, _, _ = c.ReadQuery(env)
		_, _, _ = c.WriteQuery(env)
		_, _, _ = c.ApplyFilters(env)
		_ = c.DocumentLevelOnly()
	})
}
