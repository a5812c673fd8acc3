package data

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// maxSocketPath is the longest Unix socket path Linux accepts (108 bytes with the NUL).
const maxSocketPath = 100

// Embedded is a MongoDB-compatible engine over SQLite, running inside this process
// (FerretDB's embeddable package). It listens only on a Unix socket with owner-only
// permissions, so no other local user can reach the data without going through Warden.
//
// Its gaps, as of FerretDB v1.24: no transactions, no arrayFilters, and some aggregation
// stages and accumulators are missing ($push in $group among them). It has no change
// streams of its own: Warden's change feed (feed.go) serves watch instead.
type Embedded struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
	tmp    string
}

// StartEmbedded starts the engine with its SQLite files in dir; or, when postgresURL is
// set, over that PostgreSQL database (every database becomes a schema there), so that
// several Warden nodes on one PostgreSQL share their data sources. dir then only holds
// the socket.
func StartEmbedded(ctx context.Context, dir, postgresURL string, log *slog.Logger) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded data store: %w", err)
	}
	// The app's data is the owner's alone, whatever mode the directory had.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded data store: %w", err)
	}
	socket := filepath.Join(dir, "mongo.sock")
	e := &Embedded{done: make(chan struct{})}
	if len(socket) > maxSocketPath {
		tmp, err := os.MkdirTemp("", "warden-mongo-")
		if err != nil {
			return nil, fmt.Errorf("embedded data store: %w", err)
		}
		e.tmp, socket = tmp, filepath.Join(tmp, "mongo.sock")
	}
	_ = os.Remove(socket) // left by a process that was killed
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// FerretDB logs every refused command at WARN with the whole message; only its
	// errors are worth the server's log.
	quiet := slog.New(levelFloor{log.Handler(), slog.LevelError})
	cfg := &ferretdb.Config{Listener: ferretdb.ListenerConfig{Unix: socket}, Logger: quiet, Handler: "sqlite", SQLiteURL: "file:" + dir + "/"}
	if postgresURL != "" {
		cfg.Handler, cfg.SQLiteURL, cfg.PostgreSQLURL = "postgresql", "", postgresURL
	}
	f, err := ferretdb.New(cfg)
	if err != nil {
		e.cleanup()
		return nil, fmt.Errorf("embedded data store: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	go func() {
		defer close(e.done)
		_ = f.Run(runCtx)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, err := os.Stat(socket); err == nil && st.Mode()&os.ModeSocket != 0 {
			break
		}
		if time.Now().After(deadline) {
			e.Close()
			return nil, errors.New("embedded data store: the socket did not appear within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = os.Chmod(socket, 0o600)
	e.uri = f.MongoDBURI()
	return e, nil
}

// URI is the connection string of the engine.
func (e *Embedded) URI() string { return e.uri }

// Close stops the engine and waits for it.
func (e *Embedded) Close() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
	}
	e.cleanup()
}

func (e *Embedded) cleanup() {
	if e.tmp != "" {
		_ = os.RemoveAll(e.tmp)
	}
}

// levelFloor drops records below a level.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.min}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(name), h.min}
}
