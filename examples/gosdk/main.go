// Command gosdk shows Warden's Go SDK doing what the App Services "Work with Multiple
// Users" page shows: two users logged in on one device, switching, logging out and
// removing, with the users kept on disk between runs.
//
//	go run ./examples/gosdk -url http://127.0.0.1:9090 -app quickstart-abcde -state ./sdk-state
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wardenauth/warden/client"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gosdk:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gosdk", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:9090", "Warden's URL")
	appID := fs.String("app", "quickstart-abcde", "client app id")
	state := fs.String("state", "", "directory to keep users in (default: the user's config directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []client.Option{client.WithBaseURL(*url), client.WithClientApp("gosdk-example", "1.0.0")}
	if *state != "" {
		opts = append(opts, client.WithStorage(&client.FileStorage{Dir: *state}))
	}
	app, err := client.New(*appID, opts...)
	if err != nil {
		return err
	}
	if cur := app.CurrentUser(); cur != nil {
		fmt.Fprintf(out, "welcome back: %d users on this device, active %s\n", len(app.AllUsers()), describe(cur))
	}

	ep := app.EmailPasswordAuth()
	for _, email := range []string{"joe@example.com", "emma@example.com"} {
		if err := ep.RegisterUser(ctx, email, "passw0rd"); err != nil && !errors.Is(err, client.ErrAccountNameInUse) {
			return fmt.Errorf("register %s: %w", email, err)
		}
	}
	joe, err := app.LogIn(ctx, client.EmailPassword("joe@example.com", "passw0rd"))
	if err != nil {
		return err
	}
	emma, err := app.LogIn(ctx, client.EmailPassword("emma@example.com", "passw0rd"))
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "logged in:", describe(joe), "and", describe(emma))
	fmt.Fprintln(out, "active:", describe(app.CurrentUser()))

	if err := app.SwitchUser(joe); err != nil {
		return err
	}
	fmt.Fprintln(out, "switched to:", describe(app.CurrentUser()))

	if err := emma.LogOut(ctx); err != nil {
		return err
	}
	for _, u := range app.AllUsers() {
		fmt.Fprintf(out, "  %s %s\n", describe(u), u.State())
	}
	if err := app.RemoveUser(ctx, emma); err != nil {
		return err
	}
	fmt.Fprintf(out, "after removing emma: %d user(s), active %s\n", len(app.AllUsers()), describe(app.CurrentUser()))
	return nil
}

func describe(u *client.User) string {
	if u == nil {
		return "nobody"
	}
	if e := u.Profile().Email; e != "" {
		return e
	}
	return u.ID()
}
