package appconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Function is one App Services function: its source and its configuration.
type Function struct {
	Name          string          `json:"name"`
	Private       bool            `json:"private"`
	RunAsSystem   bool            `json:"run_as_system"`
	CanEvaluate   json.RawMessage `json:"can_evaluate,omitempty"`
	DisableArgLog bool            `json:"disable_arg_logs"`
	Source        string          `json:"-"`
	File          string          `json:"-"`
}

// Value is one entry of values/: a plain value, or the name of a secret.
type Value struct {
	Name       string          `json:"name"`
	Value      json.RawMessage `json:"value"`
	FromSecret bool            `json:"from_secret"`
}

// loadFunctions reads functions/config.json and the sources under functions/ (current
// layout), or functions/<name>/{config.json,source.js} (legacy layout). A source file
// without a config entry is a public, non-system function, as App Services imported it.
func loadFunctions(app *App, dir string) error {
	root := filepath.Join(dir, "functions")
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	app.Functions = map[string]*Function{}
	var manifest []*Function
	manifestFile := filepath.Join(root, "config.json")
	if _, err := readJSON(manifestFile, &manifest); err != nil {
		return err
	}
	byName := map[string]*Function{}
	for _, f := range manifest {
		if f == nil || f.Name == "" {
			return &Error{File: manifestFile, Err: errors.New("a function entry has no name")}
		}
		if _, dup := byName[f.Name]; dup {
			return &Error{File: manifestFile, Err: fmt.Errorf("function %q is listed twice", f.Name)}
		}
		byName[f.Name] = f
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			// Legacy layout: functions/<name>/config.json + source.js.
			legacyCfg := filepath.Join(path, "config.json")
			legacySrc := filepath.Join(path, "source.js")
			if path != root {
				if _, err := os.Stat(legacySrc); err == nil {
					var f Function
					if _, err := readJSON(legacyCfg, &f); err != nil {
						return err
					}
					rel, _ := filepath.Rel(root, path)
					if f.Name == "" {
						f.Name = filepath.ToSlash(rel)
					}
					src, err := os.ReadFile(legacySrc)
					if err != nil {
						return &Error{File: legacySrc, Err: err}
					}
					f.Source, f.File = string(src), legacySrc
					app.Functions[f.Name] = &f
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".js") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		name := strings.TrimSuffix(filepath.ToSlash(rel), ".js")
		src, err := os.ReadFile(path)
		if err != nil {
			return &Error{File: path, Err: err}
		}
		f := byName[name]
		if f == nil {
			f = &Function{Name: name}
		}
		f.Source, f.File = string(src), path
		app.Functions[name] = f
		return nil
	})
	if err != nil {
		return err
	}
	for name := range byName {
		if _, ok := app.Functions[name]; !ok {
			return &Error{File: manifestFile, Err: fmt.Errorf("function %q has no source file functions/%s.js", name, name)}
		}
	}
	return nil
}

// loadValues reads values/*.json and the active environment's values.
func loadValues(app *App, dir, environment string) error {
	app.Values = map[string]*Value{}
	entries, err := os.ReadDir(filepath.Join(dir, "values"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading values: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		file := filepath.Join(dir, "values", e.Name())
		var v Value
		if _, err := readJSON(file, &v); err != nil {
			return err
		}
		if v.Name == "" {
			v.Name = strings.TrimSuffix(e.Name(), ".json")
		}
		if v.FromSecret {
			var name string
			if json.Unmarshal(v.Value, &name) != nil || name == "" {
				return &Error{File: file, Err: errors.New("a from_secret value must name a secret")}
			}
		}
		app.Values[v.Name] = &v
	}
	envFile := "no-environment.json"
	if environment != "" {
		envFile = environment + ".json"
	}
	var env struct {
		Values map[string]json.RawMessage `json:"values"`
	}
	if _, err := readJSON(filepath.Join(dir, "environments", envFile), &env); err != nil {
		return err
	}
	app.Environment = environment
	app.EnvironmentValues = env.Values
	return nil
}

// FunctionNames lists the app's functions in name order.
func (a *App) FunctionNames() []string { return SortedKeys(a.Functions) }

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ResolvedValues returns every value by name with secret-backed values read from
// secrets (left out when the secret is not set), as %%values in rules sees them.
func (a *App) ResolvedValues(secrets *Secrets) map[string]any {
	out := make(map[string]any, len(a.Values))
	for name, v := range a.Values {
		if v.FromSecret {
			var secret string
			if json.Unmarshal(v.Value, &secret) != nil {
				continue
			}
			if s, ok := secrets.Get(secret); ok {
				out[name] = s
			}
			continue
		}
		var x any
		if json.Unmarshal(v.Value, &x) == nil {
			out[name] = x
		}
	}
	return out
}

// EnvironmentObject is %%environment / context.environment: {tag, values}.
func (a *App) EnvironmentObject() map[string]any {
	values := map[string]any{}
	for k, raw := range a.EnvironmentValues {
		var x any
		if json.Unmarshal(raw, &x) == nil {
			values[k] = x
		}
	}
	return map[string]any{"tag": a.Environment, "values": values}
}
