package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wardenauth/warden/internal/store"
)

// SessionRecheck is how often a long request (a change stream) checks that its session
// still lives, for sessions ended on another node. A session ended on this node is
// noticed at once.
const SessionRecheck = 5 * time.Second

// ErrSessionEnded is the cause of a context from UntilSessionEnds whose session ended.
var ErrSessionEnded = errors.New("the session ended (logged out, or the user was disabled or deleted)")

// endings wakes the long requests that wait on sessions: those of one session, of one
// user, or all of them, so that a logout costs one check, not one per open stream.
type endings struct {
	mu      sync.Mutex
	waiters map[string]map[*endWaiter]struct{} // key → waiters ("" is every waiter)
}

// endWaiter is one long request's wake-up: a fire while it is checking is kept (the
// channel holds one), so no end is missed between a check and the wait after it.
type endWaiter struct {
	ch   chan struct{}
	keys []string
}

func newEndings() *endings { return &endings{waiters: map[string]map[*endWaiter]struct{}{}} }

func sessionKey(appID, sessionID string) string { return "s\x00" + appID + "\x00" + sessionID }
func userKey(appID, userID string) string       { return "u\x00" + appID + "\x00" + userID }

// register adds a waiter for keys (and for every fireAll).
func (e *endings) register(keys ...string) *endWaiter {
	w := &endWaiter{ch: make(chan struct{}, 1), keys: append(keys, "")}
	e.mu.Lock()
	for _, k := range w.keys {
		if e.waiters[k] == nil {
			e.waiters[k] = map[*endWaiter]struct{}{}
		}
		e.waiters[k][w] = struct{}{}
	}
	e.mu.Unlock()
	return w
}

func (e *endings) unregister(w *endWaiter) {
	e.mu.Lock()
	for _, k := range w.keys {
		delete(e.waiters[k], w)
		if len(e.waiters[k]) == 0 {
			delete(e.waiters, k)
		}
	}
	e.mu.Unlock()
}

// fire wakes the waiters of key ("" for every waiter).
func (e *endings) fire(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for w := range e.waiters[key] {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// sessionEnds is the store, waking the long requests of the sessions a write may have
// ended, so that they look again at once.
type sessionEnds struct {
	store.Store
	ended *endings
}

func (s sessionEnds) after(err error, key string) error {
	if err == nil {
		s.ended.fire(key)
	}
	return err
}

func (s sessionEnds) DeleteUser(ctx context.Context, appID, userID string) error {
	return s.after(s.Store.DeleteUser(ctx, appID, userID), userKey(appID, userID))
}

func (s sessionEnds) SetUserDisabled(ctx context.Context, appID, userID string, disabled bool) error {
	return s.after(s.Store.SetUserDisabled(ctx, appID, userID, disabled), userKey(appID, userID))
}

func (s sessionEnds) DeleteUserSessions(ctx context.Context, appID, userID string) (int, error) {
	n, err := s.Store.DeleteUserSessions(ctx, appID, userID)
	return n, s.after(err, userKey(appID, userID))
}

func (s sessionEnds) DeleteSession(ctx context.Context, appID, sessionID string) error {
	return s.after(s.Store.DeleteSession(ctx, appID, sessionID), sessionKey(appID, sessionID))
}

// The writes below do not say whose sessions they ended: every waiter looks again.

func (s sessionEnds) ResetPassword(ctx context.Context, appID, tokenID string, hash []byte, passwordHash string, now time.Time) (store.Account, error) {
	a, err := s.Store.ResetPassword(ctx, appID, tokenID, hash, passwordHash, now)
	return a, s.after(err, "")
}

func (s sessionEnds) SetAPIKeyDisabled(ctx context.Context, appID, id string, disabled bool) error {
	return s.after(s.Store.SetAPIKeyDisabled(ctx, appID, id, disabled), "")
}

func (s sessionEnds) DeleteAPIKey(ctx context.Context, appID, id string) error {
	return s.after(s.Store.DeleteAPIKey(ctx, appID, id), "")
}

// UntilSessionEnds returns a context canceled, with ErrSessionEnded as its cause, when
// p's session ends (ended, or expired): at once when it is ended on this node, within
// SessionRecheck otherwise.
// Its cancel function must be called when the request is done.
func (s *Sessions) UntilSessionEnds(ctx context.Context, p Principal) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	// Registered before the first check: an end after it wakes the loop.
	w := s.ended.register(sessionKey(p.App.ClientAppID, p.SessionID), userKey(p.App.ClientAppID, p.UserID))
	go func() {
		defer s.ended.unregister(w)
		t := time.NewTicker(s.recheck)
		defer t.Stop()
		for {
			sess, err := s.store.GetSession(ctx, p.App.ClientAppID, p.SessionID)
			if errors.Is(err, store.ErrNotFound) || err == nil && !sess.ExpiresAt.IsZero() && s.clock.Now().After(sess.ExpiresAt) {
				cancel(ErrSessionEnded)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-w.ch:
			case <-t.C:
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}
