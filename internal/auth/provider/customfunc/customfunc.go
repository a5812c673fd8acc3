// Package customfunc is the custom function provider (custom-function): the app's
// authentication function gets the login payload and returns the user's external id —
// a string, or an object {id, name} — and a thrown error refuses the login.
package customfunc

import (
	"context"
	"errors"
	"fmt"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
)

// Type is the provider type.
const Type = "custom-function"

// maxIDLength bounds the external id a function may return.
const maxIDLength = 1024

type config struct {
	AuthFunctionName string `json:"authFunctionName"`
}

// Provider runs the authentication function.
type Provider struct {
	fn        string
	functions provider.LoginFunctions
}

// New builds the provider; the function must exist.
func New(cfg *appconfig.Provider, deps provider.Deps) (provider.Provider, error) {
	var c config
	if err := cfg.DecodeConfig(&c); err != nil {
		return nil, err
	}
	if c.AuthFunctionName == "" {
		return nil, fmt.Errorf("provider %q: config.authFunctionName is required", cfg.Name)
	}
	if deps.Functions == nil || !deps.Functions.Has(c.AuthFunctionName) {
		return nil, fmt.Errorf("provider %q: authentication function %q is not in functions/", cfg.Name, c.AuthFunctionName)
	}
	return &Provider{fn: c.AuthFunctionName, functions: deps.Functions}, nil
}

// Authenticate implements provider.Provider. The function runs as the system user.
func (p *Provider) Authenticate(ctx context.Context, creds provider.Credentials) (provider.Identity, error) {
	payload := map[string]any(creds)
	delete(payload, "provider") // native SDKs add it; App Services passed the payload alone
	res, err := p.functions.CallLogin(ctx, p.fn, payload)
	var rej *provider.RejectedError
	if errors.As(err, &rej) {
		return provider.Identity{}, rej
	}
	if err != nil {
		return provider.Identity{}, fmt.Errorf("custom function %s: %w", p.fn, err)
	}
	id := provider.Identity{}
	switch r := res.(type) {
	case string:
		id.ID = r
	case map[string]any:
		id.ID, _ = r["id"].(string)
		if name, ok := r["name"].(string); ok && name != "" {
			id.Data = map[string]any{"name": name}
		}
	}
	if id.ID == "" || len(id.ID) > maxIDLength {
		return provider.Identity{}, &provider.RejectedError{Message: fmt.Sprintf("authentication function %s must return a non-empty string id (or {id, name}) of at most %d characters", p.fn, maxIDLength)}
	}
	return id, nil
}
