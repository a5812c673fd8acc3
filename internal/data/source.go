// Package data serves an app's MongoDB data sources: the MongoDB service that the SDKs
// reach through functions/call (find, insertOne, updateMany, aggregate, watch, ...), and
// the same collections for functions through context.services.get(name). Every request
// of a user goes through the collection's rules (package rules); the system user
// bypasses them.
//
// A data source with a connection string (config.uri, secret_config.uri, or the server's
// --mongodb-uri) is a real MongoDB reached with the official Go driver, so an Atlas
// cluster keeps working. A data source without one is served by an embedded
// MongoDB-compatible engine over SQLite in the data directory (see Embedded).
package data

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Options configure how an app's data sources are reached.
type Options struct {
	// DataDir is the server's data directory; embedded data lives under DataDir/mongo.
	DataDir string
	// URIs gives a connection string per data source name, over the app's own config.
	URIs map[string]string
	// DefaultURI is used for every data source that has no connection string of its own
	// (empty: the embedded engine).
	DefaultURI string
	// PostgresURL, when set, puts the embedded engine's data in that PostgreSQL database
	// instead of SQLite files (for several nodes sharing one PostgreSQL).
	PostgresURL string
	Secrets     *appconfig.Secrets
	Logger      *slog.Logger
}

// Sources are one app's open data sources.
type Sources struct {
	app        *appconfig.App
	byName     map[string]*Source
	embedded   []*Embedded
	log        *slog.Logger
	customData *customDataCache
}

// Source is one open data source.
type Source struct {
	// Config is the data source as the app directory defines it.
	Config *appconfig.DataSource
	// Embedded is true when the embedded engine serves this source.
	Embedded bool
	client   *mongo.Client
	log      *slog.Logger
	// wrote, when set, is told of each write that succeeded (namespace "db.coll").
	wrote func(ns string)
	// feed carries the embedded store's committed writes to its watches (nil for MongoDB).
	feed *feed

	nsLocks sync.Map // namespace → *sync.RWMutex: writes' turns on the embedded engine (see beginWrite)
}

// namespaceLock is the lock of a namespace's writes.
func (src *Source) namespaceLock(ns string) *sync.RWMutex {
	if m, ok := src.nsLocks.Load(ns); ok {
		return m.(*sync.RWMutex)
	}
	m, _ := src.nsLocks.LoadOrStore(ns, &sync.RWMutex{})
	return m.(*sync.RWMutex)
}

// Open connects to every data source of the app, starting the embedded engine for those
// that have no connection string. On error nothing is left open.
func Open(ctx context.Context, app *appconfig.App, opts Options) (*Sources, error) {
	s := &Sources{app: app, byName: map[string]*Source{}, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, name := range app.DataSourceNames() {
		cfg := app.DataSources[name]
		uri := opts.URIs[name]
		if uri == "" {
			uri = cfg.URI
		}
		if uri == "" && cfg.URISecret != "" {
			if v, ok := opts.Secrets.Get(cfg.URISecret); ok {
				uri = v
			} else if opts.DefaultURI == "" {
				// Test apps (realm-js's local-mongodb) name a secret nobody sets: serve them
				// from the embedded engine, and say so loudly.
				s.log.Warn("data source: its secret_config.uri secret is not set; the embedded engine serves it instead",
					"app", app.ClientAppID, "data_source", name, "secret", cfg.URISecret)
			}
		}
		if uri == "" {
			uri = opts.DefaultURI
		}
		src := &Source{Config: cfg, log: s.log}
		if uri == "" {
			if opts.DataDir == "" {
				s.Close(ctx)
				return nil, fmt.Errorf("data source %q: no connection string and no data directory for the embedded engine", name)
			}
			e, err := StartEmbedded(ctx, filepath.Join(opts.DataDir, "mongo", safeName(app.ClientAppID), safeName(name)), opts.PostgresURL, s.log)
			if err != nil {
				s.Close(ctx)
				return nil, fmt.Errorf("data source %q: %w", name, err)
			}
			s.embedded = append(s.embedded, e)
			uri, src.Embedded = e.URI(), true
		}
		client, err := mongo.Connect(options.Client().ApplyURI(uri).SetAppName("warden").SetServerSelectionTimeout(10 * time.Second))
		if err != nil {
			s.Close(ctx)
			return nil, fmt.Errorf("data source %q: connecting: %w", name, redact(err, uri))
		}
		src.client = client
		src.wrote = func(ns string) { s.wrote(name, ns) }
		s.byName[name] = src
		src.feed = newFeed() // a MongoDB source uses it for its streams' limits only
		if src.Embedded {
			if opts.PostgresURL != "" {
				relay, err := startRelay(ctx, opts.PostgresURL, app.ClientAppID+"/"+name, src.feed, src.wrote, s.log)
				if err != nil {
					s.Close(ctx)
					return nil, fmt.Errorf("data source %q: %w", name, err)
				}
				src.feed.relay = relay
			}
		}
	}
	// The embedded engine on SQLite files is written by this process only; anything else
	// (a MongoDB cluster, PostgreSQL shared by several nodes) may change under the cache.
	ttl := CustomDataTTLOwn
	if opts.PostgresURL != "" || len(s.embedded) != len(s.byName) {
		ttl = CustomDataTTLShared
	}
	s.customData = newCustomDataCache(ttl)
	return s, nil
}

// Get returns the data source called name.
func (s *Sources) Get(name string) (*Source, bool) {
	if s == nil {
		return nil, false
	}
	src, ok := s.byName[name]
	return src, ok
}

// Names lists the open data sources.
func (s *Sources) Names() []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.byName))
	for n := range s.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Ping checks that every data source answers (for readiness).
func (s *Sources) Ping(ctx context.Context) error {
	if s == nil {
		return nil
	}
	for name, src := range s.byName {
		if err := src.client.Ping(ctx, nil); err != nil {
			return fmt.Errorf("data source %q: %w", name, err)
		}
	}
	return nil
}

// Close disconnects and stops the embedded engines.
func (s *Sources) Close(ctx context.Context) {
	if s == nil {
		return
	}
	for _, src := range s.byName {
		if src.feed != nil {
			src.feed.endAll(errShuttingDown)
			if src.feed.relay != nil {
				src.feed.relay.close()
			}
		}
		if src.client != nil {
			_ = src.client.Disconnect(ctx)
		}
	}
	for _, e := range s.embedded {
		e.Close()
	}
}

// Client is the driver client of the source, for tools and tests.
func (src *Source) Client() *mongo.Client { return src.client }

// safeName keeps a name usable as one path element.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// redact keeps a connection string's password out of an error message.
func redact(err error, uri string) error {
	msg := err.Error()
	if i := strings.Index(uri, "@"); i > 0 {
		if j := strings.Index(uri, "://"); j >= 0 && j < i {
			msg = strings.ReplaceAll(msg, uri[j+3:i], "<credentials>")
		}
	}
	return errors.New(msg)
}

// readCustomUserData reads the custom user data document of a user: the document of the
// configured collection whose user_id_field equals the user's id, stored as a string or,
// failing that, as an ObjectId; nil when the user has no document.
func (s *Sources) readCustomUserData(ctx context.Context, userID string) (bson.D, error) {
	cfg := s.app.CustomUserData
	src, ok := s.byName[cfg.MongoServiceName]
	if !ok {
		return nil, fmt.Errorf("custom user data: data source %q is not open", cfg.MongoServiceName)
	}
	coll := src.client.Database(cfg.DatabaseName).Collection(cfg.CollectionName)
	keys := []any{userID}
	if oid, err := bson.ObjectIDFromHex(userID); err == nil {
		keys = append(keys, oid)
	}
	for _, k := range keys {
		var doc bson.D
		err := coll.FindOne(ctx, bson.D{{Key: cfg.UserIDField, Value: k}}).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("custom user data: %w", err)
		}
		return doc, nil
	}
	return nil, nil
}
