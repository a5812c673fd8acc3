package clientapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/wardenauth/warden/internal/auth"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// watch streams a collection's change events as server-sent events (collection.watch() in the SDKs). The change
// stream is opened before the 200 is sent, so that an error (no such service, no
// change streams in this data source, refused by the rules) is an ordinary JSON error,
// and no event after the answer starts is missed.
func (a *api) watch(w http.ResponseWriter, r *http.Request, p auth.Principal, service string, arg bson.D) error {
	ctx := r.Context()
	src, caller, err := a.svc.DataSource(ctx, p, service)
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
			if ctx.Err() == nil {
				var ae *auth.Error
				msg := "the change stream failed"
				code := codeInternalServerError
				if errors.As(auth.DataError(err), &ae) {
					msg, code = ae.Message, "MongoDBError"
				} else {
					a.log.ErrorContext(ctx, "watch failed", "err", err)
				}
				fmt.Fprintf(w, "event: error\ndata: %s\n\n", sseEscape(fmt.Sprintf(`{"error_code":%q,"error":%q}`, code, msg)))
			}
			return nil // the answer has started: errors are events now
		}
		text, err := bson.MarshalExtJSON(ev, true, false)
		if err != nil {
			a.log.ErrorContext(ctx, "watch: encoding an event failed", "err", err)
			return nil
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", sseEscape(string(text))); err != nil {
			return nil
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

// sseEscape percent-encodes what would break an event's data line, as realm-web decodes
// it: % first, then CR and LF.
func sseEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\n", "%0A", "\r", "%0D").Replace(s)
}
