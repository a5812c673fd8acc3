package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/store"
)

// OAuthStateTTL is how long a browser has to come back from the provider's consent page.
const OAuthStateTTL = 10 * time.Minute

// RedirectStart is the start of a browser OAuth login (realm-web's Credentials.google({redirectUrl}) and the like):
// the SDK's popup asks for the provider's consent page.
type RedirectStart struct {
	AppID       string
	Provider    string
	Redirect    string // where the popup goes back to, with the result in its fragment
	ClientState string
	Device      Device
	// LinkAccessToken, when set, links the identity to that user instead of logging in.
	LinkAccessToken string
	// Callback is the URL of Warden's callback route, as the browser reaches it.
	Callback string
}

// RedirectStarted is a browser OAuth login begun: where to send the browser, and the
// secret that binds the login to it.
type RedirectStarted struct {
	// ConsentURL is the provider's consent page.
	ConsentURL string
	// StateID is the state the provider will send back.
	StateID string
	// BrowserSecret must come back with the callback, from the browser that started the
	// login (the HTTP layer keeps it in a cookie): a consent URL sent to someone else's
	// browser cannot finish there, so nobody can link their identity to another user, or
	// log them in as someone else (login CSRF).
	BrowserSecret string
}

// StartRedirectLogin checks the request and records the login in progress under a
// random state; the provider's consent URL carries the state.
func (s *Sessions) StartRedirectLogin(ctx context.Context, r RedirectStart) (RedirectStarted, error) {
	app, err := s.app(r.AppID)
	if err != nil {
		return RedirectStarted{}, err
	}
	entry, err := app.provider(r.Provider)
	if err != nil {
		return RedirectStarted{}, err
	}
	red, ok := entry.impl.(provider.Redirector)
	if !ok {
		return RedirectStarted{}, fail(ErrInvalidInput, fmt.Sprintf("provider '%s' has no redirect login: log in with a POST of its credentials", r.Provider))
	}
	if r.ClientState == "" || len(r.ClientState) > 128 {
		return RedirectStarted{}, fail(ErrInvalidInput, "state is required")
	}
	if !slices.Contains(entry.cfg.RedirectURIs, r.Redirect) {
		return RedirectStarted{}, fail(ErrInvalidInput, fmt.Sprintf("redirect URL %q is not in the provider's redirect_uris", r.Redirect))
	}
	st := store.OAuthState{AppID: app.ClientAppID, Provider: r.Provider, ClientState: r.ClientState, Redirect: r.Redirect, Callback: r.Callback,
		Device: r.Device.Map()}
	if r.LinkAccessToken != "" {
		p, err := s.Authenticate(ctx, r.LinkAccessToken)
		if err != nil {
			return RedirectStarted{}, err
		}
		if p.App != app {
			return RedirectStarted{}, fail(ErrInvalidSession, "invalid session: the access token belongs to another app")
		}
		st.LinkSessionID = p.SessionID
	}
	if st.ID, err = randomHex(24); err != nil {
		return RedirectStarted{}, err
	}
	secret, err := randomHex(32)
	if err != nil {
		return RedirectStarted{}, err
	}
	st.BrowserBinding = bindingOf(secret)
	st.CreatedAt = s.clock.Now()
	st.ExpiresAt = st.CreatedAt.Add(OAuthStateTTL)
	if err := s.store.PutOAuthState(ctx, st); err != nil {
		return RedirectStarted{}, fmt.Errorf("oauth start: %w", err)
	}
	return RedirectStarted{ConsentURL: red.AuthURL(st.ID, r.Callback), StateID: st.ID, BrowserSecret: secret}, nil
}

// RedirectFinish is the provider's callback of a browser OAuth login.
type RedirectFinish struct {
	StateID       string
	BrowserSecret string // from the cookie of the browser that came back
	Code          string
	Refusal       string // the provider's error, when it refused
	IP            string // the browser's address, for the audit log
}

// FinishRedirectLogin handles the provider's callback: it takes the state (once), checks
// that the browser is the one that started the login (browserSecret, from its cookie),
// exchanges the code, logs in (or links), and returns the URL to send the browser to:
// the app's redirect URL with the result in its fragment, as realm-web's
// handleAuthRedirect reads it. An unknown or expired state, or another browser, is an
// error; every other failure is reported in the fragment.
func (s *Sessions) FinishRedirectLogin(ctx context.Context, f RedirectFinish) (string, error) {
	stateID, browserSecret, code, refusal := f.StateID, f.BrowserSecret, f.Code, f.Refusal
	st, err := s.store.TakeOAuthState(ctx, stateID, s.clock.Now())
	if errors.Is(err, store.ErrNotFound) {
		return "", fail(ErrInvalidInput, "unknown or expired OAuth state: start the login again")
	}
	if err != nil {
		return "", fmt.Errorf("oauth callback: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(bindingOf(browserSecret)), []byte(st.BrowserBinding)) != 1 {
		s.log.WarnContext(ctx, "oauth callback from a browser that did not start the login; refused", "app", st.AppID, "provider", st.Provider)
		return "", fail(ErrInvalidInput, "this login was started in another browser: start the login again from this one")
	}
	fragment := url.Values{"_baas_client_app_id": {st.AppID}, "_baas_state": {st.ClientState}}
	finish := func(err error) (string, error) {
		if err != nil {
			var ae *Error
			msg := "login failed"
			if errors.As(err, &ae) {
				msg = ae.Message
			} else {
				s.log.ErrorContext(ctx, "oauth callback failed", "app", st.AppID, "provider", st.Provider, "err", err)
			}
			fragment.Set("_baas_error", msg)
		}
		return st.Redirect + "#" + encodeFragment(fragment), nil
	}
	if refusal != "" {
		return finish(fail(ErrAuthFailed, "the provider refused the login: "+refusal))
	}
	app, err := s.app(st.AppID)
	if err != nil {
		return finish(err)
	}
	entry, err := app.provider(st.Provider)
	if err != nil {
		return finish(err)
	}
	red, _ := entry.impl.(provider.Redirector)
	ident, err := red.Exchange(ctx, code, st.Callback)
	if err != nil {
		return finish(providerError(err, false))
	}
	var linker *Principal
	if st.LinkSessionID != "" {
		sess, err := s.store.GetSession(ctx, app.ClientAppID, st.LinkSessionID)
		if err != nil {
			return finish(fail(ErrInvalidSession, "invalid session: the linking session ended"))
		}
		p := principalOf(app, sess)
		linker = &p
	}
	res, err := s.completeLogin(ctx, app, entry, ident, linker, DeviceFrom(st.Device), f.IP)
	if err != nil {
		return finish(err)
	}
	if linker != nil {
		fragment.Set("_baas_link", "ok")
		fragment.Set("_baas_ua", strings.Join([]string{res.AccessToken, "", res.UserID, res.DeviceID}, "$"))
		return finish(nil)
	}
	fragment.Set("_baas_ua", strings.Join([]string{res.AccessToken, res.RefreshToken, res.UserID, res.DeviceID}, "$"))
	return finish(nil)
}

// bindingOf is what the store keeps of a browser secret.
func bindingOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// encodeFragment writes key=value pairs with every value URI-encoded (realm-web splits
// each pair on "=" and keeps two pieces, so no raw "=" may appear in a value).
func encodeFragment(v url.Values) string {
	order := []string{"_baas_client_app_id", "_baas_ua", "_baas_link", "_baas_error", "_baas_state"}
	var parts []string
	for _, k := range order {
		if val := v.Get(k); val != "" {
			parts = append(parts, k+"="+url.QueryEscape(val))
		}
	}
	return strings.ReplaceAll(strings.Join(parts, "&"), "+", "%20")
}
