package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

// Error is a failed request: the server's status, error_code and message.
// Use errors.As to get one.
type Error struct {
	Method     string
	URL        string
	StatusCode int
	// Code is the server's error_code, e.g. "InvalidSession" or "InvalidPassword".
	Code string
	// Message is the server's error message.
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if e.Code != "" {
		return fmt.Sprintf("%s %s: %s (%s, status %d)", e.Method, e.URL, msg, e.Code, e.StatusCode)
	}
	return fmt.Sprintf("%s %s: %s (status %d)", e.Method, e.URL, msg, e.StatusCode)
}

// IsInvalidSession reports whether err is a 401 InvalidSession answer.
func IsInvalidSession(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized && e.Code == "InvalidSession"
}

// ErrLoggedOut is returned for requests of a user who is logged out (or removed), and
// wraps the server's refusal when a refresh token stops working (the session was ended
// elsewhere, the user deleted or disabled): errors.Is(err, ErrLoggedOut) is the one check
// for "must log in again".
var ErrLoggedOut = errors.New("client: the user is logged out")

const maxResponse = 32 << 20

// send does one HTTP request with a JSON body (when body is not nil) and decodes a JSON
// answer into out (when out is not nil and the answer has a body).
func (a *App) send(ctx context.Context, host, method, path, bearer string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("client: encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	url := host + path
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("client: %s %s: reading answer: %w", method, url, err)
	}
	isJSON := false
	if ct := res.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		isJSON = mt == "application/json"
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := &Error{Method: method, URL: url, StatusCode: res.StatusCode}
		if isJSON {
			var body struct {
				Error     string `json:"error"`
				ErrorCode string `json:"error_code"`
			}
			if json.Unmarshal(data, &body) == nil {
				e.Message, e.Code = body.Error, body.ErrorCode
			}
		}
		return e
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if !isJSON {
		return fmt.Errorf("client: %s %s: expected a JSON answer, got %q", method, url, res.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: %s %s: decoding answer: %w", method, url, err)
	}
	return nil
}

type tokenKind int

const (
	tokenAccess tokenKind = iota
	tokenRefresh
)

// request sends a request as u. With the access token, a token about to expire is
// refreshed first, and a 401 InvalidSession answer is refreshed and retried once. With
// the refresh token, a 401 answer means the session is over: u is logged out locally.
func (u *User) request(ctx context.Context, method, path string, kind tokenKind, body, out any) error {
	a := u.app
	if kind == tokenRefresh {
		// The refresh token may have been rotated by another App on the storage: a
		// stale copy would end the session.
		_ = a.sync(ctx, nil)
		a.mu.Lock()
		tok := u.refreshToken
		a.mu.Unlock()
		if tok == "" {
			return ErrLoggedOut
		}
		err := a.do(ctx, method, path, tok, body, out)
		var e *Error
		if errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized {
			u.forgetTokens(tok, err)
			return loggedOut(err)
		}
		return err
	}
	tok, gen, err := u.freshAccessToken(ctx)
	if err != nil {
		return err
	}
	err = a.do(ctx, method, path, tok, body, out)
	if !IsInvalidSession(err) {
		return err
	}
	tok, rerr := u.refreshAfter(ctx, gen)
	if rerr != nil {
		return rerr
	}
	return a.do(ctx, method, path, tok, body, out)
}

// freshAccessToken returns u's access token and its generation, refreshing it first
// when it expires within the App's margin.
func (u *User) freshAccessToken(ctx context.Context) (string, uint64, error) {
	a := u.app
	a.mu.Lock()
	tok, refresh, gen := u.accessToken, u.refreshToken, u.tokenGen
	a.mu.Unlock()
	if refresh == "" {
		return "", 0, ErrLoggedOut
	}
	if tok != "" {
		if exp, ok := tokenExpiry(tok); ok && a.now().Add(a.margin).Before(exp) {
			return tok, gen, nil
		}
	}
	tok, err := u.refreshAfter(ctx, gen)
	return tok, gen + 1, err
}

// refreshAfter gets a new access token unless another goroutine already replaced the
// token of generation seen while this one waited: concurrent requests share one refresh.
// It runs under the storage's lock after taking in the stored state, so that when another
// App on the same storage (another process) refreshed meanwhile, its fresh token is used,
// and its rotated refresh token, rather than this App's stale copy; the new tokens are
// written before the lock is let go.
func (u *User) refreshAfter(ctx context.Context, seen uint64) (string, error) {
	return u.refresh(ctx, seen, false)
}

// refreshTimeout bounds a refresh made while the storage is held (other processes wait).
const refreshTimeout = 30 * time.Second

// refresh is refreshAfter; with force, the server is asked for a new token even when
// another App refreshed meanwhile (RefreshAccessToken: fresh custom data).
func (u *User) refresh(ctx context.Context, seen uint64, force bool) (string, error) {
	o := u.refreshLocked(ctx, seen, force)
	// Told once every lock is let go: a subscriber may call the App.
	if o.storageErr != nil {
		u.app.emit(Event{Kind: EventStorageError, Err: o.storageErr})
	}
	if o.loggedOutBy != nil {
		u.app.emit(Event{Kind: EventLoggedOut, UserID: u.id, Err: o.loggedOutBy})
	}
	if o.refreshed {
		u.app.emit(Event{Kind: EventTokenRefreshed, UserID: u.id})
	}
	return o.token, o.err
}

// refreshOutcome is what refreshLocked did, for refresh to tell.
type refreshOutcome struct {
	token                        string
	refreshed                    bool
	err, loggedOutBy, storageErr error
}

func (u *User) refreshLocked(ctx context.Context, seen uint64, force bool) refreshOutcome {
	u.refreshMu.Lock()
	defer u.refreshMu.Unlock()
	a := u.app
	var tok string
	var rerr, loggedOutBy error
	refreshed, ran := false, false
	refreshNow := func() {
		a.mu.Lock()
		current, refresh, gen, own := u.accessToken, u.refreshToken, u.tokenGen, u.refreshedGen
		a.mu.Unlock()
		if refresh == "" {
			rerr = ErrLoggedOut
			return
		}
		if gen != seen && current != "" && !force {
			// Another goroutine refreshed meanwhile (its token is new), or another App did
			// (its token is used while it is fresh).
			if exp, ok := tokenExpiry(current); gen == own || ok && a.now().Add(a.margin).Before(exp) {
				tok = current
				return
			}
		}
		var res struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		path := "/api/client/v2.0/auth/session?rotate_refresh_token=true"
		if a.keepRefresh {
			path = "/api/client/v2.0/auth/session"
		}
		rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
		defer cancel()
		err := a.do(rctx, http.MethodPost, path, refresh, nil, &res)
		var e *Error
		if errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized {
			a.mu.Lock()
			if u.forgetTokensLocked(refresh) {
				loggedOutBy = err
			}
			a.mu.Unlock()
			rerr = loggedOut(err)
			return
		}
		if err != nil {
			rerr = err
			return
		}
		if res.AccessToken == "" {
			rerr = errors.New("client: refresh answer has no access_token")
			return
		}
		a.mu.Lock()
		if u.refreshToken == refresh {
			u.accessToken = res.AccessToken
			if res.RefreshToken != "" {
				u.refreshToken = res.RefreshToken
			}
			u.tokenGen++
			u.refreshedGen = u.tokenGen
		}
		a.mu.Unlock()
		tok, refreshed = res.AccessToken, true
	}
	serr := a.syncLocked(ctx, func() { ran = true; refreshNow() })
	if !ran {
		// The storage cannot be read: refresh all the same (this process keeps working).
		refreshNow()
	}
	return refreshOutcome{token: tok, refreshed: refreshed, err: rerr, loggedOutBy: loggedOutBy, storageErr: serr}
}

// forgetTokens logs u out locally after the server refused its refresh token.
func (u *User) forgetTokens(refresh string, cause error) {
	a := u.app
	a.mu.Lock()
	forgot := u.forgetTokensLocked(refresh)
	a.mu.Unlock()
	if !forgot {
		return
	}
	a.persist()
	a.emit(Event{Kind: EventLoggedOut, UserID: u.id, Err: cause})
}

// forgetTokensLocked logs u out locally if refresh is still its refresh token; the caller
// holds app.mu.
func (u *User) forgetTokensLocked(refresh string) bool {
	if u.refreshToken != refresh || u.state != StateLoggedIn {
		return false
	}
	u.accessToken, u.refreshToken, u.state = "", "", StateLoggedOut
	return true
}
