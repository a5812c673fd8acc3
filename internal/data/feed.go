package data

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The change feed of the embedded store. FerretDB v1 has no change streams, but every
// write to the embedded store passes through this process (the engine listens only on a
// private socket), so the write path records what each write did (the document before
// and after) and the feed hands it to the open watches. On one node the feed is in
// memory; with several nodes on one PostgreSQL, every event goes through PostgreSQL
// (LISTEN/NOTIFY, see pgRelay) and reaches the watches of every node, this one's too, in
// one order.

// Limits of the change feed.
const (
	// StreamBuffer is how many writes one watch may have waiting (a write's events travel
	// together, whatever their number); a client that falls further behind is sent an
	// error event and disconnected, so a slow reader cannot make the server hold an
	// unbounded backlog.
	StreamBuffer = 256
	// MaxStreamsPerUser bounds the watches one user may have open at once, per data
	// source.
	MaxStreamsPerUser = 32
	// MaxStreams bounds the watches open at once on one data source, all users together.
	MaxStreams = 4096
)

// errStreamBehind ends a watch whose reader fell more than StreamBuffer writes behind.
var errStreamBehind = &Error{Kind: KindLimit, Message: fmt.Sprintf("the change stream fell more than %d writes behind and was closed; open it again", StreamBuffer)}

// errFeedInterrupted ends watches that may have missed events: the feed between nodes was
// interrupted, or a write's events could not be published.
var errFeedInterrupted = errors.New("the change feed was interrupted (events may have been missed); open the change stream again")

// errShuttingDown ends every watch when the server stops.
var errShuttingDown = errors.New("the server is shutting down; open the change stream again")

// changeEvent is one committed write's change to one document as the feed carries it:
// the documents before and after, from which each watch cuts what its caller may see.
type changeEvent struct {
	Op   string `bson:"op"` // insert, update, replace, delete
	DB   string `bson:"db"`
	Coll string `bson:"coll"`
	Key  any    `bson:"key"`
	Pre  bson.D `bson:"pre,omitempty"`  // nil for an insert
	Post bson.D `bson:"post,omitempty"` // nil for a delete
	// Wall is when the write committed.
	Wall time.Time `bson:"wall"`

	descOnce sync.Once
	desc     bson.D // updateDescription, computed once for every watch
}

func (e *changeEvent) ns() string { return e.DB + "." + e.Coll }

// description is an update's updateDescription, computed once.
func (e *changeEvent) description() bson.D {
	e.descOnce.Do(func() {
		updated, removed := diffDocuments(e.Pre, e.Post, "")
		e.desc = bson.D{
			{Key: "updatedFields", Value: updated},
			{Key: "removedFields", Value: removed},
			{Key: "truncatedArrays", Value: bson.A{}},
		}
	})
	return e.desc
}

// mongoEvent is the event as MongoDB's change streams write it: _id (the resume token),
// operationType, clusterTime, wallTime, ns, documentKey, fullDocument for inserts,
// replaces and (as fullDocument: "updateLookup") updates, and updateDescription for
// updates. seq is the event's number in its watch. fullDocumentBeforeChange carries the
// document before the change, for the rules only: ChangeStream's redaction removes it.
func (e *changeEvent) mongoEvent(seq uint64) bson.D {
	var token [16]byte
	binary.BigEndian.PutUint64(token[:8], uint64(e.Wall.UnixNano()))
	binary.BigEndian.PutUint64(token[8:], seq)
	out := bson.D{
		{Key: "_id", Value: bson.D{{Key: "_data", Value: hex.EncodeToString(token[:])}}},
		{Key: "operationType", Value: e.Op},
		{Key: "clusterTime", Value: bson.Timestamp{T: uint32(e.Wall.Unix()), I: uint32(seq)}},
		{Key: "wallTime", Value: bson.NewDateTimeFromTime(e.Wall)},
		{Key: "ns", Value: bson.D{{Key: "db", Value: e.DB}, {Key: "coll", Value: e.Coll}}},
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: e.Key}}},
	}
	if e.Op == "update" {
		out = append(out, bson.E{Key: "updateDescription", Value: e.description()})
	}
	if e.Post != nil {
		out = append(out, bson.E{Key: "fullDocument", Value: e.Post})
	}
	if e.Pre != nil {
		out = append(out, bson.E{Key: "fullDocumentBeforeChange", Value: e.Pre})
	}
	return out
}

// diffDocuments is an update's description: the fields whose values changed or appeared
// (dotted paths into subdocuments present on both sides), and the fields removed.
func diffDocuments(pre, post bson.D, prefix string) (updated bson.D, removed bson.A) {
	updated, removed = bson.D{}, bson.A{}
	before := make(map[string]any, len(pre))
	for _, e := range pre {
		before[e.Key] = e.Value
	}
	after := make(map[string]bool, len(post))
	for _, e := range post {
		after[e.Key] = true
		old, had := before[e.Key]
		switch {
		case !had:
			updated = append(updated, bson.E{Key: prefix + e.Key, Value: e.Value})
		case sameValue(old, e.Value):
		default:
			od, oIsDoc := old.(bson.D)
			nd, nIsDoc := e.Value.(bson.D)
			if oIsDoc && nIsDoc && len(nd) > 0 {
				u, r := diffDocuments(od, nd, prefix+e.Key+".")
				updated, removed = append(updated, u...), append(removed, r...)
				continue
			}
			updated = append(updated, bson.E{Key: prefix + e.Key, Value: e.Value})
		}
	}
	for _, e := range pre {
		if !after[e.Key] {
			removed = append(removed, prefix+e.Key)
		}
	}
	return updated, removed
}

// feed hands the embedded store's committed writes to the open watches.
type feed struct {
	mu    sync.Mutex
	subs  map[string]map[*subscription]struct{} // namespace → watches
	users map[string]int                        // user id → open watches
	total int
	// relay, when set, carries every event through PostgreSQL to every node.
	relay *pgRelay
}

func newFeed() *feed {
	return &feed{subs: map[string]map[*subscription]struct{}{}, users: map[string]int{}}
}

// subscription is one watch's place in the feed. Its channel carries writes: the events
// of one write arrive together.
type subscription struct {
	f       *feed
	ns      string
	user    string
	ch      chan []*changeEvent
	pending []*changeEvent // the rest of the write being read
	done    chan struct{}
	once    sync.Once
	release sync.Once
	err     error // set before done closes
}

// recording reports whether writes to ns must be recorded: when a watch is open on it
// here, or always when events go to other nodes (which may have watches).
func (f *feed) recording(ns string) bool {
	if f == nil {
		return false
	}
	if f.relay != nil {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs[ns]) > 0
}

// subscribe opens a watch on ns for user ("" for the system user, who has no limit of
// its own).
func (f *feed) subscribe(ns, user string) (*subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if user != "" && f.users[user] >= MaxStreamsPerUser {
		return nil, &Error{Kind: KindLimit, Message: fmt.Sprintf("watch: a user may have at most %d change streams open at once", MaxStreamsPerUser)}
	}
	if f.total >= MaxStreams {
		return nil, &Error{Kind: KindLimit, Message: fmt.Sprintf("watch: this data source has %d change streams open, its limit; try again later", MaxStreams)}
	}
	s := &subscription{f: f, ns: ns, user: user, ch: make(chan []*changeEvent, StreamBuffer), done: make(chan struct{})}
	if f.subs[ns] == nil {
		f.subs[ns] = map[*subscription]struct{}{}
	}
	f.subs[ns][s] = struct{}{}
	f.total++
	if user != "" {
		f.users[user]++
	}
	return s, nil
}

// end stops the subscription's events with err (nil: closed by its reader). Its place in
// the limits is kept until close: a reader still writing out what it had counts.
func (s *subscription) end(err error) {
	s.once.Do(func() {
		f := s.f
		f.mu.Lock()
		delete(f.subs[s.ns], s)
		if len(f.subs[s.ns]) == 0 {
			delete(f.subs, s.ns)
		}
		f.mu.Unlock()
		s.err = err
		close(s.done)
	})
}

// close ends the subscription and gives back its place in the limits.
func (s *subscription) close() {
	s.end(nil)
	s.release.Do(func() {
		f := s.f
		f.mu.Lock()
		f.total--
		if s.user != "" {
			if f.users[s.user]--; f.users[s.user] <= 0 {
				delete(f.users, s.user)
			}
		}
		f.mu.Unlock()
		s.pending = nil
	})
}

// next waits for the subscription's next event. A subscription that ended, or whose ctx
// ended, gives no more events, even if some were waiting.
func (s *subscription) next(ctx context.Context) (*changeEvent, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		select {
		case <-s.done:
			if s.err == nil {
				return nil, errors.New("watch: the change stream is closed")
			}
			return nil, s.err
		default:
		}
		if len(s.pending) > 0 {
			ev := s.pending[0]
			s.pending = s.pending[1:]
			return ev, nil
		}
		select {
		case batch := <-s.ch:
			s.pending = batch
		case <-s.done:
		case <-ctx.Done():
		}
	}
}

// publish hands the events of one committed write to the watches: here, or through
// PostgreSQL (on the connection that holds the namespace's lock) to every node. It is
// called with the namespace's write lock held, so the events of one namespace are
// published in commit order. When they cannot be published, the watches of the namespace
// here are ended (they would miss them); other nodes' watches cannot be told.
func (f *feed) publish(ctx context.Context, hold *pgHold, events []*changeEvent) error {
	if f == nil || len(events) == 0 {
		return nil
	}
	if f.relay == nil {
		f.deliver(events)
		return nil
	}
	if err := f.relay.publish(ctx, hold, events); err != nil {
		f.endNamespace(events[0].ns(), errFeedInterrupted)
		return err
	}
	return nil
}

// deliver gives one write's events (all of one namespace) to the watches of their
// namespace.
func (f *feed) deliver(events []*changeEvent) {
	if len(events) == 0 {
		return
	}
	f.mu.Lock()
	var slow []*subscription
	for s := range f.subs[events[0].ns()] {
		select {
		case s.ch <- events:
		default:
			slow = append(slow, s)
		}
	}
	f.mu.Unlock()
	for _, s := range slow {
		s.end(errStreamBehind)
	}
}

// endNamespace ends the watches of one namespace with err.
func (f *feed) endNamespace(ns string, err error) {
	f.mu.Lock()
	var subs []*subscription
	for s := range f.subs[ns] {
		subs = append(subs, s)
	}
	f.mu.Unlock()
	for _, s := range subs {
		s.end(err)
	}
}

// endAll closes every watch with err (the feed between nodes was interrupted, or the
// server is stopping).
func (f *feed) endAll(err error) {
	f.mu.Lock()
	var all []*subscription
	for _, m := range f.subs {
		for s := range m {
			all = append(all, s)
		}
	}
	f.mu.Unlock()
	for _, s := range all {
		s.end(err)
	}
}
