package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/store"
)

func testListUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ids []string
	for i, p := range []store.LoginParams{
		login("local-userpass", "acct-ann", map[string]any{"email": "ann@example.com"}),
		login("anon-user", "anon-x", nil),
		login("custom-token", "jwt-bob", map[string]any{"name": "Bob", "email": "Bob.Smith@Corp.example"}),
	} {
		p.NewUser.CreatedAt = t0.Add(time.Duration(i) * time.Hour)
		p.Session.CreatedAt = p.NewUser.CreatedAt
		u, _, err := s.LogIn(ctx, p)
		must(t, err)
		ids = append(ids, u.ID)
	}
	must(t, s.CreateAccount(ctx, store.Account{AppID: app, ID: "acct-ann", Email: "Ann@Example.com", PasswordHash: "h", Status: store.AccountConfirmed, CreatedAt: t0}, nil))
	must(t, s.SetUserDisabled(ctx, app, ids[2], true))

	all, total, err := s.ListUsers(ctx, app, store.UserQuery{})
	must(t, err)
	if total != 3 || len(all) != 3 || all[0].ID != ids[0] {
		t.Fatalf("all users: total %d, %d listed, first %v", total, len(all), all)
	}
	desc, _, _ := s.ListUsers(ctx, app, store.UserQuery{Desc: true, Limit: 1})
	if len(desc) != 1 || desc[0].ID != ids[2] {
		t.Fatalf("newest first, one per page: %v", desc)
	}
	// A walk by cursor, one user a page, sees every user once, in creation order.
	var walked []string
	var after *store.UserCursor
	for range 5 {
		page, _, err := s.ListUsers(ctx, app, store.UserQuery{Limit: 1, After: after})
		must(t, err)
		if len(page) == 0 {
			break
		}
		walked = append(walked, page[0].ID)
		after = &store.UserCursor{CreatedAt: page[0].CreatedAt, ID: page[0].ID}
	}
	if strings.Join(walked, ",") != strings.Join(ids, ",") {
		t.Fatalf("walk by cursor: %v, want %v", walked, ids)
	}
	page2, total, _ := s.ListUsers(ctx, app, store.UserQuery{Limit: 2, Offset: 2})
	if total != 3 || len(page2) != 1 || page2[0].ID != ids[2] {
		t.Fatalf("second page: %v (total %d)", page2, total)
	}
	for _, c := range []struct {
		q    store.UserQuery
		want string
	}{
		{store.UserQuery{Search: "ANN@example"}, ids[0]},
		{store.UserQuery{Search: ids[1]}, ids[1]},
		{store.UserQuery{Search: "jwt-bob"}, ids[2]},
		{store.UserQuery{Search: "bob.s"}, ids[2]},
		{store.UserQuery{Search: "ann@example.com"}, ids[0]},
		{store.UserQuery{Provider: "anon-user"}, ids[1]},
		{store.UserQuery{State: "disabled"}, ids[2]},
	} {
		got, n, err := s.ListUsers(ctx, app, c.q)
		must(t, err)
		if n != 1 || len(got) != 1 || got[0].ID != c.want {
			t.Errorf("%+v: %d users %v, want %s", c.q, n, got, c.want)
		}
	}
	for _, miss := range []string{"%", "_nn@", "example.com", "smith", "  "} {
		if got, n, _ := s.ListUsers(ctx, app, store.UserQuery{Search: miss}); n != 0 || len(got) != 0 {
			t.Errorf("search %q: %d users; a search is an id or the start of an email, and %% and _ are characters", miss, n)
		}
	}
	if _, n, _ := s.ListUsers(ctx, "other-app", store.UserQuery{}); n != 0 {
		t.Error("users leak across apps")
	}
}

func testAdminKeysAndAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateAdminKey(ctx, store.AdminKey{ID: "k1", Name: "ops", Hash: hash("secret-1"), CreatedAt: t0}))
	if err := s.CreateAdminKey(ctx, store.AdminKey{ID: "k2", Name: "ops", Hash: hash("secret-2"), CreatedAt: t0}); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("duplicate name: %v", err)
	}
	k, err := s.GetAdminKeyByHash(ctx, hash("secret-1"))
	must(t, err)
	if k.ID != "k1" || k.Name != "ops" {
		t.Fatalf("key = %+v", k)
	}
	keys, err := s.ListAdminKeys(ctx)
	must(t, err)
	if len(keys) != 1 {
		t.Fatalf("keys = %v", keys)
	}
	must(t, s.DeleteAdminKey(ctx, "ops"))
	if _, err := s.GetAdminKeyByHash(ctx, hash("secret-1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key still found: %v", err)
	}

	must(t, s.AppendAudit(ctx, []store.AuditEvent{
		{AppID: app, At: t0, Actor: "user:u1", Action: "login", Target: "u1", Outcome: "success"},
		{AppID: app, At: t0.Add(time.Second), Actor: "anonymous", Action: "login_failed", Target: "a@b.c", Outcome: "failure", IP: "1.2.3.4"},
		{AppID: app, At: t0.Add(2 * time.Second), Actor: "admin:ops", Action: "user.disable", Target: "u1", Outcome: "success"},
		{AppID: "other-app", At: t0, Actor: "x", Action: "login"},
	}))
	evs, err := s.ListAudit(ctx, app, store.AuditFilter{})
	must(t, err)
	if len(evs) != 3 || evs[0].Action != "user.disable" || evs[2].Action != "login" {
		t.Fatalf("audit newest first: %+v", evs)
	}
	if got, _ := s.ListAudit(ctx, app, store.AuditFilter{Action: "login_failed"}); len(got) != 1 || got[0].IP != "1.2.3.4" {
		t.Fatalf("by action: %+v", got)
	}
	if got, _ := s.ListAudit(ctx, app, store.AuditFilter{BeforeSeq: evs[0].Seq, Limit: 1}); len(got) != 1 || got[0].Seq != evs[1].Seq {
		t.Fatalf("paging: %+v", got)
	}
	if got, _ := s.ListAudit(ctx, app, store.AuditFilter{Since: t0.Add(time.Second)}); len(got) != 2 {
		t.Fatalf("since: %+v", got)
	}
}

func testPendingAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	tok := &store.AccountToken{AppID: app, TokenID: "t1", Hash: hash("t"), AccountID: "acct-p", Purpose: store.TokenConfirm, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateAccount(ctx, store.Account{AppID: app, ID: "acct-p", Email: "p@example.com", PasswordHash: "h", Status: store.AccountPending, CreatedAt: t0}, tok))
	must(t, s.CreateAccount(ctx, store.Account{AppID: app, ID: "acct-c", Email: "c@example.com", PasswordHash: "h", Status: store.AccountConfirmed, CreatedAt: t0}, nil))
	pending, err := s.ListPendingAccounts(ctx, app, 10, 0)
	must(t, err)
	if len(pending) != 1 || pending[0].Email != "p@example.com" {
		t.Fatalf("pending = %+v", pending)
	}
	a, err := s.ConfirmAccountByEmail(ctx, app, "P@example.com")
	must(t, err)
	if a.Status != store.AccountConfirmed {
		t.Fatalf("confirmed: %+v", a)
	}
	if _, err := s.ConfirmAccount(ctx, app, "t1", hash("t"), t0); !errors.Is(err, store.ErrTokenInvalid) {
		t.Fatalf("the mailed token still works after an operator confirmed: %v", err)
	}
	if pending, _ := s.ListPendingAccounts(ctx, app, 10, 0); len(pending) != 0 {
		t.Fatalf("still pending: %+v", pending)
	}
	if _, err := s.ConfirmAccountByEmail(ctx, app, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown email: %v", err)
	}
	// CreateUser and the sessions list.
	u := store.User{AppID: app, ID: nextID(), Type: store.UserTypeNormal, CreatedAt: t0}
	must(t, s.CreateUser(ctx, u, store.Identity{ID: "acct-c", ProviderType: "local-userpass", ProviderID: "p", Data: map[string]any{"email": "c@example.com"}, CreatedAt: t0}))
	if err := s.CreateUser(ctx, store.User{AppID: app, ID: nextID(), Type: store.UserTypeNormal, CreatedAt: t0}, store.Identity{ID: "acct-c", ProviderType: "local-userpass", ProviderID: "p", CreatedAt: t0}); !errors.Is(err, store.ErrIdentityTaken) {
		t.Fatalf("a second user with the same identity: %v", err)
	}
	p := login("local-userpass", "acct-c", nil)
	got, _, err := s.LogIn(ctx, p)
	must(t, err)
	if got.ID != u.ID {
		t.Fatalf("login found %s, want the created user %s", got.ID, u.ID)
	}
	sessions, err := s.ListUserSessions(ctx, app, u.ID)
	must(t, err)
	if len(sessions) != 1 || sessions[0].ID != p.Session.ID || sessions[0].Device.Platform != "node" {
		t.Fatalf("sessions = %+v", sessions)
	}
}
