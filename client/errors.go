package client

import "fmt"

// The protocol's error codes (Error.Code), as Warden and App Services answer them.
const (
	CodeBadRequest             = "BadRequest"
	CodeInvalidParameter       = "InvalidParameter"
	CodeInvalidSession         = "InvalidSession"
	CodeMissingAuthReq         = "MissingAuthReq"
	CodeInvalidPassword        = "InvalidPassword"
	CodeAuthError              = "AuthError"
	CodeUserDisabled           = "UserDisabled"
	CodeAccountNameInUse       = "AccountNameInUse"
	CodeUserpassTokenInvalid   = "UserpassTokenInvalid"
	CodeUserAlreadyConfirmed   = "UserAlreadyConfirmed"
	CodeUserNotFound           = "UserNotFound"
	CodeAuthProviderNotFound   = "AuthProviderNotFound"
	CodeFunctionNotFound       = "FunctionNotFound"
	CodeReadSizeLimitExceeded  = "ReadSizeLimitExceeded"
	CodeDomainNotAllowed       = "DomainNotAllowed"
	CodeServiceCommandNotFound = "ServiceCommandNotFound"
	CodeTooManyRequests        = "TooManyRequests"
	CodeInternalServerError    = "InternalServerError"
	CodeServiceUnavailable     = "ServiceUnavailable"
)

// Errors to compare with errors.Is: an *Error matches the one with its Code, so
//
//	if errors.Is(err, client.ErrAccountNameInUse) { ... }
//
// branches on the server's answer without looking at its message.
var (
	ErrInvalidPassword      error = codeError(CodeInvalidPassword)
	ErrAccountNameInUse     error = codeError(CodeAccountNameInUse)
	ErrInvalidSession       error = codeError(CodeInvalidSession)
	ErrUserNotFound         error = codeError(CodeUserNotFound)
	ErrUserDisabled         error = codeError(CodeUserDisabled)
	ErrUserAlreadyConfirmed error = codeError(CodeUserAlreadyConfirmed)
	ErrUserpassTokenInvalid error = codeError(CodeUserpassTokenInvalid)
	ErrAuthProviderNotFound error = codeError(CodeAuthProviderNotFound)
	ErrFunctionNotFound     error = codeError(CodeFunctionNotFound)
	ErrTooManyRequests      error = codeError(CodeTooManyRequests)
	ErrServiceUnavailable   error = codeError(CodeServiceUnavailable)
)

// codeError is the target an *Error with that code matches.
func codeError(code string) *Error { return &Error{Code: code} }

// Is reports whether target is an *Error with the same Code and no request of its own
// (one of the Err values above), so errors.Is matches by error code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Method == "" && t.StatusCode == 0 && t.Code != "" && t.Code == e.Code
}

// loggedOut wraps the refresh endpoint's refusal so that it matches ErrLoggedOut (the
// user must log in again) and still carries the server's answer.
func loggedOut(err error) error {
	return fmt.Errorf("%w: %w", ErrLoggedOut, err)
}

// StorageError is a change that happened (a login) but could not be saved to the App's
// Storage: it holds in this process only.
type StorageError struct {
	// Op is what happened, e.g. "log in".
	Op  string
	Err error
}

func (e *StorageError) Error() string {
	return "client: " + e.Op + " succeeded, but saving it failed: " + e.Err.Error()
}

// Unwrap returns the Storage's error.
func (e *StorageError) Unwrap() error { return e.Err }

// ServerLogOutError is a log-out (LogOut, RemoveUser) that was done on this device but
// that the server was not told of (unreachable, or failing): the tokens are forgotten
// here, and the session ends on the server when it expires or is revoked there.
type ServerLogOutError struct {
	Err error
}

func (e *ServerLogOutError) Error() string {
	return "client: logged out on this device, but the server was not told: " + e.Err.Error()
}

// Unwrap returns the request's error.
func (e *ServerLogOutError) Unwrap() error { return e.Err }
