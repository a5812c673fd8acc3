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
	// APIKeyID is set when the credentials were an API key: the session is opened only
	// while that key exists and is enabled (checked again in the login's transaction).
	APIKeyID string
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

// Rules about a kind of provider live with the provider, as optional interfaces that
// the core asks for, the way Redirector works: adding a provider with its own rules is a
// new package and a registry line.

// Unlinkable is a provider whose identities cannot be linked to a user that exists
// (anonymous identities, API keys); LinkRefusal says why, to the client.
type Unlinkable interface {
	LinkRefusal() string
}

// AccountKeyed is a provider whose credentials name an account: the key counts the
// attempts on it for the per-account rate limit, and, when lockout is true, for the
// lockout after failed logins. An empty key means the credentials name none.
type AccountKeyed interface {
	AccountKey(creds Credentials) (key string, lockout bool)
}

// BareSecret is a provider whose credentials are a secret alone (an API key), with no
// account named beside it: a guesser tries each guess against every account at once, so
// its logins also count against a per-address limit of their own.
type BareSecret interface {
	BareSecret()
}

// SessionLifetime is a provider whose sessions last otherwise than the app's refresh
// tokens (anonymous sessions do not expire).
type SessionLifetime interface {
	SessionTTL() time.Duration
}

// Deps are what providers may use: small interfaces, so that a provider's package pulls
// in only what it uses.
type Deps struct {
	AppID string
	// Accounts reads email/password accounts.
	Accounts AccountReader
	// APIKeys reads API keys.
	APIKeys APIKeyReader
	// Passwords verifies password hashes.
	Passwords PasswordVerifier
	Secrets   *appconfig.Secrets
	Now       func() time.Time
	// HTTPClient is used by providers that call out (JWK sets, OAuth endpoints); nil
	// means a client with a 10-second timeout.
	HTTPClient *http.Client
	// Functions runs the app's functions on the login path (nil when the app has none).
	Functions LoginFunctions
}

// AccountReader reads an email/password account by email.
type AccountReader interface {
	GetAccountByEmail(ctx context.Context, appID, email string) (store.Account, error)
}

// APIKeyReader reads an API key by the hash of its secret.
type APIKeyReader interface {
	GetAPIKeyByHash(ctx context.Context, appID string, hash []byte) (store.APIKey, error)
}

// PasswordVerifier checks passwords against their stored hashes; VerifyDummy costs the
// same as a check, for an account that does not exist.
type PasswordVerifier interface {
	Verify(ctx context.Context, hash, password string) error
	VerifyDummy(ctx context.Context, password string)
}

// LoginFunctions runs an app function for a login (as the system user, on the slots kept
// for logins) and returns its result decoded from Extended JSON. A function that throws
// gives a *RejectedError with its message.
type LoginFunctions interface {
	Has(name string) bool
	CallLogin(ctx context.Context, name string, arg any) (any, error)
}

// Factory builds a provider from its configuration.
type Factory func(cfg *appconfig.Provider, deps Deps) (Provider, error)

// Registry maps provider types to factories.
type Registry map[string]Factory
