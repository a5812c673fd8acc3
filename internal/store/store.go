// Package store defines where Warden keeps its state: users, their identities, sessions,
// devices, and email/password accounts with their pending confirmations and resets.
//
// Store is one interface with one implementation per database engine (store/sqlite is
// the embedded default). Every operation that changes more than one row runs as a single
// transaction inside the implementation, so a crash never leaves a half-made user, an
// orphan identity or an orphan session. The conformance suite in store/storetest is run
// unchanged against every engine.
package store

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"
)

// Errors that every implementation returns (wrapped or not) for the same situations.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrIdentityTaken: the identity already belongs to another user.
	ErrIdentityTaken = errors.New("identity belongs to another user")
	// ErrEmailTaken: an email/password account with that email already exists.
	ErrEmailTaken = errors.New("email already registered")
	// ErrUserDisabled: the user is disabled.
	ErrUserDisabled = errors.New("user disabled")
	// ErrTokenInvalid: a confirmation or reset token is unknown, used, expired or wrong.
	ErrTokenInvalid = errors.New("invalid token")
	// ErrNameTaken: the user already has an API key with that name.
	ErrNameTaken = errors.New("name already in use")
	// ErrLimitReached: the user already has as many API keys as allowed.
	ErrLimitReached = errors.New("limit reached")
)

// User types.
const (
	UserTypeNormal = "normal"
	UserTypeServer = "server"
)

// User is an account. Its identities are in the order they were added; Data is the
// provider data of all its identities merged, later identities winning.
type User struct {
	AppID      string
	ID         string
	Type       string
	Disabled   bool
	Data       map[string]any
	CreatedAt  time.Time
	LastLogin  time.Time
	Identities []Identity
}

// Identity is one way to log in as a user: an (provider type, id) pair unique per app.
type Identity struct {
	ID           string
	ProviderType string
	ProviderID   string
	Data         map[string]any
	CreatedAt    time.Time
}

// Session is a logged-in device of a user. A refresh token names a session; the session
// row is looked up by the hash of the refresh token's secret id.
type Session struct {
	AppID        string
	ID           string
	TokenHash    []byte
	UserID       string
	DeviceID     string
	ProviderType string
	IdentityID   string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastUsedAt   time.Time
}

// Device is what the client said about itself at login (`options.device`).
type Device struct {
	AppID           string
	ID              string
	Platform        string
	PlatformVersion string
	SDKVersion      string
	ClientAppName   string
	ClientAppVer    string
	CreatedAt       time.Time
	LastSeenAt      time.Time
}

// Account states of an email/password account.
const (
	AccountPending   = "pending"
	AccountConfirmed = "confirmed"

	// NoPassword is the password hash of an account that has none yet: one migrated from
	// App Services, which never exported password hashes. No password logs in to it; the
	// app's reset flow (by email or by function) sets one, and the user keeps its id.
	NoPassword = "!no-password"
)

// Account is an email/password registration. Its ID is the id of the local-userpass
// identity once the account logs in.
type Account struct {
	AppID        string
	ID           string
	Email        string
	PasswordHash string
	Status       string
	CreatedAt    time.Time
}

// Purposes of an account token.
const (
	TokenConfirm = "confirm"
	TokenReset   = "reset"
)

// AccountToken is a pending confirmation or password reset. Only a hash of the secret
// token is kept; TokenID is the public half that the link carries next to it.
type AccountToken struct {
	AppID     string
	TokenID   string
	Hash      []byte
	AccountID string
	Purpose   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// APIKey is a user or server API key. Only a hash of the key itself is kept.
type APIKey struct {
	AppID     string
	ID        string
	UserID    string
	Name      string
	Hash      []byte
	Disabled  bool
	CreatedAt time.Time
}

// OAuthState is a browser OAuth login in progress. ID is the secret state Warden sent
// to the provider; the rest is what the callback needs to finish the login.
type OAuthState struct {
	ID            string
	AppID         string
	Provider      string
	ClientState   string
	Redirect      string
	Callback      string
	Device        map[string]any
	LinkSessionID string
	// BrowserBinding is the SHA-256 (hex) of the secret cookie set in the browser that
	// started the login; the callback must come from a browser that holds it.
	BrowserBinding string
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// PushRegistration is a device's registration with a push service (its token, from
// Firebase Cloud Messaging, say), as the native SDKs' PushClient sends it.
type PushRegistration struct {
	AppID     string
	UserID    string
	DeviceID  string
	Service   string
	Token     string
	UpdatedAt time.Time
}

// LoginParams describes one successful credential check: the identity that logged in,
// the user to create if the identity is new, and the session to open.
type LoginParams struct {
	AppID string
	// UserID, when set, logs in as this existing user directly (API keys prove their
	// owner, not an identity); Identity then only names the provider and key for the
	// session, and no identity row is looked up or created.
	UserID string
	// APIKeyID, when set, is the API key the login used: the session is opened only if
	// the key still exists and is enabled, in the same transaction, so that a session never
	// outlives its key.
	APIKeyID string
	Identity Identity
	// NewUser is used only when no user owns the identity yet.
	NewUser User
	Session Session
	// Device is inserted or updated (by AppID and ID) in the same transaction.
	Device Device
	// Audit, when set, makes the login's audit event from the user it logged in and
	// whether it created it; the event is written in the login's transaction, so the login
	// and its event are committed together, in one durable commit.
	Audit func(userID string, created bool) AuditEvent
}

// Store is Warden's state. Implementations are safe for concurrent use.
type Store interface {
	// LogIn finds the user that owns p.Identity, or creates p.NewUser with it, records the
	// device, opens p.Session for that user and appends p.Audit's event, all in one
	// transaction. It returns the user and whether it was created. A disabled user gets
	// ErrUserDisabled and no session.
	LogIn(ctx context.Context, p LoginParams) (User, bool, error)
	// GetUser returns a user with its identities.
	GetUser(ctx context.Context, appID, userID string) (User, error)
	// LinkIdentity adds an identity to a user. It is a no-op when the user already has it,
	// and ErrIdentityTaken when another user has it.
	LinkIdentity(ctx context.Context, appID, userID string, id Identity) (User, error)
	// DeleteUser removes a user with its identities, sessions and email/password account.
	DeleteUser(ctx context.Context, appID, userID string) error
	// SetUserDisabled disables or enables a user; disabling also ends all its sessions.
	SetUserDisabled(ctx context.Context, appID, userID string, disabled bool) error
	// DeleteUserSessions ends every session of a user and reports how many there were.
	DeleteUserSessions(ctx context.Context, appID, userID string) (int, error)

	// GetSessionByTokenHash finds the session whose refresh-token hash is hash.
	GetSessionByTokenHash(ctx context.Context, hash []byte) (Session, error)
	// GetSession finds a session by its public id.
	GetSession(ctx context.Context, appID, sessionID string) (Session, error)
	// DeleteSession ends one session. When it was the last session of a user whose only
	// identity is anonymous, that user is deleted too (nobody can log in as it again).
	DeleteSession(ctx context.Context, appID, sessionID string) error
	// TouchSession records that the session was used at t.
	TouchSession(ctx context.Context, appID, sessionID string, t time.Time) error
	// RotateSessionToken replaces a session's refresh-token hash, in one transaction:
	// when presented is the current hash, next becomes current and presented the
	// previous one (RotationDone); when presented is the previous hash and the rotation
	// happened at or after graceStart, next replaces the current one (RotationGrace, a
	// retry after a lost answer); any other presented hash is a replayed token and ends
	// the session (RotationReuse). ErrNotFound when the session does not exist.
	RotateSessionToken(ctx context.Context, appID, sessionID string, presented, next []byte, now, graceStart time.Time) (Rotation, error)

	// CreateAccount registers an email/password account (ErrEmailTaken if the email,
	// compared case-insensitively, is already registered) and, when tok is not nil, its
	// confirmation token, in one transaction.
	CreateAccount(ctx context.Context, a Account, tok *AccountToken) error
	// GetAccountByEmail finds an account by email, case-insensitively.
	GetAccountByEmail(ctx context.Context, appID, email string) (Account, error)
	// AddAccountToken stores a new confirmation or reset token for an account, replacing
	// earlier tokens of the same purpose.
	AddAccountToken(ctx context.Context, tok AccountToken) error
	// ConfirmAccount consumes a confirmation token (by id and hash, not expired at now)
	// and marks its account confirmed. It returns ErrTokenInvalid otherwise.
	ConfirmAccount(ctx context.Context, appID, tokenID string, hash []byte, now time.Time) (Account, error)
	// ResetPassword consumes a reset token, sets the account's password hash and ends
	// every session of the account's user, in one transaction.
	ResetPassword(ctx context.Context, appID, tokenID string, hash []byte, passwordHash string, now time.Time) (Account, error)

	// CreateAPIKey stores a key for an existing user, refusing a name the user already
	// has (ErrNameTaken) and more than limit keys per user (ErrLimitReached).
	CreateAPIKey(ctx context.Context, k APIKey, limit int) error
	// CreateServerAPIKey creates a server user with one api-key identity and its key, in
	// one transaction.
	CreateServerAPIKey(ctx context.Context, u User, id Identity, k APIKey) error
	// GetAPIKeyByHash finds a key by the hash of its secret.
	GetAPIKeyByHash(ctx context.Context, appID string, hash []byte) (APIKey, error)
	// GetAPIKey finds a key by id.
	GetAPIKey(ctx context.Context, appID, id string) (APIKey, error)
	// ListAPIKeys lists a user's keys, oldest first.
	ListAPIKeys(ctx context.Context, appID, userID string) ([]APIKey, error)
	// ListServerAPIKeys lists the keys owned by server users, oldest first.
	ListServerAPIKeys(ctx context.Context, appID string) ([]APIKey, error)
	// SetAPIKeyDisabled disables or enables a key; disabling ends the sessions it opened.
	SetAPIKeyDisabled(ctx context.Context, appID, id string, disabled bool) error
	// DeleteAPIKey deletes a key and ends the sessions it opened; deleting a server key
	// deletes its server user with everything the user holds (sessions, keys).
	DeleteAPIKey(ctx context.Context, appID, id string) error

	// PutOAuthState records a browser OAuth login in progress (and drops expired ones).
	PutOAuthState(ctx context.Context, st OAuthState) error
	// TakeOAuthState returns and deletes the state id: it can be taken once, before it
	// expires at now; otherwise ErrNotFound.
	TakeOAuthState(ctx context.Context, id string, now time.Time) (OAuthState, error)

	// HitCounter counts one hit of key in the fixed window [windowStart, windowEnd) and
	// returns the hits so far in that window (1 for the first). Counters are shared by
	// every node on the same database.
	HitCounter(ctx context.Context, key string, windowStart, windowEnd time.Time) (int, error)
	// RecordLoginAttempt counts a password login attempt for an account key at now, before
	// the password is checked, in one atomic step: unless the key is locked at now, its
	// count goes up by one (failures older than forgetBefore are forgotten first) and
	// lockFor(n) says how long it is locked after its n-th attempt (0: not); allowed
	// reports whether the attempt was counted and may go on. A successful login then
	// clears the count (ClearLoginFailures).
	RecordLoginAttempt(ctx context.Context, appID, key string, now, forgetBefore time.Time, lockFor func(attempts int) time.Duration) (f LoginFailures, allowed bool, err error)
	// GetLoginFailures returns an account key's failures (zero values when none).
	GetLoginFailures(ctx context.Context, appID, key string) (LoginFailures, error)
	// ClearLoginFailures forgets an account key's failures and lifts its lockout (after a
	// successful login, or by an operator). It reports whether there was anything.
	ClearLoginFailures(ctx context.Context, appID, key string) (bool, error)
	// DeleteInactiveAnonymousUsers deletes, with their sessions, up to limit users of the
	// app whose only identities are anonymous and that have not logged in or refreshed
	// since before. It returns how many it deleted.
	DeleteInactiveAnonymousUsers(ctx context.Context, appID string, before time.Time, limit int) (int, error)
	// DeleteExpired removes rate counters and OAuth states that ended before now.
	DeleteExpired(ctx context.Context, now time.Time) error

	// ListUsers lists an app's users matching q, and how many match in all.
	ListUsers(ctx context.Context, appID string, q UserQuery) ([]User, int, error)
	// CreateUser creates a user with one identity and no session.
	CreateUser(ctx context.Context, u User, id Identity) error
	// ListAccountsWithoutPassword lists, in the order of their email keys, the emails of
	// the accounts whose password hash is NoPassword, after afterEmail's key.
	ListAccountsWithoutPassword(ctx context.Context, appID, afterEmail string, limit int) ([]string, error)

	// PutPushRegistration records (or replaces) a device's push registration for a push
	// service; ErrNotFound when the user does not exist.
	PutPushRegistration(ctx context.Context, r PushRegistration) error
	// DeletePushRegistration forgets a device's registration for a push service; deleting
	// one that does not exist succeeds.
	DeletePushRegistration(ctx context.Context, appID, userID, deviceID, service string) error
	// ListPushRegistrations lists a user's push registrations, newest first.
	ListPushRegistrations(ctx context.Context, appID, userID string) ([]PushRegistration, error)

	// ListUserSessions lists a user's sessions with their devices, most recently used first.
	ListUserSessions(ctx context.Context, appID, userID string) ([]SessionInfo, error)
	// ListPendingAccounts lists email/password accounts awaiting confirmation, oldest first.
	ListPendingAccounts(ctx context.Context, appID string, limit, offset int) ([]Account, error)
	// ConfirmAccountByEmail confirms a pending account without its token (an operator's
	// decision) and drops its confirmation tokens.
	ConfirmAccountByEmail(ctx context.Context, appID, email string) (Account, error)

	// CreateAdminKey stores an admin API key (ErrNameTaken for a name in use).
	CreateAdminKey(ctx context.Context, k AdminKey) error
	// GetAdminKeyByHash finds an admin key by the hash of its secret.
	GetAdminKeyByHash(ctx context.Context, hash []byte) (AdminKey, error)
	// ListAdminKeys lists the admin keys, oldest first.
	ListAdminKeys(ctx context.Context) ([]AdminKey, error)
	// DeleteAdminKey deletes an admin key by id or name.
	DeleteAdminKey(ctx context.Context, idOrName string) error

	// AppendAudit records audit events.
	AppendAudit(ctx context.Context, events []AuditEvent) error
	// ListAudit lists an app's audit events matching f, newest first.
	ListAudit(ctx context.Context, appID string, f AuditFilter) ([]AuditEvent, error)

	// Unavailable reports whether err means the database cannot serve requests now (its
	// server unreachable, the disk full) rather than a fault of the request, and why.
	Unavailable(err error) (reason string, ok bool)

	// Ping checks that the database answers a read and that a write transaction can be
	// opened (for readiness).
	Ping(ctx context.Context) error

	// Close releases the store's resources.
	Close() error
}

// UserQuery selects users for ListUsers.
type UserQuery struct {
	// Search matches a user id, an identity id, or the start of an email (any case).
	Search string
	// Provider keeps users with an identity of this provider type.
	Provider string
	// State is "", "enabled" or "disabled".
	State string
	// Sort is "created" (default) or "last_login"; Desc reverses it.
	Sort          string
	Desc          bool
	Limit, Offset int
	// After, when set, lists the users that come after it in creation order (oldest
	// first; Sort, Desc and Offset are ignored) and leaves the total uncounted (0): a walk
	// over every user then costs each page its own length, not the users before it.
	After *UserCursor
}

// UserCursor is a place in the users' creation order: a user's creation time and id.
type UserCursor struct {
	CreatedAt time.Time
	ID        string
}

// SessionInfo is a session with the device it was opened on.
type SessionInfo struct {
	Session
	Device Device
}

// AdminKey is a key for the admin API. Only a hash of the key is kept.
type AdminKey struct {
	ID        string
	Name      string
	Hash      []byte
	CreatedAt time.Time
}

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	Seq     int64
	AppID   string
	At      time.Time
	Actor   string // "admin:<key name>", "user:<id>", "anonymous"
	Action  string // e.g. "login", "login_failed", "user.disable"
	Target  string
	Outcome string // "success", "failure", "refused"
	Detail  string
	IP      string
}

// AuditFilter selects audit events.
type AuditFilter struct {
	Action, Actor, Target, Outcome string
	Since                          time.Time
	// BeforeSeq, when set, lists events older than this one (paging).
	BeforeSeq int64
	Limit     int
}

// Rotation is the outcome of RotateSessionToken.
type Rotation int

// Rotation outcomes.
const (
	RotationDone Rotation = iota
	RotationGrace
	RotationReuse
)

// LoginFailures are an account key's recent failed password logins.
type LoginFailures struct {
	Failures    int
	LockedUntil time.Time
	LastFailure time.Time
}

// EmailKey is the form in which emails are compared: Warden treats emails as
// case-insensitive (App Services did not).
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// MergeIdentityData merges the provider data of identities in order, later ones winning.
func MergeIdentityData(ids []Identity) map[string]any {
	out := map[string]any{}
	for _, id := range ids {
		for k, v := range id.Data {
			out[k] = v
		}
	}
	return out
}

// HashesEqual compares two secret hashes in constant time.
func HashesEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
