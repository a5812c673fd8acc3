package data

import (
	"context"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Custom user data is read on every login and refresh; a cache keeps it at the cost of a
// map lookup. Every write to the custom-data collection that goes through Warden (the
// MongoDB service, functions' context.services) empties the cache at once. Writes that do
// not (another Warden node, another program on a MongoDB cluster) are seen within the
// cache's lifetime: CustomDataTTLShared for a data source others can write, and
// CustomDataTTLOwn for the embedded engine on SQLite, which only this process writes.
const (
	CustomDataTTLShared = 30 * time.Second
	CustomDataTTLOwn    = 10 * time.Minute
	customDataMaxBytes  = 64 << 20 // the documents held; past it expired ones go, then all
	customDataDocMax    = 64 << 10 // a larger document is read each time, not held
	customDataTimeout   = 5 * time.Second
	// customDataRetry is how long a copy served because the source failed is used before
	// the source is tried again (so an outage does not make every refresh wait).
	customDataRetry = 5 * time.Second
)

type customDataEntry struct {
	doc  bson.D // nil: the user has no document
	at   time.Time
	size int
}

type customDataCache struct {
	ttl     time.Duration
	now     func() time.Time
	mu      sync.Mutex
	gen     uint64
	bytes   int
	entries map[string]customDataEntry
}

func newCustomDataCache(ttl time.Duration) *customDataCache {
	return &customDataCache{ttl: ttl, now: time.Now, entries: map[string]customDataEntry{}}
}

func (c *customDataCache) get(userID string, now time.Time) (e customDataEntry, fresh, found bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found = c.entries[userID]
	return e, found && now.Sub(e.at) < c.ttl, found, c.gen
}

// put keeps a document read at generation gen, unless a write emptied the cache since.
func (c *customDataCache) put(userID string, e customDataEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if old, ok := c.entries[userID]; ok {
		c.bytes -= old.size
	}
	if c.bytes+e.size > customDataMaxBytes {
		now := c.now()
		for id, x := range c.entries {
			if now.Sub(x.at) >= c.ttl {
				delete(c.entries, id)
				c.bytes -= x.size
			}
		}
		if c.bytes+e.size > customDataMaxBytes {
			c.entries, c.bytes = map[string]customDataEntry{}, 0
		}
	}
	c.entries[userID] = e
	c.bytes += e.size
}

// invalidate empties the cache (a write to the collection: any user's document may have
// changed, and a filter may have touched many).
func (c *customDataCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.entries, c.bytes = map[string]customDataEntry{}, 0
	c.mu.Unlock()
}

// CustomUserData returns a user's custom user data document (nil when there is none),
// from the cache when it is fresh. When the data source fails and an older copy is known,
// that copy is returned (and the failure logged); without any copy the error is returned.
func (s *Sources) CustomUserData(ctx context.Context, userID string) (bson.D, error) {
	if s == nil || s.app.CustomUserData == nil {
		return nil, nil
	}
	now := s.customData.now()
	e, fresh, found, gen := s.customData.get(userID, now)
	if fresh {
		return e.doc, nil
	}
	// The read is the server's, not the request's: a client that went away does not
	// turn it into a failure.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), customDataTimeout)
	defer cancel()
	doc, err := s.readCustomUserData(rctx, userID)
	if err != nil {
		if found {
			s.log.Warn("reading custom user data failed; serving the last copy read", "user", userID, "err", err)
			// Served as fresh a little longer, so the next requests do not wait too.
			s.customData.put(userID, customDataEntry{doc: e.doc, size: e.size, at: now.Add(customDataRetry - s.customData.ttl)}, gen)
			return e.doc, nil
		}
		return nil, err
	}
	size := 64 // the entry itself
	if doc != nil {
		raw, err := bson.Marshal(doc)
		if err != nil {
			return nil, err
		}
		size += len(raw)
	}
	if size <= customDataDocMax {
		s.customData.put(userID, customDataEntry{doc: doc, at: now, size: size}, gen)
	}
	return doc, nil
}

// wrote is told of every write through a data source of these Sources.
func (s *Sources) wrote(source, ns string) {
	cfg := s.app.CustomUserData
	if cfg != nil && (ns == "*" || source == cfg.MongoServiceName && ns == cfg.DatabaseName+"."+cfg.CollectionName) {
		s.customData.invalidate()
	}
}
