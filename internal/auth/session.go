package auth

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/auth/provider/userpass"
	"github.com/wardenauth/warden/internal/store"
	"github.com/wardenauth/warden/internal/token"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// NoDevice is the device id App Services used for "no device".
const NoDevice = "000000000000000000000000"

// Device is what a client said about itself in a login's options.device.
type Device struct {
	ID              string
	Platform        string
	PlatformVersion string
	SDKVersion      string
	AppName         string
	AppVersion      string
}

// DeviceFrom reads a device as the SDKs send it ({deviceId, platform, platformVersion,
// sdkVersion, appId, appVersion}, in a login's options.device or an OAuth login's device
// parameter). A deviceId may be an ObjectId or its hex; fields of another type are left
// empty.
func DeviceFrom(m map[string]any) Device {
	str := func(k string) string { s, _ := m[k].(string); return s }
	d := Device{Platform: str("platform"), PlatformVersion: str("platformVersion"), SDKVersion: str("sdkVersion"),
		AppName: str("appId"), AppVersion: str("appVersion")}
	switch id := m["deviceId"].(type) {
	case bson.ObjectID:
		d.ID = id.Hex()
	case string:
		d.ID = strings.ToLower(id)
	}
	return d
}

// Map is the device in the form DeviceFrom reads.
func (d Device) Map() map[string]any {
	return map[string]any{"deviceId": d.ID, "platform": d.Platform, "platformVersion": d.PlatformVersion,
		"sdkVersion": d.SDKVersion, "appId": d.AppName, "appVersion": d.AppVersion}
}

// LoginRequest is one login (or, with LinkAccessToken set, one link) attempt.
type LoginRequest struct {
	AppID       string
	Provider    string
	Credentials provider.Credentials
	Device      Device
	// LinkAccessToken, when set, links the credentials' identity to the user of this
	// access token instead of logging in.
	LinkAccessToken string
	// IP is the client's address, for the audit log.
	IP string
}

// LoginResult is what a successful login answers.
type LoginResult struct {
	AccessToken  string
	RefreshToken string // empty for a link
	UserID       string
	DeviceID     string
	// Created is true when the login created the user.
	Created bool
}

// Principal is the user and session behind a valid access token.
type Principal struct {
	App       *App
	UserID    string
	SessionID string
	DeviceID  string
	// SessionProvider and SessionIdentity say how the session was opened.
	SessionProvider string
	SessionIdentity string
}

// LogIn checks credentials with the app's provider and opens a session, creating the
// user on the identity's first login; or links the identity when req.LinkAccessToken is set.
func (s *Sessions) LogIn(ctx context.Context, req LoginRequest) (LoginResult, error) {
	app, err := s.app(req.AppID)
	if err != nil {
		return LoginResult{}, err
	}
	var linker *Principal
	if req.LinkAccessToken != "" {
		p, err := s.Authenticate(ctx, req.LinkAccessToken)
		if err != nil {
			return LoginResult{}, err
		}
		if p.App != app {
			return LoginResult{}, fail(ErrInvalidSession, "invalid session: the access token belongs to another app")
		}
		linker = &p
	}
	entry, err := app.provider(req.Provider)
	if err != nil {
		return LoginResult{}, err
	}
	if u, ok := entry.impl.(provider.Unlinkable); ok && linker != nil {
		return LoginResult{}, fail(ErrLinkNotAllowed, u.LinkRefusal())
	}
	lockKey := lockoutKey(entry, req.Credentials)
	release := func() {}
	if lockKey != "" && s.lockout.Threshold > 0 {
		r, err := s.accountTurns.take(ctx, app.ClientAppID+"|"+lockKey, accountTurnWait)
		if errors.Is(err, errNoTurn) {
			return LoginResult{}, &Error{Kind: ErrLockedOut, RetryAfter: time.Second,
				Message: "too many logins of this account at once: try again shortly"}
		}
		if err != nil {
			return LoginResult{}, fmt.Errorf("waiting for the account's turn: %w", err)
		}
		release = sync.OnceFunc(r)
		defer release()
	}
	failures, err := s.countAttempt(ctx, app, lockKey)
	if err != nil {
		s.metrics.Login(entry.cfg.Type, "locked")
		s.recordAudit(store.AuditEvent{AppID: app.ClientAppID, Actor: "anonymous", Action: "login_refused", Target: lockKey, Outcome: "locked", Detail: entry.cfg.Type, IP: req.IP})
		return LoginResult{}, err
	}
	ident, err := entry.impl.Authenticate(ctx, req.Credentials)
	if err != nil {
		if errors.Is(err, provider.ErrInvalidCredentials) {
			s.recordFailure(ctx, app, lockKey, failures)
			s.metrics.Login(entry.cfg.Type, "failure")
			s.recordAudit(store.AuditEvent{AppID: app.ClientAppID, Actor: "anonymous", Action: "login_failed", Target: lockKey, Outcome: "failure", Detail: entry.cfg.Type, IP: req.IP})
		} else {
			s.metrics.Login(entry.cfg.Type, "error")
		}
		return LoginResult{}, providerError(err, linker != nil)
	}
	if failures.Failures > 0 {
		if _, err := s.store.ClearLoginFailures(ctx, app.ClientAppID, lockKey); err != nil {
			s.log.WarnContext(ctx, "clearing failed logins failed", "err", err)
		}
	}
	release() // the password is settled; the session need not wait for the turn
	return s.completeLogin(ctx, app, entry, ident, linker, req.Device, req.IP)
}

// completeLogin is where every login flow ends once a provider has named the identity
// (LogIn, and the OAuth redirect's callback): it links the identity to linker's user, or
// opens a session (creating the user at its identity's first login), and records the
// metrics and audit events of either.
func (s *core) completeLogin(ctx context.Context, app *App, entry *providerEntry, ident provider.Identity, linker *Principal, dev Device, ip string) (LoginResult, error) {
	s.metrics.Login(entry.cfg.Type, "success")
	identity := store.Identity{ID: ident.ID, ProviderType: entry.cfg.Type, ProviderID: entry.cfg.ID, Data: ident.Data, CreatedAt: s.clock.Now()}
	if linker != nil {
		res, err := s.link(ctx, *linker, identity)
		if err == nil {
			s.recordAudit(store.AuditEvent{AppID: app.ClientAppID, Actor: "user:" + linker.UserID, Action: "identity_linked", Target: linker.UserID, Outcome: "success", Detail: entry.cfg.Type, IP: ip})
		}
		return res, err
	}
	// The login's event is written in the login's own transaction.
	res, err := s.openSession(ctx, app, entry, ident, identity, dev, func(userID string, created bool) store.AuditEvent {
		action := "login"
		if created {
			action = "user_created"
		}
		return store.AuditEvent{AppID: app.ClientAppID, At: s.clock.Now(), Actor: "user:" + userID, Action: action, Target: userID, Outcome: "success", Detail: entry.cfg.Type, IP: ip}
	})
	if errors.Is(err, ErrUserDisabled) {
		s.recordAudit(store.AuditEvent{AppID: app.ClientAppID, Actor: "anonymous", Action: "login_refused", Target: identity.ID, Outcome: "disabled", Detail: entry.cfg.Type, IP: ip})
	}
	return res, err
}

// openSession logs the identity in: it finds or creates its user, opens a session on the
// device and writes the event audit makes, in one transaction, and mints the tokens.
func (s *core) openSession(ctx context.Context, app *App, entry *providerEntry, ident provider.Identity, identity store.Identity, dev Device, audit func(userID string, created bool) store.AuditEvent) (LoginResult, error) {
	now := identity.CreatedAt
	deviceID := strings.ToLower(dev.ID)
	if !isObjectIDHex(deviceID) || deviceID == NoDevice {
		deviceID = bson.NewObjectID().Hex()
	}
	secret, err := randomHex(16)
	if err != nil {
		return LoginResult{}, err
	}
	ttl := app.RefreshTokenTTL
	if ttl == 0 {
		ttl = s.refreshTTL
	}
	if sl, ok := entry.impl.(provider.SessionLifetime); ok {
		ttl = sl.SessionTTL()
	}
	sess := store.Session{
		AppID: app.ClientAppID, ID: bson.NewObjectID().Hex(), TokenHash: hashSecret(secret),
		DeviceID: deviceID, CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
	user, created, err := s.store.LogIn(ctx, store.LoginParams{
		AppID:    app.ClientAppID,
		UserID:   ident.UserID,
		APIKeyID: ident.APIKeyID,
		Identity: identity,
		NewUser:  store.User{ID: bson.NewObjectID().Hex(), Type: store.UserTypeNormal, CreatedAt: now},
		Session:  sess,
		Device: store.Device{
			AppID: app.ClientAppID, ID: deviceID, Platform: clip(dev.Platform), PlatformVersion: clip(dev.PlatformVersion),
			SDKVersion: clip(dev.SDKVersion), ClientAppName: clip(dev.AppName), ClientAppVer: clip(dev.AppVersion),
			CreatedAt: now, LastSeenAt: now,
		},
		Audit: audit,
	})
	if errors.Is(err, store.ErrUserDisabled) {
		return LoginResult{}, fail(ErrUserDisabled, "user is disabled")
	}
	if errors.Is(err, store.ErrNotFound) && ident.UserID != "" {
		return LoginResult{}, fail(ErrInvalidCredentials, "unauthorized") // the key's owner is gone
	}
	if err != nil {
		return LoginResult{}, fmt.Errorf("log in: %w", err)
	}
	var userData json.RawMessage
	if created {
		s.onUserCreation(ctx, app, user.ID)
	}
	// A user made just now has no document unless its creation function wrote one: no
	// read, and no refusal of a new user's login while the data source is down.
	if !created || (app.CustomUserData != nil && app.CustomUserData.OnUserCreationFunctionName != "") {
		if userData, err = s.customData(ctx, app, user.ID); err != nil {
			return LoginResult{}, err
		}
	}
	access, err := s.ring.MintAccess(token.AccessParams{
		AppID: app.ClientAppID, DomainID: app.DomainID, UserID: user.ID, SessionID: sess.ID,
		DeviceID: deviceID, IssuedAt: now, TTL: s.accessTTL, UserData: userData,
	})
	if err != nil {
		return LoginResult{}, err
	}
	refresh, err := s.ring.MintRefresh(token.RefreshParams{
		AppID: app.ClientAppID, DomainID: app.DomainID, UserID: user.ID, SessionSecret: secret, DeviceID: deviceID, SessionID: sess.ID,
		Identity: token.Identity{ID: identity.ID, ProviderType: identity.ProviderType, ProviderID: identity.ProviderID},
		IssuedAt: now, ExpiresAt: sess.ExpiresAt,
	})
	if err != nil {
		return LoginResult{}, err
	}
	s.log.InfoContext(ctx, "login", "app", app.ClientAppID, "user", user.ID, "provider", entry.cfg.Type, "created", created)
	return LoginResult{AccessToken: access, RefreshToken: refresh, UserID: user.ID, DeviceID: deviceID, Created: created}, nil
}

func (s *core) link(ctx context.Context, p Principal, identity store.Identity) (LoginResult, error) {
	user, err := s.store.GetUser(ctx, p.App.ClientAppID, p.UserID)
	if err != nil {
		return LoginResult{}, fail(ErrInvalidSession, "invalid session: user not found")
	}
	if identity.ProviderType == userpass.Type {
		for _, id := range user.Identities {
			if id.ProviderType == userpass.Type && id.ID != identity.ID {
				return LoginResult{}, fail(ErrLinkNotAllowed, "linking a local-userpass identity is not allowed when one is already linked")
			}
		}
	}
	_, err = s.store.LinkIdentity(ctx, p.App.ClientAppID, p.UserID, identity)
	switch {
	case errors.Is(err, store.ErrIdentityTaken):
		return LoginResult{}, fail(ErrIdentityTaken, "a user already exists with the specified provider")
	case errors.Is(err, store.ErrUserDisabled):
		return LoginResult{}, fail(ErrUserDisabled, "user is disabled")
	case errors.Is(err, store.ErrNotFound):
		return LoginResult{}, fail(ErrInvalidSession, "invalid session: user not found")
	case err != nil:
		return LoginResult{}, fmt.Errorf("link: %w", err)
	}
	userData, err := s.customData(ctx, p.App, p.UserID)
	if err != nil {
		return LoginResult{}, err
	}
	access, err := s.ring.MintAccess(token.AccessParams{
		AppID: p.App.ClientAppID, DomainID: p.App.DomainID, UserID: p.UserID, SessionID: p.SessionID,
		DeviceID: p.DeviceID, IssuedAt: s.clock.Now(), TTL: s.accessTTL, UserData: userData,
	})
	if err != nil {
		return LoginResult{}, err
	}
	s.log.InfoContext(ctx, "identity linked", "app", p.App.ClientAppID, "user", p.UserID, "provider", identity.ProviderType)
	return LoginResult{AccessToken: access, UserID: p.UserID, DeviceID: p.DeviceID}, nil
}

// providerError turns a provider's error into the Service's. Failed links never say
// exactly "unauthorized": realm-web 2.0.1 answers that with an endless refresh loop.
func providerError(err error, linking bool) error {
	var in *provider.InputError
	var rej *provider.RejectedError
	switch {
	case errors.As(err, &in):
		return fail(ErrInvalidInput, in.Error())
	case errors.As(err, &rej):
		return fail(ErrAuthFailed, rej.Message)
	case errors.Is(err, provider.ErrInvalidCredentials):
		if linking {
			return fail(ErrInvalidCredentials, "unauthorized: invalid credentials")
		}
		return fail(ErrInvalidCredentials, "unauthorized")
	case errors.Is(err, provider.ErrPendingConfirmation):
		return fail(ErrPendingConfirmation, "confirmation required")
	}
	return fmt.Errorf("provider: %w", err)
}

// Authenticate checks an access token and that its session still exists (so a logged
// out, revoked, disabled or deleted user's access tokens stop working at once).
func (s *Sessions) Authenticate(ctx context.Context, raw string) (Principal, error) {
	now := s.clock.Now()
	c, err := s.ring.Verify(raw, token.TypeAccess, now)
	if errors.Is(err, token.ErrExpired) {
		return Principal{}, fail(ErrAccessTokenExpired, "invalid session: access token expired")
	}
	if err != nil {
		return Principal{}, fail(ErrInvalidSession, "invalid session: invalid access token")
	}
	app, ok := s.apps[c.AppID()]
	if !ok {
		return Principal{}, fail(ErrInvalidSession, "invalid session: unknown app")
	}
	sess, err := s.store.GetSession(ctx, app.ClientAppID, c.Issuer)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, fail(ErrInvalidSession, "invalid session: session ended")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if sess.UserID != c.Subject {
		return Principal{}, fail(ErrInvalidSession, "invalid session")
	}
	return principalOf(app, sess), nil
}

// RefreshTokenApp returns the app a refresh token (expired or not) was issued for, so
// that the HTTP layer can check the app's allowed origins before the token is used.
func (s *Sessions) RefreshTokenApp(raw string) (*App, bool) {
	c, err := s.ring.Verify(raw, token.TypeRefresh, s.clock.Now())
	if err != nil && !errors.Is(err, token.ErrExpired) {
		return nil, false
	}
	app, ok := s.apps[c.AppID()]
	return app, ok
}

// sessionFromRefresh finds the live session that a refresh token names.
func (s *core) sessionFromRefresh(ctx context.Context, raw string, allowExpired bool) (*App, store.Session, error) {
	now := s.clock.Now()
	c, err := s.ring.Verify(raw, token.TypeRefresh, now)
	if errors.Is(err, token.ErrExpired) && allowExpired {
		err = nil
	}
	if err != nil {
		return nil, store.Session{}, fail(ErrInvalidSession, "invalid session: invalid refresh token")
	}
	app, ok := s.apps[c.AppID()]
	if !ok {
		return nil, store.Session{}, fail(ErrInvalidSession, "invalid session: unknown app")
	}
	sess, err := s.store.GetSessionByTokenHash(ctx, hashSecret(c.SessionID))
	if errors.Is(err, store.ErrNotFound) && c.Issuer != "" {
		// Not the session's current token: if the session lives, this is a token that
		// rotation replaced.
		if live, gerr := s.store.GetSession(ctx, app.ClientAppID, c.Issuer); gerr == nil && live.UserID == c.Subject {
			return app, live, &staleRefresh{secretHash: hashSecret(c.SessionID)}
		}
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && (sess.AppID != app.ClientAppID || sess.UserID != c.Subject)) {
		return nil, store.Session{}, fail(ErrSessionNotFound, "invalid session: failed to find refresh token")
	}
	if err != nil {
		return nil, store.Session{}, fmt.Errorf("finding session: %w", err)
	}
	if !allowExpired && !now.Before(sess.ExpiresAt) {
		return nil, store.Session{}, fail(ErrInvalidSession, "invalid session: refresh token expired")
	}
	return app, sess, nil
}

// RefreshResult is a refresh's answer: a new access token, and with rotation a new
// refresh token.
type RefreshResult struct {
	AccessToken  string
	RefreshToken string
}

// staleRefresh is a signed refresh token of a live session that is no longer the
// session's current token (rotation replaced it).
type staleRefresh struct{ secretHash []byte }

func (*staleRefresh) Error() string { return "refresh token was rotated away" }

// Refresh mints a new access token for the session a refresh token names. With rotate
// (clients that opt in) it also replaces the refresh token: the old one stays valid for
// the grace window only, and a replay of an older one ends the session.
func (s *Sessions) Refresh(ctx context.Context, refreshToken string, rotate bool) (RefreshResult, error) {
	app, sess, err := s.sessionFromRefresh(ctx, refreshToken, false)
	var stale *staleRefresh
	if errors.As(err, &stale) {
		if !rotate {
			return RefreshResult{}, s.revokeReplayed(ctx, app, sess)
		}
		err = nil
	}
	now := s.clock.Now()
	if err == nil && !now.Before(sess.ExpiresAt) {
		err = fail(ErrInvalidSession, "invalid session: refresh token expired")
	}
	if err != nil {
		s.metrics.Refresh("refused")
		return RefreshResult{}, err
	}
	// Read before a rotation: a refusal here leaves the presented refresh token good.
	userData, err := s.customData(ctx, app, sess.UserID)
	if err != nil {
		return RefreshResult{}, err
	}
	var out RefreshResult
	if rotate {
		presented := sess.TokenHash
		if stale != nil {
			presented = stale.secretHash
		}
		secret, err := randomHex(16)
		if err != nil {
			return RefreshResult{}, err
		}
		r, err := s.store.RotateSessionToken(ctx, app.ClientAppID, sess.ID, presented, hashSecret(secret), now, now.Add(-s.rotationGrace))
		if errors.Is(err, store.ErrNotFound) {
			s.metrics.Refresh("refused")
			return RefreshResult{}, fail(ErrSessionNotFound, "invalid session: failed to find refresh token")
		}
		if err != nil {
			return RefreshResult{}, fmt.Errorf("rotating refresh token: %w", err)
		}
		if r == store.RotationReuse {
			s.metrics.Refresh("reuse")
			s.recordAudit(store.AuditEvent{AppID: app.ClientAppID, Actor: "user:" + sess.UserID, Action: "refresh_refused", Target: sess.UserID, Outcome: "reuse", Detail: "session " + sess.ID + " ended"})
			s.log.WarnContext(ctx, "refresh token replayed after rotation: session ended", "app", app.ClientAppID, "user", sess.UserID, "session", sess.ID)
			return RefreshResult{}, fail(ErrSessionNotFound, "invalid session: refresh token was already used")
		}
		out.RefreshToken, err = s.ring.MintRefresh(token.RefreshParams{
			AppID: app.ClientAppID, DomainID: app.DomainID, UserID: sess.UserID, SessionSecret: secret, DeviceID: sess.DeviceID, SessionID: sess.ID,
			Identity: token.Identity{ID: sess.IdentityID, ProviderType: sess.ProviderType}, IssuedAt: now, ExpiresAt: sess.ExpiresAt,
		})
		if err != nil {
			return RefreshResult{}, err
		}
	}
	s.metrics.Refresh("success")
	if now.Sub(sess.LastUsedAt) >= sessionTouchInterval {
		if err := s.store.TouchSession(ctx, app.ClientAppID, sess.ID, now); err != nil {
			s.log.WarnContext(ctx, "recording session use failed", "err", err)
		}
	}
	out.AccessToken, err = s.ring.MintAccess(token.AccessParams{
		AppID: app.ClientAppID, DomainID: app.DomainID, UserID: sess.UserID, SessionID: sess.ID,
		DeviceID: sess.DeviceID, IssuedAt: now, TTL: s.accessTTL, UserData: userData,
	})
	return out, err
}

// revokeReplayed ends a session whose rotated-away refresh token was presented, and
// returns the error to answer with.
func (s *core) revokeReplayed(ctx context.Context, app *App, sess store.Session) error {
	s.metrics.Refresh("reuse")
	s.recordAudit(store.AuditEvent{AppID: app.ClientAppID, Actor: "user:" + sess.UserID, Action: "refresh_refused", Target: sess.UserID, Outcome: "reuse", Detail: "session " + sess.ID + " ended"})
	s.log.WarnContext(ctx, "refresh token replayed after rotation: session ended", "app", app.ClientAppID, "user", sess.UserID, "session", sess.ID)
	if err := s.store.DeleteSession(ctx, app.ClientAppID, sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.ErrorContext(ctx, "ending a replayed session failed", "err", err)
	}
	return fail(ErrSessionNotFound, "invalid session: refresh token was already used")
}

// liveSessionFromRefresh is sessionFromRefresh for callers that never rotate: a
// rotated-away token ends its session.
func (s *core) liveSessionFromRefresh(ctx context.Context, raw string, allowExpired bool) (*App, store.Session, error) {
	app, sess, err := s.sessionFromRefresh(ctx, raw, allowExpired)
	var stale *staleRefresh
	if errors.As(err, &stale) {
		return nil, store.Session{}, s.revokeReplayed(ctx, app, sess)
	}
	return app, sess, err
}

// LogOut ends the session a refresh token names. An expired refresh token still ends
// its session.
func (s *Sessions) LogOut(ctx context.Context, refreshToken string) error {
	app, sess, err := s.liveSessionFromRefresh(ctx, refreshToken, true)
	if err != nil {
		return err
	}
	err = s.store.DeleteSession(ctx, app.ClientAppID, sess.ID)
	if errors.Is(err, store.ErrNotFound) {
		return fail(ErrSessionNotFound, "invalid session: failed to find refresh token")
	}
	if err != nil {
		return fmt.Errorf("log out: %w", err)
	}
	return nil
}

// Profile returns the user behind p with its identities.
func (s *Sessions) Profile(ctx context.Context, p Principal) (store.User, error) {
	return s.profile(ctx, p)
}

func (s *core) profile(ctx context.Context, p Principal) (store.User, error) {
	u, err := s.store.GetUser(ctx, p.App.ClientAppID, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, fail(ErrInvalidSession, "invalid session: user not found")
	}
	if err != nil {
		return store.User{}, fmt.Errorf("profile: %w", err)
	}
	return u, nil
}

// DeleteUser deletes the user behind p, with its identities and sessions.
func (s *Sessions) DeleteUser(ctx context.Context, p Principal) error {
	err := s.store.DeleteUser(ctx, p.App.ClientAppID, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return fail(ErrInvalidSession, "invalid session: user not found")
	}
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	s.log.InfoContext(ctx, "user deleted", "app", p.App.ClientAppID, "user", p.UserID)
	s.recordAudit(store.AuditEvent{AppID: p.App.ClientAppID, Actor: "user:" + p.UserID, Action: "user_deleted", Target: p.UserID, Outcome: "success"})
	return nil
}

func isObjectIDHex(s string) bool {
	if len(s) != 24 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// clip bounds client-supplied device strings.
func clip(s string) string {
	const limit = 256
	if len(s) <= limit {
		return s
	}
	s = s[:limit]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return strings.TrimSpace(s)
}

func principalOf(app *App, sess store.Session) Principal {
	return Principal{App: app, UserID: sess.UserID, SessionID: sess.ID, DeviceID: sess.DeviceID,
		SessionProvider: sess.ProviderType, SessionIdentity: sess.IdentityID}
}

// AuthenticateRefresh checks a refresh token (for the calls that App Services made with
// one: user API keys) and returns the principal of its live session.
func (s *Sessions) AuthenticateRefresh(ctx context.Context, raw string) (Principal, error) {
	app, sess, err := s.liveSessionFromRefresh(ctx, raw, false)
	if err != nil {
		return Principal{}, err
	}
	return principalOf(app, sess), nil
}
