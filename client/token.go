package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Token returns a valid access token for the program's own requests (to its services,
// which verify it with the server's JWKS), refreshing it first when it expires within
// the App's refresh margin; concurrent calls share one refresh, as the SDK's own
// requests do. It returns ErrLoggedOut (possibly wrapping the server's answer) when the
// user must log in again.
func (u *User) Token(ctx context.Context) (string, error) {
	tok, _, err := u.freshAccessToken(ctx)
	return tok, err
}

// AccessTokenExpiry is when the user's current access token expires (zero when there is
// none).
func (u *User) AccessTokenExpiry() time.Time {
	exp, _ := tokenExpiry(u.AccessToken())
	return exp
}

// TokenSource is the shape of golang.org/x/oauth2's TokenSource without the dependency:
// a function that returns a valid bearer token.
type TokenSource interface {
	// Token returns a valid access token and when it expires.
	Token() (token string, expiry time.Time, err error)
}

// TokenSource returns a TokenSource of u that refreshes as Token does, each call bound
// to ctx.
func (u *User) TokenSource(ctx context.Context) TokenSource { return userTokens{ctx: ctx, u: u} }

type userTokens struct {
	ctx context.Context
	u   *User
}

func (t userTokens) Token() (string, time.Time, error) {
	tok, err := t.u.Token(t.ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	exp, _ := tokenExpiry(tok)
	return tok, exp, nil
}

// HTTPClient returns an *http.Client, built on the App's, that sends u's access token as
// "Authorization: Bearer" on every request (refreshing it first when needed) and, when
// an answer is 401, refreshes once and sends the request again (when its body can be
// sent again: no body, or one made by http.NewRequest from a bytes, strings or
// bytes.Buffer reader).
func (u *User) HTTPClient() *http.Client {
	base := u.app.http
	if base == nil {
		base = http.DefaultClient
	}
	c := *base
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = bearerTransport{u: u, next: next}
	return &c
}

type bearerTransport struct {
	u    *User
	next http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, gen, err := b.u.freshAccessToken(r.Context())
	if err != nil {
		return nil, fmt.Errorf("client: access token: %w", err)
	}
	res, err := b.next.RoundTrip(withBearer(r, tok))
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		return res, err
	}
	if r.Body != nil && r.GetBody == nil {
		return res, nil // the body cannot be sent twice
	}
	tok, err = b.u.refreshAfter(r.Context(), gen)
	if err != nil {
		return res, nil // the 401 stands; the user's state says why
	}
	retry := withBearer(r, tok)
	if r.GetBody != nil {
		body, err := r.GetBody()
		if err != nil {
			return res, nil
		}
		retry.Body = body
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return b.next.RoundTrip(retry)
}

// withBearer is a copy of r with the token in its Authorization header (a RoundTripper
// must not change the request it was given).
func withBearer(r *http.Request, tok string) *http.Request {
	c := r.Clone(r.Context())
	c.Header.Set("Authorization", "Bearer "+tok)
	return c
}
