package data

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// pgRelay carries the change feed of an embedded store kept in PostgreSQL between the
// nodes that share it. A write's events are stored in one row of warden_data_changes and
// announced with NOTIFY in the same transaction, while the writer holds the namespace's
// advisory lock; every node (the writer too) LISTENs and hands each announced row to its
// own watches. PostgreSQL delivers notifications in commit order, so every node sees the
// events of a namespace in the order its writes committed. Rows are only needed until
// every node has read them, and are deleted after relayRetention.
type pgRelay struct {
	pool *pgxpool.Pool
	url  string
	key  string // the app and data source whose feed this is
	feed *feed
	log  *slog.Logger
	// changed is told of the namespace of every event received (the custom user data
	// cache of every node forgets what another node's write changed).
	changed func(ns string)

	cancel context.CancelFunc
	done   chan struct{}
	ready  chan error
	once   sync.Once
}

const (
	relayChannel   = "warden_data_changes"
	relayRetention = 5 * time.Minute
	relayConns     = 16
)

// startRelay connects the feed to PostgreSQL and returns once this node is listening.
func startRelay(ctx context.Context, url, key string, f *feed, changed func(ns string), log *slog.Logger) (*pgRelay, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("change feed: %w", err)
	}
	// A write holds one connection from its lock to its publication (they share it).
	cfg.MaxConns = max(cfg.MaxConns, relayConns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("change feed: %w", err)
	}
	r := &pgRelay{pool: pool, url: url, key: key, feed: f, changed: changed, log: log, done: make(chan struct{}), ready: make(chan error, 1)}
	if err := r.createTable(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	go r.listen(runCtx)
	select {
	case err = <-r.ready:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		r.close()
		return nil, fmt.Errorf("change feed: listening: %w", err)
	}
	return r, nil
}

func (r *pgRelay) createTable(ctx context.Context) error {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("change feed: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// Nodes starting together would race on CREATE TABLE IF NOT EXISTS.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('warden_data_changes', 0))`); err != nil {
		return fmt.Errorf("change feed: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS warden_data_changes (
		id bigserial PRIMARY KEY,
		feed text NOT NULL,
		at timestamptz NOT NULL DEFAULT now(),
		events bytea NOT NULL)`); err != nil {
		return fmt.Errorf("change feed: creating its table: %w", err)
	}
	return tx.Commit(ctx)
}

// pgHold is a namespace's advisory lock, held on one connection; the write's events are
// published on the same connection.
type pgHold struct {
	conn *pgxpool.Conn
	key  string
}

// lock takes PostgreSQL's advisory lock of a namespace on a connection of its own.
func (r *pgRelay) lock(ctx context.Context, ns string) (*pgHold, error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("change feed: locking %s: %w", ns, err)
	}
	key := r.key + "|" + ns
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
		conn.Release()
		return nil, fmt.Errorf("change feed: locking %s: %w", ns, err)
	}
	return &pgHold{conn: conn, key: key}, nil
}

// release lets the lock go. Should that fail, the connection is closed, which lets it
// go too.
func (h *pgHold) release() {
	uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h.conn.Exec(uctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, h.key); err != nil {
		_ = h.conn.Conn().Close(uctx)
	}
	h.conn.Release()
}

// relayBatch is a row's events.
type relayBatch struct {
	Events []*changeEvent `bson:"events"`
}

// publish stores the events of one write and announces them, in one transaction on the
// connection that holds the namespace's lock.
func (r *pgRelay) publish(ctx context.Context, hold *pgHold, events []*changeEvent) error {
	raw, err := bson.Marshal(relayBatch{Events: events})
	if err != nil {
		return fmt.Errorf("change feed: encoding events: %w", err)
	}
	if hold == nil {
		return errors.New("change feed: publishing without the namespace's lock")
	}
	tx, err := hold.conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("change feed: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO warden_data_changes (feed, events) VALUES ($1, $2) RETURNING id`, r.key, raw).Scan(&id); err != nil {
		return fmt.Errorf("change feed: storing events: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, relayChannel, strconv.FormatInt(id, 10)+" "+r.key); err != nil {
		return fmt.Errorf("change feed: announcing events: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("change feed: %w", err)
	}
	return nil
}

// listen receives the announcements until the relay closes, reconnecting when the
// connection is lost. Watches open across a lost connection are ended, since events may
// have been missed in between.
func (r *pgRelay) listen(ctx context.Context) {
	defer close(r.done)
	go r.prune(ctx)
	first := true
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := r.listenOnce(ctx, func() {
			if first {
				first = false
				r.ready <- nil
			} else {
				r.feed.endAll(errFeedInterrupted)
			}
			backoff = 100 * time.Millisecond
		})
		if ctx.Err() != nil {
			return
		}
		if first {
			r.ready <- err
			return
		}
		r.log.Error("change feed: the connection to PostgreSQL was lost; reconnecting", "err", err)
		r.feed.endAll(errFeedInterrupted)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (r *pgRelay) listenOnce(ctx context.Context, listening func()) error {
	conn, err := pgx.Connect(ctx, r.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+relayChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		idText, key, ok := strings.Cut(n.Payload, " ")
		if !ok || key != r.key {
			continue
		}
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil {
			continue
		}
		var raw []byte
		err = conn.QueryRow(ctx, `SELECT events FROM warden_data_changes WHERE id = $1`, id).Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			r.log.Error("change feed: announced events were already pruned; ending the watches", "id", id)
			r.feed.endAll(errFeedInterrupted)
			continue
		}
		if err != nil {
			return err
		}
		var batch relayBatch
		if err := bson.Unmarshal(raw, &batch); err != nil {
			r.log.Error("change feed: decoding events failed; ending the watches", "id", id, "err", err)
			r.feed.endAll(errFeedInterrupted)
			continue
		}
		for _, ev := range batch.Events {
			r.changed(ev.ns())
		}
		r.feed.deliver(batch.Events)
	}
}

// prune deletes the rows every node has long read.
func (r *pgRelay) prune(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := r.pool.Exec(ctx, `DELETE FROM warden_data_changes WHERE at < now() - $1::interval`, fmt.Sprintf("%d seconds", int(relayRetention.Seconds()))); err != nil && ctx.Err() == nil {
				r.log.Warn("change feed: pruning old events failed", "err", err)
			}
		}
	}
}

// close stops listening and closes the connections.
func (r *pgRelay) close() {
	r.once.Do(func() {
		if r.cancel != nil {
			r.cancel()
			<-r.done
		}
		r.pool.Close()
	})
}
