// Package auth is Warden's core: logging users in through their app's providers
// (including the browser OAuth redirect, whose URLs it builds), linking identities,
// sessions (refresh, log out), profiles, deleting users, the email/password flows, API
// keys, push registrations, the operators' tools, the audit log, and the pass-through to
// functions and data sources. It serves no HTTP requests and writes no SQL: it speaks to
// a store.Store, signs with a token.Ring, hashes with a password.Hasher and mails through
// a mail.Sender.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/auth/provider/anon"
	"github.com/wardenauth/warden/internal/auth/provider/apikey"
	"github.com/wardenauth/warden/internal/auth/provider/apple"
	"github.com/wardenauth/warden/internal/auth/provider/customfunc"
	"github.com/wardenauth/warden/internal/auth/provider/customjwt"
	"github.com/wardenauth/warden/internal/auth/provider/facebook"
	"github.com/wardenauth/warden/internal/auth/provider/google"
	"github.com/wardenauth/warden/internal/auth/provider/userpass"
	"github.com/wardenauth/warden/internal/data"
	"github.com/wardenauth/warden/internal/function"
	"github.com/wardenauth/warden/internal/mail"
	"github.com/wardenauth/warden/internal/metrics"
	"github.com/wardenauth/warden/internal/password"
	"github.com/wardenauth/warden/internal/store"
	"github.com/wardenauth/warden/internal/token"
)

// Lifetimes, as App Services had them.
const (
	DefaultAccessTTL     = 30 * time.Minute
	DefaultRefreshTTL    = 60 * 24 * time.Hour
	AccountTokenTTL      = 30 * time.Minute
	sessionTouchInterval = time.Minute
	// DefaultRotationGrace is how long a rotated-away refresh token keeps working.
	DefaultRotationGrace = 10 * time.Second
)

// Clock tells the time; tests move it instead of sleeping.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// Options configure a Service.
type Options struct {
	Store    store.Store
	Ring     *token.Ring
	Hasher   *password.Hasher
	Mail     mail.Sender
	Clock    Clock
	Logger   *slog.Logger
	Secrets  *appconfig.Secrets
	Registry provider.Registry
	Apps     []*appconfig.App
	// HTTPClient is what providers use to call out (nil: a default client).
	HTTPClient *http.Client
	// Functions holds each app's function engine, by client app id.
	Functions map[string]*function.Engine
	// Data holds each app's open data sources, by client app id.
	Data map[string]*data.Sources
	// AccessTTL is the access-token lifetime (default 30 minutes).
	AccessTTL time.Duration
	// RefreshTTL is the refresh-token lifetime for apps that do not set one (default 60 days).
	RefreshTTL time.Duration
	// Lockout is the failed-login lockout policy (nil: DefaultLockout). A Threshold of 0
	// turns it off, as --lockout-threshold 0 does.
	Lockout *LockoutPolicy
	// Metrics records logins, refreshes and lockouts (nil: none).
	Metrics *metrics.Metrics
	// MinPasswordLength is the shortest new password accepted (0: App Services' 6).
	// Existing passwords keep working whatever their length.
	MinPasswordLength int
	// RotationGrace is how long a rotated-away refresh token still works, for a client
	// whose answer was lost (default 10 s).
	RotationGrace time.Duration
	// SessionRecheck is how often a long request checks its session for ends on other
	// nodes (0: SessionRecheck).
	SessionRecheck time.Duration
}

// Service is the auth core, split by job: a reader looks for a login in Sessions, a
// password reset in EmailPassword, an operator's tool in Operators. Every part shares one
// store, key ring, clock and audit log, and records its own audit events, so no entry
// point (HTTP handler, CLI command) has to remember to. It is safe for concurrent use.
type Service struct {
	*core
	// Sessions logs users in (every provider, the browser OAuth redirect included),
	// links identities, authenticates tokens, refreshes and ends sessions, and serves the
	// profile and self-deletion.
	Sessions *Sessions
	// EmailPassword is the email/password provider's flows: registration, confirmation,
	// resets, and the app's confirmation and reset functions.
	EmailPassword *EmailPassword
	// APIKeys manages users' API keys and the app's server keys.
	APIKeys *APIKeys
	// Operators is the operators' tools: admin keys, user listing and detail, disabling,
	// deleting, revoking, pending users, unlocking, export and import (App Services'
	// users included), the audit log and maintenance.
	Operators *Operators
	// Calls passes a logged-in user's calls through to the app's functions, data
	// sources and push services.
	Calls *Calls
}

// Sessions logs users in and keeps their sessions; see Service.Sessions.
type Sessions struct{ *core }

// EmailPassword runs the email/password flows; see Service.EmailPassword.
type EmailPassword struct{ *core }

// APIKeys manages API keys; see Service.APIKeys.
type APIKeys struct{ *core }

// Operators holds the operators' tools; see Service.Operators.
type Operators struct{ *core }

// Calls passes users' calls through to functions and data; see Service.Calls.
type Calls struct{ *core }

// core is the state every part of the Service shares.
type core struct {
	store         store.Store
	ended         *endings // wakes long requests when sessions may have ended (see UntilSessionEnds)
	recheck       time.Duration
	ring          *token.Ring
	hasher        *password.Hasher
	mail          mail.Sender
	clock         Clock
	log           *slog.Logger
	apps          map[string]*App
	accessTTL     time.Duration
	refreshTTL    time.Duration
	lockout       LockoutPolicy
	accountTurns  accountTurns
	metrics       *metrics.Metrics
	rotationGrace time.Duration
	minPassword   int
	audit         *auditor
}

// App is a loaded app with its providers built.
type App struct {
	*appconfig.App
	providers map[string]*providerEntry
	userpass  *userpass.Config
	functions *function.Engine
	data      *data.Sources
	values    map[string]any
}

type providerEntry struct {
	cfg  *appconfig.Provider
	impl provider.Provider // nil when this build of Warden does not support the type
}

// DefaultRegistry holds the provider types this build of Warden supports.
func DefaultRegistry() provider.Registry {
	return provider.Registry{
		anon.Type:       anon.New,
		userpass.Type:   userpass.New,
		apikey.Type:     apikey.New,
		customjwt.Type:  customjwt.New,
		customfunc.Type: customfunc.New,
		google.Type:     google.New,
		apple.Type:      apple.New,
		facebook.Type:   facebook.New,
	}
}

// New builds the Service. The returned notices list what the apps configure that this
// build does not serve (for the server's log); configuration errors are returned as error.
func New(opts Options) (*Service, []string, error) {
	c, notices, err := build(opts)
	if err != nil {
		return nil, nil, err
	}
	// The audit writer starts only once nothing can fail: an error return leaves no
	// goroutine behind.
	c.audit = newAuditor(opts.Store, func(msg string, args ...any) { c.log.Error(msg, args...) })
	return &Service{
		core: c, Sessions: &Sessions{c}, EmailPassword: &EmailPassword{c}, APIKeys: &APIKeys{c},
		Operators: &Operators{c}, Calls: &Calls{c},
	}, notices, nil
}

func build(opts Options) (*core, []string, error) {
	ended := newEndings()
	s := &core{
		store: sessionEnds{Store: opts.Store, ended: ended}, ended: ended, ring: opts.Ring, hasher: opts.Hasher, mail: opts.Mail,
		clock: opts.Clock, log: opts.Logger, apps: map[string]*App{},
		accessTTL: opts.AccessTTL, refreshTTL: opts.RefreshTTL, lockout: DefaultLockout, metrics: opts.Metrics,
	}
	s.minPassword = max(opts.MinPasswordLength, MinPasswordLength)
	s.rotationGrace = opts.RotationGrace
	s.recheck = opts.SessionRecheck
	if s.recheck <= 0 {
		s.recheck = SessionRecheck
	}
	if s.rotationGrace == 0 {
		s.rotationGrace = DefaultRotationGrace
	}
	if opts.Lockout != nil {
		s.lockout = *opts.Lockout
	}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.mail == nil {
		s.mail = mail.Disabled{}
	}
	if s.accessTTL == 0 {
		s.accessTTL = DefaultAccessTTL
	}
	if s.refreshTTL == 0 {
		s.refreshTTL = DefaultRefreshTTL
	}
	if opts.Registry == nil {
		opts.Registry = DefaultRegistry()
	}
	var notices []string
	for _, cfg := range opts.Apps {
		if _, dup := s.apps[cfg.ClientAppID]; dup {
			return nil, nil, fmt.Errorf("two apps have the id %q", cfg.ClientAppID)
		}
		app := &App{App: cfg, providers: map[string]*providerEntry{}, functions: opts.Functions[cfg.ClientAppID],
			data: opts.Data[cfg.ClientAppID], values: cfg.ResolvedValues(opts.Secrets)}
		if cfg.CustomUserData != nil && app.data == nil {
			notices = append(notices, fmt.Sprintf("app %s: custom user data is configured but its data source is not open; tokens carry none", cfg.ClientAppID))
		}
		names := make([]string, 0, len(cfg.Providers))
		for name := range cfg.Providers {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			pc := cfg.Providers[name]
			entry := &providerEntry{cfg: pc}
			// What is not served, or served with a gap, is said at start by the app's check
			// (appcheck), which serve logs: here it is only built, or refused.
			if factory, ok := opts.Registry[pc.Type]; ok {
				deps := provider.Deps{AppID: cfg.ClientAppID, Accounts: opts.Store, APIKeys: opts.Store, Secrets: opts.Secrets, Now: s.clock.Now, HTTPClient: opts.HTTPClient}
				if opts.Hasher != nil {
					deps.Passwords = opts.Hasher
				}
				if app.functions != nil {
					deps.Functions = loginFunctions{app.functions}
				}
				impl, err := factory(pc, deps)
				if err != nil && !pc.Disabled {
					return nil, nil, fmt.Errorf("app %s: %w", cfg.ClientAppID, err)
				}
				// A disabled provider refuses logins anyway; its configuration may be unfinished.
				entry.impl = impl
			}
			if pc.Type == userpass.Type {
				c, err := userpass.ParseConfig(pc)
				if err != nil {
					return nil, nil, fmt.Errorf("app %s: %w", cfg.ClientAppID, err)
				}
				app.userpass = &c
				for _, fn := range c.Functions() {
					if app.functions == nil || !app.functions.Has(fn) {
						return nil, nil, fmt.Errorf("app %s: local-userpass names function %q, which is not in functions/", cfg.ClientAppID, fn)
					}
				}
			}
			app.providers[name] = entry
		}
		s.apps[cfg.ClientAppID] = app
	}
	return s, notices, nil
}

// App returns the app with the client app id, or an ErrAppNotFound error.
func (s *Service) App(id string) (*App, error) { return s.app(id) }

func (s *core) app(id string) (*App, error) {
	app, ok := s.apps[id]
	if !ok {
		return nil, fail(ErrAppNotFound, fmt.Sprintf("cannot find app using Client App ID '%s'", id))
	}
	return app, nil
}

// Ready checks what the service needs to serve requests: the store, and each app's data
// sources. It is what /readyz reports; /healthz only says the process is up.
func (s *Service) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return err
	}
	for _, app := range s.appList() {
		if err := app.data.Ping(ctx); err != nil {
			return fmt.Errorf("app %s: %w", app.ClientAppID, err)
		}
	}
	return nil
}

// Unavailable reports whether err means the store cannot serve requests now (its server
// unreachable, the disk full), and why: such a request is worth retrying later.
func (s *Service) Unavailable(err error) (string, bool) {
	var de *dataUnavailableError
	if errors.As(err, &de) {
		return de.reason, true
	}
	return s.store.Unavailable(err)
}

// dataUnavailableError is a data source failing where an answer needs it (custom user
// data for a refreshed token, with no earlier copy to serve).
type dataUnavailableError struct {
	reason string
	err    error
}

func (e *dataUnavailableError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *dataUnavailableError) Unwrap() error { return e.err }

// Apps lists the apps served, by client app id.
func (s *Service) Apps() []*App { return s.appList() }

func (s *core) appList() []*App {
	out := make([]*App, 0, len(s.apps))
	for _, a := range s.apps {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ClientAppID < out[j].ClientAppID })
	return out
}

// JWKS is the public half of the signing keys, as a JSON Web Key Set.
func (s *Service) JWKS() []byte { return s.ring.JWKS() }

// provider returns the enabled, supported provider called name.
func (a *App) provider(name string) (*providerEntry, error) {
	p, ok := a.providers[name]
	if !ok {
		return nil, fail(ErrProviderNotFound, fmt.Sprintf("authentication via '%s' is unsupported", name))
	}
	if p.cfg.Disabled {
		return nil, fail(ErrProviderDisabled, fmt.Sprintf("authentication provider '%s' is disabled", name))
	}
	if p.impl == nil {
		return nil, fail(ErrProviderUnsupported, fmt.Sprintf("authentication provider type '%s' is not supported by this version of Warden", p.cfg.Type))
	}
	return p, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
