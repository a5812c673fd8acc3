// Package token mints and verifies Warden's access and refresh tokens: JWTs with the
// claim set App Services used (so that every Realm SDK can read them), signed by a key
// ring whose keys each carry a kid, and published as a JWKS document.
package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token types, as found in the typ claim.
const (
	TypeAccess  = "access"
	TypeRefresh = "refresh"
)

// Errors returned by Verify.
var (
	// ErrExpired: the token is well-formed and correctly signed but past its exp.
	ErrExpired = errors.New("token expired")
	// ErrInvalid: the token is malformed, not signed by a key of the ring, or of the wrong type.
	ErrInvalid = errors.New("invalid token")
)

// Identity is the identity a session was opened with.
type Identity struct {
	ID           string `json:"id"`
	ProviderType string `json:"provider_type"`
	ProviderID   string `json:"provider_id"`
}

// Claims is the claim set of both token types. Access tokens name their session in
// Issuer (and SessionID); refresh tokens carry the session's secret in SessionID.
type Claims struct {
	DeviceID      string          `json:"baas_device_id"`
	DomainID      string          `json:"baas_domain_id"`
	SessionID     string          `json:"baas_id,omitempty"`
	Identity      *Identity       `json:"baas_identity,omitempty"`
	Data          *struct{}       `json:"baas_data,omitempty"`
	StitchDevID   string          `json:"stitch_devId"`
	StitchDomain  string          `json:"stitch_domainId"`
	StitchID      string          `json:"stitch_id,omitempty"`
	StitchIdent   *Identity       `json:"stitch_ident,omitempty"`
	Type          string          `json:"typ"`
	UserData      json.RawMessage `json:"user_data,omitempty"`
	Audience      string          `json:"aud"`
	Issuer        string          `json:"iss,omitempty"`
	Subject       string          `json:"sub"`
	IssuedAt      int64           `json:"iat"`
	ExpiresAt     int64           `json:"exp"`
	NotBeforeTime int64           `json:"nbf,omitempty"`
}

// AppID is the client app id the token was issued for.
func (c *Claims) AppID() string { return c.Audience }

// GetExpirationTime implements jwt.Claims.
func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.ExpiresAt, 0)), nil
}

// GetIssuedAt implements jwt.Claims.
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.IssuedAt, 0)), nil
}

// GetNotBefore implements jwt.Claims.
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error) {
	if c.NotBeforeTime == 0 {
		return nil, nil
	}
	return jwt.NewNumericDate(time.Unix(c.NotBeforeTime, 0)), nil
}

// GetIssuer implements jwt.Claims.
func (c *Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c *Claims) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings{c.Audience}, nil }

// AccessParams are the facts an access token states.
type AccessParams struct {
	AppID, DomainID, UserID, SessionID, DeviceID string
	UserData                                     json.RawMessage
	IssuedAt                                     time.Time
	TTL                                          time.Duration
}

// RefreshParams are the facts a refresh token states. SessionID (the session's public
// id, in iss) lets a replayed, rotated-away token be traced to its session.
type RefreshParams struct {
	AppID, DomainID, UserID, SessionSecret, DeviceID, SessionID string
	Identity                                                    Identity
	IssuedAt, ExpiresAt                                         time.Time
}

// MintAccess signs an access token.
func (r *Ring) MintAccess(p AccessParams) (string, error) {
	c := &Claims{
		DeviceID: p.DeviceID, DomainID: p.DomainID, SessionID: p.SessionID,
		StitchDevID: p.DeviceID, StitchDomain: p.DomainID,
		Type: TypeAccess, UserData: p.UserData, Audience: p.AppID, Issuer: p.SessionID, Subject: p.UserID,
		IssuedAt: p.IssuedAt.Unix(), ExpiresAt: p.IssuedAt.Add(p.TTL).Unix(),
	}
	return r.sign(c)
}

// MintRefresh signs a refresh token.
func (r *Ring) MintRefresh(p RefreshParams) (string, error) {
	id := p.Identity
	c := &Claims{
		DeviceID: p.DeviceID, DomainID: p.DomainID, SessionID: p.SessionSecret, Identity: &id,
		StitchDevID: p.DeviceID, StitchDomain: p.DomainID, StitchID: p.SessionSecret, StitchIdent: &id,
		Type: TypeRefresh, Audience: p.AppID, Subject: p.UserID, Issuer: p.SessionID,
		IssuedAt: p.IssuedAt.Unix(), ExpiresAt: p.ExpiresAt.Unix(),
	}
	return r.sign(c)
}

func (r *Ring) sign(c *Claims) (string, error) {
	k := r.active
	method, kid, signKey := jwt.SigningMethod(k.method), k.kid, any(k.private)
	if c.Type == TypeRefresh {
		// Refresh tokens are only ever verified by Warden: an HMAC key derived from the
		// signing key is enough, and costs microseconds instead of an EdDSA signature.
		method, kid, signKey = jwt.SigningMethodHS256, k.refreshKID, k.refreshKey
	}
	t := jwt.NewWithClaims(method, c)
	t.Header["kid"] = kid
	s, err := t.SignedString(signKey)
	if err != nil {
		return "", fmt.Errorf("signing %s token: %w", c.Type, err)
	}
	return s, nil
}

// Verify checks a token's signature, type and lifetime at now and returns its claims.
func (r *Ring) Verify(raw, typ string, now time.Time) (*Claims, error) {
	if raw == "" || len(raw) > 16<<10 {
		return nil, ErrInvalid
	}
	if c, err, ok := r.cachedVerify(raw, typ, now); ok {
		return c, err
	}
	c := &Claims{}
	methods, keyfunc := r.methods, r.keyFor
	if typ == TypeRefresh {
		methods, keyfunc = []string{"HS256"}, r.refreshKeyFor
	}
	p := jwt.NewParser(
		jwt.WithValidMethods(methods),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	_, err := p.ParseWithClaims(raw, c, keyfunc)
	if errors.Is(err, jwt.ErrTokenExpired) {
		if c.Type != typ {
			return nil, ErrInvalid
		}
		return c, ErrExpired
	}
	if err != nil {
		return nil, ErrInvalid
	}
	if c.Type != typ || c.Subject == "" || c.Audience == "" {
		return nil, ErrInvalid
	}
	r.cache.put(sha256Key(raw), c)
	return c, nil
}

func (r *Ring) keyFor(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k, ok := r.byKid[kid]
	if !ok {
		return nil, ErrInvalid
	}
	if t.Method.Alg() != k.method.Alg() {
		return nil, ErrInvalid
	}
	return k.public, nil
}

func (r *Ring) refreshKeyFor(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k, ok := r.byRefreshKid[kid]
	if !ok || t.Method.Alg() != "HS256" {
		return nil, ErrInvalid
	}
	return k, nil
}
