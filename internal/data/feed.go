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
	// StreamBuffer is how many events one watch may have waiting; a client that falls
	// further behind is sent an error event and disconnected, so a slow reader cannot
	// make the server hold an unbounded backlog.
	StreamBuffer = 256
	// MaxStreamsPerUser bounds the watches one user may have open at once, per app.
	MaxStreamsPerUser = 32
)

// errStreamBehind ends a watch whose reader fell more than StreamBuffer events behind.
var errStreamBehind = &Error{Kind: KindLimit, Message: fmt.Sprintf("the change stream fell more than %d events behind and was closed; open it again", StreamBuffer)}

// errFeedInterrupted ends every watch when the feed between nodes was interrupted (events
// may have been missed).
var errFeedInterrupted = errors.New("the change feed between nodes was interrupted; open the change stream again")

// errShuttingDown ends every watch when the server stops.
var errShuttingDown = errors.New("the server is shutting down; open the change stream again")

// changeEvent is one committed write as the feed carries it: the documents before and
// after, from which each watch cuts what its caller may see.
type changeEvent struct {
	Op   string `bson:"op"` // insert, update, replace, delete
	DB   string `bson:"db"`
	Coll string `bson:"coll"`
	Key  any    `bson:"key"`
	Pre  bson.D `bson:"pre,omitempty"`  // nil for an insert
	Post bson.D `bson:"post,omitempty"` // nil for a delete
	// Wall is when the write committed.
	Wall time.Time `bson:"wall"`
}

func (e *changeEvent) ns() string { return e.DB + "." + e.Coll }

// delivered is an event with its place in the feed.
type delivered struct {
	ev  *changeEvent
	seq uint64
}

// mongoEvent is the event as MongoDB's change streams write it: _id (the resume token),
// operationType, clusterTime, wallTime, ns, documentKey, fullDocument for inserts,
// replaces and (as fullDocument: "updateLookup") updates, and updateDescription for
// updates. fullDocumentBeforeChange carries the document before the change, for the rules
// only: ChangeStream.redact removes it.
func (d delivered) mongoEvent() bson.D {
	e := d.ev
	var token [16]byte
	binary.BigEndian.PutUint64(token[:8], uint64(e.Wall.UnixNano()))
	binary.BigEndian.PutUint64(token[8:], d.seq)
	out := bson.D{
		{Key: "_id", Value: bson.D{{Key: "_data", Value: hex.EncodeToString(token[:])}}},
		{Key: "operationType", Value: e.Op},
		{Key: "clusterTime", Value: bson.Timestamp{T: uint32(e.Wall.Unix()), I: uint32(d.seq)}},
		{Key: "wallTime", Value: bson.NewDateTimeFromTime(e.Wall)},
		{Key: "ns", Value: bson.D{{Key: "db", Value: e.DB}, {Key: "coll", Value: e.Coll}}},
		{Key: "documentKey", Value: bson.D{{Key: "_id", Value: e.Key}}},
	}
	if e.Op == "update" {
		updated, removed := diffDocuments(e.Pre, e.Post, "")
		out = append(out, bson.E{Key: "updateDescription", Value: bson.D{
			{Key: "updatedFields", Value: updated},
			{Key: "removedFields", Value: removed},
			{Key: "truncatedArrays", Value: bson.A{}},
		}})
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
	for _, e := range post {
		old, had := get(pre, e.Key)
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
		if _, has := get(post, e.Key); !has {
			removed = append(removed, prefix+e.Key)
		}
	}
	return updated, removed
}

// feed hands the embedded store's committed writes to the open watches.
type feed struct {
	mu    sync.Mutex
	seq   uint64
	subs  map[string]map[*subscription]struct{} // namespace → watches
	users map[string]int                        // user id → open watches
	// relay, when set, carries every event through PostgreSQL to every node.
	relay *pgRelay
}

func newFeed() *feed {
	return &feed{subs: map[string]map[*subscription]struct{}{}, users: map[string]int{}}
}

// subscription is one watch's place in the feed.
type subscription struct {
	f    *feed
	ns   string
	user string
	ch   chan delivered
	done chan struct{}
	once sync.Once
	err  error // set before done closes
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

// subscribe opens a watch on ns for user ("" for the system user, who has no limit).
func (f *feed) subscribe(ns, user string) (*subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if user != "" && f.users[user] >= MaxStreamsPerUser {
		return nil, &Error{Kind: KindLimit, Message: fmt.Sprintf("watch: a user may have at most %d change streams open at once", MaxStreamsPerUser)}
	}
	s := &subscription{f: f, ns: ns, user: user, ch: make(chan delivered, StreamBuffer), done: make(chan struct{})}
	if f.subs[ns] == nil {
		f.subs[ns] = map[*subscription]struct{}{}
	}
	f.subs[ns][s] = struct{}{}
	if user != "" {
		f.users[user]++
	}
	return s, nil
}

// end closes the subscription with err (nil: closed by its reader).
func (s *subscription) end(err error) {
	s.once.Do(func() {
		f := s.f
		f.mu.Lock()
		delete(f.subs[s.ns], s)
		if len(f.subs[s.ns]) == 0 {
			delete(f.subs, s.ns)
		}
		if s.user != "" {
			if f.users[s.user]--; f.users[s.user] <= 0 {
				delete(f.users, s.user)
			}
		}
		f.mu.Unlock()
		s.err = err
		close(s.done)
	})
}

// next waits for the subscription's next event.
func (s *subscription) next(ctx context.Context) (delivered, error) {
	select {
	case d := <-s.ch:
		return d, nil
	default:
	}
	select {
	case d := <-s.ch:
		return d, nil
	case <-s.done:
		if s.err == nil {
			return delivered{}, errors.New("watch: the change stream is closed")
		}
		return delivered{}, s.err
	case <-ctx.Done():
		return delivered{}, ctx.Err()
	}
}

// publish hands the events of one committed write to the watches: here, or through
// PostgreSQL to every node. It is called with the namespace's write lock held, so the
// events of one namespace are published in commit order.
func (f *feed) publish(ctx context.Context, events []*changeEvent) error {
	if f == nil || len(events) == 0 {
		return nil
	}
	if f.relay != nil {
		return f.relay.publish(ctx, events)
	}
	f.deliver(events, 0)
	return nil
}

// deliver gives events to the watches of their namespaces. seq is the feed position of
// the first event when it comes from PostgreSQL (0: numbered here).
func (f *feed) deliver(events []*changeEvent, seq uint64) {
	f.mu.Lock()
	var slow []*subscription
	for i, ev := range events {
		n := seq + uint64(i)
		if seq == 0 {
			f.seq++
			n = f.seq
		}
		for s := range f.subs[ev.ns()] {
			select {
			case s.ch <- delivered{ev: ev, seq: n}:
			default:
				slow = append(slow, s)
			}
		}
	}
	f.mu.Unlock()
	for _, s := range slow {
		s.end(errStreamBehind)
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
