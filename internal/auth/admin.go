package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider/userpass"
	"github.com/wardenauth/warden/internal/store"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Errors of the operator functions.
var (
	ErrAdminUnauthorized = errors.New("admin key required")
	ErrNotFound          = errors.New("not found")
	ErrConflict          = errors.New("conflict")
)

// AdminKeyPrefix starts every admin API key, so that a leaked one is easy to recognise.
const AdminKeyPrefix = "wadm_"

func adminKeyHash(key string) []byte {
	sum := sha256.Sum256([]byte("warden-admin-key:" + key))
	return sum[:]
}

// CreateAdminKey makes an admin API key. The key is returned once; only its hash is kept.
func (s *Operators) CreateAdminKey(ctx context.Context, name string) (string, store.AdminKey, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 {
		return "", store.AdminKey{}, fail(ErrInvalidParameter, "an admin key needs a name of 1 to 64 characters")
	}
	secret, err := randomHex(32)
	if err != nil {
		return "", store.AdminKey{}, err
	}
	key := AdminKeyPrefix + secret
	k := store.AdminKey{ID: bson.NewObjectID().Hex(), Name: name, Hash: adminKeyHash(key), CreatedAt: s.clock.Now()}
	if err := s.store.CreateAdminKey(ctx, k); errors.Is(err, store.ErrNameTaken) {
		return "", store.AdminKey{}, fail(ErrConflict, fmt.Sprintf("an admin key named %q already exists", name))
	} else if err != nil {
		return "", store.AdminKey{}, err
	}
	return key, k, nil
}

// ListAdminKeys lists the admin keys (never their secrets).
func (s *Operators) ListAdminKeys(ctx context.Context) ([]store.AdminKey, error) {
	return s.store.ListAdminKeys(ctx)
}

// DeleteAdminKey deletes an admin key by id or name.
func (s *Operators) DeleteAdminKey(ctx context.Context, idOrName string) error {
	if err := s.store.DeleteAdminKey(ctx, idOrName); errors.Is(err, store.ErrNotFound) {
		return fail(ErrNotFound, fmt.Sprintf("no admin key %q", idOrName))
	} else if err != nil {
		return err
	}
	return nil
}

// AdminAuthenticate checks an admin API key.
func (s *Operators) AdminAuthenticate(ctx context.Context, key string) (store.AdminKey, error) {
	if !strings.HasPrefix(key, AdminKeyPrefix) || len(key) > 256 {
		return store.AdminKey{}, fail(ErrAdminUnauthorized, "a valid admin key is required")
	}
	k, err := s.store.GetAdminKeyByHash(ctx, adminKeyHash(key))
	if errors.Is(err, store.ErrNotFound) {
		return store.AdminKey{}, fail(ErrAdminUnauthorized, "a valid admin key is required")
	}
	return k, err
}

// UserDetail is what an operator sees of a user.
type UserDetail struct {
	store.User
	Sessions   []store.SessionInfo
	CustomData map[string]any
	// Push are the user's devices' push registrations.
	Push []store.PushRegistration
	// Email is the email/password account's address, when the user has one.
	Email string
}

// ListUsers lists an app's users.
func (s *Operators) ListUsers(ctx context.Context, appID string, q store.UserQuery) ([]store.User, int, error) {
	app, err := s.app(appID)
	if err != nil {
		return nil, 0, err
	}
	return s.store.ListUsers(ctx, app.ClientAppID, q)
}

// UserDetail returns a user with sessions and custom data.
func (s *Operators) UserDetail(ctx context.Context, appID, userID string) (UserDetail, error) {
	app, err := s.app(appID)
	if err != nil {
		return UserDetail{}, err
	}
	u, err := s.store.GetUser(ctx, app.ClientAppID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return UserDetail{}, fail(ErrNotFound, "user not found")
	}
	if err != nil {
		return UserDetail{}, err
	}
	d := UserDetail{User: u}
	if d.Sessions, err = s.store.ListUserSessions(ctx, app.ClientAppID, userID); err != nil {
		return UserDetail{}, err
	}
	d.CustomData = s.customDataJSON(ctx, app, userID)
	if d.Push, err = s.store.ListPushRegistrations(ctx, app.ClientAppID, userID); err != nil {
		return UserDetail{}, err
	}
	if email, ok := u.Data["email"].(string); ok {
		d.Email = email
	}
	return d, nil
}

// CreateEmailPasswordUser creates a confirmed email/password account and its user.
func (s *Operators) CreateEmailPasswordUser(ctx context.Context, appID, email, password string) (store.User, error) {
	app, err := s.app(appID)
	if err != nil {
		return store.User{}, err
	}
	entry, ok := app.providers[userpass.Type]
	if !ok || entry.cfg.Disabled {
		return store.User{}, fail(ErrProviderNotFound, "the app has no enabled local-userpass provider")
	}
	if err := ValidateEmail(email); err != nil {
		return store.User{}, err
	}
	if err := s.validatePassword(password); err != nil {
		return store.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	now := s.clock.Now()
	acct := store.Account{AppID: app.ClientAppID, ID: bson.NewObjectID().Hex(), Email: email, PasswordHash: hash, Status: store.AccountConfirmed, CreatedAt: now}
	if err := s.store.CreateAccount(ctx, acct, nil); errors.Is(err, store.ErrEmailTaken) {
		return store.User{}, fail(ErrAccountNameInUse, "name already in use")
	} else if err != nil {
		return store.User{}, err
	}
	u := store.User{AppID: app.ClientAppID, ID: bson.NewObjectID().Hex(), Type: store.UserTypeNormal, CreatedAt: now}
	id := store.Identity{ID: acct.ID, ProviderType: userpass.Type, ProviderID: entry.cfg.ID, Data: map[string]any{"email": email}, CreatedAt: now}
	if err := s.store.CreateUser(ctx, u, id); err != nil {
		return store.User{}, err
	}
	s.auditOperator(ctx, app.ClientAppID, "user.create", u.ID, email)
	s.onUserCreation(ctx, app, u.ID)
	return s.store.GetUser(ctx, app.ClientAppID, u.ID)
}

// SetUserDisabled disables (ending every session at once) or enables a user.
func (s *Operators) SetUserDisabled(ctx context.Context, appID, userID string, disabled bool) error {
	app, err := s.app(appID)
	if err != nil {
		return err
	}
	if err := s.store.SetUserDisabled(ctx, app.ClientAppID, userID, disabled); errors.Is(err, store.ErrNotFound) {
		return fail(ErrNotFound, "user not found")
	} else if err != nil {
		return err
	}
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	s.auditOperator(ctx, app.ClientAppID, action, userID, "")
	return nil
}

// AdminDeleteUser deletes a user with everything it has.
func (s *Operators) AdminDeleteUser(ctx context.Context, appID, userID string) error {
	app, err := s.app(appID)
	if err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, app.ClientAppID, userID); errors.Is(err, store.ErrNotFound) {
		return fail(ErrNotFound, "user not found")
	} else if err != nil {
		return err
	}
	s.auditOperator(ctx, app.ClientAppID, "user.delete", userID, "")
	return nil
}

// RevokeSessions ends every session of a user; they must log in again.
func (s *Operators) RevokeSessions(ctx context.Context, appID, userID string) (int, error) {
	app, err := s.app(appID)
	if err != nil {
		return 0, err
	}
	if _, err := s.store.GetUser(ctx, app.ClientAppID, userID); errors.Is(err, store.ErrNotFound) {
		return 0, fail(ErrNotFound, "user not found")
	}
	n, err := s.store.DeleteUserSessions(ctx, app.ClientAppID, userID)
	if err != nil {
		return 0, err
	}
	s.auditOperator(ctx, app.ClientAppID, "user.logout", userID, fmt.Sprintf("%d sessions ended", n))
	return n, nil
}

// ListPendingUsers lists email/password accounts awaiting confirmation.
func (s *Operators) ListPendingUsers(ctx context.Context, appID string, limit, offset int) ([]store.Account, error) {
	app, err := s.app(appID)
	if err != nil {
		return nil, err
	}
	return s.store.ListPendingAccounts(ctx, app.ClientAppID, limit, offset)
}

// ConfirmPendingUser confirms a pending account on an operator's decision.
func (s *Operators) ConfirmPendingUser(ctx context.Context, appID, email string) error {
	app, err := s.app(appID)
	if err != nil {
		return err
	}
	a, err := s.store.GetAccountByEmail(ctx, app.ClientAppID, email)
	if errors.Is(err, store.ErrNotFound) {
		return fail(ErrUserNotFound, "user not found")
	}
	if err != nil {
		return err
	}
	if a.Status == store.AccountConfirmed {
		return fail(ErrAlreadyConfirmed, "already confirmed")
	}
	if _, err = s.store.ConfirmAccountByEmail(ctx, app.ClientAppID, email); err != nil {
		return err
	}
	s.auditOperator(ctx, app.ClientAppID, "user.confirm", email, "")
	return nil
}

// AppView is an app's loaded configuration as an operator may see it: secret values are
// never shown, only the names of the secrets they come from.
type AppView struct {
	ClientAppID     string           `json:"client_app_id"`
	DomainID        string           `json:"domain_id"`
	Name            string           `json:"name"`
	Dir             string           `json:"dir"`
	DeploymentModel string           `json:"deployment_model"`
	Location        string           `json:"location"`
	AllowedOrigins  []string         `json:"allowed_request_origins"`
	RefreshTTL      string           `json:"refresh_token_ttl"`
	Providers       []map[string]any `json:"providers"`
	Functions       []map[string]any `json:"functions"`
	Values          []map[string]any `json:"values"`
	DataSources     []map[string]any `json:"data_sources"`
	CustomUserData  any              `json:"custom_user_data"`
	NotServed       []string         `json:"not_served"`
}

// AppConfig returns the app's configuration with secrets redacted.
func (s *Operators) AppConfig(appID string) (AppView, error) {
	app, err := s.app(appID)
	if err != nil {
		return AppView{}, err
	}
	v := AppView{ClientAppID: app.ClientAppID, DomainID: app.DomainID, Name: app.Name, Dir: app.Dir, DeploymentModel: app.DeploymentModel,
		Location: app.Location, AllowedOrigins: app.AllowedOrigins, NotServed: app.Components, CustomUserData: app.CustomUserData,
		Providers: []map[string]any{}, Functions: []map[string]any{}, Values: []map[string]any{}, DataSources: []map[string]any{}}
	ttl := app.RefreshTokenTTL
	if ttl == 0 {
		ttl = s.refreshTTL
	}
	v.RefreshTTL = ttl.String()
	for _, name := range appconfig.SortedKeys(app.Providers) {
		p := app.Providers[name]
		// secret_config holds the names of secrets, never their values.
		secretNames := map[string]json.RawMessage{}
		for k, raw := range p.SecretConfig {
			secretNames[k] = raw
		}
		v.Providers = append(v.Providers, map[string]any{"name": p.Name, "type": p.Type, "disabled": p.Disabled,
			"config": p.Config, "secret_config": secretNames, "redirect_uris": p.RedirectURIs})
	}
	for _, name := range app.FunctionNames() {
		f := app.Functions[name]
		v.Functions = append(v.Functions, map[string]any{"name": name, "private": f.Private, "run_as_system": f.RunAsSystem})
	}
	sort.Slice(v.Functions, func(i, j int) bool { return v.Functions[i]["name"].(string) < v.Functions[j]["name"].(string) })
	for _, name := range appconfig.SortedKeys(app.Values) {
		val := app.Values[name]
		entry := map[string]any{"name": name, "from_secret": val.FromSecret}
		if val.FromSecret {
			entry["secret"] = strings.Trim(string(val.Value), `"`)
		} else {
			entry["value"] = val.Value
		}
		v.Values = append(v.Values, entry)
	}
	for _, name := range app.DataSourceNames() {
		ds := app.DataSources[name]
		entry := map[string]any{"name": name, "type": ds.Type, "rules": len(ds.Rules), "default_rule": ds.DefaultRule != nil}
		if ds.URI != "" {
			entry["uri"] = "(set, redacted)"
		}
		if ds.URISecret != "" {
			entry["uri_secret"] = ds.URISecret
		}
		v.DataSources = append(v.DataSources, entry)
	}
	return v, nil
}
