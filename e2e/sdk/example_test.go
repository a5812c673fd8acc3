package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/wardenauth/warden/client"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/clientapi"
	"github.com/wardenauth/warden/internal/function"
	"github.com/wardenauth/warden/internal/password"
	"github.com/wardenauth/warden/internal/store/sqlite"
	"github.com/wardenauth/warden/internal/token"
)

// exampleServer starts Warden in-process for the examples, like `warden serve --app
// ./examples/quickstart` does, and returns its URL and a function that stops it.
func exampleServer() (string, func()) {
	dir, err := os.MkdirTemp("", "warden-example-")
	if err != nil {
		panic(err)
	}
	h, closeStore, err := newHandler(filepath.Join(dir, "w.db"), "quickstart-abcde")
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	return srv.URL, func() { srv.Close(); closeStore(); os.RemoveAll(dir) }
}

// newHandler builds Warden's real client API on a SQLite file, serving one app with
// anonymous, API key and auto-confirmed email/password providers.
func newHandler(dbPath, appID string) (http.Handler, func(), error) {
	return newHandlerWithClock(dbPath, appID, nil)
}

// newHandlerWithClock is newHandler with the server's clock (nil: the real one).
func newHandlerWithClock(dbPath, appID string, clock auth.Clock) (http.Handler, func(), error) {
	st, err := sqlite.Open(context.Background(), dbPath, sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		return nil, nil, err
	}
	key, _ := token.GenerateEd25519PEM()
	ring, _ := token.NewRing(key)
	hasher, _ := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1}, 4)
	app := &appconfig.App{
		ClientAppID: appID, DomainID: "eeeeeeeeeeeeeeeeeeeeeeee", DeploymentModel: "GLOBAL", Location: "US-VA",
		Providers: map[string]*appconfig.Provider{
			"anon-user":      {Name: "anon-user", Type: "anon-user", ID: "aaaaaaaaaaaaaaaaaaaaaaaa"},
			"api-key":        {Name: "api-key", Type: "api-key", ID: "cccccccccccccccccccccccc"},
			"local-userpass": {Name: "local-userpass", Type: "local-userpass", ID: "bbbbbbbbbbbbbbbbbbbbbbbb", Config: json.RawMessage(`{"autoConfirm": true}`)},
		},
		Functions: map[string]*appconfig.Function{
			"sum":    {Name: "sum", File: "sum.js", Source: `exports = (...n) => n.reduce((a, b) => a + b, 0);`},
			"whoami": {Name: "whoami", File: "whoami.js", Source: `exports = async () => ({ id: context.user.id, email: context.user.data.email ?? null });`},
		},
	}
	engine, err := function.New(app, function.Options{})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	svc, _, err := auth.New(auth.Options{Store: st, Ring: ring, Hasher: hasher, Apps: []*appconfig.App{app},
		Functions: map[string]*function.Engine{appID: engine}, Clock: clock})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return clientapi.New(svc, clientapi.Options{}), func() { st.Close() }, nil
}

// The "Work with Multiple Users" page: register two users, log both in, switch, log
// one out, remove the other.
func Example_multipleUsers() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	app, err := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	if err != nil {
		panic(err)
	}
	ep := app.EmailPasswordAuth()
	_ = ep.RegisterUser(ctx, "joe@example.com", "passw0rd")
	_ = ep.RegisterUser(ctx, "emma@example.com", "passw0rd")

	joe, _ := app.LogIn(ctx, client.EmailPassword("joe@example.com", "passw0rd"))
	emma, _ := app.LogIn(ctx, client.EmailPassword("emma@example.com", "passw0rd"))
	fmt.Println("active:", app.CurrentUser().Profile().Email)

	_ = app.SwitchUser(joe)
	fmt.Println("after switch:", app.CurrentUser().Profile().Email)

	_ = joe.LogOut(ctx)
	for _, u := range app.AllUsers() {
		fmt.Println(u.Profile().Email, u.State())
	}
	fmt.Println("active:", app.CurrentUser().Profile().Email)

	_ = app.RemoveUser(ctx, emma)
	fmt.Println("users on this device:", len(app.AllUsers()), "active:", app.CurrentUser() == nil)
	// Output:
	// active: emma@example.com
	// after switch: joe@example.com
	// emma@example.com logged-in
	// joe@example.com logged-out
	// active: emma@example.com
	// users on this device: 1 active: true
}

// Anonymous login reuses the device's anonymous user; AnonymousNew makes another.
func Example_anonymous() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	app, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	first, _ := app.LogIn(ctx, client.Anonymous())
	again, _ := app.LogIn(ctx, client.Anonymous())
	other, _ := app.LogIn(ctx, client.AnonymousNew())
	fmt.Println(first == again, first == other, len(first.Identities()))
	// Output: true false 1
}

// Link an email/password identity to an anonymous user: the user keeps its id.
func Example_userLinkCredentials() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	app, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	guest, _ := app.LogIn(ctx, client.Anonymous())
	_ = app.EmailPasswordAuth().RegisterUser(ctx, "ann@example.com", "passw0rd")
	if err := guest.LinkCredentials(ctx, client.EmailPassword("ann@example.com", "passw0rd")); err != nil {
		panic(err)
	}
	for _, id := range guest.Identities() {
		fmt.Println(id.ProviderType)
	}
	ann, _ := app.LogIn(ctx, client.EmailPassword("ann@example.com", "passw0rd"))
	fmt.Println(ann.ID() == guest.ID())
	// Output:
	// anon-user
	// local-userpass
	// true
}

// A user creates an API key for a program that logs in as that user.
func Example_userAPIKeys() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	app, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	_ = app.EmailPasswordAuth().RegisterUser(ctx, "ops@example.com", "passw0rd")
	user, _ := app.LogIn(ctx, client.EmailPassword("ops@example.com", "passw0rd"))

	key, _ := user.APIKeys().Create(ctx, "backup-job")
	fmt.Println(key.Name, len(key.Key))

	job, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	asUser, _ := job.LogIn(ctx, client.APIKey(key.Key))
	fmt.Println(asUser.ID() == user.ID())

	_ = user.APIKeys().Disable(ctx, key.ID)
	keys, _ := user.APIKeys().List(ctx)
	fmt.Println(keys[0].Name, keys[0].Disabled)
	// Output:
	// backup-job 64
	// true
	// backup-job true
}

// A program started again (here: without a server) finds its users in storage.
func Example_newOffline() {
	url, stop := exampleServer()
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "warden-state-")
	defer os.RemoveAll(dir)
	app, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(&client.FileStorage{Dir: dir}))
	_ = app.EmailPasswordAuth().RegisterUser(ctx, "kim@example.com", "passw0rd")
	_, _ = app.LogIn(ctx, client.EmailPassword("kim@example.com", "passw0rd"))
	stop()

	restarted, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(&client.FileStorage{Dir: dir}))
	fmt.Println(restarted.CurrentUser().Profile().Email, restarted.CurrentUser().State())
	// Output: kim@example.com logged-in
}

// Errors carry the server's status and error_code.
func Example_error() {
	url, stop := exampleServer()
	defer stop()
	app, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	_, err := app.LogIn(context.Background(), client.EmailPassword("nobody@example.com", "wrong-pw"))
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.StatusCode, e.Code, e.Message)
	}
	// Output: 401 InvalidPassword unauthorized
}

// Branch on the server's answer with errors.Is; ErrLoggedOut is the one check for "this
// user must log in again", whatever ended the session.
func Example_errorsIs() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	app, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	ep := app.EmailPasswordAuth()
	_ = ep.RegisterUser(ctx, "ann@example.com", "ann-password")
	err := ep.RegisterUser(ctx, "ann@example.com", "ann-password")
	fmt.Println("taken:", errors.Is(err, client.ErrAccountNameInUse))
	_, err = app.LogIn(ctx, client.EmailPassword("ann@example.com", "not-her-password"))
	fmt.Println("wrong password:", errors.Is(err, client.ErrInvalidPassword))
	ann, _ := app.LogIn(ctx, client.EmailPassword("ann@example.com", "ann-password"))
	_ = ann.LogOut(ctx)
	err = ann.RefreshProfile(ctx)
	fmt.Println("must log in again:", errors.Is(err, client.ErrLoggedOut))
	// Output:
	// taken: true
	// wrong password: true
	// must log in again: true
}

// Call an app function as the current user.
func Example_userCallFunction() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	app, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	user, _ := app.LogIn(ctx, client.Anonymous())
	res, _ := user.CallFunction(ctx, "sum", 1, 2, 3.5)
	var sum float64
	_ = res.Decode(&sum)
	fmt.Println(sum, string(res.JSON())) // the JSON is canonical Extended JSON, as App Services answered
	// Output: 6.5 {"$numberDouble":"6.5"}
}

// A program's own requests (to its services, which verify the token with the server's
// JWKS) carry the user's access token; the SDK refreshes it when needed.
func Example_userHTTPClient() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	app, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	user, _ := app.LogIn(ctx, client.Anonymous())

	tok, _ := user.Token(ctx) // for a header you set yourself
	fmt.Println("token:", tok != "", "valid for 30 minutes at most:", time.Until(user.AccessTokenExpiry()) <= client.AccessTokenLifetime)

	hc := user.HTTPClient() // sets "Authorization: Bearer ...", refreshes and retries once on 401
	res, err := hc.Get(url + "/api/client/v2.0/auth/profile")
	if err == nil {
		fmt.Println("status:", res.StatusCode)
		res.Body.Close()
	}
	// Output:
	// token: true valid for 30 minutes at most: true
	// status: 200
}

// A TokenSource has the shape of golang.org/x/oauth2's: code that takes one gets a valid
// token on every call, refreshed by the SDK when needed.
func Example_userTokenSource() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	app, _ := client.New("quickstart-abcde", client.WithBaseURL(url), client.WithStorage(client.NewMemoryStorage()))
	user, _ := app.LogIn(ctx, client.Anonymous())

	var ts client.TokenSource = user.TokenSource(ctx)
	tok, expiry, err := ts.Token()
	fmt.Println(tok == user.AccessToken(), expiry.Equal(user.AccessTokenExpiry()), err)
	// Output: true true <nil>
}
