package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/auth/authtest"
	"github.com/wardenauth/warden/internal/data"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// userData is the user_data claim of an access token (not verified: the service made it).
func userData(t *testing.T, access string) map[string]any {
	t.Helper()
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q", access)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		UserData map[string]any `json:"user_data"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.UserData
}

// TestCustomUserDataInTokens: a write of the custom-data collection through the MongoDB
// service shows in the next refreshed token at once (the cache is emptied by the write);
// when the data source stops answering, a user whose document was read keeps it in their
// tokens, a new user (who has no document yet) logs in, and an existing user's login that
// has no copy to serve is refused as unavailable (503), never answered with a token that
// silently lacks user_data.
func TestCustomUserDataInTokens(t *testing.T) {
	ctx := context.Background()
	var src *data.Source
	providers := authtest.DefaultProviders()
	providers["local-userpass"].Config = json.RawMessage(`{"autoConfirm": true, "resetPasswordUrl": "https://app.example/reset"}`)
	e := authtest.New(t, authtest.Options{Providers: providers, Tune: func(o *auth.Options) {
		app := o.Apps[0]
		app.DataSources = map[string]*appconfig.DataSource{"mongodb-atlas": {Name: "mongodb-atlas", Type: "mongodb-atlas"}}
		app.CustomUserData = &appconfig.CustomUserData{Enabled: true, MongoServiceName: "mongodb-atlas", DatabaseName: "app", CollectionName: "profiles", UserIDField: "user_id"}
		sources, err := data.Open(ctx, app, data.Options{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sources.Close(context.Background()) })
		src, _ = sources.Get("mongodb-atlas")
		o.Data = map[string]*data.Sources{app.ClientAppID: sources}
	}})
	res, err := e.Svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "anon-user"})
	if err != nil {
		t.Fatal(err)
	}
	if ud := userData(t, res.AccessToken); ud != nil {
		t.Fatalf("no document yet, user_data = %v", ud)
	}
	// A second user, who will log in again later: their first login made them, so their
	// document was never read.
	if err := e.Svc.EmailPassword.Register(ctx, authtest.AppID, "local-userpass", "bo@example.com", "bo-password"); err != nil {
		t.Fatal(err)
	}
	boLogin := auth.LoginRequest{AppID: authtest.AppID, Provider: "local-userpass", Credentials: map[string]any{"username": "bo@example.com", "password": "bo-password"}}
	if _, err := e.Svc.Sessions.LogIn(ctx, boLogin); err != nil {
		t.Fatal(err)
	}
	arg := bson.D{{Key: "database", Value: "app"}, {Key: "collection", Value: "profiles"},
		{Key: "document", Value: bson.D{{Key: "user_id", Value: res.UserID}, {Key: "color", Value: "blue"}}}}
	if _, err := src.Execute(ctx, data.Caller{System: true}, "insertOne", arg); err != nil {
		t.Fatal(err)
	}
	ref, err := e.Svc.Sessions.Refresh(ctx, res.RefreshToken, false)
	if err != nil {
		t.Fatal(err)
	}
	if ud := userData(t, ref.AccessToken); ud["color"] != "blue" {
		t.Fatalf("after the write, user_data = %v", ud)
	}

	// The data source stops answering.
	if err := src.Client().Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	ref, err = e.Svc.Sessions.Refresh(ctx, res.RefreshToken, false)
	if err != nil {
		t.Fatalf("refresh with a known copy: %v", err)
	}
	if ud := userData(t, ref.AccessToken); ud["color"] != "blue" {
		t.Errorf("source down, user_data = %v", ud)
	}
	// A new user has no document yet: their login needs no read.
	if _, err := e.Svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "anon-user"}); err != nil {
		t.Errorf("a new user's login with the source down: %v", err)
	}
	// An existing user whose document was never read cannot be given a token without it.
	_, err = e.Svc.Sessions.LogIn(ctx, boLogin)
	if err == nil {
		t.Fatal("an existing user's login was answered though their custom data cannot be read")
	}
	if _, ok := e.Svc.Unavailable(err); !ok {
		t.Errorf("login with the source down: %v, want an unavailable error", err)
	}
}
