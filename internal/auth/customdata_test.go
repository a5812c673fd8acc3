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
// tokens, and a login that has no copy to serve is refused as unavailable (503), never
// answered with a token that silently lacks user_data.
func TestCustomUserDataInTokens(t *testing.T) {
	ctx := context.Background()
	var src *data.Source
	e := authtest.New(t, authtest.Options{Tune: func(o *auth.Options) {
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
	res, err := e.Svc.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "anon-user"})
	if err != nil {
		t.Fatal(err)
	}
	if ud := userData(t, res.AccessToken); ud != nil {
		t.Fatalf("no document yet, user_data = %v", ud)
	}
	arg := bson.D{{Key: "database", Value: "app"}, {Key: "collection", Value: "profiles"},
		{Key: "document", Value: bson.D{{Key: "user_id", Value: res.UserID}, {Key: "color", Value: "blue"}}}}
	if _, err := src.Execute(ctx, data.Caller{System: true}, "insertOne", arg); err != nil {
		t.Fatal(err)
	}
	ref, err := e.Svc.Refresh(ctx, res.RefreshToken, false)
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
	ref, err = e.Svc.Refresh(ctx, res.RefreshToken, false)
	if err != nil {
		t.Fatalf("refresh with a known copy: %v", err)
	}
	if ud := userData(t, ref.AccessToken); ud["color"] != "blue" {
		t.Errorf("source down, user_data = %v", ud)
	}
	_, err = e.Svc.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "anon-user"})
	if err == nil {
		t.Fatal("a new user's login was answered though their custom data cannot be read")
	}
	if _, ok := e.Svc.Unavailable(err); !ok {
		t.Errorf("login with the source down: %v, want an unavailable error", err)
	}
}
