package oauth2_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/auth/provider/apple"
	"github.com/wardenauth/warden/internal/auth/provider/facebook"
	"github.com/wardenauth/warden/internal/auth/provider/google"
	"github.com/wardenauth/warden/internal/auth/provider/oauth2/idptest"
)

const clientID, clientSecret = "client-123.apps.example", "client-secret-value"

func startIdP(t *testing.T) *idptest.IdP {
	t.Helper()
	idp, err := idptest.Start(clientID, clientSecret)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	return idp
}

func build(t *testing.T, idp *idptest.IdP, typ, config string, mutate func(*appconfig.Provider)) provider.Provider {
	t.Helper()
	cfg := &appconfig.Provider{Name: typ, Type: typ, Config: json.RawMessage(config),
		SecretConfig: map[string]json.RawMessage{"clientSecret": json.RawMessage(`"oauth-secret"`)}}
	if mutate != nil {
		mutate(cfg)
	}
	secrets, _ := appconfig.LoadSecrets("", func(k string) (string, bool) { return clientSecret, k == "WARDEN_SECRET_OAUTH_SECRET" })
	factory := map[string]provider.Factory{google.Type: google.New, apple.Type: apple.New, facebook.Type: facebook.New}[typ]
	p, err := factory(cfg, provider.Deps{AppID: "app", Secrets: secrets, Now: time.Now, HTTPClient: idp.Server.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rejected(t *testing.T, err error, want string) {
	t.Helper()
	var rej *provider.RejectedError
	if !errors.As(err, &rej) || !errors.Is(err, provider.ErrInvalidCredentials) {
		t.Fatalf("err = %v, want a rejection", err)
	}
	if !strings.Contains(rej.Message, want) {
		t.Fatalf("message %q does not mention %q", rej.Message, want)
	}
}

func TestGoogleIDTokenAndAuthCode(t *testing.T) {
	ctx := context.Background()
	idp := startIdP(t)
	p := build(t, idp, google.Type, idp.Config(), nil)
	user := map[string]any{"sub": "g-1", "email": "ann@example.com", "email_verified": true, "name": "Ann Lee", "given_name": "Ann", "family_name": "Lee", "picture": "https://x/p.png"}
	id, err := p.Authenticate(ctx, provider.Credentials{"id_token": idp.IDToken(user)})
	if err != nil {
		t.Fatal(err)
	}
	if id.ID != "g-1" || id.Data["email"] != "ann@example.com" || id.Data["first_name"] != "Ann" || id.Data["last_name"] != "Lee" || id.Data["picture_url"] != "https://x/p.png" {
		t.Fatalf("identity = %+v", id)
	}
	id, err = p.Authenticate(ctx, provider.Credentials{"authCode": idp.Code(user)})
	if err != nil || id.ID != "g-1" {
		t.Fatalf("auth code: %+v %v", id, err)
	}
	// A code works once.
	code := idp.Code(user)
	if _, err := p.Authenticate(ctx, provider.Credentials{"authCode": code}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Authenticate(ctx, provider.Credentials{"authCode": code}); err == nil {
		t.Fatal("a code was exchanged twice")
	}
}

func TestIDTokenRefusals(t *testing.T) {
	ctx := context.Background()
	idp := startIdP(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	g := build(t, idp, google.Type, idp.Config(), nil)
	a := build(t, idp, apple.Type, idp.Config(), nil)
	base := map[string]any{"sub": "s-1", "email": "x@example.com"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	cases := []struct {
		name, token, want string
	}{
		{"wrong audience", idp.IDToken(with("aud", "someone-else")), "another client"},
		{"wrong issuer", idp.IDToken(with("iss", "https://evil.example")), "issuer"},
		{"expired", idp.IDToken(with("exp", time.Now().Add(-time.Hour).Unix())), "expired"},
		{"no subject", idp.IDToken(with("sub", nil)), "subject"},
		{"signed by another key", idp.SignWith(other, idp.KID, base), "invalid"},
		{"unknown kid", idp.SignWith(other, "unknown-kid", base), "invalid"},
		{"garbage", "a.b.c", "invalid"},
	}
	for _, p := range []provider.Provider{g, a} {
		for _, tc := range cases {
			_, err := p.Authenticate(ctx, provider.Credentials{"id_token": tc.token})
			t.Run(tc.name, func(t *testing.T) { rejected(t, err, tc.want) })
		}
		_, err := p.Authenticate(ctx, provider.Credentials{"id_token": idp.IDToken(with("nonce", "n-1")), "nonce": "n-2"})
		rejected(t, err, "nonce")
		if _, err := p.Authenticate(ctx, provider.Credentials{"id_token": idp.IDToken(with("nonce", "n-1")), "nonce": "n-1"}); err != nil {
			t.Fatalf("matching nonce: %v", err)
		}
	}
}

func TestDomainRestrictionsAndRequiredFields(t *testing.T) {
	ctx := context.Background()
	idp := startIdP(t)
	p := build(t, idp, google.Type, idp.Config(), func(c *appconfig.Provider) {
		c.DomainRestrictions = []string{"example.com"}
		c.MetadataFields = []appconfig.MetadataField{{Name: "name", Required: true}}
	})
	ok := map[string]any{"sub": "1", "email": "a@example.com", "email_verified": true, "name": "A"}
	if _, err := p.Authenticate(ctx, provider.Credentials{"id_token": idp.IDToken(ok)}); err != nil {
		t.Fatal(err)
	}
	for name, claims := range map[string]map[string]any{
		"other domain":     {"sub": "1", "email": "a@evil.com", "email_verified": true, "name": "A"},
		"unverified email": {"sub": "1", "email": "a@example.com", "email_verified": false, "name": "A"},
		"no name":          {"sub": "1", "email": "a@example.com", "email_verified": true},
	} {
		_, err := p.Authenticate(ctx, provider.Credentials{"id_token": idp.IDToken(claims)})
		t.Run(name, func(t *testing.T) { rejected(t, err, "") })
	}
}

func TestFacebook(t *testing.T) {
	ctx := context.Background()
	idp := startIdP(t)
	p := build(t, idp, facebook.Type, idp.FacebookConfig(), nil)
	user := map[string]any{"id": "fb-9", "name": "Bo", "email": "bo@example.com", "first_name": "Bo", "picture": map[string]any{"data": map[string]any{"url": "https://x/bo.png"}}}
	id, err := p.Authenticate(ctx, provider.Credentials{"accessToken": idp.FacebookToken(clientID, user)})
	if err != nil {
		t.Fatal(err)
	}
	if id.ID != "fb-9" || id.Data["name"] != "Bo" || id.Data["picture"] != "https://x/bo.png" {
		t.Fatalf("identity = %+v", id)
	}
	_, err = p.Authenticate(ctx, provider.Credentials{"accessToken": idp.FacebookToken("another-app", user)})
	rejected(t, err, "another app")
	_, err = p.Authenticate(ctx, provider.Credentials{"accessToken": "EAAforged"})
	rejected(t, err, "not valid")
}

func TestConfigErrors(t *testing.T) {
	idp := startIdP(t)
	secrets, _ := appconfig.LoadSecrets("", nil)
	for name, tc := range map[string]struct {
		typ, config string
	}{
		"google without clientId":   {google.Type, `{}`},
		"facebook without a secret": {facebook.Type, idp.FacebookConfig()},
		"plain-http token endpoint": {google.Type, `{"clientId": "x", "tokenUri": "http://x/token"}`},
	} {
		factory := map[string]provider.Factory{google.Type: google.New, facebook.Type: facebook.New}[tc.typ]
		if _, err := factory(&appconfig.Provider{Name: tc.typ, Type: tc.typ, Config: json.RawMessage(tc.config)}, provider.Deps{Secrets: secrets}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
