package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/store"
)

// LockoutPolicy is the progressive lockout of an email/password account after repeated
// failed logins: after Threshold consecutive failures the account is locked for Base,
// each further failure doubles that, up to Max. Failures older than ForgetAfter are
// forgotten; a successful login or an operator's unlock clears them. The lockout is
// kept per email whether or not an account exists, so it tells an attacker nothing
// about which emails are registered.
type LockoutPolicy struct {
	Threshold   int // 0 turns lockout off
	Base        time.Duration
	Max         time.Duration
	ForgetAfter time.Duration
}

// DefaultLockout locks after 5 failures for 1 minute, doubling up to 1 hour.
var DefaultLockout = LockoutPolicy{Threshold: 5, Base: time.Minute, Max: time.Hour, ForgetAfter: 24 * time.Hour}

func (p LockoutPolicy) lockFor(failures int) time.Duration {
	if p.Threshold <= 0 || failures < p.Threshold {
		return 0
	}
	d := p.Base
	for i := p.Threshold; i < failures && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// lockoutKey is the account a login's credentials name when its provider locks accounts
// after failed logins (email/password: the email as compared), or "".
func lockoutKey(entry *providerEntry, creds provider.Credentials) string {
	ak, ok := entry.impl.(provider.AccountKeyed)
	if !ok {
		return ""
	}
	if key, lockout := ak.AccountKey(creds); lockout {
		return key
	}
	return ""
}

// LoginLimits says which rate limits a login counts against beside the per-address one:
// the account its credentials name (an email, the hash of an API key; "" when they name
// none), and whether its provider's logins also have a per-address limit of their own
// (provider.BareSecret: API keys).
func (s *Sessions) LoginLimits(appID, providerName string, creds map[string]any) (accountKey string, bareSecret bool) {
	app, err := s.app(appID)
	if err != nil {
		return "", false
	}
	entry, err := app.provider(providerName)
	if err != nil {
		return "", false
	}
	_, bareSecret = entry.impl.(provider.BareSecret)
	if ak, ok := entry.impl.(provider.AccountKeyed); ok {
		if key, _ := ak.AccountKey(creds); key != "" {
			accountKey = app.ClientAppID + "|" + key
		}
	}
	return accountKey, bareSecret
}

// accountTurns makes one node check one account's passwords one at a time. Attempts are
// counted before they are checked (so parallel guesses cannot all be checked before the
// lock); without turns, parallel correct logins of one account (several devices at once)
// would be counted together and lock it. With turns each attempt's outcome is known
// before the next is counted: a success clears the count first. Several nodes can still
// each have one attempt in flight; the store's atomic count bounds what they check.
type accountTurns struct {
	mu    sync.Mutex
	turns map[string]*accountTurn
}

type accountTurn struct {
	ch      chan struct{} // holds a token while an attempt runs
	waiting int           // attempts holding or waiting for the turn
}

// accountTurnWait bounds how long a login waits for its account's turn; past it the
// login is refused (429) rather than queued without end.
const accountTurnWait = 10 * time.Second

// errNoTurn is a login that waited accountTurnWait for its account's turn.
var errNoTurn = errors.New("the account's turn did not come")

// take waits up to wait for key's turn (or ctx's end) and returns its release.
func (a *accountTurns) take(ctx context.Context, key string, wait time.Duration) (func(), error) {
	a.mu.Lock()
	if a.turns == nil {
		a.turns = map[string]*accountTurn{}
	}
	t := a.turns[key]
	if t == nil {
		t = &accountTurn{ch: make(chan struct{}, 1)}
		a.turns[key] = t
	}
	t.waiting++
	a.mu.Unlock()
	leave := func() {
		a.mu.Lock()
		if t.waiting--; t.waiting == 0 {
			delete(a.turns, key)
		}
		a.mu.Unlock()
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case t.ch <- struct{}{}:
		return func() { <-t.ch; leave() }, nil
	case <-timer.C:
		leave()
		return nil, errNoTurn
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// countAttempt counts a password login before the password is checked, and refuses it
// while the account is locked. Counting first, in one atomic step, means that parallel
// attempts cannot all be checked before the lock: at most Threshold get through.
func (s *core) countAttempt(ctx context.Context, app *App, key string) (store.LoginFailures, error) {
	if key == "" || s.lockout.Threshold <= 0 {
		return store.LoginFailures{}, nil
	}
	now := s.clock.Now()
	f, allowed, err := s.store.RecordLoginAttempt(ctx, app.ClientAppID, key, now, now.Add(-s.lockout.ForgetAfter), s.lockout.lockFor)
	if err != nil {
		return f, fmt.Errorf("lockout: %w", err)
	}
	if !allowed {
		wait := f.LockedUntil.Sub(now)
		return f, &Error{Kind: ErrLockedOut, RetryAfter: wait,
			Message: fmt.Sprintf("too many failed logins for this account: try again in %d s, or ask an operator to unlock it", int(wait.Seconds())+1)}
	}
	return f, nil
}

// recordFailure reports a failed password login that countAttempt counted, when it
// locked the account.
func (s *core) recordFailure(ctx context.Context, app *App, key string, f store.LoginFailures) {
	if key == "" || s.lockout.Threshold <= 0 {
		return
	}
	now := s.clock.Now()
	if f.LockedUntil.After(now) {
		s.metrics.Lockout()
		s.recordAudit(store.AuditEvent{AppID: app.ClientAppID, Actor: "system", Action: "account_locked", Target: key, Outcome: "locked",
			Detail: fmt.Sprintf("%d failures; locked for %s", f.Failures, f.LockedUntil.Sub(now).Round(time.Second))})
		s.log.WarnContext(ctx, "account locked after failed logins", "app", app.ClientAppID, "account", keyDigest(key),
			"failures", f.Failures, "locked_for", f.LockedUntil.Sub(now).String())
	}
}

// Unlock clears an email/password account's failed logins and lockout (for operators).
// It reports whether the account had any.
func (s *Operators) Unlock(ctx context.Context, appID, email string) (bool, error) {
	app, err := s.app(appID)
	if err != nil {
		return false, err
	}
	ok, err := s.store.ClearLoginFailures(ctx, app.ClientAppID, store.EmailKey(email))
	if err != nil {
		return false, err
	}
	if ok {
		s.log.InfoContext(ctx, "account unlocked by an operator", "app", app.ClientAppID, "account", keyDigest(store.EmailKey(email)))
	}
	s.auditOperator(ctx, app.ClientAppID, "user.unlock", email, "")
	return ok, nil
}

// keyDigest identifies an account key in logs without writing the email itself.
func keyDigest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:6])
}
