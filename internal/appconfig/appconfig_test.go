package appconfig_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
)

// write lays out files (path → content) under a new directory.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const providers = `{
  "anon-user": {"name": "anon-user", "type": "anon-user", "disabled": false},
  "local-userpass": {"name": "local-userpass", "type": "local-userpass", "disabled": true,
    "config": {"autoConfirm": true, "resetPasswordUrl": "https://x/reset"}}
}`

func TestCurrentFormat(t *testing.T) {
	dir := write(t, map[string]string{
		"root_config.json":      `{"name": "todo", "deployment_model": "LOCAL", "provider_region": "aws-eu-west-1", "allowed_request_origins": ["http://localhost:8080"]}`,
		".mdb/meta.json":        `{"config_version": 20230101, "app_id": "5eea8667bcb4c810b651fb59", "client_app_id": "todo-abcde"}`,
		"auth/providers.json":   providers,
		"functions/config.json": `[]`,
		"functions/hello.js":    `exports = () => "hi"`,
	})
	app, err := appconfig.Load(dir, appconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if app.ClientAppID != "todo-abcde" || app.DomainID != "5eea8667bcb4c810b651fb59" || app.Name != "todo" {
		t.Fatalf("ids: %+v", app)
	}
	if app.DeploymentModel != "LOCAL" || app.Location != "aws-eu-west-1" || len(app.AllowedOrigins) != 1 {
		t.Fatalf("root fields: %+v", app)
	}
	if len(app.Providers) != 2 || !app.Providers["local-userpass"].Disabled || app.Providers["anon-user"].Disabled {
		t.Fatalf("providers: %+v", app.Providers)
	}
	var cfg struct {
		AutoConfirm bool `json:"autoConfirm"`
	}
	if err := app.Providers["local-userpass"].DecodeConfig(&cfg); err != nil || !cfg.AutoConfirm {
		t.Fatalf("config: %+v %v", cfg, err)
	}
	if len(app.Providers["anon-user"].ID) != 24 || app.Providers["anon-user"].ID == app.Providers["local-userpass"].ID {
		t.Fatal("provider ids must be distinct 24-hex ids")
	}
	if len(app.Components) != 0 || app.Functions["hello"] == nil || app.Functions["hello"].Source != `exports = () => "hi"` {
		t.Fatalf("components = %v, functions = %v", app.Components, app.Functions)
	}
	// --app-id overrides.
	app, err = appconfig.Load(dir, appconfig.Options{AppID: "other-id"})
	if err != nil || app.ClientAppID != "other-id" {
		t.Fatalf("override: %v %v", app, err)
	}
}

func TestRealmConfigFormat(t *testing.T) {
	dir := write(t, map[string]string{
		"realm_config.json":   `{"app_id": "store-app-xbrma", "config_version": 20210101, "name": "Store-App", "location": "US-VA", "deployment_model": "GLOBAL", "refresh_token_expiration_seconds": 3600}`,
		"auth/providers.json": providers,
	})
	app, err := appconfig.Load(dir, appconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if app.ClientAppID != "store-app-xbrma" || app.Location != "US-VA" || app.RefreshTokenTTL != time.Hour {
		t.Fatalf("app = %+v", app)
	}
	// Without .mdb/meta.json the domain id is derived, stable across loads.
	again, _ := appconfig.Load(dir, appconfig.Options{})
	if len(app.DomainID) != 24 || again.DomainID != app.DomainID {
		t.Fatalf("derived domain id %q / %q", app.DomainID, again.DomainID)
	}
}

func TestLegacyFormat(t *testing.T) {
	dir := write(t, map[string]string{
		"config.json":                   `{"app_id": "legacy-abcde", "name": "legacy", "config_version": 20200603, "security": {"allowed_request_origins": ["http://localhost:8080"]}}`,
		"auth_providers/anon-user.json": `{"name": "anon-user", "type": "anon-user", "disabled": false}`,
		"auth_providers/local-userpass.json": `{"id": "5f0000000000000000000000", "name": "local-userpass", "type": "local-userpass",
			"config": {"autoConfirm": false, "emailConfirmationUrl": "http://localhost/confirmEmail", "confirmationFunctionName": "confirmFunc", "runConfirmationFunction": true}}`,
	})
	app, err := appconfig.Load(dir, appconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if app.ClientAppID != "legacy-abcde" || len(app.Providers) != 2 || len(app.AllowedOrigins) != 1 {
		t.Fatalf("app = %+v", app)
	}
}

func TestMalformedFilesNameTheFile(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"broken JSON": {map[string]string{"root_config.json": `{"name": "x",}`, ".mdb/meta.json": `{"client_app_id": "x"}`}, "root_config.json"},
		"wrong type": {map[string]string{"root_config.json": `{"name": "x"}`, ".mdb/meta.json": `{"client_app_id": "x"}`,
			"auth/providers.json": `{"anon-user": {"name": "anon-user", "type": "anon-user", "disabled": "no"}}`}, "providers.json"},
		"name differs from type": {map[string]string{"root_config.json": `{"name": "x"}`, ".mdb/meta.json": `{"client_app_id": "x"}`,
			"auth/providers.json": `{"a": {"name": "a", "type": "anon-user"}}`}, "providers.json"},
		"no root file":         {map[string]string{"auth/providers.json": providers}, "no root_config.json"},
		"bad app id":           {map[string]string{"root_config.json": `{"name": "x"}`, ".mdb/meta.json": `{"client_app_id": "bad id/../"}`}, "app id"},
		"bad origin":           {map[string]string{"root_config.json": `{"name": "x", "allowed_request_origins": ["localhost"]}`}, "allowed_request_origins"},
		"refresh out of range": {map[string]string{"root_config.json": `{"name": "x", "refresh_token_expiration_seconds": 60}`}, "refresh_token_expiration_seconds"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := appconfig.Load(write(t, tc.files), appconfig.Options{})
			if err == nil {
				t.Fatal("loaded a malformed app")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	if _, err := appconfig.Load(filepath.Join(t.TempDir(), "missing"), appconfig.Options{}); err == nil {
		t.Fatal("a missing directory loaded")
	}
}

func TestSecrets(t *testing.T) {
	dir := write(t, map[string]string{"secrets.json": `{"jwt-secret": "from-file", "other": "x"}`})
	env := map[string]string{"WARDEN_SECRET_JWT_SECRET": "from-env"}
	s, err := appconfig.LoadSecrets(filepath.Join(dir, "secrets.json"), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("jwt-secret"); v != "from-env" {
		t.Fatalf("env override: %q", v)
	}
	if v, _ := s.Get("other"); v != "x" {
		t.Fatalf("file value: %q", v)
	}
	if _, ok := s.Get("missing"); ok {
		t.Fatal("a missing secret was found")
	}
	bad := write(t, map[string]string{"s.json": `{"n": 1}`})
	_, err = appconfig.LoadSecrets(filepath.Join(bad, "s.json"), nil)
	var fe *appconfig.Error
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "s.json") {
		t.Fatalf("non-string secret: %v", err)
	}
}

func TestFunctionsAndValues(t *testing.T) {
	dir := write(t, map[string]string{
		"root_config.json":                  `{"name": "fn", "environment": "production"}`,
		".mdb/meta.json":                    `{"client_app_id": "fn-abcde"}`,
		"functions/config.json":             `[{"name": "sum", "private": false}, {"name": "auth/login", "private": true, "run_as_system": true}, {"name": "endpoint/hello"}]`,
		"functions/sum.js":                  `exports = (a, b) => a + b;`,
		"functions/auth/login.js":           `exports = async (p) => p.id;`,
		"functions/endpoint/hello.js":       `exports = () => "hello";`,
		"functions/unlisted.js":             `exports = () => 1;`,
		"functions/node_modules/x/index.js": `module.exports = 1;`,
		"values/greeting.json":              `{"name": "greeting", "value": "hi there", "from_secret": false}`,
		"values/apiKey.json":                `{"name": "apiKey", "value": "stripe-key", "from_secret": true}`,
		"environments/production.json":      `{"values": {"tier": "gold"}}`,
	})
	app, err := appconfig.Load(dir, appconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(app.FunctionNames(), ","); got != "auth/login,endpoint/hello,sum,unlisted" {
		t.Fatalf("functions = %s", got)
	}
	if f := app.Functions["auth/login"]; !f.Private || !f.RunAsSystem {
		t.Fatalf("auth/login = %+v", f)
	}
	if f := app.Functions["unlisted"]; f.Private || f.RunAsSystem {
		t.Fatal("a source without a config entry must be public and not system")
	}
	if string(app.Values["greeting"].Value) != `"hi there"` || !app.Values["apiKey"].FromSecret {
		t.Fatalf("values = %+v", app.Values)
	}
	if app.Environment != "production" || string(app.EnvironmentValues["tier"]) != `"gold"` {
		t.Fatalf("environment = %q %v", app.Environment, app.EnvironmentValues)
	}

	legacy := write(t, map[string]string{
		"config.json":                   `{"app_id": "legacy-fn", "name": "legacy"}`,
		"functions/sumFunc/config.json": `{"name": "sumFunc", "private": false, "can_evaluate": {}}`,
		"functions/sumFunc/source.js":   `exports = function (...args) { return args.reduce((a, b) => a + b, 0); };`,
	})
	app, err = appconfig.Load(legacy, appconfig.Options{})
	if err != nil || app.Functions["sumFunc"] == nil {
		t.Fatalf("legacy functions: %v %v", app.Functions, err)
	}

	missing := write(t, map[string]string{
		"root_config.json": `{"name": "x"}`, ".mdb/meta.json": `{"client_app_id": "x"}`,
		"functions/config.json": `[{"name": "ghost"}]`,
	})
	if _, err := appconfig.Load(missing, appconfig.Options{}); err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("a listed function without source: %v", err)
	}
}
