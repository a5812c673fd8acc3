package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Ring is a set of signing keys: the active key signs, every key verifies (so tokens
// signed before a rotation stay valid until they expire). A Ring is read-only after it is
// built and safe for concurrent use.
type Ring struct {
	cache        verifiedCache
	active       *key
	byKid        map[string]*key
	byRefreshKid map[string][]byte
	keys         []*key
	methods      []string
}

type key struct {
	kid     string
	method  jwt.SigningMethod
	private crypto.Signer
	public  crypto.PublicKey
	// refreshKey is an HMAC key derived from the private key (HKDF-SHA256), which signs
	// refresh tokens; nodes that share the signing key share it.
	refreshKey []byte
	refreshKID string
}

// NewRing builds a ring from PEM-encoded PKCS#8 private keys (Ed25519, ECDSA P-256 or
// RSA of at least 2048 bits). The first key is the active one.
func NewRing(pems ...[]byte) (*Ring, error) {
	if len(pems) == 0 {
		return nil, errors.New("token: no signing key")
	}
	r := &Ring{byKid: map[string]*key{}, byRefreshKid: map[string][]byte{}}
	seen := map[string]bool{}
	for i, p := range pems {
		k, err := parseKey(p)
		if err != nil {
			return nil, fmt.Errorf("token: signing key %d: %w", i+1, err)
		}
		if _, dup := r.byKid[k.kid]; dup {
			continue
		}
		r.byKid[k.kid] = k
		r.byRefreshKid[k.refreshKID] = k.refreshKey
		r.keys = append(r.keys, k)
		if !seen[k.method.Alg()] {
			seen[k.method.Alg()] = true
			r.methods = append(r.methods, k.method.Alg())
		}
	}
	r.active = r.keys[0]
	return r, nil
}

// ActiveKID is the kid of the key that signs new tokens.
func (r *Ring) ActiveKID() string { return r.active.kid }

func parseKey(p []byte) (*key, error) {
	block, _ := pem.Decode(p)
	if block == nil {
		return nil, errors.New("not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS#8 private key: %w", err)
	}
	k := &key{}
	switch pk := parsed.(type) {
	case ed25519.PrivateKey:
		k.method, k.private, k.public = jwt.SigningMethodEdDSA, pk, pk.Public()
	case *ecdsa.PrivateKey:
		if pk.Curve != elliptic.P256() {
			return nil, errors.New("only the P-256 curve (ES256) is supported for ECDSA keys")
		}
		k.method, k.private, k.public = jwt.SigningMethodES256, pk, pk.Public()
	case *rsa.PrivateKey:
		if pk.N.BitLen() < 2048 {
			return nil, errors.New("RSA keys must have at least 2048 bits")
		}
		k.method, k.private, k.public = jwt.SigningMethodRS256, pk, pk.Public()
	default:
		return nil, fmt.Errorf("unsupported key type %T", parsed)
	}
	jwk := publicJWK(k)
	k.kid = thumbprint(jwk)
	k.refreshKey, err = hkdf.Key(sha256.New, block.Bytes, nil, "warden refresh token v1", 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the refresh-token key: %w", err)
	}
	k.refreshKID = "r-" + k.kid
	return k, nil
}

// GenerateEd25519PEM makes a new Ed25519 private key in PEM-encoded PKCS#8.
func GenerateEd25519PEM() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// LoadOrCreateRing returns a ring from keyFiles when any are given (the first signs);
// otherwise from the *.pem files in dir, newest name first, generating one into dir
// (mode 0600) when there is none.
func LoadOrCreateRing(dir string, keyFiles []string) (*Ring, error) {
	var pems [][]byte
	if len(keyFiles) > 0 {
		for _, f := range keyFiles {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("token: reading signing key: %w", err)
			}
			pems = append(pems, b)
		}
		return NewRing(pems...)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("token: key directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("token: key directory: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, fmt.Errorf("token: listing keys: %w", err)
	}
	if len(names) == 0 {
		p, err := GenerateEd25519PEM()
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		name := filepath.Join(dir, "signing-0001.pem")
		if err := writeFileAtomic(name, p, 0o600); err != nil {
			return nil, fmt.Errorf("token: saving generated key: %w", err)
		}
		names = []string{name}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("token: reading key: %w", err)
		}
		pems = append(pems, b)
	}
	return NewRing(pems...)
}

func writeFileAtomic(name string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// JWKS returns the ring's public keys as a JSON Web Key Set document.
func (r *Ring) JWKS() []byte {
	keys := make([]map[string]string, 0, len(r.keys))
	for _, k := range r.keys {
		jwk := publicJWK(k)
		jwk["kid"] = k.kid
		jwk["alg"] = k.method.Alg()
		jwk["use"] = "sig"
		keys = append(keys, jwk)
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func publicJWK(k *key) map[string]string {
	switch pub := k.public.(type) {
	case ed25519.PublicKey:
		return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(pub)}
	case *ecdsa.PublicKey:
		raw, _ := pub.Bytes() // uncompressed point: 0x04 || X || Y
		return map[string]string{"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:65])}
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
	}
	return nil
}

// thumbprint is the RFC 7638 JWK thumbprint: SHA-256 over the required members in
// lexical order, base64url-encoded.
func thumbprint(jwk map[string]string) string {
	var required []string
	switch jwk["kty"] {
	case "OKP":
		required = []string{"crv", "kty", "x"}
	case "EC":
		required = []string{"crv", "kty", "x", "y"}
	case "RSA":
		required = []string{"e", "kty", "n"}
	}
	parts := make([]string, 0, len(required))
	for _, m := range required {
		parts = append(parts, fmt.Sprintf("%q:%q", m, jwk[m]))
	}
	sum := sha256.Sum256([]byte("{" + strings.Join(parts, ",") + "}"))
	return b64(sum[:])
}
