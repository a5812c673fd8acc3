// Package client is Warden's Go SDK: what the Realm SDKs give apps, for Go programs.
//
// An App holds every user that logged in on this device, one of them active (the
// current user). Users can be switched without logging in again, logged out (they stay
// on the device, logged out), removed, or deleted on the server. Tokens and profiles are
// kept in a Storage, so a restarted program — or one started offline — finds its users
// and its active user again. Access tokens are refreshed shortly before they expire, and
// a request answered 401 InvalidSession is refreshed and retried once; concurrent
// requests of one user share one refresh.
//
// The package speaks the Realm client protocol, so it works against Warden and against
// any server that speaks it. It does not import Warden's internal packages.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"
)

// SDKVersion is reported to the server as options.device.sdkVersion.
const SDKVersion = "warden-go/0.2.0"

// App is one App Services app as seen from this device. It is safe for concurrent use.
type App struct {
	id           string
	baseURL      string
	http         *http.Client
	storage      Storage
	now          func() time.Time
	margin       time.Duration
	skipLoc      bool
	keepRefresh  bool
	resetCorrupt bool
	clientName   string
	clientVer    string

	locMu    sync.Mutex
	hostname string

	mu       sync.Mutex
	users    []*User // most recently active first
	deviceID string
	subs     map[int]func(Event)
	nextSub  int
	// synced is each user as this App last read or wrote it in its storage: a user whose
	// record differs was changed here (see sync).
	synced map[string]storedUser

	saveMu sync.Mutex
}

// Option configures an App.
type Option func(*App)

// WithBaseURL sets the server's URL (scheme://host[:port]).
func WithBaseURL(u string) Option { return func(a *App) { a.baseURL = strings.TrimRight(u, "/") } }

// WithHTTPClient sets the HTTP client used for every request.
func WithHTTPClient(c *http.Client) Option { return func(a *App) { a.http = c } }

// WithStorage sets where users and tokens are kept (default: a file store in the user's
// config directory; see FileStorage).
func WithStorage(s Storage) Option { return func(a *App) { a.storage = s } }

// WithSkipLocation uses the base URL for every request instead of asking the server's
// location endpoint first (useful behind a reverse proxy).
func WithSkipLocation() Option { return func(a *App) { a.skipLoc = true } }

// AccessTokenLifetime is how long the server's access tokens are valid (30 minutes, as
// App Services issued them).
const AccessTokenLifetime = 30 * time.Minute

// WithRefreshMargin sets how long before its expiry an access token is refreshed
// (default 30 seconds). New refuses a margin of AccessTokenLifetime or more.
func WithRefreshMargin(d time.Duration) Option { return func(a *App) { a.margin = d } }

// WithoutRefreshTokenRotation keeps one refresh token for the session's life, as the
// Realm SDKs do. By default the SDK asks Warden to rotate the refresh token at every
// refresh (a server that does not rotate, such as App Services, just keeps the old one):
// a stolen refresh token then works only until the next refresh, and its replay ends
// the session.
//
// Rotation stays the default because it is safe for every App that shares one Storage:
// Apps on one FileStorage (several processes of one program, or a restart while the old
// process still runs) take each other's rotated tokens from it before they refresh, so
// none replays a stale token. Use this option when copies of one session's tokens live
// in places that do not share a Storage (tokens copied to another machine, or a Storage
// that is not an Updater shared by processes): with rotation, the first copy to refresh
// would end the session for the others once the server's grace window (10 seconds) has
// passed.
func WithoutRefreshTokenRotation() Option { return func(a *App) { a.keepRefresh = true } }

// WithResetCorruptState makes New start with no users when the stored state cannot be
// read (a FileStorage's file is renamed to <app id>.json.corrupt-<time>, kept for
// inspection) instead of failing. The users it held must log in again.
func WithResetCorruptState() Option { return func(a *App) { a.resetCorrupt = true } }

// WithClock sets the clock used to judge token expiry (for tests).
func WithClock(now func() time.Time) Option { return func(a *App) { a.now = now } }

// WithClientApp names the program in the device information sent at login.
func WithClientApp(name, version string) Option {
	return func(a *App) { a.clientName, a.clientVer = name, version }
}

// New returns the App with the client app id appID, loading the users kept in its
// storage. It makes no network request.
//
// Without WithBaseURL, requests go to http://127.0.0.1:9090 (a `warden serve` on this
// machine): set it for any real deployment. Without WithStorage, users and their tokens
// are kept in a file in the user's config directory (DefaultFileStorage); use
// NewMemoryStorage for a program that must not write them, or NewFileStorage for a
// directory of your choice.
func New(appID string, opts ...Option) (*App, error) {
	if appID == "" {
		return nil, errors.New("client: empty app id")
	}
	a := &App{id: appID, baseURL: "http://127.0.0.1:9090", http: http.DefaultClient, now: time.Now, margin: 30 * time.Second, subs: map[int]func(Event){}}
	for _, o := range opts {
		o(a)
	}
	if a.margin < 0 || a.margin >= AccessTokenLifetime {
		return nil, fmt.Errorf("client: refresh margin %v: want at least 0 and less than the access token's lifetime (%v), or every request would refresh first", a.margin, AccessTokenLifetime)
	}
	if a.storage == nil {
		fs, err := DefaultFileStorage()
		if err != nil {
			return nil, err
		}
		a.storage = fs
	}
	if err := a.load(context.Background()); err != nil {
		return nil, err
	}
	return a, nil
}

// ID is the client app id.
func (a *App) ID() string { return a.id }

// CurrentUser is the active user: the most recently logged-in or switched-to user who
// is logged in, or nil.
func (a *App) CurrentUser() *User {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.currentLocked()
}

func (a *App) currentLocked() *User {
	for _, u := range a.users {
		if u.state == StateLoggedIn {
			return u
		}
	}
	return nil
}

// AllUsers returns every user on this device: the logged-in users first, then the
// logged-out ones, each most recently active first (as realm-web lists them). The first,
// when logged in, is the active user.
func (a *App) AllUsers() []*User {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*User, 0, len(a.users))
	for _, u := range a.users {
		if u.state == StateLoggedIn {
			out = append(out, u)
		}
	}
	for _, u := range a.users {
		if u.state != StateLoggedIn {
			out = append(out, u)
		}
	}
	return out
}

// SwitchUser makes u the active user. u must be on this device and logged in.
func (a *App) SwitchUser(u *User) error {
	a.mu.Lock()
	i := a.indexLocked(u)
	if i < 0 {
		a.mu.Unlock()
		return errors.New("client: switch to a user who is not on this device")
	}
	if u.state != StateLoggedIn {
		a.mu.Unlock()
		return errors.New("client: switch to a user who is logged out")
	}
	a.moveToFrontLocked(i)
	a.mu.Unlock()
	a.persist()
	a.emit(Event{Kind: EventSwitched, UserID: u.id})
	return nil
}

// RemoveUser logs u out (on the server too, when it can be reached) and forgets it on
// this device.
func (a *App) RemoveUser(ctx context.Context, u *User) error {
	a.mu.Lock()
	if a.indexLocked(u) < 0 {
		a.mu.Unlock()
		return errors.New("client: remove a user who is not on this device")
	}
	a.mu.Unlock()
	err := u.LogOut(ctx)
	a.mu.Lock()
	if i := a.indexLocked(u); i >= 0 {
		a.users = append(a.users[:i], a.users[i+1:]...)
	}
	u.state = StateRemoved
	a.mu.Unlock()
	a.persist()
	a.emit(Event{Kind: EventRemoved, UserID: u.id})
	return err
}

// DeleteUser deletes u on the server (with u's own access token) and removes it from
// this device. Unlike realm-web, it deletes u, not the current user.
func (a *App) DeleteUser(ctx context.Context, u *User) error {
	if err := u.request(ctx, http.MethodDelete, "/api/client/v2.0/auth/delete", tokenAccess, nil, nil); err != nil {
		return err
	}
	a.mu.Lock()
	if i := a.indexLocked(u); i >= 0 {
		a.users = append(a.users[:i], a.users[i+1:]...)
	}
	u.state = StateRemoved
	u.accessToken, u.refreshToken = "", ""
	a.mu.Unlock()
	a.persist()
	a.emit(Event{Kind: EventDeleted, UserID: u.id})
	return nil
}

func (a *App) indexLocked(u *User) int {
	for i, x := range a.users {
		if x == u {
			return i
		}
	}
	return -1
}

func (a *App) moveToFrontLocked(i int) {
	u := a.users[i]
	copy(a.users[1:i+1], a.users[:i])
	a.users[0] = u
	u.activeAt = max(a.now().UnixNano(), a.latestActiveLocked()+1)
}

// latestActiveLocked is the latest activeAt of the App's users.
func (a *App) latestActiveLocked() int64 {
	var t int64
	for _, u := range a.users {
		t = max(t, u.activeAt)
	}
	return t
}

// LogIn logs in with creds and makes the user the active user. Anonymous credentials
// reuse the device's logged-in anonymous user unless made with AnonymousNew. A user has
// one *User and one session on a device: logging in a user who is already logged in
// here (with an API key where a password session was, say) returns the same *User with
// the new session, ends the previous session on the server, and emits
// EventSessionReplaced. When the
// login succeeded but its tokens could not be saved to the App's storage, LogIn returns
// the logged-in user and a *StorageError: the user works in this process, but a
// restarted program will not have them.
func (a *App) LogIn(ctx context.Context, creds Credentials) (*User, error) {
	if creds.provider == "" {
		return nil, errors.New("client: empty credentials: make them with Anonymous, EmailPassword, APIKey, JWT, Function or the OAuth constructors")
	}
	if creds.provider == "anon-user" && creds.reuse {
		a.mu.Lock()
		for i, u := range a.users {
			if u.providerType == "anon-user" && u.state == StateLoggedIn {
				a.moveToFrontLocked(i)
				a.mu.Unlock()
				a.persist()
				a.emit(Event{Kind: EventLoggedIn, UserID: u.id})
				return u, nil
			}
		}
		a.mu.Unlock()
	}
	var res struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		UserID       string `json:"user_id"`
		DeviceID     string `json:"device_id"`
	}
	if err := a.do(ctx, http.MethodPost, a.appPath("/auth/providers/"+creds.provider+"/login"), "", a.loginBody(creds), &res); err != nil {
		return nil, err
	}
	if res.UserID == "" || res.AccessToken == "" || res.RefreshToken == "" {
		return nil, errors.New("client: login response without user_id, access_token or refresh_token")
	}
	a.mu.Lock()
	var u *User
	for i, x := range a.users {
		if x.id == res.UserID {
			u = x
			a.moveToFrontLocked(i)
		}
	}
	if u == nil {
		u = &User{app: a, id: res.UserID, providerType: creds.provider}
		a.users = append([]*User{u}, a.users...)
		a.moveToFrontLocked(0)
	}
	// One *User per user on a device, with one session: a user logged in again (an API
	// key where a password session was) keeps its *User, takes the new session, and the
	// previous session is ended rather than left behind unseen.
	replaced, replacedProvider := "", u.providerType
	if u.state == StateLoggedIn && u.refreshToken != "" && u.refreshToken != res.RefreshToken {
		replaced = u.refreshToken
	}
	u.providerType = creds.provider
	u.accessToken, u.refreshToken, u.state = res.AccessToken, res.RefreshToken, StateLoggedIn
	u.tokenGen++
	if res.DeviceID != "" && res.DeviceID != "000000000000000000000000" {
		a.deviceID = res.DeviceID
		u.deviceID = res.DeviceID
	}
	a.mu.Unlock()
	if err := u.RefreshProfile(ctx); err != nil {
		return nil, fmt.Errorf("client: fetching the new user's profile: %w", err)
	}
	serr := a.persist()
	if replaced != "" {
		// Best effort: the old session ends when it expires if the server cannot be told.
		_ = a.do(ctx, http.MethodDelete, "/api/client/v2.0/auth/session", replaced, nil, nil)
		a.emit(Event{Kind: EventSessionReplaced, UserID: u.id, PreviousProvider: replacedProvider})
	}
	a.emit(Event{Kind: EventLoggedIn, UserID: u.id})
	if serr != nil {
		return u, &StorageError{Op: "log in", Err: serr}
	}
	return u, nil
}

func (a *App) loginBody(creds Credentials) map[string]any {
	body := make(map[string]any, len(creds.payload)+1)
	for k, v := range creds.payload {
		body[k] = v
	}
	dev := map[string]any{"sdkVersion": SDKVersion, "platform": "go", "platformVersion": runtime.Version()}
	if a.clientName != "" {
		dev["appId"], dev["appVersion"] = a.clientName, a.clientVer
	}
	a.mu.Lock()
	if a.deviceID != "" {
		dev["deviceId"] = map[string]string{"$oid": a.deviceID}
	}
	a.mu.Unlock()
	body["options"] = map[string]any{"device": dev}
	return body
}

func (a *App) appPath(p string) string { return "/api/client/v2.0/app/" + a.id + p }

// location returns the hostname requests go to, asking the server once per App.
func (a *App) location(ctx context.Context) (string, error) {
	if a.skipLoc {
		return a.baseURL, nil
	}
	a.locMu.Lock()
	defer a.locMu.Unlock()
	if a.hostname != "" {
		return a.hostname, nil
	}
	var loc struct {
		Hostname string `json:"hostname"`
	}
	if err := a.send(ctx, a.baseURL, http.MethodGet, a.appPath("/location"), "", nil, &loc); err != nil {
		return "", err
	}
	if loc.Hostname == "" {
		return "", errors.New("client: location response has no hostname")
	}
	a.hostname = strings.TrimRight(loc.Hostname, "/")
	return a.hostname, nil
}

// do sends a request to the app's hostname.
func (a *App) do(ctx context.Context, method, path, bearer string, body, out any) error {
	host, err := a.location(ctx)
	if err != nil {
		return err
	}
	return a.send(ctx, host, method, path, bearer, body, out)
}

// state is what the App keeps in its Storage.
type state struct {
	Version  int          `json:"version"`
	DeviceID string       `json:"device_id,omitempty"`
	Users    []storedUser `json:"users"`
}

type storedUser struct {
	ID           string          `json:"id"`
	ProviderType string          `json:"provider_type"`
	AccessToken  string          `json:"access_token,omitempty"`
	RefreshToken string          `json:"refresh_token,omitempty"`
	DeviceID     string          `json:"device_id,omitempty"`
	Profile      json.RawMessage `json:"profile,omitempty"`
	// ActiveAt is when the user last became the active user (Unix nanoseconds).
	ActiveAt int64 `json:"active_at,omitempty"`
}

func (a *App) load(ctx context.Context) error {
	data, err := a.storage.Load(ctx, a.id)
	if err != nil {
		return fmt.Errorf("client: loading stored users: %w", err)
	}
	if len(data) == 0 {
		return nil
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		if !a.resetCorrupt {
			return fmt.Errorf("client: stored users are corrupt (%w): New with WithResetCorruptState sets them aside and starts with none", err)
		}
		if fst, ok := a.storage.(*FileStorage); ok {
			if err := fst.setAside(a.id, a.now()); err != nil {
				return fmt.Errorf("client: setting corrupt stored users aside: %w", err)
			}
		}
		return nil
	}
	a.deviceID = st.DeviceID
	for _, su := range st.Users {
		a.users = append(a.users, a.userFromRecord(su))
	}
	a.markSyncedLocked(st)
	return nil
}

// persist merges the App's users into its storage (see sync). A failure is also told to
// subscribers as an EventStorageError; the App's state stays right, and the next change
// writes again.
func (a *App) persist() error { return a.sync(context.Background(), nil) }
