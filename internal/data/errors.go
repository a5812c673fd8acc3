package data

import (
	"errors"
	"fmt"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Kind classifies the errors of this package; the HTTP layer maps each to a status and
// an error_code.
type Kind int

// The kinds of error.
const (
	// KindInvalid is a malformed request: a missing database, a bad filter.
	KindInvalid Kind = iota + 1
	// KindNotPermitted is a request that the rules refuse.
	KindNotPermitted
	// KindUnknownAction is an operation the MongoDB service does not have.
	KindUnknownAction
	// KindUnsupported is an operation this data source cannot do (watch on the
	// embedded engine, for one).
	KindUnsupported
	// KindMongo is an error from MongoDB itself (a duplicate key, a bad update).
	KindMongo
	// KindLimit is a request beyond a bound of the server (too many change streams open,
	// a change stream's reader too far behind).
	KindLimit
)

// Error is an error of a data-source request, with a message fit for the client.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

func invalid(format string, args ...any) error {
	return &Error{Kind: KindInvalid, Message: fmt.Sprintf(format, args...)}
}

func notPermitted(format string, args ...any) error {
	return &Error{Kind: KindNotPermitted, Message: fmt.Sprintf(format, args...)}
}

// mongoError wraps an error from the driver. Server errors (duplicate keys, bad
// operators) are the client's to see; anything else (a lost connection) is returned as
// is, so that it is logged and answered as an internal error.
func mongoError(what string, err error) error {
	if err == nil {
		return nil
	}
	var se mongo.ServerError
	if errors.As(err, &se) || mongo.IsDuplicateKeyError(err) {
		if se != nil && (se.HasErrorCode(238) || se.HasErrorCode(115)) { // NotImplemented, CommandNotSupported
			return &Error{Kind: KindUnsupported, Message: fmt.Sprintf("%s: %s is not supported by the embedded data store (FerretDB v1.24); connect this data source to MongoDB (--mongodb-uri) to use it", what, unsupportedFeature(err)), Err: err}
		}
		return &Error{Kind: KindMongo, Message: fmt.Sprintf("%s: %v", what, err), Err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// The shapes of FerretDB's "not implemented" messages, and what each names.
var notImplemented = []struct {
	re   *regexp.Regexp
	name string // with $1 for the match
}{
	{regexp.MustCompile(`support for field "([^"]+)"`), "the option $1"},
	{regexp.MustCompile("`aggregate` stage \"([^\"]+)\""), "the aggregation stage $1"},
	{regexp.MustCompile(`(\$\w+) accumulator "([^"]+)"`), "the $1 accumulator $2"},
	{regexp.MustCompile(`[Oo]perator (\$\w+)`), "the operator $1 (in $$expr or $$match)"},
	{regexp.MustCompile(`"(\$\w+)"`), "$1"},
}

// unsupportedFeature names what a "not implemented" error is about, without the engine's
// internals (FerretDB's messages may print Go values).
func unsupportedFeature(err error) string {
	msg := err.Error()
	for _, n := range notImplemented {
		if m := n.re.FindStringSubmatchIndex(msg); m != nil {
			return string(n.re.ExpandString(nil, n.name, msg, m))
		}
	}
	return "this operation"
}
