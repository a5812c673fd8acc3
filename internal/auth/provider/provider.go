// Package provider defines what an authentication provider is: something that checks
// one kind of credentials and says which identity they prove. Each provider type lives
// in its own package below this one and is put in a Registry by the binary's wiring.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/function"
	"github.com/wardenauth/warden/internal/password"
	"github.com/wardenauth/warden/internal/store"
)

// Errors a provider returns from Authenticate.
var (
	// ErrInvalidCredentials: the credentials prove nothing (wrong password, unknown user).
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrPendingConfirmation: the credentials are right but the account is not confirmed.
	ErrPendingConfirmation = errors.New("confirmation required")
)

// InputError says a credential payload is malformed: a field is missing or of the wrong type.
type InputError struct {
	Field   string
	Problem string
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Problem) }

// RejectedError says why credentials were refused, when saying so helps the app's
// developer and tells an attacker nothing (a custom JWT that expired, say). It counts as
// invalid credentials.
type RejectedError struct{ Message string }

func (e *RejectedError) Error() string { return e.Message }

// Unwrap makes a RejectedError match ErrInvalidCredentials.
func (e *RejectedError) Unwrap() error { return ErrInvalidCredentials }

// Credentials is a login request's payload: the body's fields other than "options",
// decoded from Extended JSON.
type Credentials map[string]any

// String returns the string field key, or an *InputError when it is missing or not a string.
func (c Credentials) String(key string) (string, error) {
	v, ok := c[key]
	if !ok || v == nil {
		return "", &InputError{Field: key, Problem: "is required"}
	}
	s, ok := v.(string)
	if !ok {
		return "", &InputError{Field: key, Problem: "must be a string"}
	}
	return s, nil
}

// Identity is what a provider proves: an id unique within the provider type, and the
// provider data that goes into the user's profile.
type Identity struct {
	ID   string
	Data map[string]any
	// UserID is set by providers whose credentials prove a user directly rather than an
	// identity (API keys): the login is for this existing user.
	UserID string
}

// Provider checks one type of credentials.
type Provider interface {
	Authenticate(ctx context.Context, creds Credentials) (Identity, error)
}

// Redirector is a provider that can also log in through a browser redirect (the OAuth
// 2.0 authorization-code flow).
type Redirector interface {
	Provider
	// AuthURL is the provider's consent page; it comes back to callback with state.
	AuthURL(state, callback string) string
	// Exchange trades the code the provider sent to callback for the identity it proves.
	Exchange(ctx context.Context, code, callback string) (Identity, error)
}

// Deps are what providers may use.
type Deps struct {
	AppID   string
	Store   store.Store
	Hasher  *password.Hasher
	Secrets *appconfig.Secrets
	Now     func() time.Time
	// HTTPClient is used by providers that call out (JWK sets, OAuth endpoints); nil
	// means a client with a 10-second timeout.
	HTTPClient *http.Client
	// Functions runs the app's functions (nil when the app has none).
	Functions *function.Engine
}

// Factory builds a provider from its configuration.
type Factory func(cfg *appconfig.Provider, deps Deps) (Provider, error)

// Registry maps provider types to factories.
type Registry map[string]Factory
