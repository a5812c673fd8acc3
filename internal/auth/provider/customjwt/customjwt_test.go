package customjwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/auth/provider/customjwt"
)

const (
	appID  = "jwt-app"
	secret = "2k66QfKeTRk3MdZ5vpDYgZCu2k66QfKeTRk3MdZ5vpDYgZCu"
	other  = "another-secret-another-secret-another-secret-xx"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func secrets(t *testing.T, kv map[string]string) *appconfig.Secrets {
	t.Helper()
	s, err := appconfig.LoadSecrets("", func(k string) (string, bool) {
		for name, v := range kv {
			if appconfig.EnvName(name) == k {
				return v, true
			}
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func build(t *testing.T, config string, secretConfig string, metadata []appconfig.MetadataField, kv map[string]string, client *http.Client) provider.Provider {
	t.Helper()
	p, err := tryBuild(config, secretConfig, metadata, secrets(t, kv), client)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tryBuild(config, secretConfig string, metadata []appconfig.MetadataField, s *appconfig.Secrets, client *http.Client) (provider.Provider, error) {
	cfg := &appconfig.Provider{Name: "custom-token", Type: "custom-token", Config: json.RawMessage(config), MetadataFields: metadata}
	if secretConfig != "" {
		cfg.SecretConfig = map[string]json.RawMessage{"signingKeys": json.RawMessage(secretConfig)}
	}
	return customjwt.New(cfg, provider.Deps{AppID: appID, Secrets: s, Now: func() time.Time { return now }, HTTPClient: client})
}

func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "user-42", "aud": appID, "exp": now.Add(time.Hour).Unix(), "iat": now.Add(-time.Minute).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func login(p provider.Provider, tok string) (provider.Identity, error) {
	return p.Authenticate(context.Background(), provider.Credentials{"token": tok})
}

func pemPublic(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestHS256WithMetadataLikeRealmWebsTest(t *testing.T) {
	meta := []appconfig.MetadataField{{Required: true, Name: "mySecretField", FieldName: "secret"}, {Name: "user.address\\.city", FieldName: "city"}, {Name: "missing.optional"}}
	p := build(t, `{"audience": "", "signingAlgorithm": "HS256", "useJWKURI": false}`, `["jwt-secret"]`, meta, map[string]string{"jwt-secret": secret}, nil)
	tok := sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": "some-secret-stuff", "user": map[string]any{"address.city": "Oslo"}}))
	id, err := login(p, tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.ID != "user-42" || id.Data["secret"] != "some-secret-stuff" || id.Data["city"] != "Oslo" || len(id.Data) != 2 {
		t.Fatalf("identity = %+v", id)
	}
}

func TestRefusals(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	meta := []appconfig.MetadataField{{Required: true, Name: "mySecretField", FieldName: "secret"}}
	hs := build(t, `{"signingAlgorithm": "HS256"}`, `["k1"]`, meta, map[string]string{"k1": secret}, nil)
	rs := build(t, `{"signingAlgorithm": "RS256", "audience": ["a", "b"]}`, `"pub"`, nil, map[string]string{"pub": pemPublic(t, &rsaKey.PublicKey)}, nil)
	rsAny := build(t, `{"signingAlgorithm": "RS256", "audience": ["a", "b"], "requireAnyAudience": true}`, `"pub"`, nil, map[string]string{"pub": pemPublic(t, &rsaKey.PublicKey)}, nil)
	good := claims(map[string]any{"mySecretField": "x"})
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(func() []byte { b, _ := json.Marshal(good); return b }()) + "."

	cases := []struct {
		name string
		p    provider.Provider
		tok  string
		want string
	}{
		{"wrong secret", hs, sign(t, jwt.SigningMethodHS256, []byte(other), "", good), "signature is invalid"},
		{"alg none", hs, none, "invalid"},
		{"RS256 token to an HS256 provider", hs, sign(t, jwt.SigningMethodRS256, rsaKey, "", good), "invalid"},
		{"HS256 token signed with the RSA public key (algorithm confusion)", rs,
			sign(t, jwt.SigningMethodHS256, []byte(pemPublic(t, &rsaKey.PublicKey)), "", claims(map[string]any{"aud": []string{"a", "b"}})), "invalid"},
		{"expired", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": "x", "exp": now.Add(-time.Minute).Unix()})), "expired"},
		{"no exp", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": "x", "exp": nil})), "exp"},
		{"not before in the future", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": "x", "nbf": now.Add(time.Hour).Unix()})), "not valid yet"},
		{"issued in the future", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": "x", "iat": now.Add(time.Hour).Unix()})), "not valid yet"},
		{"wrong audience", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": "x", "aud": "other-app"})), "audience"},
		{"no audience", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": "x", "aud": nil})), "audience"},
		{"only one of two required audiences", rs, sign(t, jwt.SigningMethodRS256, rsaKey, "", claims(map[string]any{"aud": "a"})), "audience"},
		{"none of the accepted audiences", rsAny, sign(t, jwt.SigningMethodRS256, rsaKey, "", claims(map[string]any{"aud": "c"})), "audience"},
		{"no sub", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": "x", "sub": nil})), "sub"},
		{"required metadata missing", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(nil)), "mySecretField"},
		{"an oversized metadata object", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": map[string]any{"blob": strings.Repeat("x", 200_000)}})), "larger than"},
		{"an oversized metadata array", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": []any{strings.Repeat("x", 3000), strings.Repeat("y", 3000)}})), "larger than"},
		{"an oversized metadata string", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": strings.Repeat("x", 5000)})), "larger than"},
		{"garbage", hs, "not.a.jwt", "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := login(tc.p, tc.tok)
			var rej *provider.RejectedError
			if !errors.As(err, &rej) || !errors.Is(err, provider.ErrInvalidCredentials) {
				t.Fatalf("err = %v, want a rejection", err)
			}
			if !strings.Contains(rej.Message, tc.want) || !strings.HasPrefix(rej.Message, "invalid custom auth token: ") {
				t.Fatalf("message %q does not mention %q", rej.Message, tc.want)
			}
		})
	}
	// The accepted forms of the same providers, so that each refusal above is for its reason.
	if _, err := login(rs, sign(t, jwt.SigningMethodRS256, rsaKey, "", claims(map[string]any{"aud": []string{"b", "a"}}))); err != nil {
		t.Fatalf("both audiences: %v", err)
	}
	if _, err := login(rsAny, sign(t, jwt.SigningMethodRS256, rsaKey, "", claims(map[string]any{"aud": "b"}))); err != nil {
		t.Fatalf("any audience: %v", err)
	}
	if _, err := login(hs, sign(t, jwt.SigningMethodHS256, []byte(secret), "", claims(map[string]any{"mySecretField": "x", "exp": now.Add(-10 * time.Second).Unix()}))); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	if _, err := login(hs, strings.Repeat("a", 1_000_001)); err == nil {
		t.Fatal("an oversized token was accepted")
	}
}

func TestRotationWithSeveralKeys(t *testing.T) {
	p := build(t, `{"signingAlgorithm": "HS256"}`, `["old", "new"]`, nil, map[string]string{"old": secret, "new": other}, nil)
	for _, k := range []string{secret, other} {
		if _, err := login(p, sign(t, jwt.SigningMethodHS256, []byte(k), "", claims(nil))); err != nil {
			t.Fatalf("key %.6s: %v", k, err)
		}
	}
}

func TestES256AndEdDSAKeys(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	es := build(t, `{"signingAlgorithm": "ES256"}`, `["k"]`, nil, map[string]string{"k": pemPublic(t, &ec.PublicKey)}, nil)
	if _, err := login(es, sign(t, jwt.SigningMethodES256, ec, "", claims(nil))); err != nil {
		t.Fatalf("ES256: %v", err)
	}
	ed := build(t, `{"signingAlgorithm": "EdDSA"}`, `["k"]`, nil, map[string]string{"k": pemPublic(t, edPub)}, nil)
	if _, err := login(ed, sign(t, jwt.SigningMethodEdDSA, edPriv, "", claims(nil))); err != nil {
		t.Fatalf("EdDSA: %v", err)
	}
}

func TestConfigurationErrors(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	s := secrets(t, map[string]string{"short": "too-short", "rsa": pemPublic(t, &rsaKey.PublicKey), "ok": secret})
	for name, tc := range map[string][2]string{
		"unknown algorithm":        {`{"signingAlgorithm": "none"}`, `["ok"]`},
		"missing secret":           {`{"signingAlgorithm": "HS256"}`, `["nope"]`},
		"short HMAC key":           {`{"signingAlgorithm": "HS256"}`, `["short"]`},
		"RSA key for ES256":        {`{"signingAlgorithm": "ES256"}`, `["rsa"]`},
		"no keys":                  {`{"signingAlgorithm": "HS256"}`, `[]`},
		"four keys":                {`{"signingAlgorithm": "HS256"}`, `["ok","ok","ok","ok"]`},
		"HS256 with a JWK URI":     {`{"signingAlgorithm": "HS256", "useJWKURI": true, "jwkURI": "https://x/jwks"}`, ``},
		"plain-http JWK URI":       {`{"signingAlgorithm": "RS256", "useJWKURI": true, "jwkURI": "http://x/jwks"}`, ``},
		"audience of a wrong type": {`{"signingAlgorithm": "HS256", "audience": 5}`, `["ok"]`},
	} {
		if _, err := tryBuild(tc[0], tc[1], nil, s, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestJWKURI serves a JWK set over HTTPS: tokens verify by kid, a new key is picked up
// by fetching again on its unknown kid, and made-up kids do not cause a fetch each.
func TestJWKURI(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	var served atomic.Value
	served.Store([]*rsa.PrivateKey{k1})
	var fetches atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		var keys []map[string]string
		for i, k := range served.Load().([]*rsa.PrivateKey) {
			keys = append(keys, map[string]string{"kty": "RSA", "kid": []string{"kid-1", "kid-2"}[i], "alg": "RS256", "use": "sig",
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	defer srv.Close()
	clock := now
	cfg := &appconfig.Provider{Name: "custom-token", Type: "custom-token", Config: json.RawMessage(`{"useJWKURI": true, "jwkURI": "` + srv.URL + `/jwks"}`)}
	p, err := customjwt.New(cfg, provider.Deps{AppID: appID, Now: func() time.Time { return clock }, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := login(p, sign(t, jwt.SigningMethodRS256, k1, "kid-1", claims(nil))); err != nil {
		t.Fatalf("kid-1: %v", err)
	}
	if _, err := login(p, sign(t, jwt.SigningMethodRS256, k1, "", claims(nil))); err == nil {
		t.Fatal("a token without kid was accepted with a JWK URI")
	}
	for range 5 {
		if _, err := login(p, sign(t, jwt.SigningMethodRS256, k1, "made-up", claims(nil))); err == nil {
			t.Fatal("an unknown kid was accepted")
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d: unknown kids must not refetch within the interval", n)
	}
	served.Store([]*rsa.PrivateKey{k1, k2})
	clock = clock.Add(11 * time.Second)
	if _, err := login(p, sign(t, jwt.SigningMethodRS256, k2, "kid-2", claims(nil))); err != nil {
		t.Fatalf("rotated key kid-2: %v", err)
	}
	// A token signed by k2 but naming kid-1 fails: the key is chosen by kid.
	if _, err := login(p, sign(t, jwt.SigningMethodRS256, k2, "kid-1", claims(nil))); err == nil {
		t.Fatal("a token verified with another kid's key")
	}
}
