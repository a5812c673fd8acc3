// Package google is the Google provider (oauth2-google): an OpenID Connect id token, or a
// server auth code exchanged with the client secret, proves a Google account; the
// identity is its subject. The browser redirect flow uses the same exchange.
package google

import (
	"context"
	"net/url"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/auth/provider/oauth2"
)

// Type is the provider type.
const Type = "oauth2-google"

// Defaults are Google's endpoints.
var Defaults = oauth2.Endpoints{
	Issuer:   "https://accounts.google.com",
	JWKSURI:  "https://www.googleapis.com/oauth2/v3/certs",
	AuthURI:  "https://accounts.google.com/o/oauth2/v2/auth",
	TokenURI: "https://oauth2.googleapis.com/token",
}

// Provider checks Google credentials.
type Provider struct {
	cfg      *oauth2.Config
	verifier *oauth2.IDTokenVerifier
}

// New builds the provider.
func New(cfg *appconfig.Provider, deps provider.Deps) (provider.Provider, error) {
	c, err := oauth2.ParseConfig(cfg, deps, Defaults, false)
	if err != nil {
		return nil, err
	}
	issuers := []string{c.Endpoints.Issuer}
	if c.Endpoints.Issuer == Defaults.Issuer {
		issuers = append(issuers, "accounts.google.com") // Google uses both forms
	}
	v, err := oauth2.NewIDTokenVerifier(c, issuers...)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: c, verifier: v}, nil
}

// Authenticate implements provider.Provider: {id_token} or {authCode}.
func (p *Provider) Authenticate(ctx context.Context, creds provider.Credentials) (provider.Identity, error) {
	if _, ok := creds["id_token"]; ok {
		tok, err := creds.String("id_token")
		if err != nil {
			return provider.Identity{}, err
		}
		nonce, _ := creds["nonce"].(string)
		return p.identity(ctx, tok, nonce)
	}
	code, err := creds.String("authCode")
	if err != nil {
		return provider.Identity{}, &provider.InputError{Field: "id_token or authCode", Problem: "is required"}
	}
	return p.Exchange(ctx, code, "")
}

func (p *Provider) identity(ctx context.Context, idToken, nonce string) (provider.Identity, error) {
	claims, err := p.verifier.Verify(ctx, idToken, nonce)
	if err != nil {
		return provider.Identity{}, err
	}
	verified, _ := claims["email_verified"].(bool)
	data, err := p.cfg.Profile(map[string]any{
		"name": claims["name"], "email": claims["email"], "picture": claims["picture"],
		"first_name": claims["given_name"], "last_name": claims["family_name"],
	}, verified)
	if err != nil {
		return provider.Identity{}, err
	}
	sub, _ := claims["sub"].(string)
	return provider.Identity{ID: sub, Data: data}, nil
}

// AuthURL implements provider.Redirector.
func (p *Provider) AuthURL(state, callback string) string {
	return p.cfg.AuthURL(url.Values{"client_id": {p.cfg.ClientID}, "redirect_uri": {callback}, "response_type": {"code"},
		"scope": {"openid email profile"}, "state": {state}})
}

// Exchange implements provider.Redirector. Codes from a mobile sign-in have no redirect
// URI (callback is empty).
func (p *Provider) Exchange(ctx context.Context, code, callback string) (provider.Identity, error) {
	idToken, err := p.cfg.ExchangeForIDToken(ctx, code, callback)
	if err != nil {
		return provider.Identity{}, err
	}
	return p.identity(ctx, idToken, "")
}
