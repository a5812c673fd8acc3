// Package customjwt is the custom JWT provider (custom-token): a JWT signed by the app's
// own authentication system logs in the user named by its sub claim.
//
// The token must be signed with the one configured algorithm (HS256 with a shared
// secret, RS256, ES256 or EdDSA with public keys, or RS256/ES256/EdDSA keys from a JWK
// Set URI), carry exp and sub, not be used before nbf or iat, and name the configured
// audience (the client app id when none is configured). Several keys may be configured
// at once for rotation. Configured metadata fields are copied from the token's claims
// into the user's profile data.
package customjwt

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/auth/provider/jwks"
)

// Type is the provider type.
const Type = "custom-token"

// Leeway is the clock skew allowed on exp, nbf and iat.
const Leeway = 30 * time.Second

// Limits from App Services.
const (
	maxTokenLength    = 1_000_000
	maxMetadataValue  = 4096
	minHMACKeyLength  = 32
	maxSigningKeys    = 3
	maxFieldNameChars = 64
)

// Config is the provider's `config` object.
type Config struct {
	Audience           json.RawMessage `json:"audience"`
	RequireAnyAudience bool            `json:"requireAnyAudience"`
	SigningAlgorithm   string          `json:"signingAlgorithm"`
	UseJWKURI          bool            `json:"useJWKURI"`
	JWKURI             string          `json:"jwkURI"`
}

type metadataField struct {
	path      []string
	fieldName string
	required  bool
}

// Provider checks custom JWTs.
type Provider struct {
	alg        string
	keys       []jwt.VerificationKey // verification keys for static configuration
	jwks       *jwks.Set
	audiences  []string
	requireAny bool
	metadata   []metadataField
	now        func() time.Time
}

// New builds the provider from its configuration, resolving signing keys from secrets.
func New(cfg *appconfig.Provider, deps provider.Deps) (provider.Provider, error) {
	var c Config
	if err := cfg.DecodeConfig(&c); err != nil {
		return nil, err
	}
	p := &Provider{alg: c.SigningAlgorithm, requireAny: c.RequireAnyAudience, now: deps.Now}
	if p.now == nil {
		p.now = time.Now
	}
	if c.UseJWKURI && p.alg == "" {
		p.alg = "RS256"
	}
	switch p.alg {
	case "HS256", "RS256", "ES256", "EdDSA":
	default:
		return nil, fmt.Errorf("provider %q: signingAlgorithm must be HS256, RS256, ES256 or EdDSA, not %q", cfg.Name, c.SigningAlgorithm)
	}
	aud, err := parseAudience(c.Audience)
	if err != nil {
		return nil, fmt.Errorf("provider %q: audience: %w", cfg.Name, err)
	}
	if len(aud) == 0 {
		aud = []string{deps.AppID}
	}
	p.audiences = aud

	if c.UseJWKURI {
		if p.alg == "HS256" {
			return nil, fmt.Errorf("provider %q: a JWK URI serves public keys: HS256 cannot be used with it", cfg.Name)
		}
		client := deps.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		set, err := jwks.New(c.JWKURI, p.alg, client, p.now)
		if err != nil {
			return nil, fmt.Errorf("provider %q: %w", cfg.Name, err)
		}
		p.jwks = set
	} else {
		names, err := secretNames(cfg.SecretConfig["signingKeys"])
		if err != nil {
			return nil, fmt.Errorf("provider %q: secret_config.signingKeys: %w", cfg.Name, err)
		}
		if len(names) == 0 || len(names) > maxSigningKeys {
			return nil, fmt.Errorf("provider %q: secret_config.signingKeys must name 1 to %d secrets", cfg.Name, maxSigningKeys)
		}
		for _, name := range names {
			val, ok := deps.Secrets.Get(name)
			if !ok {
				return nil, fmt.Errorf("provider %q: signing key secret %q is not set (--secrets file or WARDEN_SECRET_%s)", cfg.Name, name, strings.TrimPrefix(appconfig.EnvName(name), "WARDEN_SECRET_"))
			}
			key, err := parseKey(p.alg, val)
			if err != nil {
				return nil, fmt.Errorf("provider %q: signing key %q: %w", cfg.Name, name, err)
			}
			p.keys = append(p.keys, key)
		}
	}
	for _, f := range cfg.MetadataFields {
		path := splitPath(f.Name)
		if len(path) == 0 {
			return nil, fmt.Errorf("provider %q: metadata field with an empty name", cfg.Name)
		}
		name := f.FieldName
		if name == "" {
			name = path[len(path)-1]
		}
		if len(name) >= maxFieldNameChars {
			return nil, fmt.Errorf("provider %q: metadata field_name %q must be shorter than %d characters", cfg.Name, name, maxFieldNameChars)
		}
		p.metadata = append(p.metadata, metadataField{path: path, fieldName: name, required: f.Required})
	}
	return p, nil
}

func parseAudience(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("must be a string or an array of strings")
	}
	return slices.DeleteFunc(many, func(s string) bool { return s == "" }), nil
}

func secretNames(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("must be a secret name or an array of secret names")
	}
	return many, nil
}

// parseKey reads a verification key: the secret itself for HS256, a PEM public key
// (PKIX, or an X.509 certificate) otherwise.
func parseKey(alg, val string) (any, error) {
	if alg == "HS256" {
		if len(val) < minHMACKeyLength {
			return nil, fmt.Errorf("an HS256 key must have at least %d characters", minHMACKeyLength)
		}
		return []byte(val), nil
	}
	block, _ := pem.Decode([]byte(strings.TrimSpace(val)))
	if block == nil {
		return nil, errors.New("not a PEM public key")
	}
	var pub any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", err)
	}
	if err := jwks.CheckKeyType(alg, pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// Authenticate implements provider.Provider.
func (p *Provider) Authenticate(ctx context.Context, creds provider.Credentials) (provider.Identity, error) {
	raw, err := creds.String("token")
	if err != nil {
		return provider.Identity{}, err
	}
	if len(raw) > maxTokenLength {
		return provider.Identity{}, reject("token is longer than %d characters", maxTokenLength)
	}
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{p.alg}),
		jwt.WithTimeFunc(p.now),
		jwt.WithLeeway(Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	_, err = parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if p.jwks != nil {
			kid, _ := t.Header["kid"].(string)
			if kid == "" {
				return nil, errors.New("the token has no kid header")
			}
			return p.jwks.Key(ctx, kid)
		}
		return jwt.VerificationKeySet{Keys: p.keys}, nil
	})
	if err != nil {
		return provider.Identity{}, reject("%s", describe(err))
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return provider.Identity{}, reject("the token has no sub claim")
	}
	aud, err := claims.GetAudience()
	if err != nil {
		return provider.Identity{}, reject("the aud claim is malformed")
	}
	if !p.audienceOK(aud) {
		return provider.Identity{}, reject("the token's audience %v is not accepted", []string(aud))
	}
	data := map[string]any{}
	for _, f := range p.metadata {
		v, ok := lookup(claims, f.path)
		if !ok || v == nil {
			if f.required {
				return provider.Identity{}, reject("required metadata field %q is missing", strings.Join(f.path, "."))
			}
			continue
		}
		// Every value is bounded by its JSON size, objects and arrays as much as strings:
		// it is stored with the user and copied into every access token.
		if enc, err := json.Marshal(v); err != nil || len(enc) > maxMetadataValue {
			return provider.Identity{}, reject("metadata field %q is larger than %d bytes", f.fieldName, maxMetadataValue)
		}
		data[f.fieldName] = v
	}
	return provider.Identity{ID: sub, Data: data}, nil
}

func (p *Provider) audienceOK(aud []string) bool {
	has := func(want string) bool { return slices.Contains(aud, want) }
	if p.requireAny {
		return slices.ContainsFunc(p.audiences, has)
	}
	for _, want := range p.audiences {
		if !has(want) {
			return false
		}
	}
	return true
}

func reject(format string, args ...any) error {
	return &provider.RejectedError{Message: "invalid custom auth token: " + fmt.Sprintf(format, args...)}
}

func describe(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token is expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token is not valid yet"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "the token has no exp claim"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "signature is invalid"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "token is malformed"
	}
	return "token is invalid"
}

// splitPath splits a metadata name on dots, except dots escaped as `\.`.
func splitPath(name string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(name); i++ {
		switch {
		case name[i] == '\\' && i+1 < len(name) && name[i+1] == '.':
			cur.WriteByte('.')
			i++
		case name[i] == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(name[i])
		}
	}
	if cur.Len() > 0 || len(parts) > 0 {
		parts = append(parts, cur.String())
	}
	return parts
}

func lookup(claims map[string]any, path []string) (any, bool) {
	var cur any = claims
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}
