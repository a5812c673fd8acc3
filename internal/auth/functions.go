package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/function"
	"github.com/wardenauth/warden/internal/store"
)

// FunctionUser is the context.user of a call made by the user behind p.
func (s *Calls) FunctionUser(ctx context.Context, p Principal) (*function.User, error) {
	u, err := s.profile(ctx, p)
	if err != nil {
		return nil, err
	}
	return s.functionUserOf(ctx, p.App, u), nil
}

// functionUser is context.user for a user id, with the user's custom data.
func (s *core) functionUser(ctx context.Context, app *App, userID string) (*function.User, error) {
	u, err := s.store.GetUser(ctx, app.ClientAppID, userID)
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	return s.functionUserOf(ctx, app, u), nil
}

func (s *core) functionUserOf(ctx context.Context, app *App, u store.User) *function.User {
	custom := s.customDataValues(ctx, app, u.ID)
	fu := &function.User{ID: u.ID, Type: u.Type, Data: u.Data, CustomData: custom}
	for _, id := range u.Identities {
		fu.Identities = append(fu.Identities, function.Identity{ID: id.ID, ProviderType: id.ProviderType})
	}
	return fu
}

// CallFunction runs the app function name for the user behind p, as a client call
// (private functions are refused), and returns its result as relaxed Extended JSON.
func (s *Calls) CallFunction(ctx context.Context, p Principal, name string, args []any, req function.Request) (json.RawMessage, error) {
	if p.App.functions == nil {
		return nil, fail(ErrFunctionNotFound, fmt.Sprintf("function not found: '%s'", name))
	}
	user, err := s.FunctionUser(ctx, p)
	if err != nil {
		return nil, err
	}
	out, err := p.App.functions.Call(ctx, function.Call{Name: name, Args: args, User: user, FromClient: true, Request: req})
	if err != nil {
		return nil, functionError(name, err)
	}
	return out, nil
}

// functionError maps the function engine's errors to the Service's.
func functionError(name string, err error) error {
	var ee *function.ExecError
	switch {
	case errors.Is(err, function.ErrNotFound):
		return fail(ErrFunctionNotFound, fmt.Sprintf("function not found: '%s'", name))
	case errors.Is(err, function.ErrPrivate):
		return fail(ErrFunctionPrivate, fmt.Sprintf("function '%s' is private and cannot be called by a client", name))
	case errors.Is(err, function.ErrNotPermitted):
		return fail(ErrRuleNotPermitted, err.Error())
	case errors.Is(err, function.ErrMemory):
		return fail(ErrFunctionFailed, fmt.Sprintf("function '%s' used more memory than allowed and was stopped", name))
	case errors.Is(err, function.ErrTimeout):
		return fail(ErrFunctionTimeout, fmt.Sprintf("function '%s' ran past its time limit and was stopped", name))
	case errors.As(err, &ee):
		return fail(ErrFunctionFailed, ee.Message)
	}
	return err
}

// runStatusFunction runs a confirmation or reset function as the system user and returns
// the status it chose: "success", "pending" or "fail" (a thrown error is "fail").
func (s *core) runStatusFunction(ctx context.Context, app *App, name string, args ...any) (string, error) {
	res, err := app.functions.CallValue(ctx, function.Call{Name: name, Args: args, System: true, Login: true})
	var ee *function.ExecError
	if errors.As(err, &ee) {
		s.log.InfoContext(ctx, "email/password function failed", "app", app.ClientAppID, "function", name, "error", ee.Message)
		return "fail", nil
	}
	if err != nil {
		return "", functionError(name, err)
	}
	if m, ok := res.(map[string]any); ok {
		switch st, _ := m["status"].(string); st {
		case "success", "pending", "fail":
			return st, nil
		}
	}
	s.log.WarnContext(ctx, "email/password function returned no valid status; treated as fail", "app", app.ClientAppID, "function", name)
	return "fail", nil
}

// loginFunctions runs functions for the providers that call one at login (custom-function
// login): as the system user, on the slots kept for logins.
type loginFunctions struct{ e *function.Engine }

func (f loginFunctions) Has(name string) bool { return f.e.Has(name) }

func (f loginFunctions) CallLogin(ctx context.Context, name string, arg any) (any, error) {
	res, err := f.e.CallValue(ctx, function.Call{Name: name, Args: []any{arg}, System: true, Login: true})
	var ee *function.ExecError
	if errors.As(err, &ee) {
		return nil, &provider.RejectedError{Message: ee.Message}
	}
	return res, err
}
