package appconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wardenauth/warden/internal/rules"
)

// DataSource is one MongoDB data source (data_sources/<name>/config.json, or a legacy
// services/<name>/config.json of type mongodb or mongodb-atlas) with its rules.
type DataSource struct {
	// Name is what context.services.get(), mongoClient() and custom user data refer to.
	Name string
	// ID is the legacy service id, when the export has one.
	ID string
	// Type is "mongodb", "mongodb-atlas" or "datalake".
	Type string
	// URI is the connection string from config.uri, if any.
	URI string
	// URISecret names the secret holding the connection string (secret_config.uri).
	URISecret string
	// ClusterName is an Atlas cluster's name (informational).
	ClusterName string
	// DefaultRule applies to every collection without rules of its own (nil: none).
	DefaultRule *rules.Collection
	// Rules are the per-collection rules, keyed "<database>.<collection>".
	Rules map[string]*rules.Collection
}

// RulesFor returns the rules of a collection: its own, else the default rule, else nil
// (no access for anyone but the system user).
func (d *DataSource) RulesFor(database, collection string) *rules.Collection {
	if c, ok := d.Rules[database+"."+collection]; ok {
		return c
	}
	return d.DefaultRule
}

// CustomUserData is auth/custom_user_data.json.
type CustomUserData struct {
	Enabled                    bool   `json:"enabled"`
	MongoServiceName           string `json:"mongo_service_name"`
	MongoServiceID             string `json:"mongo_service_id"`
	DatabaseName               string `json:"database_name"`
	CollectionName             string `json:"collection_name"`
	UserIDField                string `json:"user_id_field"`
	OnUserCreationFunctionName string `json:"on_user_creation_function_name"`
}

type dataSourceFile struct {
	ID           string                     `json:"id"`
	Name         string                     `json:"name"`
	Type         string                     `json:"type"`
	Config       map[string]json.RawMessage `json:"config"`
	SecretConfig map[string]string          `json:"secret_config"`
}

func loadDataSources(app *App, dir string) error {
	app.DataSources = map[string]*DataSource{}
	for _, parent := range []string{"data_sources", "services"} {
		base := filepath.Join(dir, parent)
		entries, err := os.ReadDir(base)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", base, err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			if err := loadDataSource(app, filepath.Join(base, e.Name()), e.Name(), parent == "services"); err != nil {
				return err
			}
		}
	}
	return nil
}

func loadDataSource(app *App, dir, dirName string, legacy bool) error {
	file := filepath.Join(dir, "config.json")
	var f dataSourceFile
	ok, err := readJSON(file, &f)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	switch f.Type {
	case "mongodb", "mongodb-atlas", "datalake":
	default:
		if legacy {
			// An HTTP, GCM or Twilio service: not a data source, and not served.
			app.Components = append(app.Components, fmt.Sprintf("services/%s (type %s)", dirName, f.Type))
			return nil
		}
		return &Error{File: file, Err: fmt.Errorf("data source type %q is not one of mongodb, mongodb-atlas, datalake", f.Type)}
	}
	ds := &DataSource{Name: firstNonEmpty(f.Name, dirName), ID: f.ID, Type: f.Type, Rules: map[string]*rules.Collection{}}
	if raw, ok := f.Config["uri"]; ok {
		if err := json.Unmarshal(raw, &ds.URI); err != nil {
			return &Error{File: file, Err: fmt.Errorf("config.uri: %w", err)}
		}
	}
	if raw, ok := f.Config["clusterName"]; ok {
		_ = json.Unmarshal(raw, &ds.ClusterName)
	}
	ds.URISecret = f.SecretConfig["uri"]
	if _, dup := app.DataSources[ds.Name]; dup {
		return &Error{File: file, Err: fmt.Errorf("data source %q is defined twice", ds.Name)}
	}

	readRule := func(path string) (*rules.Collection, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, &Error{File: path, Err: err}
		}
		c, err := rules.Parse(data)
		if err != nil {
			return nil, &Error{File: path, Err: err}
		}
		return c, nil
	}
	addRule := func(path string, c *rules.Collection) error {
		if c.Database == "" && c.Collection == "" {
			// A rule without a namespace is a default rule (realm-js templates did this).
			if ds.DefaultRule != nil {
				return &Error{File: path, Err: errors.New("a second default rule")}
			}
			ds.DefaultRule = c
			return nil
		}
		key := c.Database + "." + c.Collection
		if _, dup := ds.Rules[key]; dup {
			return &Error{File: path, Err: fmt.Errorf("rules for %s are defined twice", key)}
		}
		ds.Rules[key] = c
		return nil
	}

	if p := filepath.Join(dir, "default_rule.json"); fileExists(p) {
		c, err := readRule(p)
		if err != nil {
			return err
		}
		ds.DefaultRule = c
	}
	if legacy {
		entries, _ := os.ReadDir(filepath.Join(dir, "rules"))
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			p := filepath.Join(dir, "rules", e.Name())
			c, err := readRule(p)
			if err != nil {
				return err
			}
			if err := addRule(p, c); err != nil {
				return err
			}
		}
	} else {
		dbs, _ := os.ReadDir(dir)
		for _, db := range dbs {
			if !db.IsDir() {
				continue
			}
			colls, _ := os.ReadDir(filepath.Join(dir, db.Name()))
			for _, coll := range colls {
				if !coll.IsDir() {
					continue
				}
				p := filepath.Join(dir, db.Name(), coll.Name(), "rules.json")
				if !fileExists(p) {
					continue // schema.json and relationships.json alone: no rules, default applies
				}
				c, err := readRule(p)
				if err != nil {
					return err
				}
				if c.Database == "" {
					c.Database = db.Name()
				}
				if c.Collection == "" {
					c.Collection = coll.Name()
				}
				if err := addRule(p, c); err != nil {
					return err
				}
			}
		}
	}
	app.DataSources[ds.Name] = ds
	return nil
}

func loadCustomUserData(app *App, dir string, legacy *CustomUserData) error {
	file := filepath.Join(dir, "auth", "custom_user_data.json")
	var c CustomUserData
	ok, err := readJSON(file, &c)
	if err != nil {
		return err
	}
	if !ok {
		if legacy == nil {
			return nil
		}
		c, file = *legacy, "config.json (custom_user_data_config)"
	}
	if !c.Enabled {
		return nil
	}
	if c.MongoServiceName == "" && c.MongoServiceID != "" {
		for _, ds := range app.DataSources {
			if ds.ID == c.MongoServiceID {
				c.MongoServiceName = ds.Name
			}
		}
	}
	switch {
	case c.MongoServiceName == "":
		return &Error{File: file, Err: errors.New("enabled without mongo_service_name")}
	case app.DataSources[c.MongoServiceName] == nil:
		return &Error{File: file, Err: fmt.Errorf("mongo_service_name %q names no data source in data_sources/", c.MongoServiceName)}
	case c.DatabaseName == "" || c.CollectionName == "" || c.UserIDField == "":
		return &Error{File: file, Err: errors.New("database_name, collection_name and user_id_field are required")}
	}
	if c.OnUserCreationFunctionName != "" {
		if _, ok := app.Functions[c.OnUserCreationFunctionName]; !ok {
			return &Error{File: file, Err: fmt.Errorf("on_user_creation_function_name %q names no function in functions/", c.OnUserCreationFunctionName)}
		}
	}
	app.CustomUserData = &c
	return nil
}

// DataSourceNames returns the names of the app's data sources, sorted.
func (a *App) DataSourceNames() []string { return SortedKeys(a.DataSources) }

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
