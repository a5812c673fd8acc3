package customjwt_test

import (
	"context"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
)

// FuzzCustomJWT feeds arbitrary tokens to the custom-JWT provider: it must never panic,
// and never accept a token it did not see signed with its key.
func FuzzCustomJWT(f *testing.F) {
	good := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "aud": "x", "exp": now.Unix() + 60, "iat": now.Unix()})
	signed, _ := good.SignedString([]byte(secret))
	for _, seed := range []string{
		signed,
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1MSIsImV4cCI6OTk5OTk5OTk5OX0.",
		"eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLy4uIn0.e30.AAAA",
		"a.b.c", "", "...", "eyJ9.eyJ9.eyJ9",
	} {
		f.Add(seed)
	}
	s, _ := appconfig.LoadSecrets("", func(k string) (string, bool) { return secret, k == appconfig.EnvName("jwt-secret") })
	p, err := tryBuild(`{"signingAlgorithm": "HS256"}`, `["jwt-secret"]`, nil, s, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := p.Authenticate(context.Background(), provider.Credentials{"token": tok})
		if err == nil && tok != signed {
			// Only a token signed with the key may pass; the fuzzer cannot forge HMAC.
			t.Fatalf("accepted a token it did not sign: %q -> %+v", tok, id)
		}
	})
}
