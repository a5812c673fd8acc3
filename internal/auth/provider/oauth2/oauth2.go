// Package oauth2 holds what the Google, Apple and Facebook providers share: their
// configuration (client id, client secret from the secrets, and every provider endpoint,
// overridable so that tests run against local identity providers), the verification of
// OpenID Connect id tokens, the authorization-code exchange, and the mapping of provider
// profile data and domain restrictions.
package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/auth/provider/jwks"
)

// Endpoints are a provider's URLs. Empty fields take the provider's defaults.
type Endpoints struct {
	Issuer   string `json:"issuer"`
	JWKSURI  string `json:"jwksUri"`
	AuthURI  string `json:"authUri"`
	TokenURI string `json:"tokenUri"`
	GraphURL string `json:"graphUrl"`
}

// Config is a provider's configuration, resolved.
type Config struct {
	Name         string
	ClientID     string
	ClientSecret string
	OpenID       bool
	Endpoints    Endpoints
	Metadata     []appconfig.MetadataField
	Redirects    []string
	Domains      []string
	HTTP         *http.Client
	Now          func() time.Time
}

// ParseConfig reads config.clientId, secret_config.clientSecret (required when
// needSecret), metadata_fields, redirect_uris, domain_restrictions and the endpoint
// overrides (config.issuer, jwksUri, authUri, tokenUri, graphUrl) over defaults.
func ParseConfig(cfg *appconfig.Provider, deps provider.Deps, defaults Endpoints, needSecret bool) (*Config, error) {
	var c struct {
		ClientID string `json:"clientId"`
		OpenID   bool   `json:"openId"`
		Endpoints
	}
	if err := cfg.DecodeConfig(&c); err != nil {
		return nil, err
	}
	if c.ClientID == "" {
		return nil, fmt.Errorf("provider %q: config.clientId is required", cfg.Name)
	}
	out := &Config{Name: cfg.Name, ClientID: c.ClientID, OpenID: c.OpenID, Metadata: cfg.MetadataFields,
		Redirects: cfg.RedirectURIs, Domains: cfg.DomainRestrictions, HTTP: deps.HTTPClient, Now: deps.Now}
	if out.HTTP == nil {
		out.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	out.Endpoints = defaults
	for _, o := range []struct {
		dst     *string
		v, name string
	}{
		{&out.Endpoints.Issuer, c.Issuer, "issuer"}, {&out.Endpoints.JWKSURI, c.JWKSURI, "jwksUri"},
		{&out.Endpoints.AuthURI, c.AuthURI, "authUri"}, {&out.Endpoints.TokenURI, c.TokenURI, "tokenUri"},
		{&out.Endpoints.GraphURL, c.GraphURL, "graphUrl"},
	} {
		if o.v == "" {
			continue
		}
		u, err := url.Parse(o.v)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			if o.name != "issuer" {
				return nil, fmt.Errorf("provider %q: config.%s %q must be an https URL", cfg.Name, o.name, o.v)
			}
		}
		*o.dst = o.v
	}
	if raw, ok := cfg.SecretConfig["clientSecret"]; ok {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return nil, fmt.Errorf("provider %q: secret_config.clientSecret must name a secret", cfg.Name)
		}
		v, ok := deps.Secrets.Get(name)
		if !ok {
			return nil, fmt.Errorf("provider %q: client secret %q is not set (--secrets file or %s)", cfg.Name, name, appconfig.EnvName(name))
		}
		out.ClientSecret = v
	}
	if needSecret && out.ClientSecret == "" {
		return nil, fmt.Errorf("provider %q: secret_config.clientSecret is required", cfg.Name)
	}
	for _, f := range cfg.MetadataFields {
		if f.Required && !slices.Contains(KnownFields, f.Name) {
			return nil, fmt.Errorf("provider %q: required metadata field %q is not one the provider gives (%s)", cfg.Name, f.Name, strings.Join(KnownFields, ", "))
		}
	}
	return out, nil
}

// KnownFields are the profile fields the OAuth providers can give.
var KnownFields = []string{"name", "first_name", "last_name", "picture", "email", "gender", "birthday", "min_age", "max_age"}

// Reject is a refusal that says why.
func Reject(name, format string, args ...any) error {
	return &provider.RejectedError{Message: fmt.Sprintf("invalid %s credentials: ", name) + fmt.Sprintf(format, args...)}
}

// Profile turns provider data into the user's profile data: the known fields present
// (picture also as picture_url, which the native SDKs read), checking that every
// required metadata field is there and that the email's domain is allowed.
func (c *Config) Profile(fields map[string]any, emailVerified bool) (map[string]any, error) {
	data := map[string]any{}
	for _, k := range KnownFields {
		if v, ok := fields[k]; ok && v != nil && v != "" {
			data[k] = v
		}
	}
	if p, ok := data["picture"]; ok {
		data["picture_url"] = p
	}
	for _, f := range c.Metadata {
		if _, ok := data[f.Name]; f.Required && !ok {
			return nil, Reject(c.Name, "the provider did not give the required field %q", f.Name)
		}
	}
	if len(c.Domains) > 0 {
		email, _ := data["email"].(string)
		at := strings.LastIndexByte(email, '@')
		if email == "" || at < 0 || !emailVerified || !slices.ContainsFunc(c.Domains, func(d string) bool { return strings.EqualFold(d, email[at+1:]) }) {
			return nil, Reject(c.Name, "the account's email domain is not allowed")
		}
	}
	return data, nil
}

// IDTokenVerifier checks OpenID Connect id tokens of one provider.
type IDTokenVerifier struct {
	cfg     *Config
	issuers []string
	keys    *jwks.Set
}

// NewIDTokenVerifier verifies RS256 id tokens from the config's JWKS URI, issued by one
// of issuers, for the config's client id.
func NewIDTokenVerifier(cfg *Config, issuers ...string) (*IDTokenVerifier, error) {
	keys, err := jwks.New(cfg.Endpoints.JWKSURI, "RS256", cfg.HTTP, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", cfg.Name, err)
	}
	return &IDTokenVerifier{cfg: cfg, issuers: issuers, keys: keys}, nil
}

// Verify checks an id token's signature (by kid), issuer, audience (the client id),
// expiry and, when nonce is not empty, nonce; it returns the claims.
func (v *IDTokenVerifier) Verify(ctx context.Context, raw, nonce string) (jwt.MapClaims, error) {
	if len(raw) > 64<<10 {
		return nil, Reject(v.cfg.Name, "id token too long")
	}
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithTimeFunc(v.cfg.Now),
		jwt.WithLeeway(30*time.Second),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(v.cfg.ClientID),
	).ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		return v.keys.Key(ctx, kid)
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, Reject(v.cfg.Name, "id token expired")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return nil, Reject(v.cfg.Name, "id token is for another client")
	case err != nil:
		return nil, Reject(v.cfg.Name, "id token is invalid")
	}
	iss, _ := claims["iss"].(string)
	if !slices.Contains(v.issuers, iss) {
		return nil, Reject(v.cfg.Name, "id token issuer %q is not accepted", iss)
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return nil, Reject(v.cfg.Name, "id token has no subject")
	}
	if nonce != "" {
		if got, _ := claims["nonce"].(string); got != nonce {
			return nil, Reject(v.cfg.Name, "id token nonce does not match")
		}
	}
	return claims, nil
}

// ExchangeCode trades an authorization code at the token endpoint (form-encoded POST with
// the client credentials) and decodes the JSON answer into out.
func (c *Config) ExchangeCode(ctx context.Context, code, redirectURI string, out any) error {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}
	if redirectURI != "" {
		form.Set("redirect_uri", redirectURI)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoints.TokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return c.do(req, out)
}

// ExchangeForIDToken trades an authorization code for the id token the token endpoint
// returns with it (Google, Apple).
func (c *Config) ExchangeForIDToken(ctx context.Context, code, redirectURI string) (string, error) {
	var res struct {
		IDToken string `json:"id_token"`
	}
	if err := c.ExchangeCode(ctx, code, redirectURI, &res); err != nil {
		return "", err
	}
	if res.IDToken == "" {
		return "", Reject(c.Name, "the token endpoint gave no id_token")
	}
	return res.IDToken, nil
}

// GetJSON fetches a JSON document.
func (c *Config) GetJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	return c.do(req, out)
}

func (c *Config) do(req *http.Request, out any) error {
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c.Name, req.URL.Host, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: reading answer: %w", c.Name, err)
	}
	if res.StatusCode != http.StatusOK {
		return Reject(c.Name, "the provider answered %d", res.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: decoding answer: %w", c.Name, err)
	}
	return nil
}

// AuthURL builds a consent-page URL.
func (c *Config) AuthURL(params url.Values) string {
	u, _ := url.Parse(c.Endpoints.AuthURI)
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}
