package auth

import (
	"errors"
	"time"
)

// Kinds of failure. Every error the Service returns for something the caller did wrong
// is an *Error whose Kind is one of these; the HTTP layer maps each kind to a status
// and an error_code in one table. Anything else is an internal failure.
var (
	ErrAppNotFound         = errors.New("app not found")
	ErrProviderNotFound    = errors.New("auth provider not found")
	ErrProviderDisabled    = errors.New("auth provider disabled")
	ErrProviderUnsupported = errors.New("auth provider not supported")
	ErrInvalidInput        = errors.New("invalid input")
	ErrInvalidCredentials  = errors.New("invalid credentials")
	ErrPendingConfirmation = errors.New("confirmation required")
	ErrUserDisabled        = errors.New("user disabled")
	ErrInvalidSession      = errors.New("invalid session")
	ErrAccessTokenExpired  = errors.New("access token expired")
	ErrSessionNotFound     = errors.New("session not found")
	ErrAccountNameInUse    = errors.New("account name in use")
	ErrTokenInvalid        = errors.New("invalid token data")
	ErrAlreadyConfirmed    = errors.New("already confirmed")
	ErrUserNotFound        = errors.New("user not found")
	ErrFlowNotEnabled      = errors.New("flow not enabled")
	ErrIdentityTaken       = errors.New("identity belongs to another user")
	ErrLinkNotAllowed      = errors.New("link not allowed")
	ErrFlowFailed          = errors.New("email/password function refused")
	ErrInvalidParameter    = errors.New("invalid parameter")
	ErrForbidden           = errors.New("forbidden")
	ErrAPIKeyNotFound      = errors.New("API key not found")
	ErrAPIKeyExists        = errors.New("API key already exists")
	ErrAuthFailed          = errors.New("authentication failed")
	ErrFunctionNotFound    = errors.New("function not found")
	ErrFunctionPrivate     = errors.New("function is private")
	ErrFunctionFailed      = errors.New("function execution error")
	ErrFunctionTimeout     = errors.New("function execution time limit exceeded")
	ErrLockedOut           = errors.New("account locked after failed logins")
	ErrLimitReached        = errors.New("limit reached")
)

// Error is a failure the caller can act on: Kind says which, Message says it to a person.
type Error struct {
	Kind    error
	Message string
	// RetryAfter, when set, is how long until the request may succeed (a lockout).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is match the Kind.
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, msg string) error { return &Error{Kind: kind, Message: msg} }
