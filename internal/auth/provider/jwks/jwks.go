// Package jwks fetches JSON Web Key Sets over HTTPS for the providers that verify
// third-party tokens (custom JWT with a JWK URI, Google, Apple), caches them, and fetches
// again when a token names an unknown kid, at most once per interval.
package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// RefetchInterval bounds how often an unknown kid makes the set be fetched again, so
// that tokens with made-up kids cannot turn Warden into a flood against the key server.
const RefetchInterval = 10 * time.Second

// Set is a JWK Set fetched over HTTPS and cached; an unknown kid fetches it again.
// It only holds keys usable with its algorithm. It is safe for concurrent use: a cached
// key is read without waiting for anything, and one fetch runs at a time (a slow or hung
// key server holds up only the lookups that need its answer).
type Set struct {
	url    string
	alg    string
	client *http.Client
	now    func() time.Time

	fetching sync.Mutex // held for the whole of a fetch

	mu      sync.RWMutex // guards keys and fetched; never held across a fetch
	keys    map[string]any
	fetched time.Time
}

// New returns the set at raw (an https URL) for tokens signed with alg.
func New(raw, alg string, client *http.Client, now func() time.Time) (*Set, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("jwkURI %q is not a URL", raw)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("jwkURI %q must use https", raw)
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Set{url: raw, alg: alg, client: client, now: now}, nil
}

// Key returns the public key with the kid.
func (s *Set) Key(ctx context.Context, kid string) (any, error) {
	if k, _, ok := s.cached(kid); ok {
		return k, nil
	}
	s.fetching.Lock()
	defer s.fetching.Unlock()
	k, fetched, ok := s.cached(kid) // a fetch that ran meanwhile may have brought it
	if ok {
		return k, nil
	}
	if !fetched.IsZero() && s.now().Sub(fetched) < RefetchInterval {
		return nil, fmt.Errorf("no key with kid %q", kid)
	}
	keys, err := s.fetch(ctx)
	s.mu.Lock()
	s.fetched = s.now()
	if err == nil {
		s.keys = keys
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("no key with kid %q", kid)
}

func (s *Set) cached(kid string) (any, time.Time, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[kid]
	return k, s.fetched, ok
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func (s *Set) fetch(ctx context.Context) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWK set: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the JWK set: status %d", res.StatusCode)
	}
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("decoding the JWK set: %w", err)
	}
	keys := map[string]any{}
	for _, k := range doc.Keys {
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != s.alg) {
			continue
		}
		pub, err := k.public()
		if err != nil || CheckKeyType(s.alg, pub) != nil {
			continue
		}
		keys[k.Kid] = pub
	}
	return keys, nil
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func (k jwk) public() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err1 := b64(k.N)
		e, err2 := b64(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA key")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return nil, errors.New("RSA key too small")
		}
		return pub, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, errors.New("unsupported curve")
		}
		x, err1 := b64(k.X)
		y, err2 := b64(k.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("bad EC key")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, err
		}
		return pub, nil
	case "OKP":
		x, err := b64(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad OKP key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unsupported key type %q", k.Kty)
}

// CheckKeyType refuses a key that does not belong to alg, so that no key of one kind can
// ever verify a token of another algorithm (RS256, ES256 and EdDSA).
func CheckKeyType(alg string, pub any) error {
	ok := false
	switch alg {
	case "RS256":
		ok = isRSA(pub)
	case "ES256":
		ok = isECDSA(pub)
	case "EdDSA":
		ok = isEd25519(pub)
	}
	if !ok {
		return fmt.Errorf("the key is a %T, which cannot verify %s", pub, alg)
	}
	return nil
}

func isRSA(pub any) bool {
	k, ok := pub.(*rsa.PublicKey)
	return ok && k.N.BitLen() >= 2048
}

func isECDSA(pub any) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && k.Curve == elliptic.P256()
}

func isEd25519(pub any) bool { _, ok := pub.(ed25519.PublicKey); return ok }
