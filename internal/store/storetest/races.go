package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/store"
)

// testKeyDeletionDuringKeyLogin: logins with an API key racing the key's deletion never
// leave a session behind the deletion (a session must not outlive its key).
func testKeyDeletionDuringKeyLogin(t *testing.T, s store.Store) {
	ctx := context.Background()
	owner := login("anon-user", "anon-key-owner", nil)
	u, _, err := s.LogIn(ctx, owner)
	must(t, err)
	keyID := nextID()
	must(t, s.CreateAPIKey(ctx, store.APIKey{AppID: app, ID: keyID, UserID: u.ID, Name: "k", Hash: hash(keyID), CreatedAt: t0}, 10))

	var mu sync.Mutex
	var sessions []string
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := login("api-key", keyID, nil)
			p.UserID = u.ID
			if _, _, err := s.LogIn(ctx, p); err == nil {
				mu.Lock()
				sessions = append(sessions, p.Session.ID)
				mu.Unlock()
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("key login: %v", err)
			}
		}()
	}
	time.Sleep(time.Millisecond)
	must(t, s.DeleteAPIKey(ctx, app, keyID))
	wg.Wait()
	for _, sid := range sessions {
		if _, err := s.GetSession(ctx, app, sid); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session %s opened with the key survived the key's deletion (err %v)", sid, err)
		}
	}
	p := login("api-key", keyID, nil)
	p.UserID = u.ID
	if _, _, err := s.LogIn(ctx, p); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("login with a deleted key: err = %v, want ErrNotFound", err)
	}
}

// testDisableDuringLogin: logins racing a disable leave no live session.
func testDisableDuringLogin(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := login("custom-token", "racer", nil)
	u, _, err := s.LogIn(ctx, first)
	must(t, err)
	var mu sync.Mutex
	sessions := []string{first.Session.ID}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := login("custom-token", "racer", nil)
			if _, _, err := s.LogIn(ctx, p); err == nil {
				mu.Lock()
				sessions = append(sessions, p.Session.ID)
				mu.Unlock()
			} else if !errors.Is(err, store.ErrUserDisabled) {
				t.Errorf("login: %v", err)
			}
		}()
	}
	time.Sleep(time.Millisecond)
	must(t, s.SetUserDisabled(ctx, app, u.ID, true))
	wg.Wait()
	for _, sid := range sessions {
		if _, err := s.GetSession(ctx, app, sid); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session %s survived the user's disabling (err %v)", sid, err)
		}
	}
}

// testLinkDuringDelete: a link racing the user's deletion leaves no identity pointing at
// a deleted user: logging in with that identity afterwards finds a live user or makes one.
func testLinkDuringDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		p := login("anon-user", nextID(), nil)
		u, _, err := s.LogIn(ctx, p)
		must(t, err)
		linked := store.Identity{ID: "linked-" + nextID(), ProviderType: "local-userpass", ProviderID: "p", CreatedAt: t0}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.LinkIdentity(ctx, app, u.ID, linked); err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("link: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			must(t, s.DeleteUser(ctx, app, u.ID))
		}()
		wg.Wait()
		again := login("local-userpass", linked.ID, nil)
		got, _, err := s.LogIn(ctx, again)
		must(t, err)
		if got.ID == u.ID {
			t.Fatalf("round %d: the identity still logs in as the deleted user", round)
		}
		if _, err := s.GetUser(ctx, app, got.ID); err != nil {
			t.Fatalf("round %d: login found a user that does not exist: %v", round, err)
		}
	}
}
