// Package rules evaluates App Services data-access rules: the roles of a collection
// (chosen per document by apply_when, first match wins, none means no access), their
// document filters, document-level and field-level read and write permissions, the
// insert and delete permissions, the collection's filters, and the rule expressions with
// their %% expansions (%%user, %%root, %%prevRoot, %%values, %%environment, %%true, ...).
//
// The package knows nothing of MongoDB connections or HTTP: it reads rule files, answers
// "may this caller see/change this document" for plain documents, and turns role
// conditions into MongoDB queries so that a read can be narrowed before it is run.
package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wardenauth/warden/internal/ejson"
)

// Collection is the rule set of one collection (its rules.json) or a data source's
// default rule (default_rule.json).
type Collection struct {
	Database   string   `json:"database,omitempty"`
	Collection string   `json:"collection,omitempty"`
	Roles      []Role   `json:"roles"`
	Filters    []Filter `json:"filters,omitempty"`
}

// Role is one role of a collection.
type Role struct {
	Name            string           `json:"name"`
	ApplyWhen       any              `json:"apply_when"`
	DocumentFilters *DocumentFilters `json:"document_filters,omitempty"`
	// Read and Write are document-level permissions (a boolean or an expression); when
	// set and true they override every field-level rule. Write implies read.
	Read  any `json:"read,omitempty"`
	Write any `json:"write,omitempty"`
	// Insert, Delete and Search default to true; they are checked after write permission.
	Insert any `json:"insert,omitempty"`
	Delete any `json:"delete,omitempty"`
	Search any `json:"search,omitempty"`
	// Fields are field-level permissions; AdditionalFields cover every field not listed.
	Fields           map[string]Field `json:"fields,omitempty"`
	AdditionalFields *Field           `json:"additional_fields,omitempty"`
}

// DocumentFilters gate whether a role's read and write permissions are evaluated at all.
type DocumentFilters struct {
	Read  any `json:"read,omitempty"`
	Write any `json:"write,omitempty"`
}

// Field is a field-level permission; Fields holds rules for the fields of an embedded
// document.
type Field struct {
	Read   any              `json:"read,omitempty"`
	Write  any              `json:"write,omitempty"`
	Fields map[string]Field `json:"fields,omitempty"`
}

// Filter is merged into every request on the collection whose apply_when is true.
type Filter struct {
	Name       string `json:"name"`
	ApplyWhen  any    `json:"apply_when"`
	Query      any    `json:"query,omitempty"`
	Projection any    `json:"projection,omitempty"`
}

// Parse reads a rules.json or default_rule.json document. Expressions are checked for
// unknown expansions and operators, so that a typo is an error at start, not a silent
// denial (or grant) at run time.
func Parse(data []byte) (*Collection, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty rule file")
	}
	// Expressions may hold Extended JSON values ({"$oid": ...}); decode them as such.
	d, err := ejson.DecodeDocument(data)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(ejson.Plain(d))
	if err != nil {
		return nil, err
	}
	var c Collection
	dec := json.NewDecoder(bytes.NewReader(plain))
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	// Re-read the expressions from the BSON form so ObjectIds and dates keep their types.
	raw := ejson.Plain(d).(map[string]any)
	if roles, ok := raw["roles"].([]any); ok {
		for i := range c.Roles {
			if i < len(roles) {
				if m, ok := roles[i].(map[string]any); ok {
					c.Roles[i].restore(m)
				}
			}
		}
	}
	if filters, ok := raw["filters"].([]any); ok {
		for i := range c.Filters {
			if i >= len(filters) {
				break
			}
			if m, ok := filters[i].(map[string]any); ok {
				c.Filters[i].ApplyWhen, c.Filters[i].Query, c.Filters[i].Projection = m["apply_when"], m["query"], m["projection"]
			}
		}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (r *Role) restore(m map[string]any) {
	r.ApplyWhen, r.Read, r.Write, r.Insert, r.Delete, r.Search = m["apply_when"], m["read"], m["write"], m["insert"], m["delete"], m["search"]
	if df, ok := m["document_filters"].(map[string]any); ok && r.DocumentFilters != nil {
		r.DocumentFilters.Read, r.DocumentFilters.Write = df["read"], df["write"]
	}
}

func (c *Collection) check() error {
	names := map[string]bool{}
	for i, r := range c.Roles {
		label := fmt.Sprintf("role %d (%q)", i, r.Name)
		if len(r.Name) > 100 {
			return fmt.Errorf("%s: name longer than 100 characters", label)
		}
		if r.Name != "" && names[r.Name] {
			return fmt.Errorf("%s: two roles have this name", label)
		}
		names[r.Name] = true
		exprs := map[string]any{"apply_when": r.ApplyWhen, "read": r.Read, "write": r.Write, "insert": r.Insert, "delete": r.Delete, "search": r.Search}
		if r.DocumentFilters != nil {
			exprs["document_filters.read"] = r.DocumentFilters.Read
			exprs["document_filters.write"] = r.DocumentFilters.Write
		}
		for what, e := range exprs {
			if err := Check(e); err != nil {
				return fmt.Errorf("%s: %s: %w", label, what, err)
			}
		}
		if err := checkFields(r.Fields); err != nil {
			return fmt.Errorf("%s: fields: %w", label, err)
		}
	}
	for i, f := range c.Filters {
		if err := Check(f.ApplyWhen); err != nil {
			return fmt.Errorf("filter %d (%q): apply_when: %w", i, f.Name, err)
		}
		if dependsOnRoot(f.ApplyWhen) {
			return fmt.Errorf("filter %d (%q): apply_when may not refer to the document", i, f.Name)
		}
	}
	return nil
}

func checkFields(fields map[string]Field) error {
	for name, f := range fields {
		if err := Check(f.Read); err != nil {
			return fmt.Errorf("%s.read: %w", name, err)
		}
		if err := Check(f.Write); err != nil {
			return fmt.Errorf("%s.write: %w", name, err)
		}
		if err := checkFields(f.Fields); err != nil {
			return fmt.Errorf("%s.%w", name, err)
		}
	}
	return nil
}

// Plain turns a document read from MongoDB (bson.D, bson.M, nested arrays) into the
// map form that Env.Root and the checks take.
func Plain(doc any) map[string]any {
	m, _ := ejson.Plain(doc).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// ParseExpression reads one rule expression (a can_evaluate rule, say) from Extended
// JSON and checks it as Parse checks the expressions of a rule file.
func ParseExpression(data []byte) (any, error) {
	wrap, err := ejson.DecodeDocument([]byte(`{"e":` + string(data) + `}`))
	if err != nil {
		return nil, err
	}
	expr := ejson.Plain(wrap).(map[string]any)["e"]
	if err := Check(expr); err != nil {
		return nil, err
	}
	return expr, nil
}
