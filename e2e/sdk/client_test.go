package sdk_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenauth/warden/client"
)

const appID = "sdk-test-app"

// counter is an http.RoundTripper that counts requests by "METHOD path" and can answer
// chosen requests with a 401 InvalidSession, as a server would for a stale token.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
	fail   map[string]int // "METHOD path" → how many 401s to give
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	key := r.Method + " " + r.URL.Path
	c.mu.Lock()
	c.counts[key]++
	fail := c.fail[key] > 0
	if fail {
		c.fail[key]--
	}
	c.mu.Unlock()
	if fail {
		if r.Body != nil { // a server reads the request before refusing it
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusUnauthorized)
		rec.WriteString(`{"error":"invalid session: access token expired","error_code":"InvalidSession"}`)
		return rec.Result(), nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (c *counter) count(key string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.counts[key] }

func (c *counter) failNext(key string, n int) { c.mu.Lock(); c.fail[key] += n; c.mu.Unlock() }

type server struct {
	url string
	rt  *counter
}

// startServer runs Warden's real client API in-process on a fresh SQLite store, with
// anonymous, email/password (auto-confirm) and API key providers.
func startServer(t *testing.T) *server {
	t.Helper()
	h, closeStore, err := newHandler(filepath.Join(t.TempDir(), "w.db"), appID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &server{url: srv.URL, rt: &counter{counts: map[string]int{}, fail: map[string]int{}}}
}

func (s *server) app(t *testing.T, storage client.Storage, opts ...client.Option) *client.App {
	t.Helper()
	opts = append([]client.Option{client.WithBaseURL(s.url), client.WithStorage(storage), client.WithHTTPClient(&http.Client{Transport: s.rt})}, opts...)
	a, err := client.New(appID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func register(t *testing.T, a *client.App, email, pw string) {
	t.Helper()
	if err := a.EmailPasswordAuth().RegisterUser(context.Background(), email, pw); err != nil {
		t.Fatal(err)
	}
}

func logIn(t *testing.T, a *client.App, c client.Credentials) *client.User {
	t.Helper()
	u, err := a.LogIn(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func ids(users []*client.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID()
	}
	return out
}

func TestMultipleUsers(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	var events []client.Event
	var mu sync.Mutex
	a.Subscribe(func(e client.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })

	register(t, a, "joe@example.com", "joe-password")
	register(t, a, "emma@example.com", "emma-password")
	joe := logIn(t, a, client.EmailPassword("joe@example.com", "joe-password"))
	emma := logIn(t, a, client.EmailPassword("emma@example.com", "emma-password"))
	if a.CurrentUser() != emma {
		t.Fatal("the last login is not the active user")
	}
	if got := ids(a.AllUsers()); strings.Join(got, ",") != emma.ID()+","+joe.ID() {
		t.Fatalf("AllUsers = %v", got)
	}
	if joe.Profile().Email != "joe@example.com" || joe.Identities()[0].ProviderType != "local-userpass" {
		t.Fatalf("joe's profile = %+v", joe.Profile())
	}
	if err := a.SwitchUser(joe); err != nil || a.CurrentUser() != joe {
		t.Fatalf("switch: %v", err)
	}
	if err := joe.LogOut(ctx); err != nil {
		t.Fatal(err)
	}
	if joe.State() != client.StateLoggedOut || a.CurrentUser() != emma || len(a.AllUsers()) != 2 {
		t.Fatalf("after joe logs out: joe %s, current %v", joe.State(), a.CurrentUser())
	}
	if err := a.SwitchUser(joe); err == nil {
		t.Fatal("switched to a logged-out user")
	}
	if err := a.RemoveUser(ctx, emma); err != nil {
		t.Fatal(err)
	}
	if emma.State() != client.StateRemoved || a.CurrentUser() != nil || len(a.AllUsers()) != 1 {
		t.Fatalf("after removing emma: %s %v %d", emma.State(), a.CurrentUser(), len(a.AllUsers()))
	}
	// Emma's session is over on the server too.
	if _, err := a.LogIn(ctx, client.EmailPassword("emma@example.com", "wrong-password")); err == nil {
		t.Fatal("wrong password accepted")
	}
	again := logIn(t, a, client.EmailPassword("joe@example.com", "joe-password"))
	if again != joe || a.CurrentUser() != joe || joe.State() != client.StateLoggedIn {
		t.Fatal("joe's new login did not reuse his User")
	}
	mu.Lock()
	defer mu.Unlock()
	kinds := map[client.EventKind]int{}
	for _, e := range events {
		kinds[e.Kind]++
	}
	if kinds[client.EventLoggedIn] != 3 || kinds[client.EventSwitched] != 1 || kinds[client.EventLoggedOut] != 2 || kinds[client.EventRemoved] != 1 {
		t.Fatalf("events = %v", kinds)
	}
}

func TestErrorsCarryTheServerCode(t *testing.T) {
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	_, err := a.LogIn(context.Background(), client.EmailPassword("nobody@example.com", "whatever1"))
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 401 || e.Code != "InvalidPassword" || e.Message != "unauthorized" {
		t.Fatalf("err = %#v", err)
	}
	register(t, a, "dup@example.com", "password1")
	err = a.EmailPasswordAuth().RegisterUser(context.Background(), "dup@example.com", "password1")
	if !errors.As(err, &e) || e.StatusCode != 409 || e.Code != "AccountNameInUse" {
		t.Fatalf("err = %#v", err)
	}
	// Programs branch with errors.Is on the exported errors.
	if !errors.Is(err, client.ErrAccountNameInUse) || errors.Is(err, client.ErrInvalidPassword) {
		t.Errorf("errors.Is on a 409 AccountNameInUse: %v", err)
	}
	_, err = a.LogIn(context.Background(), client.EmailPassword("dup@example.com", "wrong-password"))
	if !errors.Is(err, client.ErrInvalidPassword) || errors.Is(err, client.ErrAccountNameInUse) {
		t.Errorf("errors.Is on a wrong password: %v", err)
	}
}

// TestLocalValidation: zero credentials are refused without a request, and a refresh
// margin that would refresh before every request is refused by New.
func TestLocalValidation(t *testing.T) {
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	if _, err := a.LogIn(context.Background(), client.Credentials{}); err == nil {
		t.Fatal("zero credentials were accepted")
	}
	u := logIn(t, a, client.AnonymousNew())
	if err := u.LinkCredentials(context.Background(), client.Credentials{}); err == nil {
		t.Fatal("zero credentials were linked")
	}
	if n := s.rt.count("POST /api/client/v2.0/app/" + appID + "/auth/providers//login"); n != 0 {
		t.Errorf("%d requests were sent for zero credentials", n)
	}
	for _, m := range []time.Duration{-time.Second, client.AccessTokenLifetime, time.Hour} {
		if _, err := client.New(appID, client.WithRefreshMargin(m), client.WithStorage(client.NewMemoryStorage())); err == nil {
			t.Errorf("refresh margin %v was accepted", m)
		}
	}
	if _, err := client.New(appID, client.WithRefreshMargin(5*time.Minute), client.WithStorage(client.NewFileStorage(t.TempDir()))); err != nil {
		t.Errorf("a 5-minute margin and a file storage: %v", err)
	}
}

func TestAnonymousReuse(t *testing.T) {
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	first := logIn(t, a, client.Anonymous())
	logins := s.rt.count("POST /api/client/v2.0/app/" + appID + "/auth/providers/anon-user/login")
	if again := logIn(t, a, client.Anonymous()); again != first {
		t.Fatal("anonymous login did not reuse the device's anonymous user")
	}
	if n := s.rt.count("POST /api/client/v2.0/app/" + appID + "/auth/providers/anon-user/login"); n != logins {
		t.Fatal("reusing the anonymous user sent a login request")
	}
	if other := logIn(t, a, client.AnonymousNew()); other == first || other.DeviceID() != first.DeviceID() {
		t.Fatal("AnonymousNew must make a new user on the same device")
	}
	// A logged-out anonymous user is not reused (realm-web does, and then fails).
	if err := first.LogOut(context.Background()); err != nil {
		t.Fatal(err)
	}
	third := logIn(t, a, client.Anonymous())
	if third == first {
		t.Fatal("a logged-out anonymous user was reused")
	}
}

// TestStorageKeepsUsersAcrossRestartsAndOffline checks that a new App on the same file
// storage finds every user and the active user without any request, even with the
// server gone, and that the file is private.
func TestStorageKeepsUsersAcrossRestartsAndOffline(t *testing.T) {
	s := startServer(t)
	dir := filepath.Join(t.TempDir(), "state")
	store := &client.FileStorage{Dir: dir}
	a := s.app(t, store)
	register(t, a, "keep@example.com", "keep-password")
	kept := logIn(t, a, client.EmailPassword("keep@example.com", "keep-password"))
	anon := logIn(t, a, client.Anonymous())
	if err := a.SwitchUser(kept); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, appID+".json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", st, err)
	}

	offline, err := client.New(appID, client.WithBaseURL("http://127.0.0.1:1"), client.WithStorage(&client.FileStorage{Dir: dir}))
	if err != nil {
		t.Fatal(err)
	}
	cur := offline.CurrentUser()
	if cur == nil || cur.ID() != kept.ID() || cur.Profile().Email != "keep@example.com" || cur.AccessToken() == "" {
		t.Fatalf("offline current user = %+v", cur)
	}
	if got := ids(offline.AllUsers()); len(got) != 2 || got[1] != anon.ID() {
		t.Fatalf("offline users = %v", got)
	}
	// Back online, the restored tokens work.
	online := s.app(t, &client.FileStorage{Dir: dir})
	if err := online.CurrentUser().RefreshProfile(context.Background()); err != nil {
		t.Fatalf("restored tokens refused: %v", err)
	}
}

// TestConcurrentRequestsShareOneRefresh makes the client's clock say the access token
// has expired (until a refresh happened): 8 concurrent requests of one user refresh once.
func TestConcurrentRequestsShareOneRefresh(t *testing.T) {
	s := startServer(t)
	var expired atomic.Bool
	a := s.app(t, client.NewMemoryStorage(), client.WithClock(func() time.Time {
		if expired.Load() {
			return time.Now().Add(31 * time.Minute)
		}
		return time.Now()
	}))
	u := logIn(t, a, client.AnonymousNew())
	a.Subscribe(func(e client.Event) {
		if e.Kind == client.EventTokenRefreshed {
			expired.Store(false)
		}
	})
	expired.Store(true)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- u.RefreshProfile(context.Background()) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.rt.count("POST /api/client/v2.0/auth/session"); n != 1 {
		t.Fatalf("%d refreshes for 8 concurrent requests, want 1", n)
	}
}

// TestInvalidSessionIsRefreshedAndRetriedOnce checks the 401 handling: one refresh and
// one retry, never a loop.
func TestInvalidSessionIsRefreshedAndRetriedOnce(t *testing.T) {
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	u := logIn(t, a, client.AnonymousNew())
	s.rt.failNext("GET /api/client/v2.0/auth/profile", 1)
	if err := u.RefreshProfile(context.Background()); err != nil {
		t.Fatalf("one 401 must be recovered from: %v", err)
	}
	if n := s.rt.count("POST /api/client/v2.0/auth/session"); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
	s.rt.failNext("GET /api/client/v2.0/auth/profile", 5)
	err := u.RefreshProfile(context.Background())
	if !client.IsInvalidSession(err) {
		t.Fatalf("a second 401 must be returned, got %v", err)
	}
	if n := s.rt.count("GET /api/client/v2.0/auth/profile"); n != 5 { // 1 login fetch + 2 + 2
		t.Fatalf("profile requests = %d, want 5 (no retry loop)", n)
	}
}

// TestRefusedRefreshLogsTheUserOut deletes the user from another device: this device's
// next request is refused, and the user is logged out locally with an event.
func TestRefusedRefreshLogsTheUserOut(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	phone := s.app(t, client.NewMemoryStorage())
	laptop := s.app(t, client.NewMemoryStorage())
	register(t, phone, "gone@example.com", "gone-password")
	onPhone := logIn(t, phone, client.EmailPassword("gone@example.com", "gone-password"))
	onLaptop := logIn(t, laptop, client.EmailPassword("gone@example.com", "gone-password"))
	var forced client.Event
	phone.Subscribe(func(e client.Event) {
		if e.Kind == client.EventLoggedOut {
			forced = e
		}
	})
	if err := laptop.DeleteUser(ctx, onLaptop); err != nil {
		t.Fatal(err)
	}
	err := onPhone.RefreshProfile(ctx)
	if err == nil {
		t.Fatal("a deleted user's request succeeded")
	}
	// "Must log in again" is one check, and the server's answer is still there.
	if !errors.Is(err, client.ErrLoggedOut) || !errors.Is(err, client.ErrInvalidSession) {
		t.Errorf("the first failing call: %v, want ErrLoggedOut wrapping InvalidSession", err)
	}
	if err := onPhone.RefreshProfile(ctx); !errors.Is(err, client.ErrLoggedOut) {
		t.Errorf("the next call: %v, want ErrLoggedOut", err)
	}
	if onPhone.State() != client.StateLoggedOut || phone.CurrentUser() != nil {
		t.Fatalf("state = %s", onPhone.State())
	}
	if forced.UserID != onPhone.ID() || forced.Err == nil {
		t.Fatalf("no forced-logout event: %+v", forced)
	}
}

func TestDeleteUserDeletesThatUser(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	register(t, a, "del@example.com", "del-password")
	victim := logIn(t, a, client.EmailPassword("del@example.com", "del-password"))
	current := logIn(t, a, client.AnonymousNew())
	if err := a.DeleteUser(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if a.CurrentUser() != current || victim.State() != client.StateRemoved {
		t.Fatal("DeleteUser touched the current user instead of the one given")
	}
	if err := current.RefreshProfile(ctx); err != nil {
		t.Fatalf("the current user was affected: %v", err)
	}
	if _, err := a.LogIn(ctx, client.EmailPassword("del@example.com", "del-password")); err == nil {
		t.Fatal("a deleted user logged in")
	}
}

func TestLinkCredentials(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	anon := logIn(t, a, client.Anonymous())
	register(t, a, "link@example.com", "link-password")
	if err := anon.LinkCredentials(ctx, client.EmailPassword("link@example.com", "link-password")); err != nil {
		t.Fatal(err)
	}
	ids := anon.Identities()
	if len(ids) != 2 || ids[0].ProviderType != "anon-user" || ids[1].ProviderType != "local-userpass" {
		t.Fatalf("identities = %+v", ids)
	}
	if err := anon.LinkCredentials(ctx, client.Anonymous()); err == nil {
		t.Fatal("anonymous credentials were linked")
	}
	if u := logIn(t, a, client.EmailPassword("link@example.com", "link-password")); u != anon {
		t.Fatal("the linked credentials log in as another user")
	}
}

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	register(t, a, "keys@example.com", "keys-password")
	u := logIn(t, a, client.EmailPassword("keys@example.com", "keys-password"))
	k, err := u.APIKeys().Create(ctx, "cli")
	if err != nil || len(k.Key) != 64 || k.Name != "cli" || k.Disabled {
		t.Fatalf("create: %+v %v", k, err)
	}
	if err := u.APIKeys().Disable(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	got, err := u.APIKeys().Get(ctx, k.ID)
	if err != nil || !got.Disabled || got.Key != "" {
		t.Fatalf("fetch: %+v %v", got, err)
	}
	if err := u.APIKeys().Enable(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	other := s.app(t, client.NewMemoryStorage())
	viaKey := logIn(t, other, client.APIKey(k.Key))
	if viaKey.ID() != u.ID() {
		t.Fatal("the key logs in as another user")
	}
	all, err := u.APIKeys().List(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("fetch all: %+v %v", all, err)
	}
	if err := u.APIKeys().Delete(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	// The session the key opened on the other device is over.
	if err := viaKey.RefreshAccessToken(ctx); err == nil || viaKey.State() != client.StateLoggedOut {
		t.Fatalf("a deleted key's session still refreshes: %v %s", err, viaKey.State())
	}
	if u.State() != client.StateLoggedIn {
		t.Fatal("the owner was logged out")
	}
}

// TestAPIKeyLoginBesidePasswordSession: logging in with a user's API key on the device
// where that user has a password session keeps one *User, with the key's session; the
// password session is ended on the server, not left behind, and the App says so.
func TestAPIKeyLoginBesidePasswordSession(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	register(t, a, "both@example.com", "both-password")
	u := logIn(t, a, client.EmailPassword("both@example.com", "both-password"))
	k, err := u.APIKeys().Create(ctx, "same-device")
	if err != nil {
		t.Fatal(err)
	}
	passwordSession := u.RefreshToken()
	var events []client.Event
	defer a.Subscribe(func(e client.Event) { events = append(events, e) })()

	viaKey := logIn(t, a, client.APIKey(k.Key))
	if viaKey != u || len(a.AllUsers()) != 1 {
		t.Fatalf("the key's login made another user on the device: %d users", len(a.AllUsers()))
	}
	if u.ProviderType() != "api-key" || u.RefreshToken() == passwordSession {
		t.Fatalf("the user's session is %s with the old token: %v", u.ProviderType(), u.RefreshToken() == passwordSession)
	}
	if len(events) < 1 || events[0].Kind != client.EventSessionReplaced || events[0].PreviousProvider != "local-userpass" {
		t.Fatalf("events: %+v", events)
	}
	// The password session is over on the server; the key's session works.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/api/client/v2.0/auth/session", nil)
	req.Header.Set("Authorization", "Bearer "+passwordSession)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the replaced password session still refreshes: %d", res.StatusCode)
	}
	if _, err := u.CallFunction(ctx, "sum", 1); err != nil {
		t.Fatal(err)
	}
}

func TestCustomDataAndRefresh(t *testing.T) {
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	u := logIn(t, a, client.AnonymousNew())
	data, err := u.RefreshCustomData(context.Background())
	if err != nil || len(data) != 0 {
		t.Fatalf("custom data = %v, %v", data, err)
	}
	got, err := u.CallFunction(context.Background(), "sum", 1, 2)
	if err != nil || string(got.JSON()) != `{"$numberLong":"3"}` {
		t.Fatalf("sum(1, 2) = %v, %v", got, err)
	}
	var n int
	if err := got.Decode(&n); err != nil || n != 3 {
		t.Fatalf("sum(1, 2) decoded = %d, %v", n, err)
	}
	res, err := u.CallFunction(context.Background(), "whoami")
	var me struct {
		ID    string `bson:"id"`
		Email any    `bson:"email"`
	}
	if err != nil || res.Decode(&me) != nil || me.ID != u.ID() || me.Email != nil {
		t.Fatalf("whoami = %+v, %v", me, err)
	}
	_, err = u.CallFunction(context.Background(), "nope")
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 404 || e.Code != "FunctionNotFound" {
		t.Fatalf("unknown function err = %v", err)
	}
}

// TestTokenSourceAndHTTPClient: a program's own requests get a valid access token (the
// server accepts it), and the SDK's HTTP client refreshes once on a 401 and sends the
// request again, body included.
func TestTokenSourceAndHTTPClient(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	a := s.app(t, client.NewMemoryStorage())
	u := logIn(t, a, client.AnonymousNew())
	tok, err := u.Token(ctx)
	if err != nil || tok == "" || tok != u.AccessToken() {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	srcTok, exp, err := u.TokenSource(ctx).Token()
	if err != nil || srcTok != tok || !exp.Equal(u.AccessTokenExpiry()) {
		t.Fatalf("TokenSource: %q %v %v", srcTok, exp, err)
	}
	if left := time.Until(exp); left <= 0 || left > client.AccessTokenLifetime {
		t.Errorf("expiry in %v", left)
	}

	hc := u.HTTPClient()
	profile := s.url + "/api/client/v2.0/auth/profile"
	res, err := hc.Get(profile)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET profile with the SDK's client: %v %v", res, err)
	}
	res.Body.Close()
	refreshes := s.rt.count("POST /api/client/v2.0/auth/session")
	s.rt.failNext("GET /api/client/v2.0/auth/profile", 1)
	res, err = hc.Get(profile)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("after one 401: %v %v", res, err)
	}
	res.Body.Close()
	if n := s.rt.count("POST /api/client/v2.0/auth/session"); n != refreshes+1 {
		t.Errorf("refreshes after a 401: %d, want %d", n, refreshes+1)
	}
	// A body made from a strings.Reader is sent again, whole.
	call := s.url + "/api/client/v2.0/app/" + appID + "/functions/call"
	s.rt.failNext("POST /api/client/v2.0/app/"+appID+"/functions/call", 1)
	req, _ := http.NewRequest("POST", call, strings.NewReader(`{"name":"missing-function","arguments":[]}`))
	req.Header.Set("Content-Type", "application/json")
	res, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// The retry carried the body: the server read the function's name (an empty body
	// would be a 400).
	if res.StatusCode != 404 {
		t.Errorf("the retried call was answered %d, want 404 FunctionNotFound", res.StatusCode)
	}
	if n := s.rt.count("POST /api/client/v2.0/app/" + appID + "/functions/call"); n != 2 {
		t.Errorf("function calls sent: %d, want 2 (the 401, then the retry)", n)
	}
	// Logged out: the client says so instead of sending a request without a token.
	if err := u.LogOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := hc.Get(profile); !errors.Is(err, client.ErrLoggedOut) {
		t.Errorf("after log out: %v, want ErrLoggedOut", err)
	}
}

// fullDisk is a Storage whose saves fail, as on a full or read-only disk.
type fullDisk struct{}

func (fullDisk) Load(context.Context, string) ([]byte, error) { return nil, nil }
func (fullDisk) Save(context.Context, string, []byte) error {
	return errors.New("no space left on device")
}

// TestLoginThatCannotBeSavedSaysSo: the login happened (the user works in this process),
// and the caller learns that a restarted program will not have it.
func TestLoginThatCannotBeSavedSaysSo(t *testing.T) {
	s := startServer(t)
	a := s.app(t, fullDisk{})
	u, err := a.LogIn(context.Background(), client.AnonymousNew())
	var se *client.StorageError
	if !errors.As(err, &se) || se.Op != "log in" || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("LogIn with a failing storage: %v, want a *client.StorageError", err)
	}
	if u == nil || !u.IsLoggedIn() || a.CurrentUser() != u {
		t.Fatalf("the user of a login that could not be saved: %v", u)
	}
	if err := u.RefreshProfile(context.Background()); err != nil {
		t.Errorf("the user works in this process: %v", err)
	}
}

// TestCorruptStoredState: New fails on an unreadable state file, naming the way out;
// with WithResetCorruptState it sets the file aside (kept for inspection) and starts
// with no users, and the next login is saved.
func TestCorruptStoredState(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	file := filepath.Join(dir, appID+".json")
	if err := os.WriteFile(file, []byte(`{"version":1,"users":[{"id":`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := client.New(appID, client.WithBaseURL(s.url), client.WithStorage(client.NewFileStorage(dir)))
	if err == nil || !strings.Contains(err.Error(), "WithResetCorruptState") {
		t.Fatalf("New on a corrupt file: %v", err)
	}
	a := s.app(t, client.NewFileStorage(dir), client.WithResetCorruptState())
	if n := len(a.AllUsers()); n != 0 {
		t.Fatalf("%d users after the reset", n)
	}
	aside, _ := filepath.Glob(file + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("the corrupt file was not kept aside: %v", aside)
	}
	u := logIn(t, a, client.AnonymousNew())
	again := s.app(t, client.NewFileStorage(dir))
	if got := again.CurrentUser(); got == nil || got.ID() != u.ID() {
		t.Fatalf("after the reset, a login is saved again: %v", got)
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestLogOutWithTheServerUnreachable: the local part is done, and the error says that
// the server was not told.
func TestLogOutWithTheServerUnreachable(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	unreachable := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodDelete {
			return nil, errors.New("dial tcp: connection refused")
		}
		return s.rt.RoundTrip(r)
	})
	a := s.app(t, client.NewMemoryStorage(), client.WithHTTPClient(&http.Client{Transport: unreachable}))
	u := logIn(t, a, client.AnonymousNew())
	var se *client.ServerLogOutError
	if err := u.LogOut(ctx); !errors.As(err, &se) {
		t.Fatalf("LogOut with the server unreachable: %v, want a *client.ServerLogOutError", err)
	}
	if u.State() != client.StateLoggedOut || u.RefreshToken() != "" {
		t.Errorf("after LogOut: %s", u.State())
	}
	v := logIn(t, a, client.AnonymousNew())
	if err := a.RemoveUser(ctx, v); !errors.As(err, &se) {
		t.Fatalf("RemoveUser with the server unreachable: %v, want a *client.ServerLogOutError", err)
	}
	if v.State() != client.StateRemoved {
		t.Errorf("after RemoveUser: %s", v.State())
	}
	for _, x := range a.AllUsers() {
		if x.ID() == v.ID() {
			t.Error("the removed user is still listed")
		}
	}
}
