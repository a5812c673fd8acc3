// Package storetest is the conformance suite that every store.Store implementation
// runs unchanged: call Run from the implementation's own test with a function that
// opens a fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/store"
)

// Opener returns a fresh, empty store; the suite closes it.
type Opener func(t *testing.T) store.Store

const app = "app-one"

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// seq makes ids unique across the suite; tests call nextID from several goroutines.
var seq atomic.Int64

func nextID() string {
	return fmt.Sprintf("%024x", seq.Add(1))
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// login builds LoginParams for identity (provider, id) with a new session.
func login(provider, id string, data map[string]any) store.LoginParams {
	sid := nextID()
	return store.LoginParams{
		AppID:    app,
		Identity: store.Identity{ID: id, ProviderType: provider, ProviderID: "p-" + provider, Data: data, CreatedAt: t0},
		NewUser:  store.User{ID: nextID(), Type: store.UserTypeNormal, CreatedAt: t0},
		Session:  store.Session{AppID: app, ID: sid, TokenHash: hash(sid), DeviceID: "dev-1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		Device:   store.Device{AppID: app, ID: "dev-1", Platform: "node", CreatedAt: t0, LastSeenAt: t0},
	}
}

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := map[string]func(t *testing.T, s store.Store){
		"LoginCreatesUserOnce":          testLoginCreatesUserOnce,
		"LoginWritesItsAuditEvent":      testLoginWritesItsAuditEvent,
		"LoginRefusesDisabledUser":      testLoginRefusesDisabledUser,
		"LinkIdentity":                  testLinkIdentity,
		"DeleteUserRemovesEverything":   testDeleteUser,
		"Sessions":                      testSessions,
		"AnonymousUserGoneWithLastSess": testAnonymousCleanup,
		"Accounts":                      testAccounts,
		"AccountTokens":                 testAccountTokens,
		"AppsAreSeparate":               testAppsAreSeparate,
		"ConcurrentFirstLogins":         testConcurrentFirstLogins,
		"UserDataFromIdentities":        testUserData,
		"UserAPIKeys":                   testUserAPIKeys,
		"ServerAPIKeys":                 testServerAPIKeys,
		"OAuthStates":                   testOAuthStates,
		"HitCounter":                    testHitCounter,
		"LoginFailures":                 testLoginFailures,
		"ParallelLoginAttempts":         testParallelLoginAttempts,
		"PushRegistrations":             testPushRegistrations,
		"AccountsWithoutPassword":       testAccountsWithoutPassword,
		"DeleteInactiveAnonymous":       testDeleteInactiveAnonymous,
		"KeyDeletionDuringKeyLogin":     testKeyDeletionDuringKeyLogin,
		"DisableDuringLogin":            testDisableDuringLogin,
		"LinkDuringDelete":              testLinkDuringDelete,
		"RotateSessionToken":            testRotateSessionToken,
		"ListUsers":                     testListUsers,
		"AdminKeysAndAudit":             testAdminKeysAndAudit,
		"PendingAccountsAndCreateUser":  testPendingAccounts,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			fn(t, s)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testLoginWritesItsAuditEvent: the event p.Audit makes is committed with the login
// (user_created, then login), and a refused login writes none. The user a first login
// returns is the user a read returns.
func testLoginWritesItsAuditEvent(t *testing.T, s store.Store) {
	ctx := context.Background()
	audit := func(userID string, created bool) store.AuditEvent {
		action := "login"
		if created {
			action = "user_created"
		}
		return store.AuditEvent{AppID: app, At: t0, Actor: "user:" + userID, Action: action, Target: userID, Outcome: "success"}
	}
	p := login("custom-token", "jwt-1", map[string]any{"name": "Ann", "n": 3, "nested": map[string]any{"a": []any{1, "x"}}})
	p.Audit = audit
	u, created, err := s.LogIn(ctx, p)
	must(t, err)
	read, err := s.GetUser(ctx, app, u.ID)
	must(t, err)
	if !created || !reflect.DeepEqual(u, read) {
		t.Fatalf("the created user as LogIn returned it:\n%+v\nas it reads back:\n%+v", u, read)
	}
	p2 := login("custom-token", "jwt-1", nil)
	p2.Audit = audit
	_, _, err = s.LogIn(ctx, p2)
	must(t, err)
	must(t, s.SetUserDisabled(ctx, app, u.ID, true))
	p3 := login("custom-token", "jwt-1", nil)
	p3.Audit = audit
	if _, _, err := s.LogIn(ctx, p3); !errors.Is(err, store.ErrUserDisabled) {
		t.Fatalf("login of a disabled user: %v", err)
	}
	events, err := s.ListAudit(ctx, app, store.AuditFilter{})
	must(t, err)
	var actions []string
	for _, e := range events {
		if e.Target == u.ID {
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, ",") != "login,user_created" { // newest first
		t.Fatalf("audit events of the user: %v", actions)
	}
}

func testLoginCreatesUserOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := login("local-userpass", "acct-1", map[string]any{"email": "a@b.c"})
	u, created, err := s.LogIn(ctx, p)
	must(t, err)
	if !created || u.ID != p.NewUser.ID || u.Type != store.UserTypeNormal {
		t.Fatalf("first login: created=%v user=%+v", created, u)
	}
	if len(u.Identities) != 1 || u.Identities[0].ID != "acct-1" || u.Identities[0].ProviderType != "local-userpass" || u.Identities[0].ProviderID != "p-local-userpass" {
		t.Fatalf("identities = %+v", u.Identities)
	}
	p2 := login("local-userpass", "acct-1", map[string]any{"email": "a@b.c"})
	u2, created, err := s.LogIn(ctx, p2)
	must(t, err)
	if created || u2.ID != u.ID {
		t.Fatalf("second login made another user: created=%v id=%s want %s", created, u2.ID, u.ID)
	}
	// Both sessions exist and name the user.
	for _, sid := range []string{p.Session.ID, p2.Session.ID} {
		se, err := s.GetSession(ctx, app, sid)
		must(t, err)
		if se.UserID != u.ID || se.DeviceID != "dev-1" || se.ProviderType != "local-userpass" || se.IdentityID != "acct-1" {
			t.Fatalf("session = %+v", se)
		}
		if !se.ExpiresAt.Equal(t0.Add(time.Hour)) || !se.CreatedAt.Equal(t0) {
			t.Fatalf("session times = %v %v", se.CreatedAt, se.ExpiresAt)
		}
	}
	got, err := s.GetUser(ctx, app, u.ID)
	must(t, err)
	if got.ID != u.ID || len(got.Identities) != 1 || !got.CreatedAt.Equal(t0) {
		t.Fatalf("GetUser = %+v", got)
	}
	if _, err := s.GetUser(ctx, app, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetUser(unknown) err = %v, want ErrNotFound", err)
	}
}

func testLoginRefusesDisabledUser(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := login("anon-user", "anon-1", nil)
	u, _, err := s.LogIn(ctx, p)
	must(t, err)
	must(t, s.SetUserDisabled(ctx, app, u.ID, true))
	if _, err := s.GetSession(ctx, app, p.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("disabling kept the session: %v", err)
	}
	p2 := login("anon-user", "anon-1", nil)
	if _, _, err := s.LogIn(ctx, p2); !errors.Is(err, store.ErrUserDisabled) {
		t.Fatalf("login of disabled user err = %v", err)
	}
	if _, err := s.GetSession(ctx, app, p2.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused login left a session behind: %v", err)
	}
	must(t, s.SetUserDisabled(ctx, app, u.ID, false))
	if _, _, err := s.LogIn(ctx, login("anon-user", "anon-1", nil)); err != nil {
		t.Fatalf("login after enabling: %v", err)
	}
	if err := s.SetUserDisabled(ctx, app, "nobody", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("disable unknown user err = %v", err)
	}
}

func testLinkIdentity(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, _, err := s.LogIn(ctx, login("anon-user", "anon-a", nil))
	must(t, err)
	b, _, err := s.LogIn(ctx, login("local-userpass", "acct-b", map[string]any{"email": "b@x.y"}))
	must(t, err)

	linked, err := s.LinkIdentity(ctx, app, a.ID, store.Identity{ID: "acct-a", ProviderType: "local-userpass", ProviderID: "p", Data: map[string]any{"email": "a@x.y"}, CreatedAt: t0})
	must(t, err)
	if len(linked.Identities) != 2 || linked.Identities[0].ProviderType != "anon-user" || linked.Identities[1].ProviderType != "local-userpass" {
		t.Fatalf("identities after link = %+v", linked.Identities)
	}
	// Linking the same identity again is a no-op.
	again, err := s.LinkIdentity(ctx, app, a.ID, store.Identity{ID: "acct-a", ProviderType: "local-userpass", ProviderID: "p", CreatedAt: t0})
	must(t, err)
	if len(again.Identities) != 2 {
		t.Fatalf("relinking added an identity: %+v", again.Identities)
	}
	// Another user's identity is never moved.
	if _, err := s.LinkIdentity(ctx, app, a.ID, store.Identity{ID: "acct-b", ProviderType: "local-userpass", ProviderID: "p", CreatedAt: t0}); !errors.Is(err, store.ErrIdentityTaken) {
		t.Fatalf("linking b's identity to a: err = %v", err)
	}
	bb, err := s.GetUser(ctx, app, b.ID)
	must(t, err)
	if len(bb.Identities) != 1 || bb.Identities[0].ID != "acct-b" {
		t.Fatalf("b lost its identity: %+v", bb.Identities)
	}
	// A login with the linked identity reaches a's user.
	u, created, err := s.LogIn(ctx, login("local-userpass", "acct-a", nil))
	must(t, err)
	if created || u.ID != a.ID {
		t.Fatalf("login with linked identity: created=%v user=%s want %s", created, u.ID, a.ID)
	}
	if _, err := s.LinkIdentity(ctx, app, "nobody", store.Identity{ID: "x", ProviderType: "anon-user", CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("link to unknown user err = %v", err)
	}
}

func testDeleteUser(t *testing.T, s store.Store) {
	ctx := context.Background()
	acct := store.Account{AppID: app, ID: "acct-del", Email: "del@x.y", PasswordHash: "h", Status: store.AccountConfirmed, CreatedAt: t0}
	must(t, s.CreateAccount(ctx, acct, nil))
	p := login("local-userpass", "acct-del", nil)
	u, _, err := s.LogIn(ctx, p)
	must(t, err)
	must(t, s.AddAccountToken(ctx, store.AccountToken{AppID: app, TokenID: "tok-del", Hash: hash("x"), AccountID: "acct-del", Purpose: store.TokenReset, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	_, _, err = s.RecordLoginAttempt(ctx, app, store.EmailKey("del@x.y"), t0, t0.Add(-time.Hour), func(int) time.Duration { return 0 })
	must(t, err)
	must(t, s.DeleteUser(ctx, app, u.ID))
	if f, _ := s.GetLoginFailures(ctx, app, store.EmailKey("del@x.y")); f.Failures != 0 {
		t.Fatalf("the deleted user's failed logins are still recorded: %+v", f)
	}
	if _, err := s.GetUser(ctx, app, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user still there: %v", err)
	}
	if _, err := s.GetSession(ctx, app, p.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session still there: %v", err)
	}
	if _, err := s.GetAccountByEmail(ctx, app, "del@x.y"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account still there: %v", err)
	}
	if _, err := s.ResetPassword(ctx, app, "tok-del", hash("x"), "new", t0); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("reset token of deleted account still works: %v", err)
	}
	// The identity is free again: a new login makes a new user.
	u2, created, err := s.LogIn(ctx, login("local-userpass", "acct-del", nil))
	must(t, err)
	if !created || u2.ID == u.ID {
		t.Fatalf("identity of a deleted user reached a user: created=%v", created)
	}
	if err := s.DeleteUser(ctx, app, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice err = %v", err)
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := login("local-userpass", "acct-s", nil)
	u, _, err := s.LogIn(ctx, p)
	must(t, err)
	se, err := s.GetSessionByTokenHash(ctx, p.Session.TokenHash)
	must(t, err)
	if se.ID != p.Session.ID || se.UserID != u.ID || !bytes.Equal(se.TokenHash, p.Session.TokenHash) {
		t.Fatalf("by hash = %+v", se)
	}
	if _, err := s.GetSessionByTokenHash(ctx, hash("other")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown hash err = %v", err)
	}
	later := t0.Add(10 * time.Minute)
	must(t, s.TouchSession(ctx, app, se.ID, later))
	se, err = s.GetSession(ctx, app, se.ID)
	must(t, err)
	if !se.LastUsedAt.Equal(later) {
		t.Fatalf("last used = %v, want %v", se.LastUsedAt, later)
	}
	p2 := login("local-userpass", "acct-s", nil)
	_, _, err = s.LogIn(ctx, p2)
	must(t, err)
	must(t, s.DeleteSession(ctx, app, se.ID))
	if _, err := s.GetSession(ctx, app, se.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session still there: %v", err)
	}
	if err := s.DeleteSession(ctx, app, se.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice err = %v", err)
	}
	if _, err := s.GetUser(ctx, app, u.ID); err != nil {
		t.Fatalf("a non-anonymous user must survive logging out: %v", err)
	}
	n, err := s.DeleteUserSessions(ctx, app, u.ID)
	must(t, err)
	if n != 1 {
		t.Fatalf("DeleteUserSessions = %d, want 1", n)
	}
	if _, err := s.GetSession(ctx, app, p2.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked session still there: %v", err)
	}
}

func testAnonymousCleanup(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := login("anon-user", "anon-c", nil)
	u, _, err := s.LogIn(ctx, p1)
	must(t, err)
	p2 := login("anon-user", "anon-c", nil)
	_, _, err = s.LogIn(ctx, p2)
	must(t, err)
	must(t, s.DeleteSession(ctx, app, p1.Session.ID))
	if _, err := s.GetUser(ctx, app, u.ID); err != nil {
		t.Fatalf("anonymous user with a session left was deleted: %v", err)
	}
	must(t, s.DeleteSession(ctx, app, p2.Session.ID))
	if _, err := s.GetUser(ctx, app, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("anonymous user without sessions survived: %v", err)
	}
	// An anonymous user with a linked identity is kept.
	p3 := login("anon-user", "anon-d", nil)
	v, _, err := s.LogIn(ctx, p3)
	must(t, err)
	_, err = s.LinkIdentity(ctx, app, v.ID, store.Identity{ID: "acct-d", ProviderType: "local-userpass", ProviderID: "p", CreatedAt: t0})
	must(t, err)
	must(t, s.DeleteSession(ctx, app, p3.Session.ID))
	if _, err := s.GetUser(ctx, app, v.ID); err != nil {
		t.Fatalf("linked anonymous user was deleted: %v", err)
	}
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := store.Account{AppID: app, ID: "acct-1", Email: "Joe@Example.com", PasswordHash: "hash-1", Status: store.AccountPending, CreatedAt: t0}
	must(t, s.CreateAccount(ctx, a, nil))
	got, err := s.GetAccountByEmail(ctx, app, "joe@example.COM")
	must(t, err)
	if got.ID != "acct-1" || got.Email != "Joe@Example.com" || got.PasswordHash != "hash-1" || got.Status != store.AccountPending || !got.CreatedAt.Equal(t0) {
		t.Fatalf("account = %+v", got)
	}
	dup := store.Account{AppID: app, ID: "acct-2", Email: "JOE@example.com", PasswordHash: "h", Status: store.AccountPending, CreatedAt: t0}
	if err := s.CreateAccount(ctx, dup, nil); !errors.Is(err, store.ErrEmailTaken) {
		t.Fatalf("duplicate email err = %v", err)
	}
	if _, err := s.GetAccountByEmail(ctx, app, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown email err = %v", err)
	}
}

func testAccountTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := store.Account{AppID: app, ID: "acct-t", Email: "t@x.y", PasswordHash: "old", Status: store.AccountPending, CreatedAt: t0}
	tok := store.AccountToken{AppID: app, TokenID: "tid-1", Hash: hash("secret-1"), AccountID: "acct-t", Purpose: store.TokenConfirm, CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
	must(t, s.CreateAccount(ctx, a, &tok))

	if _, err := s.ConfirmAccount(ctx, app, "tid-1", hash("wrong"), t0); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("wrong secret err = %v", err)
	}
	if _, err := s.ConfirmAccount(ctx, app, "tid-1", hash("secret-1"), t0.Add(30*time.Minute)); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("expired token err = %v", err)
	}
	// A reset token cannot confirm.
	must(t, s.AddAccountToken(ctx, store.AccountToken{AppID: app, TokenID: "tid-r", Hash: hash("reset"), AccountID: "acct-t", Purpose: store.TokenReset, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	if _, err := s.ConfirmAccount(ctx, app, "tid-r", hash("reset"), t0); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("reset token confirmed: %v", err)
	}
	got, err := s.ConfirmAccount(ctx, app, "tid-1", hash("secret-1"), t0.Add(time.Minute))
	must(t, err)
	if got.Status != store.AccountConfirmed || got.ID != "acct-t" {
		t.Fatalf("confirmed account = %+v", got)
	}
	if _, err := s.ConfirmAccount(ctx, app, "tid-1", hash("secret-1"), t0.Add(time.Minute)); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("token used twice: %v", err)
	}
	// A newer token replaces an older one of the same purpose.
	must(t, s.AddAccountToken(ctx, store.AccountToken{AppID: app, TokenID: "tid-r2", Hash: hash("reset2"), AccountID: "acct-t", Purpose: store.TokenReset, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	if _, err := s.ResetPassword(ctx, app, "tid-r", hash("reset"), "new", t0); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("replaced reset token still works: %v", err)
	}
	got, err = s.ResetPassword(ctx, app, "tid-r2", hash("reset2"), "new-hash", t0)
	must(t, err)
	if got.PasswordHash != "new-hash" {
		t.Fatalf("password hash = %q", got.PasswordHash)
	}
	stored, err := s.GetAccountByEmail(ctx, app, "t@x.y")
	must(t, err)
	if stored.PasswordHash != "new-hash" || stored.Status != store.AccountConfirmed {
		t.Fatalf("stored = %+v", stored)
	}
}

func testAppsAreSeparate(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := login("local-userpass", "shared-id", nil)
	u, _, err := s.LogIn(ctx, p)
	must(t, err)
	q := login("local-userpass", "shared-id", nil)
	q.AppID, q.Session.AppID, q.Device.AppID = "app-two", "app-two", "app-two"
	v, created, err := s.LogIn(ctx, q)
	must(t, err)
	if !created || v.ID == u.ID {
		t.Fatal("the same identity id in another app reached the first app's user")
	}
	if _, err := s.GetUser(ctx, "app-two", u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("app-two sees app-one's user: %v", err)
	}
	if _, err := s.GetSession(ctx, "app-two", p.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("app-two sees app-one's session: %v", err)
	}
	must(t, s.CreateAccount(ctx, store.Account{AppID: app, ID: "a1", Email: "same@x.y", PasswordHash: "h", Status: store.AccountConfirmed, CreatedAt: t0}, nil))
	must(t, s.CreateAccount(ctx, store.Account{AppID: "app-two", ID: "a2", Email: "same@x.y", PasswordHash: "h", Status: store.AccountConfirmed, CreatedAt: t0}, nil))
}

// testConcurrentFirstLogins logs the same new identity in from many goroutines at once:
// exactly one user may result.
func testConcurrentFirstLogins(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 16
	ids := make([]string, n)
	params := make([]store.LoginParams, n)
	for i := range params {
		params[i] = login("custom-token", "same-sub", nil)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, _, err := s.LogIn(ctx, params[i])
			ids[i], errs[i] = u.ID, err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("login %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("concurrent first logins made two users: %s and %s", ids[0], ids[i])
		}
	}
}

func testUserData(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, _, err := s.LogIn(ctx, login("custom-token", "sub-1", map[string]any{"name": "Ann", "nested": map[string]any{"n": 1.0}}))
	must(t, err)
	if u.Data["name"] != "Ann" {
		t.Fatalf("data = %+v", u.Data)
	}
	// A later login refreshes the identity's data.
	u, _, err = s.LogIn(ctx, login("custom-token", "sub-1", map[string]any{"name": "Anne"}))
	must(t, err)
	if u.Data["name"] != "Anne" || u.Identities[0].Data["name"] != "Anne" {
		t.Fatalf("data after second login = %+v", u.Data)
	}
}

func testUserAPIKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, _, err := s.LogIn(ctx, login("local-userpass", "acct-k", nil))
	must(t, err)
	k1 := store.APIKey{AppID: app, ID: nextID(), UserID: u.ID, Name: "one", Hash: hash("key-1"), CreatedAt: t0}
	must(t, s.CreateAPIKey(ctx, k1, 2))
	if err := s.CreateAPIKey(ctx, store.APIKey{AppID: app, ID: nextID(), UserID: u.ID, Name: "one", Hash: hash("key-x"), CreatedAt: t0}, 2); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("same name err = %v", err)
	}
	k2 := store.APIKey{AppID: app, ID: nextID(), UserID: u.ID, Name: "two", Hash: hash("key-2"), CreatedAt: t0.Add(time.Second)}
	must(t, s.CreateAPIKey(ctx, k2, 2))
	if err := s.CreateAPIKey(ctx, store.APIKey{AppID: app, ID: nextID(), UserID: u.ID, Name: "three", Hash: hash("key-3"), CreatedAt: t0}, 2); !errors.Is(err, store.ErrLimitReached) {
		t.Fatalf("over the limit err = %v", err)
	}
	if err := s.CreateAPIKey(ctx, store.APIKey{AppID: app, ID: nextID(), UserID: "nobody", Name: "x", Hash: hash("key-4"), CreatedAt: t0}, 2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key for unknown user err = %v", err)
	}
	keys, err := s.ListAPIKeys(ctx, app, u.ID)
	must(t, err)
	if len(keys) != 2 || keys[0].Name != "one" || keys[1].Name != "two" {
		t.Fatalf("keys = %+v", keys)
	}
	got, err := s.GetAPIKeyByHash(ctx, app, hash("key-1"))
	must(t, err)
	if got.ID != k1.ID || got.UserID != u.ID || got.Disabled {
		t.Fatalf("by hash = %+v", got)
	}
	if _, err := s.GetAPIKeyByHash(ctx, "app-two", hash("key-1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another app found the key: %v", err)
	}

	// A login with the key opens a session for its owner; disabling the key ends it.
	p := login("api-key", k1.ID, nil)
	p.UserID, p.APIKeyID = u.ID, k1.ID
	owner, created, err := s.LogIn(ctx, p)
	must(t, err)
	if created || owner.ID != u.ID || len(owner.Identities) != 1 {
		t.Fatalf("key login: created=%v user=%+v", created, owner)
	}
	must(t, s.SetAPIKeyDisabled(ctx, app, k1.ID, true))
	if _, err := s.GetSession(ctx, app, p.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("disabling the key kept its session: %v", err)
	}
	got, _ = s.GetAPIKey(ctx, app, k1.ID)
	if !got.Disabled {
		t.Fatal("key not disabled")
	}
	must(t, s.SetAPIKeyDisabled(ctx, app, k1.ID, false))
	p2 := login("api-key", k2.ID, nil)
	p2.UserID, p2.APIKeyID = u.ID, k2.ID
	_, _, err = s.LogIn(ctx, p2)
	must(t, err)
	must(t, s.DeleteAPIKey(ctx, app, k2.ID))
	if _, err := s.GetSession(ctx, app, p2.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting the key kept its session: %v", err)
	}
	if _, err := s.GetAPIKey(ctx, app, k2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key found: %v", err)
	}
	if err := s.DeleteAPIKey(ctx, app, k2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice err = %v", err)
	}
	if _, err := s.GetUser(ctx, app, u.ID); err != nil {
		t.Fatalf("a normal user must outlive its keys: %v", err)
	}
	if err := s.SetAPIKeyDisabled(ctx, app, "nope", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("disable unknown err = %v", err)
	}
	// Deleting the user deletes its keys.
	must(t, s.DeleteUser(ctx, app, u.ID))
	if _, err := s.GetAPIKeyByHash(ctx, app, hash("key-1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key of a deleted user found: %v", err)
	}
	p3 := login("api-key", k1.ID, nil)
	p3.UserID, p3.APIKeyID = u.ID, k1.ID
	if _, _, err := s.LogIn(ctx, p3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("login as a deleted user err = %v", err)
	}
}

func testServerAPIKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := store.User{AppID: app, ID: nextID(), Type: store.UserTypeServer, CreatedAt: t0}
	k := store.APIKey{AppID: app, ID: nextID(), UserID: u.ID, Name: "backend", Hash: hash("server-key"), CreatedAt: t0}
	id := store.Identity{ID: k.ID, ProviderType: "api-key", ProviderID: "p", Data: map[string]any{"name": "backend"}, CreatedAt: t0}
	must(t, s.CreateServerAPIKey(ctx, u, id, k))
	got, err := s.GetUser(ctx, app, u.ID)
	must(t, err)
	if got.Type != store.UserTypeServer || got.Data["name"] != "backend" {
		t.Fatalf("server user = %+v", got)
	}
	if _, _, err := s.LogIn(ctx, login("local-userpass", "acct-n", nil)); err != nil {
		t.Fatal(err)
	}
	keys, err := s.ListServerAPIKeys(ctx, app)
	must(t, err)
	if len(keys) != 1 || keys[0].ID != k.ID {
		t.Fatalf("server keys = %+v", keys)
	}
	// A user key held by the server user (made before such keys were refused) goes
	// with the server key: nothing outlives it.
	extra := store.APIKey{AppID: app, ID: nextID(), UserID: u.ID, Name: "made-by-server", Hash: hash("extra-key"), CreatedAt: t0}
	must(t, s.CreateAPIKey(ctx, extra, 20))
	must(t, s.DeleteAPIKey(ctx, app, k.ID))
	if _, err := s.GetUser(ctx, app, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the server user outlived its key: %v", err)
	}
	if _, err := s.GetAPIKey(ctx, app, extra.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a key of the server user outlived the server key: %v", err)
	}
}

func testOAuthStates(t *testing.T, s store.Store) {
	ctx := context.Background()
	st := store.OAuthState{ID: "state-1", AppID: app, Provider: "oauth2-google", ClientState: "abcdefghijkl", Redirect: "https://app/cb",
		Callback: "https://warden/cb", Device: map[string]any{"platform": "chrome"}, LinkSessionID: "sess", BrowserBinding: "b1nd", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	must(t, s.PutOAuthState(ctx, st))
	got, err := s.TakeOAuthState(ctx, "state-1", t0.Add(time.Minute))
	must(t, err)
	if got.AppID != app || got.ClientState != st.ClientState || got.Redirect != st.Redirect || got.Device["platform"] != "chrome" || got.LinkSessionID != "sess" || got.BrowserBinding != "b1nd" {
		t.Fatalf("state = %+v", got)
	}
	if _, err := s.TakeOAuthState(ctx, "state-1", t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a state was taken twice: %v", err)
	}
	st.ID = "state-2"
	must(t, s.PutOAuthState(ctx, st))
	if _, err := s.TakeOAuthState(ctx, "state-2", t0.Add(10*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an expired state was taken: %v", err)
	}
}

func testPushRegistrations(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, _, err := s.LogIn(ctx, login("anon-user", nextID(), nil))
	must(t, err)
	reg := store.PushRegistration{AppID: app, UserID: u.ID, DeviceID: "dev-1", Service: "gcm", Token: "t1", UpdatedAt: t0}
	must(t, s.PutPushRegistration(ctx, reg))
	reg.Token, reg.UpdatedAt = "t2", t0.Add(time.Minute)
	must(t, s.PutPushRegistration(ctx, reg)) // a new token replaces the old one
	must(t, s.PutPushRegistration(ctx, store.PushRegistration{AppID: app, UserID: u.ID, DeviceID: "dev-2", Service: "gcm", Token: "t3", UpdatedAt: t0}))
	got, err := s.ListPushRegistrations(ctx, app, u.ID)
	must(t, err)
	if len(got) != 2 || got[0].Token != "t2" || got[0].DeviceID != "dev-1" || !got[0].UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("registrations = %+v", got)
	}
	must(t, s.DeletePushRegistration(ctx, app, u.ID, "dev-2", "gcm"))
	must(t, s.DeletePushRegistration(ctx, app, u.ID, "dev-2", "gcm")) // twice is fine
	if got, _ := s.ListPushRegistrations(ctx, app, u.ID); len(got) != 1 {
		t.Fatalf("after deregistering: %+v", got)
	}
	if err := s.PutPushRegistration(ctx, store.PushRegistration{AppID: app, UserID: "nobody", DeviceID: "d", Service: "gcm", Token: "t", UpdatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("registration for an unknown user: %v", err)
	}
	must(t, s.DeleteUser(ctx, app, u.ID))
	if got, _ := s.ListPushRegistrations(ctx, app, u.ID); len(got) != 0 {
		t.Fatalf("a deleted user's registrations remain: %+v", got)
	}
}

func testAccountsWithoutPassword(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, email := range []string{"b@x.io", "A@x.io", "c@x.io"} {
		hash := store.NoPassword
		if i == 2 {
			hash = "$argon2id$real"
		}
		must(t, s.CreateAccount(ctx, store.Account{AppID: app, ID: nextID(), Email: email, PasswordHash: hash, Status: store.AccountConfirmed, CreatedAt: t0}, nil))
	}
	got, err := s.ListAccountsWithoutPassword(ctx, app, "", 10)
	must(t, err)
	if fmt.Sprint(got) != "[A@x.io b@x.io]" {
		t.Fatalf("accounts without password = %v", got)
	}
	got, err = s.ListAccountsWithoutPassword(ctx, app, "a@x.io", 10) // resumes after, whatever the case
	must(t, err)
	if fmt.Sprint(got) != "[b@x.io]" {
		t.Fatalf("after a@x.io = %v", got)
	}
}
