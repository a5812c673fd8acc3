package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wardenauth/warden/internal/data"
	"github.com/wardenauth/warden/internal/ejson"
	"github.com/wardenauth/warden/internal/function"
	"github.com/wardenauth/warden/internal/rules"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// MaxCustomDataBytes bounds the custom user data carried in an access token's user_data
// claim. Tokens travel in an HTTP header on every request; App Services recommended
// keeping the document under 16 KB. A larger document is left out of the token (and
// logged); it is still readable through the data source.
const MaxCustomDataBytes = 16 << 10

// Kinds of failure of data-source calls.
var (
	ErrServiceNotFound    = errors.New("service not found")
	ErrRuleNotPermitted   = errors.New("not permitted by the rules")
	ErrServiceAction      = errors.New("service action not found")
	ErrServiceUnsupported = errors.New("not supported by the data source")
	ErrMongo              = errors.New("MongoDB error")
)

// customData returns the user's custom user data for the access token's user_data
// claim: the document as canonical Extended JSON, built from the stored BSON (so an
// Int32 stays {"$numberInt"}, an Int64 keeps every digit, a date is
// {"$date":{"$numberLong"}}, as App Services wrote it and as the native SDKs' parser
// needs it), or nil when there is none or it is over MaxCustomDataBytes (logged).
// When the data source fails, the last copy read is used (the data package logs it);
// with no copy at all the error is returned (a *dataUnavailableError, answered 503), so a
// token never leaves out user_data silently.
func (s *core) customData(ctx context.Context, app *App, userID string) (json.RawMessage, error) {
	if app.data == nil || app.CustomUserData == nil {
		return nil, nil
	}
	doc, err := app.data.CustomUserData(ctx, userID)
	if err != nil {
		s.log.ErrorContext(ctx, "reading custom user data failed and no earlier copy is known", "app", app.ClientAppID, "user", userID, "err", err)
		return nil, &dataUnavailableError{reason: "the custom user data's data source is not answering", err: err}
	}
	if doc == nil {
		return nil, nil
	}
	raw, err := bson.MarshalExtJSON(doc, true, false)
	if err != nil {
		s.log.ErrorContext(ctx, "encoding custom user data failed", "app", app.ClientAppID, "user", userID, "err", err)
		return nil, nil
	}
	if len(raw) > MaxCustomDataBytes {
		s.log.WarnContext(ctx, "custom user data is larger than the token bound; left out of the token",
			"app", app.ClientAppID, "user", userID, "bytes", len(raw), "limit", MaxCustomDataBytes)
		return nil, nil
	}
	return raw, nil
}

// customDataValues is the custom data as context.user.custom_data and %%user.custom_data
// see it: plain maps and slices holding BSON values (ObjectIds, dates, Int32 and Int64
// as such); never nil.
func (s *core) customDataValues(ctx context.Context, app *App, userID string) map[string]any {
	m, _ := ejson.Plain(s.readCustomData(ctx, app, userID)).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// customDataJSON is the custom data as relaxed Extended JSON values, for operators.
func (s *core) customDataJSON(ctx context.Context, app *App, userID string) map[string]any {
	doc := s.readCustomData(ctx, app, userID)
	if doc == nil {
		return nil
	}
	raw, err := bson.MarshalExtJSON(doc, false, false)
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	return m
}

// readCustomData reads the custom data document, or nil when there is none or the data
// source failed (logged).
func (s *core) readCustomData(ctx context.Context, app *App, userID string) bson.D {
	if app.data == nil || app.CustomUserData == nil {
		return nil
	}
	doc, err := app.data.CustomUserData(ctx, userID)
	if err != nil {
		s.log.ErrorContext(ctx, "reading custom user data failed; left out of the token", "app", app.ClientAppID, "user", userID, "err", err)
		return nil
	}
	return doc
}

// onUserCreation runs the app's on_user_creation_function_name, as the system user, with
// the new user. A failure is logged; the login goes on, as App Services let it.
func (s *core) onUserCreation(ctx context.Context, app *App, userID string) {
	cfg := app.CustomUserData
	if cfg == nil || cfg.OnUserCreationFunctionName == "" || app.functions == nil {
		return
	}
	user, err := s.functionUser(ctx, app, userID)
	if err != nil {
		s.log.ErrorContext(ctx, "on-user-creation function: reading the user failed", "app", app.ClientAppID, "user", userID, "err", err)
		return
	}
	arg := map[string]any{"id": user.ID, "type": user.Type, "data": user.Data, "custom_data": user.CustomData, "identities": user.Identities}
	b, _ := json.Marshal(arg)
	var plain map[string]any
	_ = json.Unmarshal(b, &plain)
	_, err = app.functions.Call(ctx, function.Call{Name: cfg.OnUserCreationFunctionName, Args: []any{plain}, User: user, System: true, Login: true})
	if err != nil {
		s.log.ErrorContext(ctx, "on-user-creation function failed", "app", app.ClientAppID, "user", userID, "function", cfg.OnUserCreationFunctionName, "err", err)
	}
}

// CallService runs a MongoDB service action ("find", "insertOne", ...) for the user
// behind p, under the collection's rules.
func (s *Calls) CallService(ctx context.Context, p Principal, service, action string, arg bson.D) (any, error) {
	src, ok := p.App.data.Get(service)
	if !ok {
		return nil, fail(ErrServiceNotFound, fmt.Sprintf("service not found: '%s'", service))
	}
	user, err := s.FunctionUser(ctx, p)
	if err != nil {
		return nil, err
	}
	out, err := src.Execute(ctx, data.Caller{Env: s.rulesEnv(ctx, p.App, user)}, action, arg)
	if err != nil {
		return nil, dataError(err)
	}
	return out, nil
}

// DataSource returns the app's data source called name, and the caller for user p, for
// requests that the HTTP layer streams (watch).
func (s *Calls) DataSource(ctx context.Context, p Principal, service string) (*data.Source, data.Caller, error) {
	src, ok := p.App.data.Get(service)
	if !ok {
		return nil, data.Caller{}, fail(ErrServiceNotFound, fmt.Sprintf("service not found: '%s'", service))
	}
	user, err := s.FunctionUser(ctx, p)
	if err != nil {
		return nil, data.Caller{}, err
	}
	return src, data.Caller{Env: s.rulesEnv(ctx, p.App, user)}, nil
}

func (s *core) rulesEnv(ctx context.Context, app *App, user *function.User) rules.Env {
	if app.functions != nil {
		return app.functions.RulesEnv(ctx, user)
	}
	return rules.Env{User: user, Values: app.values, Environment: app.EnvironmentObject()}
}

// DataError maps the data package's errors to the Service's kinds.
func dataError(err error) error {
	var de *data.Error
	if !errors.As(err, &de) {
		return err
	}
	switch de.Kind {
	case data.KindInvalid:
		return fail(ErrInvalidParameter, de.Message)
	case data.KindNotPermitted:
		return fail(ErrRuleNotPermitted, de.Message)
	case data.KindUnknownAction:
		return fail(ErrServiceAction, de.Message)
	case data.KindUnsupported:
		return fail(ErrServiceUnsupported, de.Message)
	case data.KindLimit:
		return fail(ErrLimitReached, de.Message)
	}
	return fail(ErrMongo, de.Message)
}

// DataError maps an error of the data package to the Service's kinds (for the HTTP
// layer's streaming calls).
func DataError(err error) error { return dataError(err) }
