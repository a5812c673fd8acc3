package appconfig_test

import (
	"testing"

	"github.com/wardenauth/warden/internal/appconfig"
)

// FuzzLoad writes fuzzed content into the files of an app directory and loads it: the
// loader must never panic; it either loads or names a file in its error.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"name":"x"}`), []byte(providers), []byte(`{"roles":[{"name":"r","apply_when":{"owner":"%%user.id"},"read":true}]}`), []byte(`[{"name":"hello","private":false}]`))
	f.Add([]byte(`{"name":"x","refresh_token_expiration_seconds":1}`), []byte(`{"a":null}`), []byte(`{`), []byte(`{}`))
	f.Add([]byte(`{"app_id":"","allowed_request_origins":["nope"]}`), []byte(`[]`), []byte(`{"roles":[],"filters":[{"apply_when":{"a":1}}]}`), []byte(`[{"name":""}]`))
	f.Fuzz(func(t *testing.T, root, provs, rule, fns []byte) {
		dir := write(t, map[string]string{
			"root_config.json":                              string(root),
			".mdb/meta.json":                                `{"client_app_id":"fuzz-abcde"}`,
			"auth/providers.json":                           string(provs),
			"data_sources/mongodb-atlas/config.json":        `{"name":"mongodb-atlas","type":"mongodb-atlas"}`,
			"data_sources/mongodb-atlas/db/coll/rules.json": string(rule),
			"functions/config.json":                         string(fns),
			"functions/hello.js":                            `exports = () => 1;`,
		})
		app, err := appconfig.Load(dir, appconfig.Options{})
		if err == nil && app.ClientAppID != "fuzz-abcde" {
			t.Fatalf("loaded with app id %q", app.ClientAppID)
		}
	})
}
