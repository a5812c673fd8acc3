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

// signal wakes every waiter once per fire.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	close(s.ch)
	s.ch = make(chan struct{})
	s.mu.Unlock()
}

// sessionEnds is the store, telling the Service's signal after every write that may end
// sessions, so that long requests look again at once.
type sessionEnds struct {
	store.Store
	ended *signal
}

func (s sessionEnds) after(err error) error {
	if err == nil {
		s.ended.fire()
	}
	return err
}

func (s sessionEnds) DeleteUser(ctx context.Context, appID, userID string) error {
	return s.after(s.Store.DeleteUser(ctx, appID, userID))
}

func (s sessionEnds) SetUserDisabled(ctx context.Context, appID, userID string, disabled bool) error {
	return s.after(s.Store.SetUserDisabled(ctx, appID, userID, disabled))
}

func (s sessionEnds) DeleteUserSessions(ctx context.Context, appID, userID string) (int, error) {
	n, err := s.Store.DeleteUserSessions(ctx, appID, userID)
	return n, s.after(err)
}

func (s sessionEnds) DeleteSession(ctx context.Context, appID, sessionID string) error {
	return s.after(s.Store.DeleteSession(ctx, appID, sessionID))
}

func (s sessionEnds) ResetPassword(ctx context.Context, appID, tokenID string, hash []byte, passwordHash string, now time.Time) (store.Account, error) {
	a, err := s.Store.ResetPassword(ctx, appID, tokenID, hash, passwordHash, now)
	return a, s.after(err)
}

func (s sessionEnds) SetAPIKeyDisabled(ctx context.Context, appID, id string, disabled bool) error {
	return s.after(s.Store.SetAPIKeyDisabled(ctx, appID, id, disabled))
}

func (s sessionEnds) DeleteAPIKey(ctx context.Context, appID, id string) error {
	return s.after(s.Store.DeleteAPIKey(ctx, appID, id))
}

// UntilSessionEnds returns a context canceled, with ErrSessionEnded as its cause, when
// p's session ends (ended, or expired): at once when it is ended on this node, within
// SessionRecheck otherwise.
// Its cancel function must be called when the request is done.
func (s *Service) UntilSessionEnds(ctx context.Context, p Principal) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		t := time.NewTicker(SessionRecheck)
		defer t.Stop()
		for {
			woken := s.ended.wait() // before the check: an end after it wakes the loop
			sess, err := s.store.GetSession(ctx, p.App.ClientAppID, p.SessionID)
			if errors.Is(err, store.ErrNotFound) || err == nil && !sess.ExpiresAt.IsZero() && s.clock.Now().After(sess.ExpiresAt) {
				cancel(ErrSessionEnded)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-woken:
			case <-t.C:
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}
