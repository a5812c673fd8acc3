package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// WatchOptions select the change events of a Watch.
type WatchOptions struct {
	// IDs, when set, limits the stream to the documents with these _ids.
	IDs []any
	// Filter, when set, is a $match over the change events, e.g.
	// bson.D{{Key: "operationType", Value: "insert"}} or
	// bson.D{{Key: "fullDocument.owner_id", Value: userID}}.
	Filter any
}

// ChangeStream is an open Watch: the collection's change events as the server sends
// them, one at a time, in the shape of MongoDB's change events (operationType,
// documentKey, fullDocument, updateDescription, ns, clusterTime, and _id, the resume
// token). Use it as the MongoDB driver's change stream:
//
//	for cs.Next(ctx) {
//		var ev client.ChangeEvent
//		if err := cs.Decode(&ev); err != nil { ... }
//	}
//	if err := cs.Err(); err != nil { ... }
//
// A stream ends with an error when the user's session ends (an *Error with Code
// "InvalidSession": IsInvalidSession and errors.Is(err, ErrInvalidSession) hold), when the
// server shuts down, or when the reader falls too far behind. It is safe to Close from
// another goroutine.
type ChangeStream struct {
	body    io.ReadCloser
	lines   *bufio.Scanner
	current bson.Raw
	err     error
	url     string
	once    sync.Once
	closed  atomic.Bool
}

// ChangeEvent is one change event, for decoding with ChangeStream.Decode.
type ChangeEvent struct {
	// ResumeToken is the event's _id.
	ResumeToken bson.Raw `bson:"_id"`
	// OperationType is "insert", "update", "replace" or "delete".
	OperationType string         `bson:"operationType"`
	ClusterTime   bson.Timestamp `bson:"clusterTime"`
	NS            struct {
		DB   string `bson:"db"`
		Coll string `bson:"coll"`
	} `bson:"ns"`
	// DocumentKey holds the changed document's _id.
	DocumentKey bson.Raw `bson:"documentKey"`
	// FullDocument is the document after the change (inserts, replaces, updates), as
	// the user may read it; empty for a delete.
	FullDocument bson.Raw `bson:"fullDocument,omitempty"`
	// UpdateDescription says what an update changed.
	UpdateDescription *struct {
		UpdatedFields bson.Raw `bson:"updatedFields"`
		RemovedFields []string `bson:"removedFields"`
	} `bson:"updateDescription,omitempty"`
}

// Watch opens a change stream on the collection: realm-web's collection.watch(). The
// stream is open (every later change is in it) when Watch returns, and lasts until Close,
// an error, or the end of ctx (so pass a context that lives as long as the stream, not one
// a deferred cancel ends when the function that opened it returns). The App's HTTP client
// is used without its Timeout, which would cut the stream.
func (c *MongoCollection) Watch(ctx context.Context, opts *WatchOptions) (*ChangeStream, error) {
	arg := bson.D{{Key: "database", Value: c.db.name}, {Key: "collection", Value: c.name}}
	if opts != nil {
		if opts.IDs != nil {
			arg = append(arg, bson.E{Key: "ids", Value: opts.IDs})
		}
		arg = optional(arg, "filter", opts.Filter)
	}
	ext, err := bson.MarshalExtJSON(arg, true, false)
	if err != nil {
		return nil, fmt.Errorf("client: encoding the watch argument: %w", err)
	}
	body, err := json.Marshal(map[string]any{"name": "watch", "service": c.db.client.service, "arguments": []json.RawMessage{ext}})
	if err != nil {
		return nil, fmt.Errorf("client: encoding the watch request: %w", err)
	}
	u := c.db.client.user
	path := u.app.appPath("/functions/call") + "?baas_request=" + url.QueryEscape(base64.StdEncoding.EncodeToString(body))
	tok, gen, err := u.freshAccessToken(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := u.app.openStream(ctx, path, tok)
	if IsInvalidSession(err) {
		if tok, err = u.refreshAfter(ctx, gen); err != nil {
			return nil, err
		}
		cs, err = u.app.openStream(ctx, path, tok)
	}
	return cs, err
}

// openStream sends the streaming request and, on a 200, returns the stream.
func (a *App) openStream(ctx context.Context, path, bearer string) (*ChangeStream, error) {
	host, err := a.location(ctx)
	if err != nil {
		return nil, err
	}
	u := host + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+bearer)
	hc := *a.http
	hc.Timeout = 0
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: GET %s: %w", u, err)
	}
	if res.StatusCode != http.StatusOK {
		defer res.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		e := &Error{Method: http.MethodGet, URL: u, StatusCode: res.StatusCode}
		var body struct {
			Error     string `json:"error"`
			ErrorCode string `json:"error_code"`
		}
		if json.Unmarshal(data, &body) == nil {
			e.Message, e.Code = body.Error, body.ErrorCode
		}
		return nil, e
	}
	lines := bufio.NewScanner(res.Body)
	lines.Buffer(make([]byte, 64<<10), maxResponse)
	return &ChangeStream{body: res.Body, lines: lines, url: u}, nil
}

// Next waits for the next event and reports whether there is one; after false, the stream
// is over and Err says why (nil when it was closed, or when ctx ended). A ctx that ends
// while Next waits closes the stream: do not give Next a per-call timeout to poll with.
func (cs *ChangeStream) Next(ctx context.Context) bool {
	if cs.err != nil {
		return false
	}
	stop := context.AfterFunc(ctx, func() { cs.once.Do(func() { _ = cs.body.Close() }) })
	defer stop()
	var event string
	var data bytes.Buffer
	for cs.lines.Scan() {
		line := cs.lines.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				event = ""
				continue
			}
			text := sseUnescape(data.String())
			if event == "error" {
				e := &Error{Method: http.MethodGet, URL: cs.url, StatusCode: http.StatusOK, Message: text}
				var body struct {
					Error     string `json:"error"`
					ErrorCode string `json:"error_code"`
				}
				if json.Unmarshal([]byte(text), &body) == nil {
					e.Message, e.Code = body.Error, body.ErrorCode
				}
				if e.Code == CodeInvalidSession {
					e.StatusCode = http.StatusUnauthorized // as the same refusal before the stream
				}
				cs.fail(e)
				return false
			}
			var doc bson.Raw
			if err := bson.UnmarshalExtJSON([]byte(text), true, &doc); err != nil {
				cs.fail(fmt.Errorf("client: decoding a change event: %w", err))
				return false
			}
			cs.current = doc
			return true
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		}
	}
	err := cs.lines.Err()
	if ctx.Err() != nil || cs.closed.Load() {
		err = nil
	} else if err == nil {
		err = errors.New("client: the change stream ended")
	}
	cs.fail(err)
	return false
}

func (cs *ChangeStream) fail(err error) {
	if err == nil {
		err = errClosed
	}
	if cs.err == nil {
		cs.err = err
	}
	cs.once.Do(func() { _ = cs.body.Close() })
}

// Current is the last event Next returned.
func (cs *ChangeStream) Current() bson.Raw { return cs.current }

// Decode decodes the last event Next returned into v (a *ChangeEvent, a bson.M, a
// struct of your own).
func (cs *ChangeStream) Decode(v any) error {
	if cs.current == nil {
		return errors.New("client: no change event: call Next first")
	}
	return bson.Unmarshal(cs.current, v)
}

// Err is why the stream ended: an *Error for the server's error event, nil when it was
// closed or its context ended.
func (cs *ChangeStream) Err() error {
	if errors.Is(cs.err, errClosed) {
		return nil
	}
	return cs.err
}

var errClosed = errors.New("client: the change stream is closed")

// Close ends the stream.
func (cs *ChangeStream) Close() error {
	cs.closed.Store(true)
	cs.once.Do(func() { _ = cs.body.Close() })
	return nil
}

// sseUnescape undoes the server's escaping of an event's data line (CR, LF and %).
func sseUnescape(s string) string {
	return strings.NewReplacer("%0A", "\n", "%0D", "\r", "%25", "%").Replace(s)
}
