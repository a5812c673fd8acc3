package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wardenauth/warden/internal/adminapi"
	"github.com/wardenauth/warden/internal/appcheck"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/clientapi"
	"github.com/wardenauth/warden/internal/console"
	"github.com/wardenauth/warden/internal/data"
	"github.com/wardenauth/warden/internal/function"
	"github.com/wardenauth/warden/internal/logwriter"
	"github.com/wardenauth/warden/internal/mail"
	"github.com/wardenauth/warden/internal/metrics"
	"github.com/wardenauth/warden/internal/password"
	"github.com/wardenauth/warden/internal/ratelimit"
	"github.com/wardenauth/warden/internal/store/postgres"
	"github.com/wardenauth/warden/internal/store/sqlite"
	"github.com/wardenauth/warden/internal/store/sqlstore"
	"github.com/wardenauth/warden/internal/token"
	"github.com/wardenauth/warden/internal/webstatic"
)

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type serveConfig struct {
	apps        listFlag
	appID       string
	dataDir     string
	database    string
	listen      string
	secrets     string
	publicURL   string
	smtp        string
	signingKeys listFlag
	refreshTTL  time.Duration
	sqliteSync  string
	fnTimeout   time.Duration
	fnMemory    int
	logFormat   string
	logLevel    string
	mongoURIs   listFlag
	static      string
	rateLimits  listFlag
	proxies     listFlag
	lockout     int
	metricsAddr string
	anonAfter   time.Duration
	minPassword int
}

func parseServe(args []string, stderr io.Writer) (*serveConfig, error) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("warden serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "warden serve runs the server: the Realm client API, the admin API and console, for the App Services apps given with --app.")
		fmt.Fprintln(stderr, "\nUsage: warden serve --app DIR [flags]")
		fs.PrintDefaults()
	}
	fs.Var(&c.apps, "app", "App Services app directory to serve (repeat for several apps)")
	fs.StringVar(&c.appID, "app-id", "", "set or override the client app id of the (single) app")
	fs.StringVar(&c.dataDir, "data", "warden-data", "data directory: the SQLite database and generated signing keys")
	fs.StringVar(&c.database, "database", os.Getenv("WARDEN_DATABASE"), "postgres://... to keep state in PostgreSQL (shared by several nodes) instead of DATA/warden.db (env WARDEN_DATABASE)")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:9090", "address to listen on, HOST:PORT")
	fs.StringVar(&c.secrets, "secrets", "", "JSON file of secret name → value (WARDEN_SECRET_<NAME> overrides an entry)")
	fs.StringVar(&c.publicURL, "public-url", "", "scheme://host[:port] that clients reach this server at (default: taken from each request)")
	fs.StringVar(&c.smtp, "smtp", os.Getenv("WARDEN_SMTP"), "SMTP server for confirmation and reset mail: smtp[s]://[user:pass@]host[:port]?from=ADDRESS (env WARDEN_SMTP)")
	fs.Var(&c.signingKeys, "signing-key", "PEM PKCS#8 private key file to sign tokens with (repeat to keep old keys verifying; the first signs). Default: generated into DATA/keys")
	fs.DurationVar(&c.refreshTTL, "refresh-token-ttl", auth.DefaultRefreshTTL, "refresh-token lifetime for apps that do not set refresh_token_expiration_seconds (30m to 5 years)")
	fs.StringVar(&c.sqliteSync, "sqlite-synchronous", "FULL", "SQLite synchronous mode: FULL (durable against power loss) or NORMAL (against process crashes only)")
	fs.DurationVar(&c.fnTimeout, "function-timeout", function.DefaultTimeout, "time limit of one function call")
	fs.IntVar(&c.fnMemory, "function-memory-limit", function.DefaultMemoryLimit>>20, "MiB the server's heap may grow during one function call before the call is stopped")
	fs.Var(&c.mongoURIs, "mongodb-uri", "[NAME=]mongodb://... connection string for the data source NAME, or for every data source without one of its own (repeatable; env WARDEN_MONGODB_URI). Without one, data sources are served by the embedded engine in DATA/mongo")
	fs.StringVar(&c.static, "static", "", "serve the files of this directory (a web app) at / beside the API, for a one-process demo")
	fs.Var(&c.rateLimits, "rate-limit", "NAME=MAX/WINDOW (login.ip=120/1m) or NAME=off to change a rate limit, all=off for none; repeatable. Names: "+strings.Join(ratelimit.Names(), ", "))
	fs.Var(&c.proxies, "trusted-proxy", "CIDR of a reverse proxy whose X-Forwarded-For names the client (repeatable)")
	fs.IntVar(&c.lockout, "lockout-threshold", auth.DefaultLockout.Threshold, "failed password logins before an account is locked (1 minute, doubling up to 1 hour); 0 turns lockout off")
	fs.IntVar(&c.minPassword, "min-password-length", auth.MinPasswordLength, "shortest new password accepted (6 as App Services had; OWASP ASVS asks for at least 8, better 15); at most 128")
	fs.StringVar(&c.metricsAddr, "metrics-listen", "", "HOST:PORT to serve Prometheus metrics at /metrics (off when empty)")
	fs.DurationVar(&c.anonAfter, "anonymous-cleanup-after", 90*24*time.Hour, "delete anonymous users inactive this long (0 keeps them)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelpAsked
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if len(c.apps) == 0 {
		return nil, errors.New("serve: --app DIR is required (try --app ./examples/quickstart)")
	}
	if c.appID != "" && len(c.apps) > 1 {
		return nil, errors.New("serve: --app-id applies to a single --app")
	}
	if c.refreshTTL < appconfig.MinRefreshTokenTTL || c.refreshTTL > appconfig.MaxRefreshTokenTTL {
		return nil, fmt.Errorf("serve: --refresh-token-ttl %s is outside 30m to 5 years", c.refreshTTL)
	}
	if c.minPassword < auth.MinPasswordLength || c.minPassword > auth.MaxPasswordLength {
		return nil, fmt.Errorf("serve: --min-password-length %d is outside %d to %d", c.minPassword, auth.MinPasswordLength, auth.MaxPasswordLength)
	}
	if c.fnMemory < 16 {
		return nil, fmt.Errorf("serve: --function-memory-limit %d is below 16 MiB", c.fnMemory)
	}
	if c.publicURL != "" && !strings.HasPrefix(c.publicURL, "http://") && !strings.HasPrefix(c.publicURL, "https://") {
		return nil, fmt.Errorf("serve: --public-url %q must start with http:// or https://", c.publicURL)
	}
	return c, nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	// Log lines are written in batches (at least every 100 ms): a request does not wait
	// for the terminal or the pipe. Returning from serve writes what is left.
	logOut := logwriter.New(stderr, 0)
	defer logOut.Close()
	log, err := newLogger(logOut, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}

	apps, secrets, err := loadApps(cfg, log)
	if err != nil {
		return err
	}
	// Bind the port first: a start that cannot listen (the port in use) leaves nothing
	// behind, no data directory and no generated key.
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if cfg.database == "" {
		// One server per SQLite data directory: a second would share its database file
		// with no coordination of the group commit or the in-memory rate limits.
		unlock, err := lockDataDir(cfg.dataDir)
		if err != nil {
			return err
		}
		defer unlock()
	}
	ring, err := token.LoadOrCreateRing(filepath.Join(cfg.dataDir, "keys"), cfg.signingKeys)
	if err != nil {
		return err
	}
	var sender mail.Sender = mail.Disabled{}
	if cfg.smtp != "" {
		s, err := mail.NewSMTP(cfg.smtp)
		if err != nil {
			return err
		}
		sender = s
	}
	hasher, err := password.NewHasher(password.DefaultParams, 0)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg.database, cfg.dataDir, cfg.sqliteSync)
	if err != nil {
		return err
	}
	defer st.Close()

	dataOpts, err := dataOptions(cfg, secrets, log)
	if err != nil {
		return err
	}
	sources, err := openDataSources(ctx, apps, dataOpts)
	if err != nil {
		return err
	}
	defer func() {
		for _, s := range sources {
			s.Close(context.Background())
		}
	}()
	logDataSources(log, sources, cfg.database != "")
	engines, err := functionEngines(apps, function.Options{Timeout: cfg.fnTimeout, MemoryLimit: uint64(cfg.fnMemory) << 20, Logger: log, Secrets: secrets}, sources)
	if err != nil {
		return err
	}
	met := metrics.New()
	lockout := auth.DefaultLockout
	lockout.Threshold = max(cfg.lockout, 0)
	svc, notices, err := auth.New(auth.Options{
		Store: st, Ring: ring, Hasher: hasher, Mail: sender, Logger: log, Secrets: secrets,
		Apps: apps, RefreshTTL: cfg.refreshTTL, Functions: engines, Data: sources,
		Lockout: &lockout, Metrics: met, MinPasswordLength: cfg.minPassword,
	})
	if err != nil {
		return err
	}
	for _, n := range notices {
		log.Warn(n)
	}
	if cfg.smtp == "" {
		log.Info("no SMTP server configured (--smtp): confirmation and reset emails cannot be sent")
	}

	limiter, proxies, err := rateLimiting(cfg, st, log, met)
	if err != nil {
		return err
	}
	var static http.Handler
	if cfg.static != "" {
		if static, err = webstatic.Handler(cfg.static); err != nil {
			return err
		}
		log.Info("serving static files", "dir", cfg.static)
	}
	root := http.NewServeMux()
	root.Handle(adminapi.Prefix+"/", adminapi.New(svc, adminapi.Options{Logger: log, TrustedProxies: proxies}))
	root.Handle(console.Path, console.Handler())
	root.Handle(strings.TrimSuffix(console.Path, "/"), console.Handler())
	streams, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	root.Handle("/", clientapi.New(svc, clientapi.Options{PublicURL: cfg.publicURL, Logger: log, Static: static,
		Limiter: limiter, TrustedProxies: proxies, Metrics: met, Streams: streams}))
	srv := &http.Server{
		Handler:           root,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(endStreams) // change streams end with an error event, so Shutdown need not wait for them
	for _, a := range svc.Apps() {
		log.Info("serving app", "app", a.ClientAppID, "dir", a.Dir, "providers", len(a.Providers))
	}
	log.Info("warden listening", "addr", ln.Addr().String(), "version", version, "signing_key", ring.ActiveKID())

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if cfg.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", met.Handler())
		msrv := &http.Server{Addr: cfg.metricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		mln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			return fmt.Errorf("metrics listen: %w", err)
		}
		go func() { errc <- msrv.Serve(mln) }()
		defer msrv.Close()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	maintCtx, stopMaint := context.WithCancel(ctx)
	defer stopMaint()
	go svc.Operators.RunMaintenance(maintCtx, 10*time.Minute, cfg.anonAfter)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	svc.Close() // writes the audit events still queued
	log.Info("stopped")
	return nil
}

// loadApps reads the apps and the secrets, and logs the same report as `warden check`:
// what is ignored is said once at start; a problem stops the start.
func loadApps(cfg *serveConfig, log *slog.Logger) ([]*appconfig.App, *appconfig.Secrets, error) {
	var apps []*appconfig.App
	for _, dir := range cfg.apps {
		app, err := appconfig.Load(dir, appconfig.Options{AppID: cfg.appID})
		if err != nil {
			return nil, nil, fmt.Errorf("loading app: %w", err)
		}
		apps = append(apps, app)
	}
	secrets, err := appconfig.LoadSecrets(cfg.secrets, os.LookupEnv)
	if err != nil {
		return nil, nil, err
	}
	for _, app := range apps {
		r := appcheck.Check(app, secrets)
		for _, line := range r.Ignores {
			log.Warn("app "+app.ClientAppID+": "+line, "app", app.ClientAppID)
		}
		if !r.OK() {
			for _, line := range r.Problems {
				log.Error("app "+app.ClientAppID+": "+line, "app", app.ClientAppID)
			}
			return nil, nil, fmt.Errorf("app %s: %d problem(s) (warden check --app %s lists them)", app.ClientAppID, len(r.Problems), app.Dir)
		}
	}
	return apps, secrets, nil
}

// logDataSources says which engine serves each app's data sources.
func logDataSources(log *slog.Logger, sources map[string]*data.Sources, onPostgres bool) {
	for appID, s := range sources {
		for _, name := range s.Names() {
			src, _ := s.Get(name)
			engine := "mongodb"
			switch {
			case src.Embedded && onPostgres:
				engine = "embedded-postgresql"
			case src.Embedded:
				engine = "embedded"
			}
			log.Info("data source", "app", appID, "name", name, "engine", engine)
		}
	}
}

// rateLimiting builds the rate limiter: counters in memory on SQLite (one node), in the
// database on PostgreSQL (so limits hold across nodes).
func rateLimiting(cfg *serveConfig, st *sqlstore.Store, log *slog.Logger, met *metrics.Metrics) (*ratelimit.Limiter, []netip.Prefix, error) {
	var overrides []ratelimit.Limit
	for _, s := range cfg.rateLimits {
		l, err := ratelimit.Parse(s)
		if err != nil {
			return nil, nil, fmt.Errorf("--rate-limit: %w", err)
		}
		overrides = append(overrides, l)
	}
	var counter ratelimit.Counter = ratelimit.NewMemory()
	if cfg.database != "" {
		counter = st
	}
	limiter, err := ratelimit.New(counter, ratelimit.Options{Overrides: overrides, Logger: log, Refused: met.RateLimited})
	if err != nil {
		return nil, nil, fmt.Errorf("--rate-limit: %w", err)
	}
	var proxies []netip.Prefix
	for _, p := range cfg.proxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, nil, fmt.Errorf("--trusted-proxy %q: not a CIDR or an address", p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		proxies = append(proxies, prefix)
	}
	return limiter, proxies, nil
}

// dataOptions reads --mongodb-uri (and WARDEN_MONGODB_URI).
func dataOptions(cfg *serveConfig, secrets *appconfig.Secrets, log *slog.Logger) (data.Options, error) {
	// On PostgreSQL the embedded engine keeps its data there too, so that every node
	// sees the same data sources.
	opts := data.Options{DataDir: cfg.dataDir, URIs: map[string]string{}, Secrets: secrets, Logger: log, PostgresURL: cfg.database}
	uris := append([]string(nil), cfg.mongoURIs...)
	if v := os.Getenv("WARDEN_MONGODB_URI"); v != "" && len(uris) == 0 {
		uris = append(uris, v)
	}
	for _, u := range uris {
		name, uri, named := strings.Cut(u, "=")
		if !named || strings.Contains(name, "://") {
			name, uri = "", u
		}
		if !strings.HasPrefix(uri, "mongodb://") && !strings.HasPrefix(uri, "mongodb+srv://") {
			return opts, fmt.Errorf("--mongodb-uri: expected [NAME=]URI with a mongodb:// or mongodb+srv:// URI, got %q", redactURI(uri))
		}
		if name == "" {
			opts.DefaultURI = uri
		} else {
			opts.URIs[name] = uri
		}
	}
	return opts, nil
}

// openDataSources opens every app's data sources.
func openDataSources(ctx context.Context, apps []*appconfig.App, opts data.Options) (map[string]*data.Sources, error) {
	out := map[string]*data.Sources{}
	for _, app := range apps {
		if len(app.DataSources) == 0 {
			continue
		}
		s, err := data.Open(ctx, app, opts)
		if err != nil {
			for _, o := range out {
				o.Close(ctx)
			}
			return nil, fmt.Errorf("app %s: %w", app.ClientAppID, err)
		}
		out[app.ClientAppID] = s
	}
	return out, nil
}

// functionEngines compiles each app's functions.
func functionEngines(apps []*appconfig.App, opts function.Options, sources map[string]*data.Sources) (map[string]*function.Engine, error) {
	engines := map[string]*function.Engine{}
	for _, app := range apps {
		if app.Functions == nil {
			continue
		}
		o := opts
		o.Data = sources[app.ClientAppID]
		e, err := function.New(app, o)
		if err != nil {
			return nil, fmt.Errorf("app %s: %w", app.ClientAppID, err)
		}
		engines[app.ClientAppID] = e
	}
	return engines, nil
}

// openStore opens PostgreSQL when database is a postgres:// URL, else SQLite in dataDir.
func openStore(ctx context.Context, database, dataDir, sqliteSync string) (*sqlstore.Store, error) {
	if database != "" {
		if !strings.HasPrefix(database, "postgres://") && !strings.HasPrefix(database, "postgresql://") {
			return nil, fmt.Errorf("--database must be a postgres:// URL")
		}
		return postgres.Open(ctx, database, postgres.Options{})
	}
	return sqlite.Open(ctx, filepath.Join(dataDir, "warden.db"), sqlite.Options{Synchronous: sqliteSync})
}

// redactURI hides the credentials of a connection string in messages.
func redactURI(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return "(not a URI)"
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "<credentials>@" + rest[at+1:]
	}
	return scheme + "://" + rest
}
