// Package authtest builds a real auth.Service for tests: a SQLite store in a temporary
// directory, a generated signing key, a fast argon2id hasher, a clock the test moves, and
// mail that goes over SMTP to a catcher the test reads. The app has the anonymous,
// email/password (confirmation by email), API key and custom JWT (HS256) providers unless
// the test gives its own. The auth, clientapi and adminapi tests share it.
package authtest

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/mail"
	"github.com/wardenauth/warden/internal/mail/mailtest"
	"github.com/wardenauth/warden/internal/password"
	"github.com/wardenauth/warden/internal/store/sqlite"
	"github.com/wardenauth/warden/internal/store/sqlstore"
	"github.com/wardenauth/warden/internal/token"
)

// AppID is the client app id of the default app.
const AppID = "test-app"

// JWTSecret is the HS256 key of the default app's custom-token provider.
const JWTSecret = "very-secret-value-very-secret-value-0123"

// Clock is an auth.Clock that tests move by hand.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now implements auth.Clock.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// Env is one test's Service and what it is made of.
type Env struct {
	Svc   *auth.Service
	Store *sqlstore.Store
	Clock *Clock
	Mail  *mailtest.Catcher
	App   *appconfig.App
}

// Options change the Env.
type Options struct {
	// Providers replace the default app's providers.
	Providers map[string]*appconfig.Provider
	// AllowedOrigins are the app's allowed_request_origins.
	AllowedOrigins []string
	// Tune changes the Service's options before it is built.
	Tune func(*auth.Options)
}

// DefaultProviders are the default app's providers; custom-token is disabled and
// oauth2-github is configured but not supported, for the tests of those answers.
func DefaultProviders() map[string]*appconfig.Provider {
	return map[string]*appconfig.Provider{
		"anon-user": {Name: "anon-user", Type: "anon-user", ID: "aaaaaaaaaaaaaaaaaaaaaaaa"},
		"local-userpass": {Name: "local-userpass", Type: "local-userpass", ID: "bbbbbbbbbbbbbbbbbbbbbbbb",
			Config: json.RawMessage(`{"emailConfirmationUrl": "https://app.example/confirm", "resetPasswordUrl": "https://app.example/reset"}`)},
		"custom-token":  {Name: "custom-token", Type: "custom-token", Disabled: true, ID: "cccccccccccccccccccccccc"},
		"oauth2-github": {Name: "oauth2-github", Type: "oauth2-github", ID: "dddddddddddddddddddddddd"},
		"api-key":       {Name: "api-key", Type: "api-key", ID: "ffffffffffffffffffffffff"},
	}
}

// New builds an Env; everything it starts ends with the test.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := token.GenerateEd25519PEM()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := token.NewRing(key)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1}, 4)
	if err != nil {
		t.Fatal(err)
	}
	catcher, err := mailtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catcher.Close() })
	sender, err := mail.NewSMTP(catcher.URL())
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := appconfig.LoadSecrets("", func(k string) (string, bool) { return JWTSecret, k == appconfig.EnvName("jwt-key") })
	if err != nil {
		t.Fatal(err)
	}
	providers := opts.Providers
	if providers == nil {
		providers = DefaultProviders()
	}
	app := &appconfig.App{ClientAppID: AppID, DomainID: "eeeeeeeeeeeeeeeeeeeeeeee", Name: "test", DeploymentModel: "GLOBAL", Location: "US-VA",
		Providers: providers, AllowedOrigins: opts.AllowedOrigins}
	clk := &Clock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	o := auth.Options{Store: st, Ring: ring, Hasher: hasher, Mail: sender, Clock: clk, Secrets: secrets, Apps: []*appconfig.App{app}}
	if opts.Tune != nil {
		opts.Tune(&o)
	}
	svc, _, err := auth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return &Env{Svc: svc, Store: st, Clock: clk, Mail: catcher, App: app}
}
