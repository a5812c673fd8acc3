// Package httpjson is what Warden's two JSON APIs (the client API and the admin API)
// share: one way to write a JSON answer, the protocol's error body, and one panic
// recovery that answers in that shape.
package httpjson

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// ErrorBody is the protocol's error shape: {"error": message, "error_code": code}.
type ErrorBody struct {
	Error     string `json:"error"`
	ErrorCode string `json:"error_code"`
}

// internalError is the body of a 500 whose cause stays in the log.
var internalError = []byte(`{"error":"internal server error","error_code":"InternalServerError"}`)

// Write answers with v as JSON, exactly `Content-Type: application/json`, never cached.
// A value that cannot be encoded is answered as an internal error.
func Write(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, internalError
	}
	WriteRaw(w, status, b)
}

// WriteRaw answers with body, already JSON.
func WriteRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Recover answers a panic in next with a 500 in the error shape (and logs it), so that a
// bug never drops the connection without an answer. http.ErrAbortHandler, the way a
// handler aborts on purpose, goes on.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic while serving", "path", r.URL.Path, "panic", v)
				WriteRaw(w, http.StatusInternalServerError, internalError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
