package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/wardenauth/warden/internal/auth/provider/userpass"
	wmail "github.com/wardenauth/warden/internal/mail"
	"github.com/wardenauth/warden/internal/store"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Limits of email/password accounts.
const (
	MinPasswordLength = 6
	MaxPasswordLength = 128
	MaxEmailLength    = 254
)

// userpassApp returns the app and its enabled local-userpass configuration.
func (s *core) userpassApp(appID, providerName string) (*App, *userpass.Config, error) {
	app, err := s.app(appID)
	if err != nil {
		return nil, nil, err
	}
	if providerName != userpass.Type {
		return nil, nil, fail(ErrProviderNotFound, fmt.Sprintf("authentication via '%s' has no email/password operations", providerName))
	}
	if _, err := app.provider(providerName); err != nil {
		return nil, nil, err
	}
	return app, app.userpass, nil
}

// ValidateEmail checks an email address as registration does.
func ValidateEmail(email string) error {
	if email == "" {
		return fail(ErrInvalidInput, "email is required")
	}
	if len(email) > MaxEmailLength {
		return fail(ErrInvalidInput, fmt.Sprintf("email must be at most %d characters", MaxEmailLength))
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") && !strings.HasSuffix(email, "@localhost") {
		return fail(ErrInvalidInput, "email invalid")
	}
	return nil
}

func validatePassword(pw string, minLen int) error {
	n := utf8.RuneCountInString(pw)
	if !utf8.ValidString(pw) || n < minLen || n > MaxPasswordLength {
		return fail(ErrInvalidInput, fmt.Sprintf("password must be between %d and %d characters", minLen, MaxPasswordLength))
	}
	return nil
}

// validatePassword checks a new password against the server's minimum length.
func (s *core) validatePassword(pw string) error { return validatePassword(pw, s.minPassword) }

// Register creates an email/password account: confirmed at once with autoConfirm,
// otherwise pending with a confirmation email sent.
func (s *EmailPassword) Register(ctx context.Context, appID, providerName, email, password string) error {
	app, cfg, err := s.userpassApp(appID, providerName)
	if err != nil {
		return err
	}
	if err := ValidateEmail(email); err != nil {
		return err
	}
	if err := s.validatePassword(password); err != nil {
		return err
	}
	if _, err := s.store.GetAccountByEmail(ctx, app.ClientAppID, email); err == nil {
		return fail(ErrAccountNameInUse, "name already in use")
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	acct := store.Account{AppID: app.ClientAppID, ID: bson.NewObjectID().Hex(), Email: email, PasswordHash: hash, Status: store.AccountPending, CreatedAt: now}
	var tok *store.AccountToken
	var secret string
	byFunction := false
	if cfg.AutoConfirm {
		acct.Status = store.AccountConfirmed
	} else {
		t, sec, err := s.newAccountToken(app, acct.ID, store.TokenConfirm)
		if err != nil {
			return err
		}
		tok, secret = &t, sec
		if cfg.RunConfirmationFunction {
			// The function decides before anything is stored: a failed confirmation leaves
			// nothing behind, and the email can be registered again.
			byFunction = true
			status, err := s.runStatusFunction(ctx, app, cfg.ConfirmationFunctionName,
				map[string]any{"username": email, "token": secret, "tokenId": t.TokenID})
			if err != nil {
				return err
			}
			switch status {
			case "fail":
				return fail(ErrFlowFailed, fmt.Sprintf("failed to confirm user %q", email))
			case "success":
				acct.Status, tok = store.AccountConfirmed, nil
			}
		}
	}
	err = s.store.CreateAccount(ctx, acct, tok)
	if errors.Is(err, store.ErrEmailTaken) {
		return fail(ErrAccountNameInUse, "name already in use")
	}
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	s.log.InfoContext(ctx, "account registered", "app", app.ClientAppID, "account", acct.ID, "status", acct.Status)
	if tok != nil && !byFunction {
		s.sendAccountMail(ctx, app, email, cfg.EmailConfirmationURL, subjectOr(cfg.ConfirmEmailSubject, "Confirm your email address"),
			"Confirm your email address by opening this link:", tok.TokenID, secret)
	}
	return nil
}

func subjectOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *core) newAccountToken(app *App, accountID, purpose string) (store.AccountToken, string, error) {
	secret, err := randomHex(32)
	if err != nil {
		return store.AccountToken{}, "", err
	}
	now := s.clock.Now()
	return store.AccountToken{
		AppID: app.ClientAppID, TokenID: bson.NewObjectID().Hex(), Hash: hashSecret(secret),
		AccountID: accountID, Purpose: purpose, CreatedAt: now, ExpiresAt: now.Add(AccountTokenTTL),
	}, secret, nil
}

// sendAccountMail mails a link with token and tokenId. A failure is logged (without the
// token) and not returned: the account change is already committed, and the user can
// ask for the mail again.
func (s *core) sendAccountMail(ctx context.Context, app *App, to, base, subject, intro, tokenID, secret string) {
	link := withTokenQuery(base, secret, tokenID)
	body := fmt.Sprintf("%s\n\n%s\n\nThe link works once, for %d minutes. If you did not ask for this, ignore this email.\n", intro, link, int(AccountTokenTTL.Minutes()))
	if err := s.mail.Send(ctx, wmail.Message{To: to, Subject: subject, Body: body}); err != nil {
		s.log.ErrorContext(ctx, "sending account email failed", "app", app.ClientAppID, "subject", subject, "err", err)
	}
}

func withTokenQuery(base, secret, tokenID string) string {
	u, err := url.Parse(base)
	if err != nil || base == "" {
		return "token=" + url.QueryEscape(secret) + "&tokenId=" + url.QueryEscape(tokenID)
	}
	q := u.Query()
	q.Set("token", secret)
	q.Set("tokenId", tokenID)
	u.RawQuery = q.Encode()
	return u.String()
}

func requireTokenInput(token, tokenID string) error {
	if token == "" || tokenID == "" || len(token) > 512 || len(tokenID) > 512 {
		return fail(ErrTokenInvalid, "invalid token data")
	}
	return nil
}

// Confirm confirms a pending account with the token and tokenId from its email.
func (s *EmailPassword) Confirm(ctx context.Context, appID, providerName, token, tokenID string) error {
	app, _, err := s.userpassApp(appID, providerName)
	if err != nil {
		return err
	}
	if err := requireTokenInput(token, tokenID); err != nil {
		return err
	}
	acct, err := s.store.ConfirmAccount(ctx, app.ClientAppID, tokenID, hashSecret(token), s.clock.Now())
	if errors.Is(err, store.ErrTokenInvalid) {
		return fail(ErrTokenInvalid, "invalid token data")
	}
	if err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	s.log.InfoContext(ctx, "account confirmed", "app", app.ClientAppID, "account", acct.ID)
	return nil
}

// accountForFlow finds the account an email names for the resend/reset flows.
func (s *core) accountForFlow(ctx context.Context, app *App, email string) (store.Account, error) {
	if email == "" {
		return store.Account{}, fail(ErrInvalidInput, "email is required")
	}
	acct, err := s.store.GetAccountByEmail(ctx, app.ClientAppID, email)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, fail(ErrUserNotFound, "user not found")
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("finding account: %w", err)
	}
	return acct, nil
}

// ResendConfirmation mails a new confirmation link to a pending account.
func (s *EmailPassword) ResendConfirmation(ctx context.Context, appID, providerName, email string) error {
	app, cfg, err := s.userpassApp(appID, providerName)
	if err != nil {
		return err
	}
	acct, err := s.accountForFlow(ctx, app, email)
	if err != nil {
		return err
	}
	if acct.Status == store.AccountConfirmed {
		return fail(ErrAlreadyConfirmed, "already confirmed")
	}
	if cfg.RunConfirmationFunction {
		return fail(ErrFlowNotEnabled, fmt.Sprintf("cannot send a confirmation email for %s: confirmation runs through a function; use retryCustomConfirmation", email))
	}
	tok, secret, err := s.newAccountToken(app, acct.ID, store.TokenConfirm)
	if err != nil {
		return err
	}
	if err := s.store.AddAccountToken(ctx, tok); err != nil {
		return fmt.Errorf("resend confirmation: %w", err)
	}
	s.sendAccountMail(ctx, app, acct.Email, cfg.EmailConfirmationURL, subjectOr(cfg.ConfirmEmailSubject, "Confirm your email address"),
		"Confirm your email address by opening this link:", tok.TokenID, secret)
	s.auditOperator(ctx, app.ClientAppID, "user.resend_confirmation", email, "")
	return nil
}

// RetryCustomConfirmation runs the confirmation function again for a pending account.
func (s *EmailPassword) RetryCustomConfirmation(ctx context.Context, appID, providerName, email string) error {
	app, cfg, err := s.userpassApp(appID, providerName)
	if err != nil {
		return err
	}
	if cfg.AutoConfirm {
		return fail(ErrFlowNotEnabled, fmt.Sprintf("cannot run confirmation for %s: automatic confirmation is enabled", email))
	}
	if !cfg.RunConfirmationFunction {
		return fail(ErrFlowNotEnabled, fmt.Sprintf("cannot run confirmation for %s: confirmation function is not enabled", email))
	}
	acct, err := s.accountForFlow(ctx, app, email)
	if err != nil {
		return err
	}
	if acct.Status == store.AccountConfirmed {
		return fail(ErrAlreadyConfirmed, "already confirmed")
	}
	tok, secret, err := s.newAccountToken(app, acct.ID, store.TokenConfirm)
	if err != nil {
		return err
	}
	if err := s.store.AddAccountToken(ctx, tok); err != nil {
		return fmt.Errorf("retry confirmation: %w", err)
	}
	status, err := s.runStatusFunction(ctx, app, cfg.ConfirmationFunctionName,
		map[string]any{"username": acct.Email, "token": secret, "tokenId": tok.TokenID})
	if err != nil {
		return err
	}
	switch status {
	case "fail":
		return fail(ErrFlowFailed, fmt.Sprintf("failed to confirm user %q", acct.Email))
	case "success":
		if _, err := s.store.ConfirmAccount(ctx, app.ClientAppID, tok.TokenID, hashSecret(secret), s.clock.Now()); err != nil {
			return fmt.Errorf("retry confirmation: %w", err)
		}
	}
	return nil
}

// SendPasswordReset mails a password-reset link.
func (s *EmailPassword) SendPasswordReset(ctx context.Context, appID, providerName, email string) error {
	app, cfg, err := s.userpassApp(appID, providerName)
	if err != nil {
		return err
	}
	if cfg.RunResetFunction {
		return fail(ErrFlowNotEnabled, "please use reset password via function")
	}
	acct, err := s.accountForFlow(ctx, app, email)
	if err != nil {
		return err
	}
	tok, secret, err := s.newAccountToken(app, acct.ID, store.TokenReset)
	if err != nil {
		return err
	}
	if err := s.store.AddAccountToken(ctx, tok); err != nil {
		return fmt.Errorf("send reset: %w", err)
	}
	s.sendAccountMail(ctx, app, acct.Email, cfg.ResetPasswordURL, subjectOr(cfg.ResetPasswordSubject, "Reset your password"),
		"Set a new password by opening this link:", tok.TokenID, secret)
	s.auditOperator(ctx, app.ClientAppID, "user.password_reset", email, "")
	return nil
}

// ResetPassword sets a new password with the token and tokenId of a reset email.
func (s *EmailPassword) ResetPassword(ctx context.Context, appID, providerName, token, tokenID, password string) error {
	app, _, err := s.userpassApp(appID, providerName)
	if err != nil {
		return err
	}
	if err := s.validatePassword(password); err != nil {
		return err
	}
	if err := requireTokenInput(token, tokenID); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	acct, err := s.store.ResetPassword(ctx, app.ClientAppID, tokenID, hashSecret(token), hash, s.clock.Now())
	if errors.Is(err, store.ErrTokenInvalid) {
		return fail(ErrTokenInvalid, "invalid token data")
	}
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	s.log.InfoContext(ctx, "password reset", "app", app.ClientAppID, "account", acct.ID)
	return nil
}

// CallResetFunction runs the app's reset function (reset/call) with the account's
// details and the client's extra arguments: "success" sets the password at once,
// "pending" keeps a reset token for a later /reset, "fail" refuses.
func (s *EmailPassword) CallResetFunction(ctx context.Context, appID, providerName, email, password string, args []any) error {
	app, cfg, err := s.userpassApp(appID, providerName)
	if err != nil {
		return err
	}
	if !cfg.RunResetFunction {
		return fail(ErrFlowNotEnabled, "cannot call the reset function: reset by function is not enabled")
	}
	if err := s.validatePassword(password); err != nil {
		return err
	}
	acct, err := s.accountForFlow(ctx, app, email)
	if err != nil {
		return err
	}
	currentValid := s.hasher.Verify(ctx, acct.PasswordHash, password) == nil
	tok, secret, err := s.newAccountToken(app, acct.ID, store.TokenReset)
	if err != nil {
		return err
	}
	if err := s.store.AddAccountToken(ctx, tok); err != nil {
		return fmt.Errorf("reset by function: %w", err)
	}
	first := map[string]any{"username": acct.Email, "password": password, "token": secret, "tokenId": tok.TokenID, "currentPasswordValid": currentValid}
	status, err := s.runStatusFunction(ctx, app, cfg.ResetFunctionName, append([]any{first}, args...)...)
	if err != nil {
		return err
	}
	switch status {
	case "fail":
		return fail(ErrFlowFailed, fmt.Sprintf("failed to reset password for user %q", acct.Email))
	case "success":
		hash, err := s.hasher.Hash(ctx, password)
		if err != nil {
			return err
		}
		if _, err := s.store.ResetPassword(ctx, app.ClientAppID, tok.TokenID, hashSecret(secret), hash, s.clock.Now()); err != nil {
			return fmt.Errorf("reset by function: %w", err)
		}
		s.log.InfoContext(ctx, "password reset by function", "app", app.ClientAppID, "account", acct.ID)
	}
	return nil
}
