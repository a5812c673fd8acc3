package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/auth/authtest"
	"github.com/wardenauth/warden/internal/store"
	"github.com/wardenauth/warden/internal/store/sqlite"
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
		if _, _, err := auth.New(auth.Options{Store: st, Apps: []*appconfig.App{app, app}}); err == nil {
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
	e := authtest.New(t, authtest.Options{})
	res, err := e.Svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "anon-user"})
	if err != nil {
		t.Fatal(err)
	}
	// Without an actor (a client's own request path) no operator event is written.
	if err := e.Svc.Operators.SetUserDisabled(ctx, authtest.AppID, res.UserID, false); err != nil {
		t.Fatal(err)
	}
	opCtx := auth.WithActor(ctx, auth.Actor{Name: "admin:ops", IP: "192.0.2.7"})
	if _, err := e.Svc.Operators.RevokeSessions(opCtx, authtest.AppID, res.UserID); err != nil {
		t.Fatal(err)
	}
	if err := e.Svc.Operators.SetUserDisabled(opCtx, authtest.AppID, res.UserID, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Svc.FlushAudit(ctx); err != nil {
		t.Fatal(err)
	}
	events, err := e.Svc.Operators.AuditLog(ctx, authtest.AppID, store.AuditFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.AuditEvent{}
	for _, ev := range events {
		got[ev.Action] = ev
	}
	for _, action := range []string{"user.logout", "user.disable"} {
		if ev, ok := got[action]; !ok || ev.Actor != "admin:ops" || ev.IP != "192.0.2.7" || ev.Target != res.UserID {
			t.Errorf("%s: %+v (events %v)", action, ev, events)
		}
	}
	if _, ok := got["user.enable"]; ok {
		t.Error("a change without an actor was recorded as an operator's")
	}
}

// TestEveryLoginFlowIsAudited: logins, user creation, links and failures of every
// provider that logs in with a POST end in the same place and leave the same events.
func TestEveryLoginFlowIsAudited(t *testing.T) {
	ctx := context.Background()
	e := authtest.New(t, authtest.Options{})
	anon, err := e.Svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "anon-user", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.Operators.CreateEmailPasswordUser(ctx, authtest.AppID, "ann@example.com", "password1"); err != nil {
		t.Fatal(err)
	}
	creds := map[string]any{"username": "ann@example.com", "password": "password1"}
	ann, err := e.Svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "local-userpass", Credentials: creds, IP: "192.0.2.2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "local-userpass",
		Credentials: map[string]any{"username": "ann@example.com", "password": "wrong-one"}, IP: "192.0.2.3"}); err == nil {
		t.Fatal("a wrong password logged in")
	}
	if err := e.Svc.FlushAudit(ctx); err != nil {
		t.Fatal(err)
	}
	events, err := e.Svc.Operators.AuditLog(ctx, authtest.AppID, store.AuditFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, ev := range events {
		seen[ev.Action+" "+ev.Target] = ev.IP
	}
	for want, ip := range map[string]string{
		"user_created " + anon.UserID:  "192.0.2.1",
		"login " + ann.UserID:          "192.0.2.2",
		"login_failed ann@example.com": "192.0.2.3",
	} {
		if got, ok := seen[want]; !ok || got != ip {
			t.Errorf("no %q event from %s (events %v)", want, ip, seen)
		}
	}
}

// TestExportAndImportKeepIdsAndPasswords: a user exported from one server and imported
// into another keeps its id, its identities and its password.
func TestExportAndImportKeepIdsAndPasswords(t *testing.T) {
	ctx := context.Background()
	from, to := authtest.New(t, authtest.Options{}), authtest.New(t, authtest.Options{})
	u, err := from.Svc.Operators.CreateEmailPasswordUser(ctx, authtest.AppID, "kim@example.com", "password1")
	if err != nil {
		t.Fatal(err)
	}
	var exported []auth.ExportedUser
	if err := from.Svc.Operators.ExportUsers(ctx, authtest.AppID, func(e auth.ExportedUser) error { exported = append(exported, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(exported) != 1 || exported[0].PasswordHash == "" {
		t.Fatalf("exported = %+v", exported)
	}
	for round, want := range []bool{true, false} { // a second import skips what is there
		ok, err := to.Svc.Operators.ImportUser(ctx, authtest.AppID, exported[0])
		if err != nil || ok != want {
			t.Fatalf("import round %d: %v %v", round, ok, err)
		}
	}
	res, err := to.Svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "local-userpass",
		Credentials: map[string]any{"username": "kim@example.com", "password": "password1"}})
	if err != nil || res.UserID != u.ID {
		t.Fatalf("login after import: %+v %v, want user %s", res, err, u.ID)
	}
}

// TestAppServicesUsersKeepTheirIds: users as App Services' Admin API returned them (an
// array, JSON lines, more arrays) are imported with their ids, identities, dates and
// disabled state; an email/password user must reset its password, then logs in as itself.
func TestAppServicesUsersKeepTheirIds(t *testing.T) {
	ctx := context.Background()
	f, err := os.Open("testdata/appservices-users.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	users, err := auth.ReadAppServicesUsers(f)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, u := range users {
		lines = append(lines, u.Line)
	}
	if fmt.Sprint(lines) != "[2 11 20 21]" {
		t.Fatalf("read %d users at lines %v, want [2 11 20 21]", len(users), lines)
	}
	e := authtest.New(t, authtest.Options{})
	var keys []string
	for _, u := range users {
		res, err := e.Svc.Operators.ImportAppServicesUser(ctx, authtest.AppID, u)
		if err != nil || !res.Created {
			t.Fatalf("import %s: %+v %v", u.ID, res, err)
		}
		keys = append(keys, res.APIKeys...)
	}
	if len(keys) != 1 || keys[0] != "64a1f0c2e4b0a1b2c3d4e602" {
		t.Errorf("API key identities reported: %v", keys)
	}
	again, err := e.Svc.Operators.ImportAppServicesUser(ctx, authtest.AppID, users[0])
	if err != nil || again.Created {
		t.Fatalf("a second import: %+v %v", again, err)
	}
	jay, err := e.Svc.Operators.UserDetail(ctx, authtest.AppID, "64a1f0c2e4b0a1b2c3d4e600")
	if err != nil || !jay.Disabled || jay.Identities[0].ID != "jwt-subject-42" || jay.CreatedAt.Unix() != 1688334531 {
		t.Fatalf("the custom JWT user: %+v %v", jay, err)
	}

	// No password logs in until a reset sets one; then the user keeps its id.
	login := func(pw string) (auth.LoginResult, error) {
		return e.Svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "local-userpass", Credentials: map[string]any{"username": "migrated@example.com", "password": pw}})
	}
	if _, err := login("anything"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("a migrated account logged in without a reset: %v", err)
	}
	if err := e.Svc.EmailPassword.SendPasswordReset(ctx, authtest.AppID, "local-userpass", "migrated@example.com"); err != nil {
		t.Fatal(err)
	}
	m, err := e.Mail.WaitFor("migrated@example.com", "Reset", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(m.Body[strings.Index(m.Body, "https://") : strings.IndexAny(m.Body[strings.Index(m.Body, "https://"):], " \n")+strings.Index(m.Body, "https://")])
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Svc.EmailPassword.ResetPassword(ctx, authtest.AppID, "local-userpass", u.Query().Get("token"), u.Query().Get("tokenId"), "new-password"); err != nil {
		t.Fatal(err)
	}
	res, err := login("new-password")
	if err != nil || res.UserID != "64a1f0c2e4b0a1b2c3d4e5f6" {
		t.Fatalf("login after the reset: %+v %v", res, err)
	}
}

// TestMalformedAppServicesUsersAreRefusedWithTheirLine: a file that cannot be read whole
// is refused, naming the line.
func TestMalformedAppServicesUsersAreRefusedWithTheirLine(t *testing.T) {
	for in, want := range map[string]string{
		"[{\"_id\": \"a\", \"identities\": [{\"id\": \"x\", \"provider_type\": \"anon-user\"}]},\n {\"_id\": \"b\"}]":                  "line 2",
		"{\"_id\": \"a\", \"identities\": [{\"id\": \"x\", \"provider_type\": \"anon-user\"}]}\n{\"_id\": \"b\", \"identities\": [}\n": "line 2",
		"\n\n42\n": "line 3",
	} {
		if _, err := auth.ReadAppServicesUsers(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %s", in, err, want)
		}
	}
}

// TestSessionEndsReachTheirStreams: a logout on this node ends the long requests of that
// session at once (not at the next periodic check, set to an hour here), and a user's
// disable ends all of that user's; another user's go on.
func TestSessionEndsReachTheirStreams(t *testing.T) {
	ctx := context.Background()
	e := authtest.New(t, authtest.Options{Tune: func(o *auth.Options) { o.SessionRecheck = time.Hour }})
	login := func() (auth.LoginResult, auth.Principal) {
		t.Helper()
		res, err := e.Svc.Sessions.LogIn(ctx, auth.LoginRequest{AppID: authtest.AppID, Provider: "anon-user"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.Svc.Sessions.Authenticate(ctx, res.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		return res, p
	}
	ended := func(c context.Context) {
		t.Helper()
		select {
		case <-c.Done():
			if !errors.Is(context.Cause(c), auth.ErrSessionEnded) {
				t.Fatalf("ended by %v", context.Cause(c))
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the stream of an ended session goes on")
		}
	}
	a, pa := login()
	_, pb := login()
	ca, stopA := e.Svc.Sessions.UntilSessionEnds(ctx, pa)
	defer stopA()
	cb, stopB := e.Svc.Sessions.UntilSessionEnds(ctx, pb)
	defer stopB()
	if err := e.Svc.Sessions.LogOut(ctx, a.RefreshToken); err != nil {
		t.Fatal(err)
	}
	ended(ca)
	if cb.Err() != nil {
		t.Fatal("another user's stream ended")
	}
	if err := e.Svc.Operators.SetUserDisabled(ctx, authtest.AppID, pb.UserID, true); err != nil {
		t.Fatal(err)
	}
	ended(cb)
}
