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
	customDataMax       = 100_000 // entries; past it the cache starts again
	customDataTimeout   = 5 * time.Second
)

type customDataEntry struct {
	doc bson.D // nil: the user has no document
	at  time.Time
}

type customDataCache struct {
	ttl     time.Duration
	now     func() time.Time
	mu      sync.Mutex
	gen     uint64
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
	if len(c.entries) >= customDataMax {
		c.entries = map[string]customDataEntry{}
	}
	c.entries[userID] = e
}

// invalidate empties the cache (a write to the collection: any user's document may have
// changed, and a filter may have touched many).
func (c *customDataCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.entries = map[string]customDataEntry{}
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
			s.log.Warn("reading custom user data failed; serving the last copy read", "user", userID, "age", now.Sub(e.at).Round(time.Second).String(), "err", err)
			return e.doc, nil
		}
		return nil, err
	}
	s.customData.put(userID, customDataEntry{doc: doc, at: now}, gen)
	return doc, nil
}

// wrote is told of every write through a data source of these Sources.
func (s *Sources) wrote(source, ns string) {
	cfg := s.app.CustomUserData
	if cfg != nil && source == cfg.MongoServiceName && ns == cfg.DatabaseName+"."+cfg.CollectionName {
		s.customData.invalidate()
	}
}
