package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// State is a user's state on this device. (realm-web calls a logged-in user's state
// "active"; here that word is kept for the active user, App.CurrentUser, which is one of
// the logged-in users.)
type State string

// User states.
const (
	StateLoggedIn  State = "logged-in"
	StateLoggedOut State = "logged-out"
	StateRemoved   State = "removed"
)

// Identity is one way the user logs in.
type Identity struct {
	ID           string `json:"id"`
	ProviderType string `json:"provider_type"`
	ProviderID   string `json:"provider_id,omitempty"`
}

// Profile is what the server says about a user (GET /auth/profile).
type Profile struct {
	UserID     string     `json:"user_id"`
	Type       string     `json:"type"`
	Identities []Identity `json:"identities"`
	// Data is the provider data, raw.
	Data map[string]any `json:"data"`
	// The common data fields, typed.
	Name, Email, PictureURL, FirstName, LastName, Gender, Birthday string
	MinAge, MaxAge                                                 int
}

// User is a user who logged in on this device.
type User struct {
	app          *App
	id           string
	providerType string
	refreshMu    sync.Mutex

	// Guarded by app.mu.
	state        State
	accessToken  string
	refreshToken string
	tokenGen     uint64 // counts access-token replacements
	refreshedGen uint64 // the tokenGen of this App's last refresh of the user
	activeAt     int64  // when it last became the active user (Unix ns)
	deviceID     string
	profile      Profile
	rawProfile   json.RawMessage
}

// ID is the user's id.
func (u *User) ID() string { return u.id }

// ProviderType is the provider of the user's current session on this device (the one it
// last logged in with).
func (u *User) ProviderType() string { u.app.mu.Lock(); defer u.app.mu.Unlock(); return u.providerType }

// State is the user's state on this device.
func (u *User) State() State { u.app.mu.Lock(); defer u.app.mu.Unlock(); return u.state }

// IsLoggedIn reports whether the user is logged in.
func (u *User) IsLoggedIn() bool { return u.State() == StateLoggedIn }

// AccessToken is the user's current access token ("" when logged out).
func (u *User) AccessToken() string { u.app.mu.Lock(); defer u.app.mu.Unlock(); return u.accessToken }

// RefreshToken is the user's refresh token ("" when logged out).
func (u *User) RefreshToken() string {
	u.app.mu.Lock()
	defer u.app.mu.Unlock()
	return u.refreshToken
}

// DeviceID is the id the server gave this device.
func (u *User) DeviceID() string { u.app.mu.Lock(); defer u.app.mu.Unlock(); return u.deviceID }

// Profile is the user's profile as last fetched.
func (u *User) Profile() Profile { u.app.mu.Lock(); defer u.app.mu.Unlock(); return u.profile }

// Identities are the user's identities as last fetched, in the order they were added.
func (u *User) Identities() []Identity {
	u.app.mu.Lock()
	defer u.app.mu.Unlock()
	return append([]Identity(nil), u.profile.Identities...)
}

// CustomData is the custom user data in the current access token (empty when none).
// The server writes it as canonical Extended JSON; it is decoded into maps and slices of
// BSON values: int32 and int64 as stored, bson.DateTime, bson.ObjectID, float64, strings.
func (u *User) CustomData() map[string]any {
	b, ok := customDataClaim(u.AccessToken())
	if !ok {
		return map[string]any{}
	}
	var d bson.D
	if err := bson.UnmarshalExtJSON(b, true, &d); err != nil {
		return map[string]any{}
	}
	m, _ := plainBSON(d).(map[string]any)
	return m
}

// DecodeCustomData decodes the custom user data of the current access token into v (a
// pointer to a struct with bson tags, a *bson.D or a *bson.M). With no custom data, v is
// left as it is.
func (u *User) DecodeCustomData(v any) error {
	b, ok := customDataClaim(u.AccessToken())
	if !ok {
		return nil
	}
	var doc bson.Raw
	if err := bson.UnmarshalExtJSON(b, true, &doc); err != nil {
		return fmt.Errorf("client: custom data: %w", err)
	}
	if err := bson.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("client: decoding custom data: %w", err)
	}
	return nil
}

// plainBSON turns decoded documents into maps and arrays into slices, recursively.
func plainBSON(v any) any {
	switch x := v.(type) {
	case bson.D:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = plainBSON(e.Value)
		}
		return m
	case bson.A:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainBSON(e)
		}
		return out
	}
	return v
}

// RefreshAccessToken gets a new access token now.
func (u *User) RefreshAccessToken(ctx context.Context) error {
	u.app.mu.Lock()
	gen := u.tokenGen
	u.app.mu.Unlock()
	_, err := u.refresh(ctx, gen, true)
	return err
}

// RefreshCustomData gets a new access token (which carries fresh custom data) and
// returns the custom data.
func (u *User) RefreshCustomData(ctx context.Context) (map[string]any, error) {
	if err := u.RefreshAccessToken(ctx); err != nil {
		return nil, err
	}
	return u.CustomData(), nil
}

// RefreshProfile fetches the user's profile.
func (u *User) RefreshProfile(ctx context.Context) error {
	var raw json.RawMessage
	if err := u.request(ctx, http.MethodGet, "/api/client/v2.0/auth/profile", tokenAccess, nil, &raw); err != nil {
		return err
	}
	u.app.mu.Lock()
	err := u.setProfile(raw)
	u.app.mu.Unlock()
	if err != nil {
		return err
	}
	u.app.persist()
	return nil
}

// setProfile decodes a profile answer; the caller holds app.mu (or owns u alone).
func (u *User) setProfile(raw json.RawMessage) error {
	var p Profile
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("client: decoding profile: %w", err)
	}
	if p.Type == "" || p.Identities == nil || p.Data == nil {
		return errors.New("client: profile answer lacks type, identities or data")
	}
	str := func(k string) string { s, _ := p.Data[k].(string); return s }
	num := func(k string) int { f, _ := p.Data[k].(float64); return int(f) }
	p.Name, p.Email, p.FirstName, p.LastName = str("name"), str("email"), str("first_name"), str("last_name")
	p.Gender, p.Birthday = str("gender"), str("birthday")
	p.PictureURL = str("picture_url")
	if p.PictureURL == "" {
		p.PictureURL = str("picture")
	}
	p.MinAge, p.MaxAge = num("min_age"), num("max_age")
	u.profile, u.rawProfile = p, raw
	return nil
}

// LinkCredentials adds the identity of creds to this user.
func (u *User) LinkCredentials(ctx context.Context, creds Credentials) error {
	if creds.provider == "" {
		return errors.New("client: empty credentials: make them with EmailPassword, APIKey, JWT, Function or the OAuth constructors")
	}
	if creds.provider == "anon-user" {
		return errors.New("client: anonymous credentials cannot be linked to a user")
	}
	a := u.app
	var res struct {
		AccessToken string `json:"access_token"`
		UserID      string `json:"user_id"`
	}
	if err := u.request(ctx, http.MethodPost, a.appPath("/auth/providers/"+creds.provider+"/login?link=true"), tokenAccess, a.loginBody(creds), &res); err != nil {
		return err
	}
	if res.UserID != u.id {
		return fmt.Errorf("client: link answer is for user %q, not %q", res.UserID, u.id)
	}
	if res.AccessToken != "" {
		a.mu.Lock()
		u.accessToken = res.AccessToken
		u.tokenGen++
		a.mu.Unlock()
	}
	return u.RefreshProfile(ctx)
}

// CallFunction calls the app function name with args (encoded as JSON) and returns its
// result, which Decode reads as the Mongo results are read.
func (u *User) CallFunction(ctx context.Context, name string, args ...any) (*FunctionResult, error) {
	if args == nil {
		args = []any{}
	}
	var out json.RawMessage
	if err := u.request(ctx, http.MethodPost, u.app.appPath("/functions/call"), tokenAccess, map[string]any{"name": name, "arguments": args}, &out); err != nil {
		return nil, err
	}
	return &FunctionResult{raw: out}, nil
}

// FunctionResult is what a function returned.
type FunctionResult struct{ raw json.RawMessage }

// JSON is the result as the server sent it: canonical Extended JSON, as App Services
// answered (a whole number is {"$numberLong":"3"}, another number
// {"$numberDouble":"6.5"}).
func (r *FunctionResult) JSON() json.RawMessage { return r.raw }

// IsNull reports whether the function returned nothing (null or undefined).
func (r *FunctionResult) IsNull() bool {
	s := strings.TrimSpace(string(r.raw))
	return s == "" || s == "null"
}

// Decode decodes the result into v: a number into an int or float64, a string, a
// document into a *bson.D, *bson.M, map or struct with bson tags, an array into a slice.
// A null result leaves v as it is.
func (r *FunctionResult) Decode(v any) error {
	if r.IsNull() {
		return nil
	}
	var wrap struct {
		V bson.RawValue `bson:"v"`
	}
	if err := bson.UnmarshalExtJSON(append(append([]byte(`{"v":`), r.raw...), '}'), true, &wrap); err != nil {
		return fmt.Errorf("client: decoding the function result: %w", err)
	}
	if err := wrap.V.Unmarshal(v); err != nil {
		return fmt.Errorf("client: decoding the function result: %w", err)
	}
	return nil
}

// LogOut ends the user's session on the server and forgets its tokens; the user stays
// on this device, logged out. The tokens are forgotten even when the server cannot be
// reached; the error is then a *ServerLogOutError.
func (u *User) LogOut(ctx context.Context) error {
	a := u.app
	_ = a.sync(ctx, nil) // the session's current refresh token, should another App have rotated it
	a.mu.Lock()
	refresh := u.refreshToken
	a.mu.Unlock()
	var err error
	if refresh != "" {
		err = a.do(ctx, http.MethodDelete, "/api/client/v2.0/auth/session", refresh, nil, nil)
		var e *Error
		if errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized {
			err = nil // the session was already over
		}
		if err != nil {
			err = &ServerLogOutError{Err: err}
		}
	}
	a.mu.Lock()
	wasIn := u.state == StateLoggedIn
	u.accessToken, u.refreshToken = "", ""
	if u.state != StateRemoved {
		u.state = StateLoggedOut
	}
	a.mu.Unlock()
	a.persist()
	if wasIn {
		a.emit(Event{Kind: EventLoggedOut, UserID: u.id})
	}
	return err
}

// customDataClaim is the user_data claim of an access token, as the server wrote it (its
// fields in their order).
func customDataClaim(tok string) (json.RawMessage, bool) {
	b, ok := tokenPayload(tok)
	if !ok {
		return nil, false
	}
	var c struct {
		UserData json.RawMessage `json:"user_data"`
	}
	if json.Unmarshal(b, &c) != nil || len(c.UserData) == 0 || string(c.UserData) == "null" {
		return nil, false
	}
	return c.UserData, true
}

// tokenPayload is a JWT's payload, not checked.
func tokenPayload(tok string) ([]byte, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	return b, err == nil
}

// tokenClaims decodes a JWT's payload without checking it.
func tokenClaims(tok string) map[string]any {
	b, ok := tokenPayload(tok)
	if !ok {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func tokenExpiry(tok string) (time.Time, bool) {
	exp, ok := tokenClaims(tok)["exp"].(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(exp), 0), true
}
