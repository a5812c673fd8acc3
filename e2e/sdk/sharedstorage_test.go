package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wardenauth/warden/client"
)

// Several Apps on one storage, in one process (as two processes would be, without the
// processes): each test is a way a stale copy of a session used to end it for everyone.

// clockedServer is the client API with a clock the test moves (past the server's 10 s
// grace window for a rotated refresh token).
func clockedServer(t *testing.T) (string, *stepClock) {
	t.Helper()
	clock := &stepClock{t: time.Now()}
	h, closeStore, err := newHandlerWithClock(filepath.Join(t.TempDir(), "w.db"), appID, clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, clock
}

func appOn(t *testing.T, url string, st client.Storage, opts ...client.Option) *client.App {
	t.Helper()
	a, err := client.New(appID, append([]client.Option{client.WithBaseURL(url), client.WithStorage(st)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func userOf(a *client.App, id string) *client.User {
	for _, u := range a.AllUsers() {
		if u.ID() == id {
			return u
		}
	}
	return nil
}

// storedSession is the refresh token and provider the storage holds for a user.
func storedSession(t *testing.T, st client.Storage, id string) (refresh, provider string) {
	t.Helper()
	b, err := st.Load(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Users []struct {
			ID           string `json:"id"`
			RefreshToken string `json:"refresh_token"`
			ProviderType string `json:"provider_type"`
		} `json:"users"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	for _, u := range s.Users {
		if u.ID == id {
			return u.RefreshToken, u.ProviderType
		}
	}
	return "", ""
}

// sessionLives checks that a new App on the storage (a restarted program) refreshes the
// user, past the grace window of every token rotated so far.
func sessionLives(t *testing.T, url string, st client.Storage, clock *stepClock, id string) {
	t.Helper()
	clock.add(11 * time.Second)
	u := userOf(appOn(t, url, st), id)
	if u == nil {
		t.Fatalf("user %s is not in the storage", id)
	}
	if err := u.RefreshAccessToken(context.Background()); err != nil {
		t.Fatalf("the stored session of %s no longer refreshes: %v", id, err)
	}
}

// TestChangesDoNotWriteBackStaleTokens: an App that switches users, refreshes a profile,
// or has another App log its user in with another provider, writes its own change only:
// the refresh token another App rotated stays stored.
func TestChangesDoNotWriteBackStaleTokens(t *testing.T) {
	ctx := context.Background()
	url, clock := clockedServer(t)
	st := client.NewMemoryStorage()
	a := appOn(t, url, st)
	register(t, a, "x@example.com", "password-x")
	register(t, a, "y@example.com", "password-y")
	x := logIn(t, a, client.EmailPassword("x@example.com", "password-x"))
	logIn(t, a, client.EmailPassword("y@example.com", "password-y"))
	b := appOn(t, url, st)
	if err := userOf(b, x.ID()).RefreshAccessToken(ctx); err != nil { // B rotates X's token
		t.Fatal(err)
	}
	rotated, _ := storedSession(t, st, x.ID())
	if err := a.SwitchUser(x); err != nil {
		t.Fatal(err)
	}
	if err := x.RefreshProfile(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := storedSession(t, st, x.ID()); got != rotated {
		t.Fatal("A's switch or profile wrote its stale refresh token over B's rotated one")
	}
	sessionLives(t, url, st, clock, x.ID())

	// Another provider's login in A (an API key) is taken in by B whole, so B's later
	// writes do not undo it.
	key, err := x.APIKeys().Create(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.LogIn(ctx, client.APIKey(key.Key)); err != nil {
		t.Fatal(err)
	}
	if err := b.ReloadUsers(ctx); err != nil {
		t.Fatal(err)
	}
	if p := userOf(b, x.ID()).ProviderType(); p != "api-key" {
		t.Fatalf("B's user has provider %s after A's API-key login", p)
	}
	if err := x.RefreshAccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	rotated, _ = storedSession(t, st, x.ID())
	if err := b.ReloadUsers(ctx); err != nil {
		t.Fatal(err)
	}
	if got, provider := storedSession(t, st, x.ID()); got != rotated || provider != "api-key" {
		t.Fatalf("B's reload wrote back its copy (provider %s, rotated kept %v)", provider, got == rotated)
	}
	sessionLives(t, url, st, clock, x.ID())
}

// TestRefreshTokenRequestsUseTheStoredToken: API-key management (which authenticates with
// the refresh token) and logout use the token another App rotated, not a stale copy that
// the server would treat as a replay.
func TestRefreshTokenRequestsUseTheStoredToken(t *testing.T) {
	ctx := context.Background()
	url, clock := clockedServer(t)
	st := client.NewMemoryStorage()
	a := appOn(t, url, st)
	register(t, a, "k@example.com", "password-k")
	x := logIn(t, a, client.EmailPassword("k@example.com", "password-k"))
	b := appOn(t, url, st)
	if err := userOf(b, x.ID()).RefreshAccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	clock.add(11 * time.Second)
	if _, err := x.APIKeys().List(ctx); err != nil {
		t.Fatalf("A's API-key request after B rotated: %v", err)
	}
	if !x.IsLoggedIn() {
		t.Fatal("A's user was logged out")
	}
	sessionLives(t, url, st, clock, x.ID())
}

// TestRefreshAccessTokenAsksTheServer: an explicit refresh gets a new token from the
// server even when another App refreshed meanwhile (it is how fresh custom data is read).
func TestRefreshAccessTokenAsksTheServer(t *testing.T) {
	ctx := context.Background()
	url, _ := clockedServer(t)
	st := client.NewMemoryStorage()
	a := appOn(t, url, st)
	x := logIn(t, a, client.AnonymousNew())
	b := appOn(t, url, st)
	xb := userOf(b, x.ID())
	if err := xb.RefreshAccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	refreshed := 0
	defer a.Subscribe(func(e client.Event) {
		if e.Kind == client.EventTokenRefreshed {
			refreshed++
		}
	})()
	if err := x.RefreshAccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	if refreshed != 1 {
		t.Fatalf("A's RefreshAccessToken took B's token instead of asking the server (refreshed %d)", refreshed)
	}
}

// failingWrites is a storage whose writes fail while fail is set (a full disk).
type failingWrites struct {
	*client.MemoryStorage
	fail bool
}

func (f *failingWrites) Update(ctx context.Context, id string, change func([]byte) ([]byte, error)) error {
	if !f.fail {
		return f.MemoryStorage.Update(ctx, id, change)
	}
	return f.MemoryStorage.Update(ctx, id, func(cur []byte) ([]byte, error) {
		if _, err := change(cur); err != nil {
			return nil, err
		}
		return nil, errors.New("disk full")
	})
}

// TestFailedWriteDoesNotResurrect: a write that failed after taking another App's user in
// does not later write that user back after the other App removed it.
func TestFailedWriteDoesNotResurrect(t *testing.T) {
	ctx := context.Background()
	url, _ := clockedServer(t)
	mem := client.NewMemoryStorage()
	flaky := &failingWrites{MemoryStorage: mem}
	a := appOn(t, url, flaky)
	w := logIn(t, a, client.AnonymousNew())
	b := appOn(t, url, mem)
	z := logIn(t, b, client.AnonymousNew())
	failed := false
	defer a.Subscribe(func(e client.Event) { failed = failed || e.Kind == client.EventStorageError })()
	flaky.fail = true
	if err := a.SwitchUser(w); err != nil || !failed || userOf(a, z.ID()) == nil {
		t.Fatalf("a switch whose write fails: %v, failed %v, user taken in: %v", err, failed, userOf(a, z.ID()) != nil)
	}
	flaky.fail = false
	if err := b.RemoveUser(ctx, z); err != nil {
		t.Fatal(err)
	}
	if err := a.ReloadUsers(ctx); err != nil {
		t.Fatal(err)
	}
	if rt, _ := storedSession(t, mem, z.ID()); rt != "" || userOf(a, z.ID()) != nil {
		t.Fatal("the user B removed came back")
	}
}

// TestSubscribersMayCallTheApp: a subscriber that calls back into the App (a retry after
// a storage error, a custom-data read after a refresh) does not deadlock it.
func TestSubscribersMayCallTheApp(t *testing.T) {
	ctx := context.Background()
	url, _ := clockedServer(t)
	flaky := &failingWrites{MemoryStorage: client.NewMemoryStorage()}
	a := appOn(t, url, flaky)
	u := logIn(t, a, client.AnonymousNew())
	retried, reread := false, false
	defer a.Subscribe(func(e client.Event) {
		switch {
		case e.Kind == client.EventStorageError && !retried:
			retried = true
			_ = a.ReloadUsers(ctx)
		case e.Kind == client.EventTokenRefreshed && !reread:
			reread = true
			_, _ = u.RefreshCustomData(ctx)
		}
	})()
	done := make(chan struct{})
	go func() {
		defer close(done)
		flaky.fail = true
		_ = a.SwitchUser(u)
		flaky.fail = false
		_ = u.RefreshAccessToken(ctx)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a subscriber calling the App deadlocked it")
	}
	if !retried || !reread {
		t.Fatalf("the subscriber was not called: storage error %v, refresh %v", retried, reread)
	}
}

// TestStorageRefilledWhenItsFileIsGone: a state file removed (or set aside by another
// program) is written again with the running App's users, not read as "all removed".
func TestStorageRefilledWhenItsFileIsGone(t *testing.T) {
	ctx := context.Background()
	url, _ := clockedServer(t)
	dir := t.TempDir()
	st := client.NewFileStorage(dir)
	a := appOn(t, url, st)
	x := logIn(t, a, client.AnonymousNew())
	if err := os.Remove(filepath.Join(dir, appID+".json")); err != nil {
		t.Fatal(err)
	}
	if err := a.ReloadUsers(ctx); err != nil {
		t.Fatal(err)
	}
	if !x.IsLoggedIn() || userOf(appOn(t, url, st), x.ID()) == nil {
		t.Fatal("the App dropped its user when the storage file went away")
	}
}

// TestActiveUserWithFrozenClocks: the last user made active in any App is the active user
// everywhere, whatever the clocks say.
func TestActiveUserWithFrozenClocks(t *testing.T) {
	ctx := context.Background()
	url, _ := clockedServer(t)
	st := client.NewMemoryStorage()
	fixed := time.Now()
	frozen := client.WithClock(func() time.Time { return fixed })
	a := appOn(t, url, st, frozen)
	logIn(t, a, client.AnonymousNew())
	b := appOn(t, url, st, frozen)
	logIn(t, a, client.AnonymousNew())
	z := logIn(t, b, client.AnonymousNew())
	if err := a.ReloadUsers(ctx); err != nil {
		t.Fatal(err)
	}
	for name, app := range map[string]*client.App{"A": a, "B": b, "a restarted program": appOn(t, url, st)} {
		if cur := app.CurrentUser(); cur == nil || cur.ID() != z.ID() {
			t.Errorf("%s: the active user is not the last to log in", name)
		}
	}
}
