// Package appconfig reads an Atlas App Services export directory (the layout that
// `appservices pull`, `realm-cli pull` and the older `realm-cli export` wrote) into one
// typed App value that the rest of Warden serves.
//
// Three generations are understood: the current format (root_config.json, with the
// client app id in .mdb/meta.json), the 2021 format (realm_config.json with app_id),
// and the legacy format (config.json or stitch.json with auth_providers/). Anything
// malformed is reported as an error that names the file and the problem; parts of the
// directory that Warden does not serve yet are listed in App.Components so that the
// server can say so in its log.
package appconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Refresh-token lifetime bounds, as App Services enforced them.
const (
	MinRefreshTokenTTL = 30 * time.Minute
	MaxRefreshTokenTTL = 5 * 365 * 24 * time.Hour
)

// App is one App Services application as Warden serves it.
type App struct {
	// ClientAppID is the id the SDKs use (`new Realm.App({id})`), e.g. "myapp-abcde".
	ClientAppID string
	// DomainID is the app's internal 24-hex id; it appears in tokens and profiles.
	DomainID string
	// Name is the app's display name.
	Name string
	// Dir is the directory the app was loaded from.
	Dir string
	// DeploymentModel is "GLOBAL" or "LOCAL" (reported by the location endpoint).
	DeploymentModel string
	// Location is the region reported by the location endpoint.
	Location string
	// AllowedOrigins, when non-empty, lists the only browser origins allowed to call the app.
	AllowedOrigins []string
	// RefreshTokenTTL is the app's refresh-token lifetime; zero means the server default.
	RefreshTokenTTL time.Duration
	// Providers holds the authentication providers keyed by name (which equals type).
	Providers map[string]*Provider
	// Functions are the app's functions by name (nil when the app has no functions/).
	Functions map[string]*Function
	// Values are the entries of values/ by name.
	Values map[string]*Value
	// Environment is the active environment ("" for none) and EnvironmentValues its values.
	Environment       string
	EnvironmentValues map[string]json.RawMessage
	// DataSources are the MongoDB data sources by name, with their rules.
	DataSources map[string]*DataSource
	// CustomUserData is the custom user data configuration (nil when not enabled).
	CustomUserData *CustomUserData
	// Components lists the parts of the directory that were found besides the root file,
	// the auth providers, functions and values, e.g. "data_sources", "triggers".
	Components []string
}

// Provider is one entry of auth/providers.json (or one legacy auth_providers/*.json file).
type Provider struct {
	// ID is the provider's 24-hex id; identities carry it as provider_id.
	ID string `json:"-"`
	// Name is the provider's name; App Services required it to equal Type.
	Name string `json:"name"`
	// Type is the provider type, e.g. "anon-user" or "local-userpass".
	Type string `json:"type"`
	// Disabled providers refuse logins.
	Disabled bool `json:"disabled"`
	// Config is the provider-specific configuration, decoded by the provider itself.
	Config json.RawMessage `json:"config,omitempty"`
	// SecretConfig maps a configuration field to the name of a secret.
	SecretConfig map[string]json.RawMessage `json:"secret_config,omitempty"`
	// MetadataFields selects provider data to copy into the user's profile.
	MetadataFields []MetadataField `json:"metadata_fields,omitempty"`
	// RedirectURIs lists the allowed OAuth redirect URLs.
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// DomainRestrictions lists the email domains an OAuth user must belong to.
	DomainRestrictions []string `json:"domain_restrictions,omitempty"`
}

// MetadataField maps one value from a provider's user data into the profile.
type MetadataField struct {
	Required  bool   `json:"required"`
	Name      string `json:"name"`
	FieldName string `json:"field_name,omitempty"`
}

// DecodeConfig decodes the provider's config object into v. A missing config leaves v as is.
func (p *Provider) DecodeConfig(v any) error {
	if len(bytes.TrimSpace(p.Config)) == 0 || string(bytes.TrimSpace(p.Config)) == "null" {
		return nil
	}
	if err := json.Unmarshal(p.Config, v); err != nil {
		return fmt.Errorf("provider %q: config: %w", p.Name, err)
	}
	return nil
}

// Options adjust how an app directory is read.
type Options struct {
	// AppID, when set, sets or overrides the client app id found in the directory.
	AppID string
}

// Error is a problem with one file of an app directory.
type Error struct {
	File string
	Err  error
}

func (e *Error) Error() string { return e.File + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// rootFile is the union of the fields Warden reads from any generation's root file.
type rootFile struct {
	AppID                  string          `json:"app_id"`
	Name                   string          `json:"name"`
	ConfigVersion          any             `json:"config_version"`
	DeploymentModel        string          `json:"deployment_model"`
	Location               string          `json:"location"`
	ProviderRegion         string          `json:"provider_region"`
	AllowedRequestOrigins  []string        `json:"allowed_request_origins"`
	RefreshTokenExpiration *int64          `json:"refresh_token_expiration_seconds"`
	Environment            string          `json:"environment"`
	CustomUserDataConfig   *CustomUserData `json:"custom_user_data_config"`
	Security               *struct {
		AllowedRequestOrigins []string `json:"allowed_request_origins"`
	} `json:"security"`
}

type metaFile struct {
	AppID       string `json:"app_id"`
	ClientAppID string `json:"client_app_id"`
}

// Load reads the app directory dir.
func Load(dir string, opts Options) (*App, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("app directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("app directory %s: not a directory", dir)
	}
	app := &App{Dir: dir, Providers: map[string]*Provider{}}

	var root rootFile
	rootName := ""
	for _, name := range []string{"root_config.json", "realm_config.json", "config.json", "stitch.json"} {
		ok, err := readJSON(filepath.Join(dir, name), &root)
		if err != nil {
			return nil, err
		}
		if ok {
			rootName = name
			break
		}
	}
	if rootName == "" {
		return nil, &Error{File: dir, Err: errors.New("no root_config.json, realm_config.json, config.json or stitch.json found")}
	}
	var meta metaFile
	if _, err := readJSON(filepath.Join(dir, ".mdb", "meta.json"), &meta); err != nil {
		return nil, err
	}

	app.Name = root.Name
	app.ClientAppID = firstNonEmpty(opts.AppID, meta.ClientAppID)
	if app.ClientAppID == "" && rootName != "root_config.json" {
		app.ClientAppID = root.AppID
	}
	if app.ClientAppID == "" {
		app.ClientAppID = root.Name
	}
	if app.ClientAppID == "" {
		return nil, &Error{File: filepath.Join(dir, rootName), Err: errors.New("no app id: set client_app_id in .mdb/meta.json, app_id in the root file, or pass --app-id")}
	}
	if !appIDPattern.MatchString(app.ClientAppID) {
		return nil, &Error{File: filepath.Join(dir, rootName), Err: fmt.Errorf("app id %q: only letters, digits, '-', '_' and '.' are allowed", app.ClientAppID)}
	}
	if isHex24(meta.AppID) {
		app.DomainID = strings.ToLower(meta.AppID)
	} else {
		app.DomainID = DeriveID("domain", app.ClientAppID)
	}
	app.DeploymentModel = firstNonEmpty(root.DeploymentModel, "GLOBAL")
	app.Location = firstNonEmpty(root.Location, root.ProviderRegion, "US-VA")
	app.AllowedOrigins = root.AllowedRequestOrigins
	if root.Security != nil && len(root.Security.AllowedRequestOrigins) > 0 {
		app.AllowedOrigins = root.Security.AllowedRequestOrigins
	}
	for _, o := range app.AllowedOrigins {
		if !strings.Contains(o, "://") {
			return nil, &Error{File: filepath.Join(dir, rootName), Err: fmt.Errorf("allowed_request_origins: %q is not of the form scheme://host[:port]", o)}
		}
	}
	if root.RefreshTokenExpiration != nil {
		ttl := time.Duration(*root.RefreshTokenExpiration) * time.Second
		if ttl < MinRefreshTokenTTL || ttl > MaxRefreshTokenTTL {
			return nil, &Error{File: filepath.Join(dir, rootName), Err: fmt.Errorf("refresh_token_expiration_seconds: %d is outside 1800 to %d", *root.RefreshTokenExpiration, int64(MaxRefreshTokenTTL/time.Second))}
		}
		app.RefreshTokenTTL = ttl
	}

	if err := loadProviders(app, dir); err != nil {
		return nil, err
	}
	if err := loadFunctions(app, dir); err != nil {
		return nil, err
	}
	if err := loadValues(app, dir, root.Environment); err != nil {
		return nil, err
	}
	if err := loadDataSources(app, dir); err != nil {
		return nil, err
	}
	if err := loadCustomUserData(app, dir, root.CustomUserDataConfig); err != nil {
		return nil, err
	}
	app.Components = append(listComponents(dir), app.Components...)
	return app, nil
}

func loadProviders(app *App, dir string) error {
	file := filepath.Join(dir, "auth", "providers.json")
	var byName map[string]*Provider
	ok, err := readJSON(file, &byName)
	if err != nil {
		return err
	}
	if ok {
		for key, p := range byName {
			if p == nil {
				return &Error{File: file, Err: fmt.Errorf("provider %q: null entry", key)}
			}
			if p.Name == "" {
				p.Name = key
			}
			if err := addProvider(app, file, p); err != nil {
				return err
			}
		}
	}
	legacyDir := filepath.Join(dir, "auth_providers")
	entries, err := os.ReadDir(legacyDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", legacyDir, err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		f := filepath.Join(legacyDir, e.Name())
		var p Provider
		if _, err := readJSON(f, &p); err != nil {
			return err
		}
		if p.Name == "" {
			p.Name = strings.TrimSuffix(e.Name(), ".json")
		}
		if err := addProvider(app, f, &p); err != nil {
			return err
		}
	}
	return nil
}

func addProvider(app *App, file string, p *Provider) error {
	if p.Type == "" {
		p.Type = p.Name
	}
	if p.Name != p.Type {
		return &Error{File: file, Err: fmt.Errorf("provider %q has type %q: App Services requires name and type to be equal", p.Name, p.Type)}
	}
	if _, dup := app.Providers[p.Name]; dup {
		return &Error{File: file, Err: fmt.Errorf("provider %q is defined twice", p.Name)}
	}
	p.ID = DeriveID("provider", app.ClientAppID+"/"+p.Name)
	app.Providers[p.Name] = p
	return nil
}

// components that Warden knows how to recognise in an export directory.
var knownComponents = []string{
	"triggers", "sync", "https_endpoints", "http_endpoints", "graphql",
	"hosting", "log_forwarders", "secrets.json",
}

func listComponents(dir string) []string {
	var found []string
	for _, c := range knownComponents {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(c)))
		if err != nil {
			continue
		}
		if st.IsDir() {
			entries, _ := os.ReadDir(filepath.Join(dir, filepath.FromSlash(c)))
			if len(entries) == 0 {
				continue
			}
		}
		found = append(found, c)
	}
	sort.Strings(found)
	return found
}

// readJSON decodes file into v. It reports false, nil when the file does not exist, and an
// *Error naming the file when it cannot be read or is not valid JSON of the expected shape.
func readJSON(file string, v any) (bool, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, &Error{File: file, Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return false, &Error{File: file, Err: describeJSONError(data, err)}
	}
	if dec.More() {
		return false, &Error{File: file, Err: errors.New("unexpected data after the JSON value")}
	}
	return true, nil
}

func describeJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line := 1 + bytes.Count(data[:min(int(syn.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("invalid JSON at line %d: %v", line, err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Errorf("field %q: expected %s, found a JSON %s", typ.Field, typ.Type, typ.Value)
	}
	return err
}

// DeriveID returns a stable 24-hex id for a name within a kind, for configuration objects
// whose export carries no id of its own.
func DeriveID(kind, name string) string {
	sum := sha256.Sum256([]byte("warden/" + kind + "/" + name))
	return hex.EncodeToString(sum[:12])
}

func isHex24(s string) bool {
	if len(s) != 24 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
