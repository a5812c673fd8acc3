package token

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCache remembers tokens whose signature was checked, keyed by a SHA-256 of the
// whole token (signature included), so that the same refresh or access token presented
// again skips the public-key verification. Only successful verifications are stored;
// expiry is still checked on every use. It holds at most maxEntries tokens: when a shard
// is full it is emptied (tokens are cheap to verify again).
type verifiedCache struct {
	shards [16]cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[[32]byte]*Claims
}

const maxCacheEntries = 1 << 16

func (c *verifiedCache) shard(k [32]byte) *cacheShard { return &c.shards[k[0]&15] }

func (c *verifiedCache) get(raw string) ([32]byte, *Claims) {
	k := sha256.Sum256([]byte(raw))
	sh := c.shard(k)
	sh.mu.Lock()
	cl := sh.m[k]
	sh.mu.Unlock()
	return k, cl
}

func (c *verifiedCache) put(k [32]byte, cl *Claims) {
	sh := c.shard(k)
	sh.mu.Lock()
	if sh.m == nil || len(sh.m) >= maxCacheEntries/len(c.shards) {
		sh.m = make(map[[32]byte]*Claims)
	}
	sh.m[k] = cl
	sh.mu.Unlock()
}

// cachedVerify answers from the cache when it can: the claims of a token verified before,
// with its type and expiry checked against now.
func (r *Ring) cachedVerify(raw, typ string, now time.Time) (*Claims, error, bool) {
	_, cl := r.cache.get(raw)
	if cl == nil {
		return nil, nil, false
	}
	if cl.Type != typ {
		return nil, ErrInvalid, true
	}
	if now.Unix() >= cl.ExpiresAt {
		return cl, ErrExpired, true
	}
	if cl.IssuedAt > now.Unix()+int64(time.Minute/time.Second) {
		return nil, ErrInvalid, true
	}
	return cl, nil, true
}

func sha256Key(raw string) [32]byte { return sha256.Sum256([]byte(raw)) }
