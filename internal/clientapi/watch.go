package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wardenauth/warden/internal/auth"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// watch streams a collection's change events as server-sent events (collection.watch() in the SDKs). The change
// stream is opened before the 200 is sent, so that an error (no such service, no
// change streams in this data source, refused by the rules) is an ordinary JSON error,
// and no event after the answer starts is missed.
func (a *api) watch(w http.ResponseWriter, r *http.Request, p auth.Principal, service string, arg bson.D) error {
	// The stream lasts as long as the session: a logout, or the user disabled or
	// deleted, ends it.
	ctx, stop := a.svc.Sessions.UntilSessionEnds(r.Context(), p)
	defer stop()
	// It also lasts only as long as the server runs.
	ctx, stopping := context.WithCancelCause(ctx)
	defer stopping(nil)
	defer context.AfterFunc(a.streams, func() { stopping(errServerStopping) })()
	src, caller, err := a.svc.Calls.DataSource(ctx, p, service)
	if err != nil {
		return err
	}
	stream, err := src.Watch(ctx, caller, arg)
	if err != nil {
		return auth.DataError(err)
	}
	defer stream.Close(context.WithoutCancel(ctx))
	rc := http.NewResponseController(w) // reaches the flusher through the access log's wrapper
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	for {
		ev, err := stream.Next(ctx)
		if err != nil {
			if r.Context().Err() == nil {
				_ = rc.SetWriteDeadline(time.Now().Add(a.streamTO))
				a.writeErrorEvent(ctx, w, err)
				_ = rc.Flush()
			}
			return nil // the answer has started: errors are events now
		}
		text, err := bson.MarshalExtJSON(ev, true, false)
		if err != nil {
			a.log.ErrorContext(ctx, "watch: encoding an event failed", "err", err)
			return nil
		}
		// A client that stops reading is let go, rather than holding the stream open.
		_ = rc.SetWriteDeadline(time.Now().Add(a.streamTO))
		if _, err := fmt.Fprintf(w, "data: %s\n\n", sseEscape(string(text))); err != nil {
			return nil
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		_ = rc.SetWriteDeadline(time.Time{}) // a quiet stream may wait as long as it likes
	}
}

// errServerStopping ends the change streams of a server that is shutting down.
var errServerStopping = errors.New("the server is shutting down; open the change stream again")

// writeErrorEvent ends a change stream with an error event in the protocol's error shape
// (realm-web throws it from the watch's iterator).
func (a *api) writeErrorEvent(ctx context.Context, w http.ResponseWriter, err error) {
	code, msg := codeInternalServerError, "the change stream failed"
	var ae *auth.Error
	switch {
	case errors.Is(context.Cause(ctx), auth.ErrSessionEnded):
		code, msg = codeInvalidSession, "invalid session: "+auth.ErrSessionEnded.Error()
	case errors.Is(context.Cause(ctx), errServerStopping):
		code, msg = codeServiceUnavailable, errServerStopping.Error()
	case errors.As(auth.DataError(err), &ae):
		msg = ae.Message
		code = "MongoDBError"
		for _, m := range errorMapping {
			if errors.Is(ae.Kind, m.kind) {
				code = m.code
				break
			}
		}
	default:
		a.log.WarnContext(ctx, "watch ended", "err", err)
		if !errors.Is(err, context.Canceled) {
			msg = "the change stream ended: " + err.Error()
		}
	}
	body, _ := json.Marshal(errorBody{Error: msg, ErrorCode: code})
	fmt.Fprintf(w, "event: error\ndata: %s\n\n", sseEscape(string(body)))
}

// sseEscape percent-encodes what would break an event's data line, as realm-web decodes
// it: % first, then CR and LF.
func sseEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\n", "%0A", "\r", "%0D").Replace(s)
}
