package storetest

import (
	"context"
	"errors"
	"fmt"
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
			p.UserID, p.APIKeyID = u.ID, keyID
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
	p.UserID, p.APIKeyID = u.ID, keyID
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

// testRotateSessionToken: rotation, the grace window, and reuse ending the session; and
// concurrent rotations with one token: exactly one wins outright.
func testRotateSessionToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := login("local-userpass", "rot-1", nil)
	_, _, err := s.LogIn(ctx, p)
	must(t, err)
	h0, h1, h2, h3 := p.Session.TokenHash, hash("r1"), hash("r2"), hash("r3")
	now := t0.Add(time.Minute)
	r, err := s.RotateSessionToken(ctx, app, p.Session.ID, h0, h1, now, now.Add(-10*time.Second))
	must(t, err)
	if r != store.RotationDone {
		t.Fatalf("first rotation: %v", r)
	}
	if se, err := s.GetSessionByTokenHash(ctx, h1); err != nil || se.ID != p.Session.ID {
		t.Fatalf("the new hash does not find the session: %v", err)
	}
	if _, err := s.GetSessionByTokenHash(ctx, h0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the old hash still finds the session: %v", err)
	}
	// The previous token within the grace window: a retry after a lost answer.
	r, err = s.RotateSessionToken(ctx, app, p.Session.ID, h0, h2, now.Add(5*time.Second), now.Add(5*time.Second).Add(-10*time.Second))
	must(t, err)
	if r != store.RotationGrace {
		t.Fatalf("previous token within the grace window: %v", r)
	}
	// The previous token after the window: a replay; the session ends.
	r, err = s.RotateSessionToken(ctx, app, p.Session.ID, h0, h3, now.Add(time.Hour), now.Add(time.Hour).Add(-10*time.Second))
	must(t, err)
	if r != store.RotationReuse {
		t.Fatalf("previous token after the window: %v", r)
	}
	if _, err := s.GetSession(ctx, app, p.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the session survived a replayed token: %v", err)
	}
	if _, err := s.RotateSessionToken(ctx, app, p.Session.ID, h2, h3, now, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotating an ended session: %v", err)
	}

	// Concurrent rotations with the same token: one RotationDone; the others, arriving
	// within the grace window, each replace the current token, so that in the end exactly
	// one of the new tokens is current.
	q := login("local-userpass", "rot-2", nil)
	_, _, err = s.LogIn(ctx, q)
	must(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := s.RotateSessionToken(ctx, app, q.Session.ID, q.Session.TokenHash, hash(fmt.Sprint("n", i)), now, now.Add(-10*time.Second))
			if err != nil {
				t.Error(err)
				return
			}
			if r == store.RotationDone {
				mu.Lock()
				done++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if done != 1 {
		t.Fatalf("%d concurrent rotations with one token won outright, want exactly 1", done)
	}
	current := 0
	for i := 0; i < 8; i++ {
		if _, err := s.GetSessionByTokenHash(ctx, hash(fmt.Sprint("n", i))); err == nil {
			current++
		}
	}
	if current != 1 {
		t.Fatalf("%d of the new tokens are current, want exactly 1", current)
	}
}
