package client

import (
	"context"
	"net/http"
)

// EmailPasswordAuth runs the email/password provider's account operations.
type EmailPasswordAuth struct{ app *App }

// EmailPasswordAuth returns the app's email/password operations.
func (a *App) EmailPasswordAuth() *EmailPasswordAuth { return &EmailPasswordAuth{app: a} }

func (e *EmailPasswordAuth) post(ctx context.Context, op string, body map[string]any) error {
	return e.app.do(ctx, http.MethodPost, e.app.appPath("/auth/providers/local-userpass/"+op), "", body, nil)
}

// RegisterUser registers an email and password.
func (e *EmailPasswordAuth) RegisterUser(ctx context.Context, email, password string) error {
	return e.post(ctx, "register", map[string]any{"email": email, "password": password})
}

// ConfirmUser confirms an account with the token and tokenId of its confirmation link.
func (e *EmailPasswordAuth) ConfirmUser(ctx context.Context, token, tokenID string) error {
	return e.post(ctx, "confirm", map[string]any{"token": token, "tokenId": tokenID})
}

// ResendConfirmationEmail sends a new confirmation link.
func (e *EmailPasswordAuth) ResendConfirmationEmail(ctx context.Context, email string) error {
	return e.post(ctx, "confirm/send", map[string]any{"email": email})
}

// RetryCustomConfirmation runs the app's confirmation function again.
func (e *EmailPasswordAuth) RetryCustomConfirmation(ctx context.Context, email string) error {
	return e.post(ctx, "confirm/call", map[string]any{"email": email})
}

// SendResetPasswordEmail sends a password-reset link.
func (e *EmailPasswordAuth) SendResetPasswordEmail(ctx context.Context, email string) error {
	return e.post(ctx, "reset/send", map[string]any{"email": email})
}

// ResetPassword sets a new password with the token and tokenId of a reset link.
func (e *EmailPasswordAuth) ResetPassword(ctx context.Context, token, tokenID, password string) error {
	return e.post(ctx, "reset", map[string]any{"token": token, "tokenId": tokenID, "password": password})
}

// CallResetPasswordFunction runs the app's reset function with extra arguments.
func (e *EmailPasswordAuth) CallResetPasswordFunction(ctx context.Context, email, password string, args ...any) error {
	if args == nil {
		args = []any{}
	}
	return e.post(ctx, "reset/call", map[string]any{"email": email, "password": password, "arguments": args})
}
