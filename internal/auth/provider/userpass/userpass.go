// Package userpass is the email/password provider (local-userpass): login checks an
// email and password against a confirmed account. Registration, confirmation and
// password resets are flows of the auth core; this package holds their configuration.
package userpass

import (
	"context"
	"errors"
	"fmt"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/password"
	"github.com/wardenauth/warden/internal/store"
)

// Type is the provider type.
const Type = "local-userpass"

// Config is the provider's `config` object in auth/providers.json.
type Config struct {
	AutoConfirm              bool   `json:"autoConfirm"`
	EmailConfirmationURL     string `json:"emailConfirmationUrl"`
	ConfirmEmailSubject      string `json:"confirmEmailSubject"`
	RunConfirmationFunction  bool   `json:"runConfirmationFunction"`
	ConfirmationFunctionName string `json:"confirmationFunctionName"`
	ResetPasswordURL         string `json:"resetPasswordUrl"`
	ResetPasswordSubject     string `json:"resetPasswordSubject"`
	RunResetFunction         bool   `json:"runResetFunction"`
	ResetFunctionName        string `json:"resetFunctionName"`
}

// ParseConfig decodes and checks a local-userpass configuration.
func ParseConfig(p *appconfig.Provider) (Config, error) {
	var c Config
	if err := p.DecodeConfig(&c); err != nil {
		return Config{}, err
	}
	if len(c.ConfirmEmailSubject) > 256 || len(c.ResetPasswordSubject) > 256 {
		return Config{}, fmt.Errorf("provider %q: email subjects are limited to 256 characters", p.Name)
	}
	if c.RunConfirmationFunction && c.ConfirmationFunctionName == "" {
		return Config{}, fmt.Errorf("provider %q: runConfirmationFunction needs confirmationFunctionName", p.Name)
	}
	if c.RunResetFunction && c.ResetFunctionName == "" {
		return Config{}, fmt.Errorf("provider %q: runResetFunction needs resetFunctionName", p.Name)
	}
	return c, nil
}

// Functions are the app functions the configuration names and runs.
func (c Config) Functions() []string {
	var out []string
	if c.RunConfirmationFunction && !c.AutoConfirm {
		out = append(out, c.ConfirmationFunctionName)
	}
	if c.RunResetFunction {
		out = append(out, c.ResetFunctionName)
	}
	return out
}

// LinksWithoutURL reports whether confirmation mails go out with no emailConfirmationUrl
// to put the token in.
func (c Config) LinksWithoutURL() bool {
	return !c.AutoConfirm && !c.RunConfirmationFunction && c.EmailConfirmationURL == ""
}

// Provider checks email/password logins.
type Provider struct {
	appID  string
	store  provider.AccountReader
	hasher provider.PasswordVerifier
}

// New builds the provider.
func New(cfg *appconfig.Provider, deps provider.Deps) (provider.Provider, error) {
	if _, err := ParseConfig(cfg); err != nil {
		return nil, err
	}
	return &Provider{appID: deps.AppID, store: deps.Accounts, hasher: deps.Passwords}, nil
}

// Authenticate implements provider.Provider. An unknown email costs the same password
// hash as a wrong password, and both give provider.ErrInvalidCredentials.
func (p *Provider) Authenticate(ctx context.Context, creds provider.Credentials) (provider.Identity, error) {
	email, err := creds.String("username")
	if err != nil {
		return provider.Identity{}, err
	}
	pw, err := creds.String("password")
	if err != nil {
		return provider.Identity{}, err
	}
	acct, err := p.store.GetAccountByEmail(ctx, p.appID, email)
	if errors.Is(err, store.ErrNotFound) {
		p.hasher.VerifyDummy(ctx, pw)
		return provider.Identity{}, provider.ErrInvalidCredentials
	}
	if err != nil {
		return provider.Identity{}, fmt.Errorf("userpass: %w", err)
	}
	if acct.PasswordHash == store.NoPassword {
		// Migrated without a password: refused like a wrong one, at the same cost, until
		// the user resets it.
		p.hasher.VerifyDummy(ctx, pw)
		return provider.Identity{}, provider.ErrInvalidCredentials
	}
	if err := p.hasher.Verify(ctx, acct.PasswordHash, pw); err != nil {
		if errors.Is(err, password.ErrMismatch) {
			return provider.Identity{}, provider.ErrInvalidCredentials
		}
		return provider.Identity{}, fmt.Errorf("userpass: %w", err)
	}
	if acct.Status != store.AccountConfirmed {
		return provider.Identity{}, provider.ErrPendingConfirmation
	}
	return provider.Identity{ID: acct.ID, Data: map[string]any{"email": acct.Email}}, nil
}

// AccountKey implements provider.AccountKeyed: the email, as emails are compared; failed
// logins lock it.
func (p *Provider) AccountKey(creds provider.Credentials) (string, bool) {
	email, _ := creds["username"].(string)
	if email == "" {
		return "", false
	}
	return store.EmailKey(email), true
}
