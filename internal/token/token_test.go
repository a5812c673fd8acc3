package token_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/token"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ring(t *testing.T, pems ...[]byte) *token.Ring {
	t.Helper()
	if len(pems) == 0 {
		p, err := token.GenerateEd25519PEM()
		if err != nil {
			t.Fatal(err)
		}
		pems = [][]byte{p}
	}
	r, err := token.NewRing(pems...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func access(t *testing.T, r *token.Ring, at time.Time) string {
	t.Helper()
	s, err := r.MintAccess(token.AccessParams{AppID: "app-1", DomainID: "d", UserID: "u1", SessionID: "s1", DeviceID: "dev", IssuedAt: at, TTL: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAccessTokenClaimsAndLifetime(t *testing.T) {
	r := ring(t)
	tok := access(t, r, now)
	p := payload(t, tok)
	for k, want := range map[string]any{"sub": "u1", "iss": "s1", "aud": "app-1", "typ": "access", "baas_device_id": "dev", "baas_domain_id": "d", "stitch_devId": "dev"} {
		if p[k] != want {
			t.Errorf("claim %s = %v, want %v", k, p[k], want)
		}
	}
	if p["exp"].(float64)-p["iat"].(float64) != 1800 {
		t.Errorf("lifetime = %v s, want 1800", p["exp"].(float64)-p["iat"].(float64))
	}
	if _, ok := p["user_data"]; ok {
		t.Error("user_data present without custom data (must be left out, never null)")
	}
	c, err := r.Verify(tok, token.TypeAccess, now.Add(29*time.Minute))
	if err != nil || c.Subject != "u1" || c.Issuer != "s1" || c.AppID() != "app-1" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	if _, err := r.Verify(tok, token.TypeAccess, now.Add(31*time.Minute)); !errors.Is(err, token.ErrExpired) {
		t.Fatalf("after 31 minutes err = %v, want ErrExpired", err)
	}
	if _, err := r.Verify(tok, token.TypeRefresh, now); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("access token accepted as refresh token: %v", err)
	}
}

func TestRefreshTokenCarriesSessionSecret(t *testing.T) {
	r := ring(t)
	tok, err := r.MintRefresh(token.RefreshParams{AppID: "app-1", DomainID: "d", UserID: "u1", SessionSecret: "secret", DeviceID: "dev",
		Identity: token.Identity{ID: "i", ProviderType: "anon-user", ProviderID: "p"}, IssuedAt: now, ExpiresAt: now.Add(60 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Verify(tok, token.TypeRefresh, now.Add(59*24*time.Hour))
	if err != nil || c.SessionID != "secret" || c.Identity.ProviderType != "anon-user" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	if _, err := r.Verify(tok, token.TypeAccess, now); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("refresh token accepted as access token: %v", err)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if !strings.Contains(string(hdr), `"alg":"HS256"`) || !strings.Contains(string(hdr), `"kid":"r-`) {
		t.Fatalf("refresh token header = %s", hdr)
	}
	if _, err := r.Verify(tok, token.TypeRefresh, now.Add(61*24*time.Hour)); !errors.Is(err, token.ErrExpired) {
		t.Fatalf("expired refresh token err = %v", err)
	}
}

func TestForgedTokensAreRefused(t *testing.T) {
	r := ring(t)
	good := access(t, r, now)
	parts := strings.Split(good, ".")
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	claims := payload(t, good)

	hs := func(key []byte) string {
		h := enc(map[string]string{"alg": "HS256", "typ": "JWT", "kid": r.ActiveKID()})
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(h + "." + parts[1]))
		return h + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	var jwks struct {
		Keys []struct{ X string } `json:"keys"`
	}
	_ = json.Unmarshal(r.JWKS(), &jwks)
	pub, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].X)

	claims["sub"] = "someone-else"
	tampered := parts[0] + "." + enc(claims) + "." + parts[2]
	other := access(t, ring(t), now)

	cases := map[string]string{
		"alg none":                        enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".",
		"HS256 keyed with the public key": hs(pub),
		"tampered payload":                tampered,
		"signed by another key":           other,
		"unknown kid":                     enc(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": "nope"}) + "." + parts[1] + "." + parts[2],
		"garbage":                         "not-a-jwt",
		"empty":                           "",
		"null":                            "null",
		"oversized":                       strings.Repeat("a", 20000),
	}
	for name, tok := range cases {
		if _, err := r.Verify(tok, token.TypeAccess, now); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	// An expired token signed by a foreign key is invalid, not merely expired.
	if _, err := r.Verify(other, token.TypeAccess, now.Add(time.Hour)); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("expired foreign token err = %v, want ErrInvalid", err)
	}
}

func TestRotationKeepsOldTokensValid(t *testing.T) {
	oldKey, _ := token.GenerateEd25519PEM()
	newKey, _ := token.GenerateEd25519PEM()
	before := ring(t, oldKey)
	tok := access(t, before, now)
	after := ring(t, newKey, oldKey)
	if after.ActiveKID() == before.ActiveKID() {
		t.Fatal("the first key of the ring must sign")
	}
	if _, err := after.Verify(tok, token.TypeAccess, now); err != nil {
		t.Fatalf("token of the previous key refused after rotation: %v", err)
	}
	rt, _ := before.MintRefresh(token.RefreshParams{AppID: "a", UserID: "u", SessionSecret: "s", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if _, err := after.Verify(rt, token.TypeRefresh, now); err != nil {
		t.Fatalf("refresh token of the previous key refused after rotation: %v", err)
	}
	if _, err := ring(t).Verify(rt, token.TypeRefresh, now); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("a ring with other keys accepted the refresh token: %v", err)
	}
	var jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(after.JWKS(), &jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 2 || jwks.Keys[0]["kid"] != after.ActiveKID() || jwks.Keys[0]["alg"] != "EdDSA" || jwks.Keys[0]["kty"] != "OKP" {
		t.Fatalf("JWKS = %+v", jwks.Keys)
	}
	for _, k := range jwks.Keys {
		if k["d"] != "" {
			t.Fatal("JWKS leaks a private key")
		}
	}
}

func pkcs8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestES256AndRS256Keys(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, p := range map[string][]byte{"ES256": pkcs8(t, ec), "RS256": pkcs8(t, rs)} {
		r := ring(t, p)
		tok := access(t, r, now)
		if _, err := r.Verify(tok, token.TypeAccess, now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(string(r.JWKS()), `"alg":"`+name+`"`) {
			t.Errorf("%s: JWKS = %s", name, r.JWKS())
		}
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := token.NewRing(pkcs8(t, small)); err == nil {
		t.Error("a 1024-bit RSA key was accepted")
	}
	if _, err := token.NewRing([]byte("not pem")); err == nil {
		t.Error("garbage accepted as a key")
	}
}

func TestLoadOrCreateRingGeneratesOnceWithPrivatePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	r1, err := token.LoadOrCreateRing(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	if len(files) != 1 {
		t.Fatalf("files = %v", files)
	}
	st, _ := os.Stat(files[0])
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", st.Mode().Perm())
	}
	r2, err := token.LoadOrCreateRing(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r1.ActiveKID() != r2.ActiveKID() {
		t.Fatal("a restart generated a new key: every issued token would break")
	}
}
