package appconfig_test

import (
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/appconfig"
)

func TestDataSourcesCurrentLayout(t *testing.T) {
	dir := write(t, map[string]string{
		"root_config.json":                             `{"name": "store"}`,
		"data_sources/mongodb-atlas/config.json":       `{"name": "mongodb-atlas", "type": "mongodb-atlas", "config": {"clusterName": "Cluster0"}}`,
		"data_sources/mongodb-atlas/default_rule.json": `{"roles": [{"name": "user", "apply_when": {}, "read": true}]}`,
		"data_sources/mongodb-atlas/StoreDemo/Kiosk/rules.json": `{"database": "StoreDemo", "collection": "Kiosk", "roles": [{"name": "r", "apply_when": {},
			"document_filters": {"read": {"storeId": "%%user.custom_data.storeId"}, "write": {"storeId": "%%user.custom_data.storeId"}}, "read": true, "write": true}]}`,
		"data_sources/mongodb-atlas/StoreDemo/Store/schema.json": `{"title": "Store", "bsonType": "object"}`,
		"data_sources/local/config.json":                         `{"name": "local", "type": "mongodb", "secret_config": {"uri": "local-uri"}}`,
		"auth/custom_user_data.json":                             `{"enabled": true, "mongo_service_name": "mongodb-atlas", "database_name": "StoreDemo", "collection_name": "Users", "user_id_field": "userId"}`,
	})
	app, err := appconfig.Load(dir, appconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := app.DataSourceNames(); strings.Join(got, ",") != "local,mongodb-atlas" {
		t.Fatalf("data sources = %v", got)
	}
	atlas := app.DataSources["mongodb-atlas"]
	if atlas.ClusterName != "Cluster0" || atlas.DefaultRule == nil || len(atlas.Rules) != 1 {
		t.Errorf("atlas = %+v", atlas)
	}
	if r := atlas.RulesFor("StoreDemo", "Kiosk"); r == nil || r.Roles[0].Name != "r" {
		t.Errorf("Kiosk rules = %+v", r)
	}
	if r := atlas.RulesFor("StoreDemo", "Store"); r != atlas.DefaultRule {
		t.Error("a collection with only a schema gets the default rule")
	}
	if app.DataSources["local"].URISecret != "local-uri" {
		t.Errorf("secret_config.uri = %q", app.DataSources["local"].URISecret)
	}
	if c := app.CustomUserData; c == nil || c.UserIDField != "userId" || c.CollectionName != "Users" {
		t.Errorf("custom user data = %+v", c)
	}
	for _, c := range app.Components {
		if strings.Contains(c, "data_sources") || strings.Contains(c, "custom_user_data") {
			t.Errorf("served part listed as not served: %q", c)
		}
	}
}

func TestDataSourcesLegacyLayout(t *testing.T) {
	dir := write(t, map[string]string{
		"config.json":                             `{"app_id": "legacy-abcde", "name": "legacy", "custom_user_data_config": {"enabled": true, "mongo_service_id": "5f0000000000000000000001", "database_name": "db", "collection_name": "users", "user_id_field": "uid"}}`,
		"services/mongodb/config.json":            `{"id": "5f0000000000000000000001", "name": "mongodb", "type": "mongodb", "config": {"uri": "mongodb://localhost:26000"}}`,
		"services/mongodb/rules/defaultRole.json": `{"roles": [{"name": "defaultRole", "apply_when": {}, "read": true, "write": true}]}`,
		"services/mongodb/rules/db.people.json":   `{"database": "db", "collection": "people", "roles": [{"name": "owner", "apply_when": {"owner": "%%user.id"}, "read": true}]}`,
		"services/gcm/config.json":                `{"name": "gcm", "type": "gcm", "config": {}}`,
	})
	app, err := appconfig.Load(dir, appconfig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := app.DataSources["mongodb"]
	if ds == nil || ds.URI != "mongodb://localhost:26000" || ds.DefaultRule == nil || ds.RulesFor("db", "people") == ds.DefaultRule {
		t.Fatalf("legacy mongodb service = %+v", ds)
	}
	if app.CustomUserData == nil || app.CustomUserData.MongoServiceName != "mongodb" {
		t.Errorf("legacy custom_user_data_config by service id = %+v", app.CustomUserData)
	}
	if _, ok := app.DataSources["gcm"]; ok {
		t.Error("a GCM service became a data source")
	}
	found := false
	for _, c := range app.Components {
		found = found || strings.Contains(c, "services/gcm")
	}
	if !found {
		t.Errorf("the GCM service is not listed as not served: %v", app.Components)
	}
}

func TestDataSourceErrors(t *testing.T) {
	base := map[string]string{
		"root_config.json":                       `{"name": "x"}`,
		"data_sources/mongodb-atlas/config.json": `{"name": "mongodb-atlas", "type": "mongodb-atlas"}`,
	}
	cases := map[string]struct {
		file, body, want string
	}{
		"unknown expansion": {"data_sources/mongodb-atlas/db/c/rules.json", `{"roles": [{"name": "r", "apply_when": {"a": "%%usr.id"}}]}`, "unknown expansion"},
		"bad JSON":          {"data_sources/mongodb-atlas/default_rule.json", `{"roles": [`, "default_rule.json"},
		"unknown type":      {"data_sources/other/config.json", `{"name": "other", "type": "redis"}`, "redis"},
		"custom data names no source": {"auth/custom_user_data.json",
			`{"enabled": true, "mongo_service_name": "nope", "database_name": "d", "collection_name": "c", "user_id_field": "u"}`, "names no data source"},
		"custom data without field": {"auth/custom_user_data.json",
			`{"enabled": true, "mongo_service_name": "mongodb-atlas", "database_name": "d", "collection_name": "c"}`, "user_id_field"},
		"creation function missing": {"auth/custom_user_data.json",
			`{"enabled": true, "mongo_service_name": "mongodb-atlas", "database_name": "d", "collection_name": "c", "user_id_field": "u", "on_user_creation_function_name": "nope"}`, "names no function"},
	}
	for name, c := range cases {
		files := map[string]string{c.file: c.body}
		for k, v := range base {
			files[k] = v
		}
		_, err := appconfig.Load(write(t, files), appconfig.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, c.want)
		}
	}
	// A disabled custom user data config is no config.
	files := map[string]string{"auth/custom_user_data.json": `{"enabled": false}`}
	for k, v := range base {
		files[k] = v
	}
	app, err := appconfig.Load(write(t, files), appconfig.Options{})
	if err != nil || app.CustomUserData != nil {
		t.Errorf("disabled: %v %+v", err, app.CustomUserData)
	}
}
