package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/store"
)

func testHitCounter(t *testing.T, s store.Store) {
	ctx := context.Background()
	w0, w1 := t0, t0.Add(time.Minute)
	for want := 1; want <= 3; want++ {
		n, err := s.HitCounter(ctx, "login.ip:1.2.3.4", w0, w1)
		must(t, err)
		if n != want {
			t.Fatalf("hit %d counted as %d", want, n)
		}
	}
	if n, _ := s.HitCounter(ctx, "login.ip:5.6.7.8", w0, w1); n != 1 {
		t.Fatalf("another key starts at 1, got %d", n)
	}
	if n, _ := s.HitCounter(ctx, "login.ip:1.2.3.4", w1, w1.Add(time.Minute)); n != 1 {
		t.Fatalf("a new window starts at 1, got %d", n)
	}
	// Concurrent hits (as from several nodes) are all counted.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.HitCounter(ctx, "burst", w0, w1); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, _ := s.HitCounter(ctx, "burst", w0, w1); n != 21 {
		t.Fatalf("20 concurrent hits and one more counted as %d", n)
	}
	// Expired counters are removed.
	must(t, s.DeleteExpired(ctx, w1.Add(time.Hour)))
	if n, _ := s.HitCounter(ctx, "burst", w0, w1); n != 1 {
		t.Fatalf("after DeleteExpired the counter restarts at 1, got %d", n)
	}
}

func testLoginFailures(t *testing.T, s store.Store) {
	ctx := context.Background()
	lockFor := func(n int) time.Duration {
		if n < 3 {
			return 0
		}
		return time.Duration(n-2) * time.Minute
	}
	if f, err := s.GetLoginFailures(ctx, app, "a@b.c"); err != nil || f.Failures != 0 || !f.LockedUntil.IsZero() {
		t.Fatalf("no failures yet: %+v %v", f, err)
	}
	var f store.LoginFailures
	var err error
	var allowed bool
	for i := 1; i <= 3; i++ {
		f, allowed, err = s.RecordLoginAttempt(ctx, app, "a@b.c", t0.Add(time.Duration(i)*time.Second), t0.Add(-time.Hour), lockFor)
		must(t, err)
		if f.Failures != i || !allowed {
			t.Fatalf("attempt %d counted as %d, allowed %v", i, f.Failures, allowed)
		}
	}
	// The third attempt locked the key: the next, while locked, is neither counted nor allowed.
	f, allowed, err = s.RecordLoginAttempt(ctx, app, "a@b.c", t0.Add(4*time.Second), t0.Add(-time.Hour), lockFor)
	must(t, err)
	if allowed || f.Failures != 3 {
		t.Fatalf("an attempt while locked: allowed %v, count %d", allowed, f.Failures)
	}
	// Once the lock has passed, one more attempt goes through and locks for longer.
	at := t0.Add(3 * time.Second).Add(time.Minute)
	f, allowed, err = s.RecordLoginAttempt(ctx, app, "a@b.c", at, t0.Add(-time.Hour), lockFor)
	must(t, err)
	if !allowed || f.Failures != 4 {
		t.Fatalf("after the lock: allowed %v, count %d", allowed, f.Failures)
	}
	if want := at.Add(2 * time.Minute); !f.LockedUntil.Equal(want) {
		t.Fatalf("locked until %v, want %v", f.LockedUntil, want)
	}
	got, err := s.GetLoginFailures(ctx, app, "a@b.c")
	must(t, err)
	if got.Failures != 4 || !got.LockedUntil.Equal(f.LockedUntil) {
		t.Fatalf("GetLoginFailures = %+v, want %+v", got, f)
	}
	if other, _ := s.GetLoginFailures(ctx, "other-app", "a@b.c"); other.Failures != 0 {
		t.Fatal("failures leak across apps")
	}
	// Old failures are forgotten.
	f, allowed, err = s.RecordLoginAttempt(ctx, app, "a@b.c", t0.Add(48*time.Hour), t0.Add(24*time.Hour), lockFor)
	must(t, err)
	if f.Failures != 1 || !allowed {
		t.Fatalf("after a quiet day the count restarts: %d", f.Failures)
	}
	ok, err := s.ClearLoginFailures(ctx, app, "a@b.c")
	must(t, err)
	if !ok {
		t.Fatal("ClearLoginFailures found nothing to clear")
	}
	if f, _ := s.GetLoginFailures(ctx, app, "a@b.c"); f.Failures != 0 || !f.LockedUntil.IsZero() {
		t.Fatalf("after clearing: %+v", f)
	}
	if ok, _ := s.ClearLoginFailures(ctx, app, "a@b.c"); ok {
		t.Fatal("clearing twice reported something cleared")
	}
}

func testDeleteInactiveAnonymous(t *testing.T, s store.Store) {
	ctx := context.Background()
	old := login("anon-user", "anon-old", nil)
	_, _, err := s.LogIn(ctx, old)
	must(t, err)
	recent := login("anon-user", "anon-recent", nil)
	_, _, err = s.LogIn(ctx, recent)
	must(t, err)
	must(t, s.TouchSession(ctx, app, recent.Session.ID, t0.Add(100*24*time.Hour)))
	linked := login("anon-user", "anon-linked", nil)
	lu, _, err := s.LogIn(ctx, linked)
	must(t, err)
	_, err = s.LinkIdentity(ctx, app, lu.ID, store.Identity{ID: "acct-linked", ProviderType: "local-userpass", ProviderID: "p", CreatedAt: t0})
	must(t, err)
	named := login("local-userpass", "acct-named", nil)
	_, _, err = s.LogIn(ctx, named)
	must(t, err)

	cutoff := t0.Add(90 * 24 * time.Hour)
	n, err := s.DeleteInactiveAnonymousUsers(ctx, app, cutoff, 100)
	must(t, err)
	if n != 1 {
		t.Fatalf("deleted %d users, want only the inactive anonymous one", n)
	}
	if _, err := s.GetUser(ctx, app, old.NewUser.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the inactive anonymous user is still there: %v", err)
	}
	if _, err := s.GetSession(ctx, app, old.Session.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("its session is still there: %v", err)
	}
	for _, id := range []string{recent.NewUser.ID, lu.ID, named.NewUser.ID} {
		if _, err := s.GetUser(ctx, app, id); err != nil {
			t.Fatalf("user %s was deleted: %v", id, err)
		}
	}
	if n, _ := s.DeleteInactiveAnonymousUsers(ctx, app, cutoff, 100); n != 0 {
		t.Fatalf("a second run deleted %d", n)
	}
}

// testParallelLoginAttempts: of 25 attempts at once on one key with a lock after the
// fifth, exactly five go through.
func testParallelLoginAttempts(t *testing.T, s store.Store) {
	ctx := context.Background()
	lockFor := func(n int) time.Duration {
		if n < 5 {
			return 0
		}
		return time.Minute
	}
	var wg sync.WaitGroup
	var allowed atomic.Int32
	for range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := s.RecordLoginAttempt(ctx, app, "race@b.c", t0, t0.Add(-time.Hour), lockFor)
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Fatalf("%d of 25 parallel attempts went through, want 5", n)
	}
}
