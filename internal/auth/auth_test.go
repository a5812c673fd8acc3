package auth

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/store"
	"github.com/wardenauth/warden/internal/store/sqlite"
	"github.com/wardenauth/warden/internal/token"
)

// TestNewLeavesNoGoroutineOnError: a configuration error returns with nothing running.
func TestNewLeavesNoGoroutineOnError(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before := runtime.NumGoroutine()
	for range 20 {
		// Two apps with one id: refused.
		app := &appconfig.App{ClientAppID: "dup", DomainID: "d"}
		if _, _, err := New(Options{Store: st, Apps: []*appconfig.App{app, app}}); err == nil {
			t.Fatal("two apps with one id were accepted")
		}
	}
	// Goroutines of other parts come and go; twenty leaked writers would stay.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() >= before+20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after 20 failed New calls", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOperatorChangesAreAuditedByTheService: the service records an operator's change
// with the actor its caller put in the context, whichever entry point called it.
func TestOperatorChangesAreAuditedByTheService(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	app := &appconfig.App{ClientAppID: "ops-app", DomainID: "d", Providers: map[string]*appconfig.Provider{
		"anon-user": {Name: "anon-user", Type: "anon-user", ID: "aaaaaaaaaaaaaaaaaaaaaaaa"}}}
	key, _ := token.GenerateEd25519PEM()
	ring, err := token.NewRing(key)
	if err != nil {
		t.Fatal(err)
	}
	svc, _, err := New(Options{Store: st, Ring: ring, Apps: []*appconfig.App{app}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	res, err := svc.LogIn(ctx, LoginRequest{AppID: "ops-app", Provider: "anon-user"})
	if err != nil {
		t.Fatal(err)
	}
	// Without an actor (a client's own request path) no operator event is written.
	if err := svc.SetUserDisabled(ctx, "ops-app", res.UserID, false); err != nil {
		t.Fatal(err)
	}
	opCtx := WithActor(ctx, Actor{Name: "admin:ops", IP: "192.0.2.7"})
	if _, err := svc.RevokeSessions(opCtx, "ops-app", res.UserID); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetUserDisabled(opCtx, "ops-app", res.UserID, true); err != nil {
		t.Fatal(err)
	}
	if err := svc.FlushAudit(ctx); err != nil {
		t.Fatal(err)
	}
	events, err := svc.AuditLog(ctx, "ops-app", store.AuditFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.AuditEvent{}
	for _, e := range events {
		got[e.Action] = e
	}
	for _, action := range []string{"user.logout", "user.disable"} {
		if e, ok := got[action]; !ok || e.Actor != "admin:ops" || e.IP != "192.0.2.7" || e.Target != res.UserID {
			t.Errorf("%s: %+v (events %v)", action, e, events)
		}
	}
	if _, ok := got["user.enable"]; ok {
		t.Error("a change without an actor was recorded as an operator's")
	}
}
