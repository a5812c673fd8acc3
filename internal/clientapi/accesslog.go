package clientapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/wardenauth/warden/internal/httplog"
)

// accessLog logs one line per request: method, path (never the query string, which may
// carry a token), status and duration. Headers and bodies are never logged.
func (a *api) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &httplog.Recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		took := time.Since(start)
		a.metrics.Request(r.Pattern, r.Method, rec.Status, took)
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.Status), slog.Duration("took", took))
	})
}
