package httpjson

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRecover: a handler's panic is answered as a 500 in the protocol's error shape; an
// abort on purpose goes on to the server.
func TestRecover(t *testing.T) {
	h := Recover(slog.New(slog.DiscardHandler), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("a bug") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	var body ErrorBody
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/json" || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.ErrorCode != "InternalServerError" {
		t.Fatalf("a panic was answered %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	abort := Recover(slog.New(slog.DiscardHandler), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("an abort was swallowed: %v", v)
		}
	}()
	abort.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
}

// TestWriteRefusesWhatCannotBeEncoded: a value JSON cannot hold is a 500, not half a body.
func TestWriteRefusesWhatCannotBeEncoded(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, 200, map[string]any{"f": func() {}})
	if rec.Code != 500 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}
