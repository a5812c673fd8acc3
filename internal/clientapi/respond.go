package clientapi

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/httpjson"
)

// Protocol error codes (the error_code strings the Realm SDKs know).
const (
	codeBadRequest             = "BadRequest"
	codeInvalidParameter       = "InvalidParameter"
	codeInvalidSession         = "InvalidSession"
	codeMissingAuthReq         = "MissingAuthReq"
	codeInvalidPassword        = "InvalidPassword"
	codeAuthError              = "AuthError"
	codeUserDisabled           = "UserDisabled"
	codeAccountNameInUse       = "AccountNameInUse"
	codeUserpassTokenInvalid   = "UserpassTokenInvalid"
	codeUserAlreadyConfirmed   = "UserAlreadyConfirmed"
	codeUserNotFound           = "UserNotFound"
	codeAuthProviderNotFound   = "AuthProviderNotFound"
	codeFunctionNotFound       = "FunctionNotFound"
	codeReadSizeLimitExceeded  = "ReadSizeLimitExceeded"
	codeDomainNotAllowed       = "DomainNotAllowed"
	codeServiceCommandNotFound = "ServiceCommandNotFound"
	codeInternalServerError    = "InternalServerError"
	codeServiceUnavailable     = "ServiceUnavailable"
)

// errorMapping is the one table from the core's failure kinds to HTTP.
var errorMapping = []struct {
	kind   error
	status int
	code   string
}{
	{auth.ErrAppNotFound, http.StatusNotFound, codeInvalidParameter},
	{auth.ErrProviderNotFound, http.StatusNotFound, codeAuthProviderNotFound},
	{auth.ErrProviderDisabled, http.StatusForbidden, codeAuthProviderNotFound},
	{auth.ErrProviderUnsupported, http.StatusNotImplemented, codeAuthProviderNotFound},
	{auth.ErrInvalidInput, http.StatusBadRequest, codeBadRequest},
	{auth.ErrInvalidCredentials, http.StatusUnauthorized, codeInvalidPassword},
	{auth.ErrPendingConfirmation, http.StatusUnauthorized, codeAuthError},
	{auth.ErrUserDisabled, http.StatusUnauthorized, codeUserDisabled},
	{auth.ErrInvalidSession, http.StatusUnauthorized, codeInvalidSession},
	{auth.ErrAccessTokenExpired, http.StatusUnauthorized, codeInvalidSession},
	{auth.ErrSessionNotFound, http.StatusUnauthorized, codeInvalidSession},
	{auth.ErrAccountNameInUse, http.StatusConflict, codeAccountNameInUse},
	{auth.ErrTokenInvalid, http.StatusBadRequest, codeUserpassTokenInvalid},
	{auth.ErrAlreadyConfirmed, http.StatusBadRequest, codeUserAlreadyConfirmed},
	{auth.ErrUserNotFound, http.StatusNotFound, codeUserNotFound},
	{auth.ErrFlowNotEnabled, http.StatusBadRequest, codeBadRequest},
	// Never InvalidSession for a failed link: realm-web would refresh and retry forever.
	{auth.ErrIdentityTaken, http.StatusConflict, codeAccountNameInUse},
	{auth.ErrLinkNotAllowed, http.StatusBadRequest, codeBadRequest},
	{auth.ErrFlowFailed, http.StatusBadRequest, codeBadRequest},
	{auth.ErrFunctionNotFound, http.StatusNotFound, codeFunctionNotFound},
	{auth.ErrFunctionPrivate, http.StatusForbidden, "NotCallable"},
	{auth.ErrFunctionFailed, http.StatusBadRequest, "FunctionExecutionError"},
	{auth.ErrFunctionTimeout, http.StatusBadRequest, "ExecutionTimeLimitExceeded"},
	{auth.ErrInvalidParameter, http.StatusBadRequest, codeInvalidParameter},
	{auth.ErrForbidden, http.StatusForbidden, codeAuthError},
	{auth.ErrAPIKeyNotFound, http.StatusNotFound, "APIKeyNotFound"},
	{auth.ErrAPIKeyExists, http.StatusConflict, "APIKeyAlreadyExists"},
	{auth.ErrAuthFailed, http.StatusUnauthorized, codeAuthError},
	{auth.ErrLockedOut, http.StatusTooManyRequests, codeTooManyRequests},
	{auth.ErrLimitReached, http.StatusTooManyRequests, codeTooManyRequests},
	{auth.ErrServiceNotFound, http.StatusNotFound, "ServiceNotFound"},
	// App Services answered a write the rules refuse with 400 ("insert not permitted");
	// never 401, which would send the SDK into a refresh loop.
	{auth.ErrRuleNotPermitted, http.StatusBadRequest, "NoMatchingRuleFound"},
	{auth.ErrServiceAction, http.StatusNotFound, codeFunctionNotFound},
	{auth.ErrServiceUnsupported, http.StatusNotImplemented, "ServiceCommandNotFound"},
	{auth.ErrMongo, http.StatusBadRequest, "MongoDBError"},
}

// apiError is an error the HTTP layer itself decides (bad body, unknown route, ...).
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(msg string) error { return &apiError{http.StatusBadRequest, codeBadRequest, msg} }

// writeJSON answers with a JSON body and exactly `Content-Type: application/json`.
func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

func writeRaw(w http.ResponseWriter, status int, body []byte) { httpjson.WriteRaw(w, status, body) }

// writeEmpty answers a success that has no body: no content type at all, which is what
// realm-web reads as an empty result.
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header().Del("Content-Type")
	w.WriteHeader(status)
}

type errorBody = httpjson.ErrorBody

// writeError answers err in the protocol's error shape.
func (a *api) writeError(ctx context.Context, w http.ResponseWriter, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeJSON(w, ae.status, errorBody{Error: ae.msg, ErrorCode: ae.code})
		return
	}
	var ce *auth.Error
	if errors.As(err, &ce) {
		for _, m := range errorMapping {
			if errors.Is(ce.Kind, m.kind) {
				if ce.RetryAfter > 0 {
					w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ce.RetryAfter.Seconds()))))
				}
				writeJSON(w, m.status, errorBody{Error: ce.Message, ErrorCode: m.code})
				return
			}
		}
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this answer.
		writeJSON(w, 499, errorBody{Error: "request canceled", ErrorCode: codeBadRequest})
		return
	}
	if reason, ok := a.svc.Unavailable(err); ok {
		// The database cannot serve now: say so at once, and when to try again.
		a.log.LogAttrs(ctx, slog.LevelError, "store unavailable: "+reason, slog.String("err", err.Error()))
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "service unavailable: " + reason + "; try again shortly", ErrorCode: codeServiceUnavailable})
		return
	}
	a.log.LogAttrs(ctx, slog.LevelError, "request failed", slog.String("err", err.Error()))
	writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal server error", ErrorCode: codeInternalServerError})
}
