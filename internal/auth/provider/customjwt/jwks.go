package customjwt

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

// jwkRefetchInterval bounds how often an unknown kid makes the set be fetched again, so
// that tokens with made-up kids cannot turn Warden into a flood against the key server.
const jwkRefetchInterval = 10 * time.Second

// jwkSet is a JWK Set fetched over HTTPS and cached; an unknown kid fetches it again.
type jwkSet struct {
	url    string
	alg    string
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	keys    map[string]any
	fetched time.Time
}

func newJWKSet(raw, alg string, client *http.Client, now func() time.Time) (*jwkSet, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("jwkURI %q is not a URL", raw)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("jwkURI %q must use https", raw)
	}
	return &jwkSet{url: raw, alg: alg, client: client, now: now}, nil
}

func (s *jwkSet) key(ctx context.Context, kid string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[kid]; ok {
		return k, nil
	}
	if !s.fetched.IsZero() && s.now().Sub(s.fetched) < jwkRefetchInterval {
		return nil, fmt.Errorf("no key with kid %q", kid)
	}
	keys, err := s.fetch(ctx)
	s.fetched = s.now()
	if err != nil {
		return nil, err
	}
	s.keys = keys
	if k, ok := s.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("no key with kid %q", kid)
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

func (s *jwkSet) fetch(ctx context.Context) (map[string]any, error) {
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
		if err != nil || checkKeyType(s.alg, pub) != nil {
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

func isRSA(pub any) bool {
	k, ok := pub.(*rsa.PublicKey)
	return ok && k.N.BitLen() >= 2048
}

func isECDSA(pub any) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && k.Curve == elliptic.P256()
}

func isEd25519(pub any) bool { _, ok := pub.(ed25519.PublicKey); return ok }
