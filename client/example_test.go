package client_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/wardenauth/warden/client"
)

// These examples show the SDK's shapes; they need a running server, so they are compiled
// but not run here (the server's module runs the same flows against a real server, in
// e2e/sdk).

// Several users on one device: the last to log in is active; switch, log out, remove.
func Example_multipleUsers() {
	ctx := context.Background()
	app, err := client.New("my-app-abcde", client.WithBaseURL("https://auth.example.com"), client.WithStorage(client.NewMemoryStorage()))
	if err != nil {
		panic(err)
	}
	joe, _ := app.LogIn(ctx, client.EmailPassword("joe@example.com", "passw0rd"))
	emma, _ := app.LogIn(ctx, client.EmailPassword("emma@example.com", "passw0rd"))
	fmt.Println("active:", app.CurrentUser().Profile().Email) // emma
	_ = app.SwitchUser(joe)
	_ = joe.LogOut(ctx) // joe stays on the device, logged out
	for _, u := range app.AllUsers() {
		fmt.Println(u.Profile().Email, u.State())
	}
	_ = app.RemoveUser(ctx, emma)
}

// Link an email/password identity to an anonymous user: the user keeps its id.
func ExampleUser_LinkCredentials() {
	ctx := context.Background()
	app, _ := client.New("my-app-abcde", client.WithBaseURL("https://auth.example.com"))
	guest, _ := app.LogIn(ctx, client.Anonymous())
	_ = app.EmailPasswordAuth().RegisterUser(ctx, "ann@example.com", "passw0rd")
	if err := guest.LinkCredentials(ctx, client.EmailPassword("ann@example.com", "passw0rd")); err != nil {
		fmt.Println("link failed:", err)
	}
}

// Errors carry the server's status and error_code.
func ExampleError() {
	app, _ := client.New("my-app-abcde", client.WithBaseURL("https://auth.example.com"))
	_, err := app.LogIn(context.Background(), client.EmailPassword("nobody@example.com", "wrong-pw"))
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.StatusCode, e.Code, e.Message) // 401 InvalidPassword unauthorized
	}
	if errors.Is(err, client.ErrInvalidPassword) {
		fmt.Println("wrong email or password")
	}
}

// Call an app function and decode its result.
func ExampleUser_CallFunction() {
	ctx := context.Background()
	app, _ := client.New("my-app-abcde", client.WithBaseURL("https://auth.example.com"))
	user, _ := app.LogIn(ctx, client.Anonymous())
	res, err := user.CallFunction(ctx, "sum", 1, 2, 3.5)
	if err != nil {
		return
	}
	var sum float64
	_ = res.Decode(&sum)
	fmt.Println(sum, string(res.JSON())) // 6.5 {"$numberDouble":"6.5"}
}
