package e2e

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/wardenauth/warden/client"
)

// TestSDKAgainstTheBinary runs the Go SDK's documented flows against `warden serve`:
// multiple users, switch, log out, link, API keys, refresh, and an offline start from
// storage after the server is gone.
func TestSDKAgainstTheBinary(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "--app", quickstart(t))
	dir := t.TempDir()
	app, err := client.New("quickstart-abcde", client.WithBaseURL(srv.URL), client.WithStorage(&client.FileStorage{Dir: dir}))
	if err != nil {
		t.Fatal(err)
	}
	ep := app.EmailPasswordAuth()
	for _, e := range []string{"sdk-joe@example.com", "sdk-emma@example.com"} {
		if err := ep.RegisterUser(ctx, e, "passw0rd"); err != nil {
			t.Fatal(err)
		}
	}
	joe, err := app.LogIn(ctx, client.EmailPassword("sdk-joe@example.com", "passw0rd"))
	if err != nil {
		t.Fatal(err)
	}
	emma, err := app.LogIn(ctx, client.EmailPassword("sdk-emma@example.com", "passw0rd"))
	if err != nil {
		t.Fatal(err)
	}
	if app.CurrentUser() != emma {
		t.Fatal("the last login is not active")
	}
	// The SDK opts in to refresh-token rotation: a refresh replaces the stored token.
	before := emma.RefreshToken()
	if err := emma.RefreshAccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	if after := emma.RefreshToken(); after == before || after == "" {
		t.Fatal("the refresh token did not rotate")
	}
	if err := emma.RefreshProfile(ctx); err != nil {
		t.Fatalf("after a rotation: %v", err)
	}
	if err := app.SwitchUser(joe); err != nil {
		t.Fatal(err)
	}
	guest, err := app.LogIn(ctx, client.AnonymousNew())
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.RegisterUser(ctx, "sdk-guest@example.com", "passw0rd"); err != nil {
		t.Fatal(err)
	}
	if err := guest.LinkCredentials(ctx, client.EmailPassword("sdk-guest@example.com", "passw0rd")); err != nil {
		t.Fatal(err)
	}
	if len(guest.Identities()) != 2 {
		t.Fatalf("identities after link: %+v", guest.Identities())
	}
	key, err := joe.APIKeys().Create(ctx, "sdk")
	if err != nil {
		t.Fatal(err)
	}
	// Many concurrent requests and refreshes of one user.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(2)
		go func() { defer wg.Done(); _ = joe.RefreshProfile(ctx) }()
		go func() { defer wg.Done(); _ = joe.RefreshAccessToken(ctx) }()
	}
	wg.Wait()
	if err := joe.RefreshProfile(ctx); err != nil {
		t.Fatal(err)
	}
	if err := emma.LogOut(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.stop(t); err != nil {
		t.Fatal(err)
	}

	offline, err := client.New("quickstart-abcde", client.WithBaseURL(srv.URL), client.WithStorage(&client.FileStorage{Dir: dir}))
	if err != nil {
		t.Fatal(err)
	}
	if cur := offline.CurrentUser(); cur == nil || cur.ID() != guest.ID() {
		t.Fatalf("offline start: current user = %v", cur)
	}
	states := map[string]client.State{}
	for _, u := range offline.AllUsers() {
		states[u.Profile().Email] = u.State()
	}
	if states["sdk-joe@example.com"] != client.StateLoggedIn || states["sdk-emma@example.com"] != client.StateLoggedOut {
		t.Fatalf("offline states = %v", states)
	}

	// The server comes back on the same data: the stored tokens and the API key work.
	srv2 := startServer(t, "--app", quickstart(t), "--data", srv.DataDir)
	again, err := client.New("quickstart-abcde", client.WithBaseURL(srv2.URL), client.WithStorage(&client.FileStorage{Dir: dir}))
	if err != nil {
		t.Fatal(err)
	}
	if err := again.CurrentUser().RefreshProfile(ctx); err != nil {
		t.Fatalf("stored tokens after a restart: %v", err)
	}
	viaKey, err := again.LogIn(ctx, client.APIKey(key.Key))
	if err != nil || viaKey.ID() != joe.ID() {
		t.Fatalf("api key login: %v", err)
	}
}

// TestGoSDKExampleProgram runs examples/gosdk against the binary, twice: the second run
// finds the users the first one kept.
func TestGoSDKExampleProgram(t *testing.T) {
	srv := startServer(t, "--app", quickstart(t))
	state := t.TempDir()
	runExample := func() string {
		cmd := exec.Command("go", "run", "./examples/gosdk", "-url", srv.URL, "-state", state)
		cmd.Dir = repoRoot(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("examples/gosdk: %v\n%s", err, out)
		}
		return string(out)
	}
	first := runExample()
	for _, want := range []string{"active: emma@example.com", "switched to: joe@example.com", "emma@example.com logged-out", "after removing emma: 1 user(s), active joe@example.com"} {
		if !strings.Contains(first, want) {
			t.Fatalf("first run does not say %q:\n%s", want, first)
		}
	}
	second := runExample()
	if !strings.Contains(second, "welcome back: 1 users on this device, active joe@example.com") {
		t.Fatalf("second run did not find the kept user:\n%s", second)
	}
}
