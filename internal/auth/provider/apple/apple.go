// Package apple is the Sign in with Apple provider (oauth2-apple): an id token for the
// configured bundle id or services id proves an Apple account; the identity is its
// subject. The client secret (a JWT signed with the team's key) is needed only for the
// browser redirect flow.
package apple

import (
	"context"
	"net/url"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/auth/provider/oauth2"
)

// Type is the provider type.
const Type = "oauth2-apple"

// Defaults are Apple's endpoints.
var Defaults = oauth2.Endpoints{
	Issuer:   "https://appleid.apple.com",
	JWKSURI:  "https://appleid.apple.com/auth/keys",
	AuthURI:  "https://appleid.apple.com/auth/authorize",
	TokenURI: "https://appleid.apple.com/auth/token",
}

// Provider checks Apple credentials.
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
	v, err := oauth2.NewIDTokenVerifier(c, c.Endpoints.Issuer)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: c, verifier: v}, nil
}

// Authenticate implements provider.Provider: {id_token}.
func (p *Provider) Authenticate(ctx context.Context, creds provider.Credentials) (provider.Identity, error) {
	tok, err := creds.String("id_token")
	if err != nil {
		return provider.Identity{}, err
	}
	nonce, _ := creds["nonce"].(string)
	return p.identity(ctx, tok, nonce)
}

func (p *Provider) identity(ctx context.Context, idToken, nonce string) (provider.Identity, error) {
	claims, err := p.verifier.Verify(ctx, idToken, nonce)
	if err != nil {
		return provider.Identity{}, err
	}
	verified := claims["email_verified"] == true || claims["email_verified"] == "true"
	data, err := p.cfg.Profile(map[string]any{"email": claims["email"]}, verified)
	if err != nil {
		return provider.Identity{}, err
	}
	sub, _ := claims["sub"].(string)
	return provider.Identity{ID: sub, Data: data}, nil
}

// AuthURL implements provider.Redirector.
func (p *Provider) AuthURL(state, callback string) string {
	return p.cfg.AuthURL(url.Values{"client_id": {p.cfg.ClientID}, "redirect_uri": {callback}, "response_type": {"code"},
		"scope": {"email"}, "response_mode": {"form_post"}, "state": {state}})
}

// Exchange implements provider.Redirector.
func (p *Provider) Exchange(ctx context.Context, code, callback string) (provider.Identity, error) {
	if p.cfg.ClientSecret == "" {
		return provider.Identity{}, oauth2.Reject(p.cfg.Name, "the redirect flow needs secret_config.clientSecret")
	}
	idToken, err := p.cfg.ExchangeForIDToken(ctx, code, callback)
	if err != nil {
		return provider.Identity{}, err
	}
	return p.identity(ctx, idToken, "")
}
