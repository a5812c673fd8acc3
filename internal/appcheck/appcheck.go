// Package appcheck reports what Warden makes of an App Services app directory: what it
// serves, what it ignores, and what is wrong (missing secrets, functions that do not
// compile, providers it cannot build). `warden check` prints the report and `warden
// serve` logs it at start.
package appcheck

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/auth/provider/userpass"
	"github.com/wardenauth/warden/internal/function"
)

// Report is what Warden makes of one app.
type Report struct {
	AppID string
	Dir   string
	// Serves lists what Warden serves, one line each.
	Serves []string
	// Ignores lists what the directory holds that Warden does not serve.
	Ignores []string
	// Problems lists what must be fixed before the app is served.
	Problems []string
}

// OK reports whether the app has no problems.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// String is the report as `warden check` prints it.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "app %s (%s)\n", r.AppID, r.Dir)
	for _, part := range []struct {
		title string
		lines []string
	}{{"serves", r.Serves}, {"ignores", r.Ignores}, {"problems", r.Problems}} {
		if len(part.lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s:\n", part.title)
		for _, l := range part.lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	if r.OK() {
		b.WriteString("ok: no problems\n")
	} else {
		fmt.Fprintf(&b, "%d problem(s)\n", len(r.Problems))
	}
	return b.String()
}

// ignored says, for each part of an export Warden does not serve, what to do instead.
var ignored = map[string]string{
	"triggers":        "database, authentication and scheduled triggers are not run (run them as a job of your own, or with MongoDB change streams)",
	"sync":            "Device Sync is not served (the Realm SDKs' local databases work without it; sync them against your own backend)",
	"https_endpoints": "HTTPS endpoints are not served (put a web server of your own beside Warden)",
	"http_endpoints":  "HTTP endpoints (legacy webhooks) are not served",
	"graphql":         "GraphQL is not served",
	"hosting":         "static hosting is not served from the export; serve the files with --static DIR",
	"log_forwarders":  "log forwarders are not run; Warden logs to stderr (JSON with --log-format json)",
	"secrets.json":    "secrets.json in the export holds no values; pass them with --secrets FILE or WARDEN_SECRET_<NAME>",
}

// Check builds the report of app with the given secrets.
func Check(app *appconfig.App, secrets *appconfig.Secrets) Report {
	r := Report{AppID: app.ClientAppID, Dir: app.Dir}
	fnErrs := function.Check(app)
	for _, err := range fnErrs {
		r.Problems = append(r.Problems, err.Error())
	}
	if n := len(app.Functions); n > 0 {
		r.Serves = append(r.Serves, fmt.Sprintf("%d function(s): %s", n, strings.Join(app.FunctionNames(), ", ")))
	}
	checkProviders(app, secrets, &r)
	checkValues(app, secrets, &r)
	checkData(app, secrets, &r)
	for _, c := range app.Components {
		if c == "data_sources" || c == "services" {
			continue
		}
		why, ok := ignored[c]
		if !ok {
			why = "not served"
		}
		r.Ignores = append(r.Ignores, c+": "+why)
	}
	return r
}

// functionNames answers the providers' question of which functions exist, as the server
// would, without running any.
type functionNames struct{ app *appconfig.App }

func (f functionNames) Has(name string) bool { _, ok := f.app.Functions[name]; return ok }

func (f functionNames) CallLogin(context.Context, string, any) (any, error) {
	return nil, fmt.Errorf("not run by warden check")
}

func checkProviders(app *appconfig.App, secrets *appconfig.Secrets, r *Report) {
	reg := auth.DefaultRegistry()
	names := appconfig.SortedKeys(app.Providers)
	for _, name := range names {
		pc := app.Providers[name]
		factory, ok := reg[pc.Type]
		if !ok {
			r.Ignores = append(r.Ignores, fmt.Sprintf("provider %s: type %q is not served; its logins are refused", name, pc.Type))
			continue
		}
		deps := provider.Deps{AppID: app.ClientAppID, Secrets: secrets}
		if len(app.Functions) > 0 {
			deps.Functions = functionNames{app}
		}
		_, err := factory(pc, deps)
		switch {
		case err != nil && pc.Disabled:
			r.Ignores = append(r.Ignores, fmt.Sprintf("provider %s: disabled, and its configuration has an error (fix it before enabling): %v", name, err))
		case err != nil && strings.HasPrefix(err.Error(), fmt.Sprintf("provider %q", name)):
			r.Problems = append(r.Problems, err.Error())
		case err != nil:
			r.Problems = append(r.Problems, fmt.Sprintf("provider %s: %v", name, err))
		case pc.Disabled:
			r.Serves = append(r.Serves, fmt.Sprintf("provider %s (%s), disabled: its logins are refused", name, pc.Type))
		default:
			r.Serves = append(r.Serves, fmt.Sprintf("provider %s (%s)", name, pc.Type))
		}
		if pc.Type == userpass.Type {
			c, err := userpass.ParseConfig(pc)
			if err != nil {
				continue // reported above: the factory parses it too
			}
			for _, fn := range c.Functions() {
				if _, ok := app.Functions[fn]; !ok {
					r.Problems = append(r.Problems, fmt.Sprintf("provider %s: names function %q, which is not in functions/", name, fn))
				}
			}
			if c.LinksWithoutURL() {
				r.Ignores = append(r.Ignores, fmt.Sprintf("provider %s: confirms by email but has no emailConfirmationUrl; confirmation links will carry only the token", name))
			}
		}
	}
}

func checkValues(app *appconfig.App, secrets *appconfig.Secrets, r *Report) {
	names := appconfig.SortedKeys(app.Values)
	var missing []string
	for _, name := range names {
		v := app.Values[name]
		if !v.FromSecret {
			continue
		}
		secret := strings.Trim(string(v.Value), `"`)
		if _, ok := secrets.Get(secret); !ok {
			missing = append(missing, fmt.Sprintf("value %s: its secret %q is not set (--secrets FILE or %s)", name, secret, appconfig.EnvName(secret)))
		}
	}
	r.Problems = append(r.Problems, missing...)
	if len(names) > 0 {
		r.Serves = append(r.Serves, fmt.Sprintf("%d value(s) for context.values and %%%%values", len(names)))
	}
}

func checkData(app *appconfig.App, secrets *appconfig.Secrets, r *Report) {
	for _, name := range app.DataSourceNames() {
		ds := app.DataSources[name]
		collections := make([]string, 0, len(ds.Rules))
		for ns := range ds.Rules {
			collections = append(collections, ns)
		}
		sort.Strings(collections)
		rules := fmt.Sprintf("rules for %d collection(s)", len(collections))
		if ds.DefaultRule != nil {
			rules += " and a default rule"
		}
		switch {
		case ds.URI != "":
			r.Serves = append(r.Serves, fmt.Sprintf("data source %s: the MongoDB of its config.uri, %s", name, rules))
		case ds.URISecret != "":
			if _, ok := secrets.Get(ds.URISecret); ok {
				r.Serves = append(r.Serves, fmt.Sprintf("data source %s: the MongoDB of secret %q, %s", name, ds.URISecret, rules))
			} else {
				r.Serves = append(r.Serves, fmt.Sprintf("data source %s: the embedded engine (its secret %q is not set; set it, or --mongodb-uri %s=..., to keep the data in your MongoDB), %s", name, ds.URISecret, name, rules))
			}
		default:
			r.Serves = append(r.Serves, fmt.Sprintf("data source %s: the embedded engine (or --mongodb-uri), %s", name, rules))
		}
	}
	if cud := app.CustomUserData; cud != nil {
		if _, ok := app.DataSources[cud.MongoServiceName]; !ok {
			r.Problems = append(r.Problems, fmt.Sprintf("custom user data: data source %q is not in data_sources/", cud.MongoServiceName))
		} else {
			r.Serves = append(r.Serves, fmt.Sprintf("custom user data from %s.%s.%s (field %s)", cud.MongoServiceName, cud.DatabaseName, cud.CollectionName, cud.UserIDField))
		}
		if fn := cud.OnUserCreationFunctionName; fn != "" {
			if _, ok := app.Functions[fn]; !ok {
				r.Problems = append(r.Problems, fmt.Sprintf("custom user data: on_user_creation_function_name %q is not in functions/", fn))
			}
		}
	}
}
